"""Forgetting quality of the NeurIPS 2023 Machine Unlearning challenge (Triantafillou et al. 2024,
"Are we making progress in unlearning?"), as scored by the public Kaggle evaluation notebook.

For each forget example we have one scalar output (e.g. a loss or a logit-scaled confidence) from
each of N unlearned and N retrained models. Every attack that tries to tell the two samples apart
gives an (FPR, FNR); each (FPR, FNR) implies an ε through the (ε, δ) inequalities
(`privacy.epsilon`); the example's ε is the largest over attacks, and its score is
H = 2 / 2^n where n = `np.digitize(ε, [0, 0.5, …, 6])` is the index of its 0.5-wide ε bin
(n = 1 for ε < 0.5, H = 1; n = 13, H = 2^-12, for ε ≥ 6 or ε = ∞). F = mean H.

Read F against `null_forgetting_quality` at the same N: with few models even two samples of one
distribution are told apart by some threshold, so a perfect unlearner scores well below 1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..errors import BadInput
from .privacy import epsilon

CHALLENGE_DELTA = 0.01
BIN_WIDTH = 0.5
NUM_BINS = 13  # the notebook's `bin_index_fn(bin_width=0.5, B=13)`: bin edges 0, 0.5, …, 6
LR_SPLITS = 2  # the notebook's StratifiedShuffleSplit(n_splits=2), test_size 0.1


def threshold_attack_rates(unlearned: ArrayLike, retrained: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, FNR) of every single-threshold attack, in both directions.

    "Positive" is unlearned (the notebook's label 1). For each distinct pooled value t the rule
    "unlearned iff s > t" is evaluated (the notebook's sweep), and so is its reverse "unlearned iff
    s ≤ t", whose rates are (1 − FPR, 1 − FNR). Ties fall on the same side, as in the notebook.
    """
    u = np.sort(np.asarray(unlearned, dtype=np.float64).ravel())
    r = np.sort(np.asarray(retrained, dtype=np.float64).ravel())
    thresholds = np.unique(np.concatenate([u, r]))
    fpr = 1.0 - np.searchsorted(r, thresholds, side="right") / len(r)
    fnr = np.searchsorted(u, thresholds, side="right") / len(u)
    return np.concatenate([fpr, 1.0 - fpr]), np.concatenate([fnr, 1.0 - fnr])


def logistic_regression_attack_rates(unlearned: ArrayLike, retrained: ArrayLike, *,
                                     n_splits: int = LR_SPLITS, random_state: int = 0) -> tuple[float, float]:
    """(FPR, FNR) of a logistic regression on the scalar output, averaged over the held-out parts of
    `n_splits` stratified shuffle splits (test size 0.1), as in the notebook's
    `logistic_regression_attack` (sklearn defaults for the model). The test part holds at least
    one sample of each side (the notebook fails below 10 models per side)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedShuffleSplit

    u = np.asarray(unlearned, dtype=np.float64).ravel()
    r = np.asarray(retrained, dtype=np.float64).ravel()
    samples = np.concatenate([r, u]).reshape(-1, 1)
    labels = np.concatenate([np.zeros(len(r), dtype=int), np.ones(len(u), dtype=int)])
    fprs, fnrs = [], []
    test_size = max(int(np.ceil(0.1 * len(labels))), 2)
    cv = StratifiedShuffleSplit(n_splits=n_splits, test_size=test_size, random_state=random_state)
    for train, test in cv.split(samples, labels):
        pred = LogisticRegression().fit(samples[train], labels[train]).predict(samples[test])
        truth = labels[test]
        fprs.append(np.mean(pred[truth == 0] == 1))
        fnrs.append(np.mean(pred[truth == 1] == 0))
    return float(np.mean(fprs)), float(np.mean(fnrs))


def attack_epsilons(fpr: ArrayLike, fnr: ArrayLike, delta: float = CHALLENGE_DELTA) -> np.ndarray:
    """ε per attack with the challenge's handling, nan for a discarded attack.

    `privacy.epsilon(..., one_zero="discard", combine="max")`: the notebook's `compute_epsilon_s`
    takes `nanmax` of the two log-ratios (combine="max"), gives ∞ to FPR = FNR = 0 and discards an
    attack with exactly one rate 0. One more notebook rule is added here: when both 1 − δ − FPR and
    1 − δ − FNR are negative (both logs nan there) the notebook gives ∞, where the formula gives 0.
    """
    fpr_a, fnr_a = np.broadcast_arrays(np.asarray(fpr, dtype=np.float64), np.asarray(fnr, dtype=np.float64))
    eps = np.asarray(epsilon(fpr_a, fnr_a, delta, one_zero="discard", combine="max"), dtype=np.float64)
    both_negative = (1.0 - delta - fpr_a < 0) & (1.0 - delta - fnr_a < 0) & (fpr_a > 0) & (fnr_a > 0)
    return np.where(both_negative, np.inf, eps)


def example_epsilon(unlearned: ArrayLike, retrained: ArrayLike, delta: float = CHALLENGE_DELTA, *,
                    logistic_regression: bool = True, random_state: int = 0) -> float:
    """ε of one forget example: the max over all threshold attacks and the logistic regression
    attack; 0 when every attack is discarded (the notebook starts its list with 0)."""
    fpr, fnr = threshold_attack_rates(unlearned, retrained)
    if logistic_regression:
        lr_fpr, lr_fnr = logistic_regression_attack_rates(unlearned, retrained, random_state=random_state)
        fpr, fnr = np.append(fpr, lr_fpr), np.append(fnr, lr_fnr)
    eps = attack_epsilons(fpr, fnr, delta)
    kept = eps[~np.isnan(eps)]
    return float(max(0.0, kept.max())) if kept.size else 0.0


def bin_index(eps: ArrayLike) -> np.ndarray:
    """n = the 1-based index of ε's 0.5-wide bin: 1 for [0, 0.5), …, 13 for [6, ∞]."""
    return np.digitize(np.asarray(eps, dtype=np.float64), np.arange(NUM_BINS) * BIN_WIDTH)


