from __future__ import annotations

import math

import numpy as np
import pytest

from unlearnlab.errors import BadInput
from unlearnlab.metrics import (
    attack_score,
    confidence_feature,
    entropy_feature,
    epsilon,
    privacy_attack,
    privacy_score,
)


# --- epsilon ----------------------------------------------------------------------------------------


def test_epsilon_hand_cases() -> None:
    # ln(0.9/0.2) = ln 4.5 and ln(0.8/0.1) = ln 8: min is ln 4.5, max is ln 8.
    assert epsilon(0.1, 0.2, 0.0) == pytest.approx(math.log(4.5))
    assert epsilon(0.1, 0.2, 0.0, combine="max") == pytest.approx(math.log(8.0))
    assert epsilon(0.1, 0.2, 1e-5) == pytest.approx(math.log((0.9 - 1e-5) / 0.2))
    assert epsilon(0.5, 0.5, 0.0) == 0.0  # a coin flip proves nothing
    assert epsilon(0.6, 0.6) == 0.0  # both terms negative, clipped to 0


def test_epsilon_edges() -> None:
    assert epsilon(0.0, 0.0) == math.inf
    # 1 − δ − FPR < 0: that term is −inf, so the min is −inf and ε is 0.
    assert epsilon(1.0, 0.0) == 0.0
    assert epsilon(0.0, 1.0) == 0.0
    # Exactly one zero: the +inf term drops out of the min; ln((1 − δ) / 0.5) remains.
    assert epsilon(0.0, 0.5, 0.0) == pytest.approx(math.log(2.0))
    assert epsilon(0.5, 0.0, 0.0) == pytest.approx(math.log(2.0))
    assert math.isnan(epsilon(0.0, 0.5, one_zero="discard"))
    assert epsilon(0.0, 0.0, one_zero="discard") == math.inf


def test_epsilon_is_vectorised() -> None:
    eps = epsilon(np.array([0.1, 0.0, 0.5]), np.array([0.2, 0.0, 0.5]), 0.0)
    assert isinstance(eps, np.ndarray)
    np.testing.assert_allclose(eps, [math.log(4.5), math.inf, 0.0])


def test_epsilon_rejects_rates_outside_unit_interval() -> None:
    with pytest.raises(BadInput):
        epsilon(1.2, 0.1)
    with pytest.raises(BadInput):
        epsilon(0.1, 0.1, delta=1.0)


def test_attack_score() -> None:
    assert attack_score(0.0) == 0.0
    assert attack_score(1.0) == 0.5
    assert attack_score(math.inf) == 1.0


# --- features ---------------------------------------------------------------------------------------


def test_features_by_hand() -> None:
    uniform = np.zeros((1, 4))
    assert entropy_feature(uniform)[0] == pytest.approx(math.log(4))
    # p = softmax([ln 3, 0]) = (3/4, 1/4): log p_max − log(1 − p_max) = ln 3.
    assert confidence_feature(np.array([[math.log(3), 0.0]]))[0] == pytest.approx(math.log(3))
    # Temperature 2 for entropy: logits [2 ln 3, 0] / 2 gives (3/4, 1/4).
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert entropy_feature(np.array([[2 * math.log(3), 0.0]]))[0] == pytest.approx(h)


def test_features_stay_finite_for_huge_logits() -> None:
    z = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    assert entropy_feature(z)[0] == pytest.approx(0.0, abs=1e-12)
    assert confidence_feature(z)[0] == pytest.approx(1000.0)


# --- privacy score ----------------------------------------------------------------------------------


def test_identical_outputs_score_exactly_one() -> None:
    z = np.random.default_rng(0).normal(size=(200, 10)) * 3
    assert privacy_score(z, z.copy()) == 1.0


def test_separable_outputs_score_zero() -> None:
    confident = np.zeros((50, 10))
    confident[:, 0] = 30.0  # entropy ~0, confidence clipped to 10
    flat = np.zeros((50, 10))  # entropy ln 10, confidence ln(1/9)
    attack = privacy_attack(confident, flat)
    assert attack.best_score == pytest.approx(1.0)
    assert attack.privacy_score == pytest.approx(0.0)
    assert privacy_score(flat, confident) == pytest.approx(0.0)


def test_attack_exposes_four_curves_on_the_comparator_grid() -> None:
    rng = np.random.default_rng(1)
    attack = privacy_attack(rng.normal(size=(100, 10)) * 4, rng.normal(size=(100, 10)))
    assert [(c.feature, c.positive) for c in attack.curves] == [
        ("entropy", "unlearn"), ("entropy", "retrain"),
        ("confidence", "unlearn"), ("confidence", "retrain"),
    ]
    for c in attack.curves:
        assert len(c.thresholds) == len(c.fpr) == len(c.fnr) == len(c.attack_score) == 51
        assert np.all((c.attack_score >= 0) & (c.attack_score <= 1))
    np.testing.assert_allclose(attack.curves[0].thresholds[[0, 1, -1]], [0.0, 0.05, 2.5])
    np.testing.assert_allclose(attack.curves[2].thresholds[[0, 1, -1]], [-2.5, -2.25, 10.0])
    assert attack.best_score == max(c.attack_score.max() for c in attack.curves)
    assert 0 < attack.best_score < 1


def test_curve_rates_by_hand() -> None:
    # Entropy values: unlearned two confident (H ≈ 0) and two flat (H = ln 10 ≈ 2.30); retrain all
    # flat. At threshold 1.0, "unlearn is positive above": TPR = 1/2, FPR = 1, so FNR = 1/2.
    confident, flat = np.zeros((2, 10)), np.zeros((4, 10))
    confident[:, 0] = 40.0
    un = np.concatenate([confident, flat[:2]])
    attack = privacy_attack(un, flat)
    curve = attack.curves[0]
    i = int(np.argmin(np.abs(curve.thresholds - 1.0)))
    assert (curve.fpr[i], curve.fnr[i]) == (1.0, 0.5)
    # The other direction at 1.0: retrain positive: TPR = 1, FPR = 1/2, FNR = 0 →
    # ε = ln((1 − δ) / (1/2)), attack score = 1 − 2^(−ε).
    other = attack.curves[1]
    assert (other.fpr[i], other.fnr[i]) == (0.5, 0.0)
    assert other.attack_score[i] == pytest.approx(1 - 2.0 ** (-math.log(2 * (1 - 1e-5))))
