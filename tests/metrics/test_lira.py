from __future__ import annotations

import math

import numpy as np
import pytest

from unlearnlab.errors import BadInput
from unlearnlab.metrics.lira import (
    bootstrap_ci,
    gaussian_llr,
    logit_confidence,
    offline_score,
    roc_summary,
    ulira,
)


def log_normal_pdf(x: float, mu: float, sigma: float) -> float:
    return -math.log(sigma) - 0.5 * math.log(2 * math.pi) - (x - mu) ** 2 / (2 * sigma**2)


# --- logit_confidence -------------------------------------------------------------------------------


def test_logit_confidence_hand_case() -> None:
    # softmax([0, ln 3]) = [1/4, 3/4]: label 1 gives ln(0.75/0.25) = ln 3, label 0 gives −ln 3.
    logits = np.array([[0.0, math.log(3.0)], [0.0, math.log(3.0)]])
    np.testing.assert_allclose(logit_confidence(logits, np.array([1, 0])), [math.log(3), -math.log(3)])
    # Three classes: p_y = 1/(1 + 2) for equal logits, so φ = ln(1/2).
    assert logit_confidence(np.zeros((1, 3)), np.array([2]))[0] == pytest.approx(math.log(0.5))


def test_logit_confidence_is_stable_and_batched() -> None:
    # p_y rounds to 1 in float64; the exact value is z_y − z_other = 2000.
    phi = logit_confidence(np.array([[1000.0, -1000.0]]), np.array([0]))
    assert phi[0] == pytest.approx(2000.0)
    stacked = np.stack([np.array([[0.0, math.log(3.0)]])] * 4)  # (models, n, K)
    np.testing.assert_allclose(logit_confidence(stacked, np.array([1])), np.full((4, 1), math.log(3)))
    with pytest.raises(BadInput):
        logit_confidence(np.zeros((2, 1)), np.array([0, 0]))
    with pytest.raises(BadInput):
        logit_confidence(np.zeros((2, 3)), np.array([0, 3]))


# --- Gaussian scores --------------------------------------------------------------------------------


def test_gaussian_llr_hand_case_from_mean_std() -> None:
    # x = 1 under N(2, 1) vs N(0, 2): (−½ − ½ln2π) − (−ln2 − ½ln2π − 1/8) = ln 2 − 3/8.
    llr = gaussian_llr(np.array([1.0]), (np.array([2.0]), np.array([1.0])), (np.array([0.0]), np.array([2.0])))
    assert llr[0] == pytest.approx(math.log(2) - 3 / 8)
    assert llr[0] == pytest.approx(log_normal_pdf(1, 2, 1) - log_normal_pdf(1, 0, 2))


def test_gaussian_llr_fits_from_raw_shadows() -> None:
    # Rows symmetric about their centre: median = mean; population std: IN row [1, 3] → σ = 1,
    # OUT row [−2, 2] → σ = 2.
    in_stats = np.array([[1.0, 3.0], [1.0, 3.0]])
    out_stats = np.array([[-2.0, 2.0], [-2.0, 2.0]])
    target = np.array([[1.0, 2.0], [0.0, 4.0]])  # (n_examples, m targets)
    llr = gaussian_llr(target, in_stats, out_stats)
    expected = [[log_normal_pdf(x, 2, 1) - log_normal_pdf(x, 0, 2) for x in row] for row in target]
    np.testing.assert_allclose(llr, expected)


def test_gaussian_llr_centres_on_the_median() -> None:
    # One diverged shadow (100) moves the mean to 34 but not the median (1).
    in_stats = np.array([[0.0, 1.0, 100.0]])
    out_stats = (np.array([0.0]), np.array([1.0]))
    sd = np.std(in_stats)
    med = gaussian_llr(np.array([1.0]), in_stats, out_stats)[0]
    mean = gaussian_llr(np.array([1.0]), in_stats, out_stats, center="mean")[0]
    assert med == pytest.approx(log_normal_pdf(1, 1, sd) - log_normal_pdf(1, 0, 1))
    assert mean == pytest.approx(log_normal_pdf(1, 101 / 3, sd) - log_normal_pdf(1, 0, 1))