def example_scores(eps: ArrayLike) -> np.ndarray:
    """H = 2 / 2^n per example: 1 for ε < 0.5, halving per bin, 2^-12 from ε = 6 on."""
    return 2.0 / np.exp2(bin_index(eps))


def _check(outputs: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(outputs, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] < 2:
        raise BadInput(f"{name} must be an (n_examples, n_models) array with n_examples ≥ 1 and "
                       f"n_models ≥ 2; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise BadInput(f"{name} contains nan or infinite values")
    return arr


def forgetting_quality(unlearned_outputs: ArrayLike, retrained_outputs: ArrayLike,
                       delta: float = CHALLENGE_DELTA, *, logistic_regression: bool = True,
                       random_state: int = 0) -> tuple[float, np.ndarray]:
    """(F, per-example ε) from (n_examples, N) arrays of one scalar output per forget example and
    model (note: examples on rows; the notebook's arrays are (N, n_examples)).

    Unlike the later DeepMind paper code (per-example positive class by median, double thresholds,
    ε capped at 50, bins up to ceil(ln(N − 1))), this follows the Kaggle leaderboard notebook.
    """
    u = _check(unlearned_outputs, "unlearned_outputs")
    r = _check(retrained_outputs, "retrained_outputs")
    if u.shape != r.shape:
        raise BadInput(f"unlearned_outputs {u.shape} and retrained_outputs {r.shape} must have the same shape")
    if not 0.0 <= delta < 1.0:
        raise BadInput(f"delta={delta!r} is not allowed; it must be in [0, 1)")
    eps = np.array([example_epsilon(u[i], r[i], delta, logistic_regression=logistic_regression,
                                    random_state=random_state) for i in range(len(u))])
    return float(example_scores(eps).mean()), eps


def final_score(forget_quality: float, ra_u: float, ra_r: float, ta_u: float, ta_r: float) -> float:
    """F · (RA_u / RA_r) · (TA_u / TA_r), the challenge's utility-adjusted score."""
    if ra_r <= 0 or ta_r <= 0:
        raise BadInput(f"retrained accuracies must be positive; got RA_r={ra_r!r}, TA_r={ta_r!r}")
    return float(forget_quality * (ra_u / ra_r) * (ta_u / ta_r))


def null_forgetting_quality(n_models: int, n_examples: int = 50, delta: float = CHALLENGE_DELTA,
                            seed: int = 0, trials: int = 1, *, logistic_regression: bool = True) -> float:
    """Mean F, over `trials`, of two samples of one standard normal: what a perfect unlearner (whose
    outputs follow the retrained distribution exactly) scores with `n_models` models per side."""
    if n_models < 2 or n_examples < 1 or trials < 1:
        raise BadInput(f"n_models={n_models!r}, n_examples={n_examples!r}, trials={trials!r}: "
                       "need n_models ≥ 2, n_examples ≥ 1, trials ≥ 1")
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(trials):
        a = rng.standard_normal((n_examples, n_models))
        b = rng.standard_normal((n_examples, n_models))
        scores.append(forgetting_quality(a, b, delta, logistic_regression=logistic_regression)[0])
    return float(np.mean(scores))


__all__ = [
    "attack_epsilons",
    "bin_index",
    "example_epsilon",
    "example_scores",
    "final_score",
    "forgetting_quality",
    "logistic_regression_attack_rates",
    "null_forgetting_quality",
    "threshold_attack_rates",
]
