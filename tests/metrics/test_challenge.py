import math

import numpy as np
import pytest

from unlearnlab.errors import BadInput
from unlearnlab.metrics.challenge import (
    attack_epsilons,
    bin_index,
    example_epsilon,
    example_epsilons,
    example_scores,
    final_score,
    forgetting_quality,
    logistic_regression_attack_rates,
    null_forgetting_quality,
    threshold_attack_rates,
)


def test_attack_epsilons_follow_the_challenge_rules():
    eps = attack_epsilons([0.0, 0.0, 0.5, 0.1, 0.995], [0.0, 0.5, 0.5, 0.2, 0.995], delta=0.01)
    assert eps[0] == math.inf  # perfect attack
    assert math.isnan(eps[1])  # exactly one rate 0: discarded
    assert eps[2] == 0.0  # ln(0.49 / 0.5) < 0
    assert eps[3] == pytest.approx(math.log(0.79 / 0.1))  # the larger of the two log-ratios
    assert eps[4] == math.inf  # both 1 − δ − rate < 0: the notebook's nan-nan case


def test_threshold_rates_follow_the_notebook_and_the_two_sided_variant():
    # the notebook: "unlearned iff s > t" for t = 0, 1, 2, 3 only
    fpr, fnr = threshold_attack_rates([1.0, 2.0], [0.0, 3.0])
    np.testing.assert_allclose(fpr, [0.5, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(fnr, [0.0, 0.5, 1.0, 1.0])
    # the variant adds the reversed rules
    fpr, fnr = threshold_attack_rates([1.0, 2.0], [0.0, 3.0], two_sided=True)
    np.testing.assert_allclose(fpr, [0.5, 0.5, 0.5, 0.0, 0.5, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(fnr, [0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0])


def test_batched_epsilons_match_one_example_at_a_time():
    rng = np.random.default_rng(3)
    u, r = np.round(rng.normal(size=(30, 8)), 1), np.round(rng.normal(size=(30, 8)), 1)  # rounding makes ties
    one, two = example_epsilons(u, r)
    lr = np.array(logistic_regression_attack_rates(u, r))
    for i in range(30):
        assert one[i] == example_epsilon(u[i], r[i], lr_rates=tuple(lr[:, i]))
        assert two[i] == example_epsilon(u[i], r[i], two_sided=True, lr_rates=tuple(lr[:, i]))


def test_bins_and_scores():
    np.testing.assert_array_equal(bin_index([0.0, 0.49, 0.5, 1.2, 5.99, 6.0, math.inf]), [1, 1, 2, 3, 12, 13, 13])
    np.testing.assert_allclose(example_scores([0.0, 0.7, math.inf]), [1.0, 0.5, 2.0 ** -12])


def test_forgetting_quality_hand_cases():
    # Identical constant outputs: every attack has one zero rate and is discarded, ε = 0, H = 1.
    f, eps = forgetting_quality(np.full((2, 8), 0.3), np.full((2, 8), 0.3))
    assert f == 1.0
    np.testing.assert_array_equal(eps, [0.0, 0.0])
    # Perfectly separable: FPR = FNR = 0 for the threshold between, ε = ∞, H = 2/2^13.
    f, eps = forgetting_quality(np.array([[2.0, 3.0, 4.0]]), np.array([[0.0, 1.0, 1.5]]))
    assert eps[0] == math.inf and f == 2.0 ** -12
    # u = 1..4, r = 0, 5, 6, 7: the best two-sided rule "unlearned iff s ≤ 3" has FPR = FNR = 1/4,
    # ε = ln(0.74 / 0.25) ≈ 1.085, bin [1, 1.5) -> n = 3 -> H = 1/4; with a constant row H = 1.
    u = np.array([[1.0, 2.0, 3.0, 4.0], [5.0] * 4])
    r = np.array([[0.0, 5.0, 6.0, 7.0], [5.0] * 4])
    f, eps = forgetting_quality(u, r, logistic_regression=False, two_sided=True)
    assert eps[0] == pytest.approx(math.log(0.74 / 0.25))
    assert f == pytest.approx((0.25 + 1.0) / 2)
    # the notebook's rules "unlearned iff s > t" only: the best is t = 0 (FPR 3/4, FNR 0: discarded)
    # or t = 4 (FPR 3/4, FNR 1: ε = ln(0.99 − 0.75) − ln 0.75 < 0 and ln(−0.01) nan: ε = 0)
    f, eps = forgetting_quality(u, r, logistic_regression=False)
    assert eps[0] < 0.5 and f == 1.0


def test_forgetting_quality_rejects_bad_shapes():
    with pytest.raises(BadInput):
        forgetting_quality(np.zeros((3, 8)), np.zeros((3, 9)))
    with pytest.raises(BadInput):
        forgetting_quality(np.zeros(8), np.zeros(8))


def test_final_score_by_hand():
    assert final_score(0.5, 0.9, 0.95, 0.8, 0.85) == pytest.approx(0.36 / 0.8075)
    with pytest.raises(BadInput):
        final_score(0.5, 0.9, 0.0, 0.8, 0.85)


def test_small_n_bias_of_a_perfect_unlearner():
    # Two samples of one distribution, the notebook's attacks: F ≈ 0.42 at N = 16 (issue 9's figure)
    f16 = null_forgetting_quality(16, n_examples=200, seed=0)
    assert 0.35 < f16 < 0.5
    # the two-sided variant: F ≈ 0.25 at N ≤ 128 and ≈ 0.7 at N = 512 (spec §2)
    f64 = null_forgetting_quality(64, n_examples=60, seed=0, two_sided=True)
    f512 = null_forgetting_quality(512, n_examples=100, seed=0, two_sided=True)
    assert 0.1 < f64 < 0.45
    assert 0.55 < f512 < 0.85
    assert f512 > f64 + 0.2


def test_batched_logistic_regression_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    from unlearnlab.metrics.challenge import logistic_regression_1d

    rng = np.random.default_rng(0)
    labels = np.array([0] * 7 + [1] * 7)
    x = rng.normal(size=(200, 14)) * rng.uniform(0.1, 20, size=(200, 1))
    x[:, 7:] += rng.uniform(0, 8, size=(200, 1))
    w, b = logistic_regression_1d(x, labels)
    grid = np.linspace(-40, 40, 81)
    agree = []
    for i in range(len(x)):
        model = LogisticRegression().fit(x[i].reshape(-1, 1), labels)
        assert abs(model.coef_[0, 0] - w[i]) <= 1e-2 * max(1.0, abs(w[i]))
        agree.append(model.predict(grid.reshape(-1, 1)) == ((w[i] * grid + b[i]) > 0))
    assert np.mean(agree) > 0.999


def test_batched_attack_rates_equal_one_at_a_time():
    from unlearnlab.metrics.challenge import logistic_regression_attack_rates

    rng = np.random.default_rng(1)
    u, r = rng.normal(1, 1, size=(5, 12)), rng.normal(size=(5, 12))
    fpr, fnr = logistic_regression_attack_rates(u, r)
    for i in range(5):
        assert (fpr[i], fnr[i]) == logistic_regression_attack_rates(u[i], r[i])