def test_fixed_variance_uses_one_pooled_in_sigma() -> None:
    # IN values {0, 2, 10, 12} pooled: mean 6, variance (36 + 16 + 16 + 36)/4 = 26. Medians 1 and 11; OUT medians 0 and 10.
    in_stats = np.array([[0.0, 2.0], [10.0, 12.0]])
    out_stats = np.array([[-1.0, 1.0], [7.0, 13.0]])
    llr = gaussian_llr(np.array([1.0, 11.0]), in_stats, out_stats, fix_variance=True)
    # Equal σ² = 26: llr = ((x − μ_out)² − (x − μ_in)²) / (2·26) = 1/52.
    np.testing.assert_allclose(llr, [1 / 52, 1 / 52])
    assert not np.allclose(gaussian_llr(np.array([1.0, 11.0]), in_stats, out_stats), llr)
    with pytest.raises(BadInput):
        gaussian_llr(np.array([1.0]), (np.array([0.0]), np.array([1.0])), out_stats[:1], fix_variance=True)


def test_offline_score_is_minus_log_upper_tail() -> None:
    # φ one σ above μ_out: −ln Pr[Z > 1] = −ln(½ erfc(1/√2)) ≈ −ln 0.158655 ≈ 1.8410.
    out = (np.array([3.0, 3.0, 3.0]), np.array([2.0, 2.0, 2.0]))
    score = offline_score(np.array([5.0, 3.0, -100.0]), out)
    assert score[0] == pytest.approx(-math.log(0.5 * math.erfc(1 / math.sqrt(2))))
    assert score[0] == pytest.approx(1.8410216, abs=1e-6)
    assert score[1] == pytest.approx(math.log(2))  # at the mean: −ln ½
    assert 0 <= score[2] < 1e-100  # far below the OUT mean: no evidence of membership
    # Fixed variance: std of all OUT values {0, 2, 0, 2} = 1, medians 1.
    fixed = offline_score(np.array([2.0, 2.0]), np.array([[0.0, 2.0], [0.0, 2.0]]), fix_variance=True)
    np.testing.assert_allclose(fixed, -math.log(0.5 * math.erfc(1 / math.sqrt(2))))


# --- roc_summary / bootstrap ------------------------------------------------------------------------


def test_roc_summary_separable_and_identical() -> None:
    labels = np.r_[np.ones(500, bool), np.zeros(500, bool)]
    sep = roc_summary(np.r_[np.arange(500) + 1000.0, np.arange(500.0)], labels)
    assert sep == {"auc": 1.0, "accuracy": 1.0, "tpr_at_1pct_fpr": 1.0, "tpr_at_0.1pct_fpr": 1.0}
    same = roc_summary(np.zeros(1000), labels)
    assert same["auc"] == 0.5 and same["accuracy"] == 0.5
    assert same["tpr_at_1pct_fpr"] == 0.0 and same["tpr_at_0.1pct_fpr"] == 0.0


def test_roc_summary_hand_case() -> None:
    # Positives {3, 1}, negatives {2, 0}: pairs won 3 of 4 → AUC 0.75. Threshold 3: TPR ½, FPR 0,
    # accuracy 1 − (0 + ½)/2 = 0.75; that is also the largest TPR with FPR ≤ 1 %.
    s = roc_summary([3.0, 1.0, 2.0, 0.0], [1, 1, 0, 0])
    assert s == pytest.approx({"auc": 0.75, "accuracy": 0.75, "tpr_at_1pct_fpr": 0.5, "tpr_at_0.1pct_fpr": 0.5})
    with pytest.raises(BadInput):
        roc_summary([1.0, 2.0], [1, 1])


def test_bootstrap_ci_contains_estimate_and_is_seeded() -> None:
    x = np.random.default_rng(0).normal(size=200)
    low, high = bootstrap_ci(np.mean, x, n_boot=500)
    assert low < x.mean() < high
    # Standard error ≈ 1/√200 ≈ 0.071, so a 95 % interval is about 0.28 wide.
    assert 0.18 < high - low < 0.38
    assert bootstrap_ci(np.mean, x, n_boot=500) == (low, high)
    assert bootstrap_ci(np.mean, x, n_boot=500, seed=1) != (low, high)
    # Rows are resampled jointly: the difference of paired equal arrays is always 0.
    assert bootstrap_ci(lambda a, b: float(np.mean(a - b)), x, x.copy(), n_boot=50) == (0.0, 0.0)
    lo_v, hi_v = bootstrap_ci(lambda a: [a.min(), a.max()], x, n_boot=50)
    assert lo_v.shape == (2,) and np.all(lo_v <= hi_v)


# --- U-LiRA -----------------------------------------------------------------------------------------


def shadows(rng: np.random.Generator, centres: np.ndarray, n: int, sd: float = 1.0) -> np.ndarray:
    return centres[:, None] + rng.normal(scale=sd, size=(len(centres), n))


def test_ulira_separates_a_bad_unlearner() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=200)  # per-example difficulty
    unlearned, retrained = centres + 5.0, centres  # unlearning left φ far above retraining
    result = ulira(shadows(rng, unlearned, 16), shadows(rng, retrained, 16),
                   shadows(rng, unlearned, 1)[:, 0], shadows(rng, retrained, 1)[:, 0], n_boot=40)
    assert result.accuracy > 0.95
    assert result.summary["auc"] > 0.99
    lo, hi = result.ci["accuracy"]
    assert lo <= result.accuracy <= hi
    assert result.scores_unlearned.shape == (200,)
    assert np.mean(result.scores_unlearned > result.scores_retrained) > 0.95


def test_ulira_is_chance_for_a_perfect_unlearner() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=3.0, size=300)
    result = ulira(shadows(rng, centres, 16), shadows(rng, centres, 16),
                   shadows(rng, centres, 2), shadows(rng, centres, 2), n_boot=40)
    assert result.summary["auc"] == pytest.approx(0.5, abs=0.06)
    assert result.accuracy == pytest.approx(0.5, abs=0.08)
    assert result.ci["auc"][0] < 0.5 < result.ci["auc"][1]


def test_ulira_needs_balanced_targets() -> None:
    with pytest.raises(BadInput):
        ulira(np.zeros((3, 4)), np.ones((3, 4)), np.zeros(3), np.zeros((3, 2)))


def test_roc_points_equal_sklearn_roc_curve_with_ties():
    from sklearn.metrics import auc, roc_curve

    from unlearnlab.metrics.lira import _roc_points

    rng = np.random.default_rng(0)
    for decimals in (0, 1, 3):
        s = np.round(rng.normal(size=200), decimals)
        y = rng.random(200) < 0.4
        fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
        mine = _roc_points(s, y)
        np.testing.assert_allclose(mine[0], fpr)
        np.testing.assert_allclose(mine[1], tpr)
        assert roc_summary(s, y)["auc"] == pytest.approx(auc(fpr, tpr))


def test_batched_roc_summaries_match_roc_summary_with_ties():
    from unlearnlab.metrics.lira import ROC_KEYS, roc_summaries

    rng = np.random.default_rng(4)
    for decimals in (0, 1, 3):  # few decimals: many ties
        y = rng.random(120) < 0.4
        s = np.round(rng.normal(size=(4, 120)) + y, decimals)
        got = roc_summaries(s, y)
        for k in range(4):
            want = roc_summary(s[k], y)
            np.testing.assert_allclose(got[k], [want[key] for key in ROC_KEYS], atol=1e-12)
