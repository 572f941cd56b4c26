"""Forgetting quality of the NeurIPS 2023 Machine Unlearning challenge (Triantafillou et al. 2024,
"Are we making progress in unlearning?"), as scored by the public Kaggle evaluation notebook.

For each forget example we have one scalar output (e.g. a loss or a logit-scaled confidence) from
each of N unlearned and N retrained models. Every attack that tries to tell the two samples apart
gives an (FPR, FNR); each (FPR, FNR) implies an ε through the (ε, δ) inequalities
(`privacy.epsilon`); the example's ε is the largest over attacks, and its score is
H = 2 / 2^n where n = `np.digitize(ε, [0, 0.5, …, 6])` is the index of its 0.5-wide ε bin
(n = 1 for ε < 0.5, H = 1; n = 13, H = 2^-12, for ε ≥ 6 or ε = ∞). F = mean H.

The notebook's attacks are the single-threshold rules "unlearned iff s > t" (one direction only)
and a logistic regression: `forgetting_quality` scores exactly that, so its values compare with
published ones. `forgetting_quality(..., two_sided=True)` is our variant, which also sweeps the
reversed rules "unlearned iff s ≤ t": a stronger attack, so its F is lower (null ≈ 0.25 instead of
≈ 0.42 at N = 16); report it under its own name.

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


def threshold_attack_rates(unlearned: ArrayLike, retrained: ArrayLike, *,
                           two_sided: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, FNR) of every single-threshold attack.

    "Positive" is unlearned (the notebook's label 1). For each distinct pooled value t the rule
    "unlearned iff s > t" is evaluated (the notebook's sweep); with `two_sided` its reverse
    "unlearned iff s ≤ t" too, whose rates are (1 − FPR, 1 − FNR). Ties fall on the same side, as
    in the notebook.
    """
    u = np.sort(np.asarray(unlearned, dtype=np.float64).ravel())
    r = np.sort(np.asarray(retrained, dtype=np.float64).ravel())
    thresholds = np.unique(np.concatenate([u, r]))
    fpr = 1.0 - np.searchsorted(r, thresholds, side="right") / len(r)
    fnr = np.searchsorted(u, thresholds, side="right") / len(u)
    if not two_sided:
        return fpr, fnr
    return np.concatenate([fpr, 1.0 - fpr]), np.concatenate([fnr, 1.0 - fnr])


def threshold_attack_rates_batched(unlearned: np.ndarray, retrained: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, FNR) of "unlearned iff s > t" for every pooled value t of each row, shape (P, n_u + n_r)
    each, nan where t is not the last of a run of tied values (its rule is the same as the last's).

    `unlearned` (P, n_u) and `retrained` (P, n_r): P independent problems; the non-nan entries of a
    row are `threshold_attack_rates` of that row (one direction).
    """
    u = np.asarray(unlearned, dtype=np.float64)
    r = np.asarray(retrained, dtype=np.float64)
    pooled = np.concatenate([u, r], axis=1)
    order = np.argsort(pooled, axis=1, kind="stable")
    values = np.take_along_axis(pooled, order, axis=1)
    is_u = order < u.shape[1]
    # counts of values ≤ t are read at the last member of each run of ties
    last = np.ones(values.shape, dtype=bool)
    last[:, :-1] = values[:, 1:] != values[:, :-1]
    fnr = np.cumsum(is_u, axis=1) / u.shape[1]
    fpr = 1.0 - np.cumsum(~is_u, axis=1) / r.shape[1]
    return np.where(last, fpr, np.nan), np.where(last, fnr, np.nan)


def logistic_regression_1d(x: np.ndarray, labels: np.ndarray, c: float = 1.0, iters: int = 100,
                           tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """(w, b) of sklearn's default LogisticRegression (L2, C, intercept unpenalised) on a scalar
    feature, for P independent problems at once: x (P, n), labels (n,) of 0/1 shared by all.

    Damped Newton on the strictly convex objective ½w² + C·Σ log(1 + e^(−s(wx + b))); sklearn's
    lbfgs reaches the same optimum to its tolerance, one problem at a time (hundreds of times
    slower for the thousands of tiny fits an ensemble audit needs).
    """
    x = np.asarray(x, dtype=np.float64)
    s = np.where(np.asarray(labels) == 1, 1.0, -1.0)
    w, b = np.zeros(len(x)), np.zeros(len(x))

    def objective(w_: np.ndarray, b_: np.ndarray) -> np.ndarray:
        return 0.5 * w_ ** 2 + c * np.logaddexp(0.0, -s * (w_[:, None] * x + b_[:, None])).sum(axis=1)

    f = objective(w, b)
    for _ in range(iters):
        z = w[:, None] * x + b[:, None]
        p = 1.0 / (1.0 + np.exp(-z))
        r = p - (s > 0)  # dloss/dz
        gw, gb = w + c * (r * x).sum(axis=1), c * r.sum(axis=1)
        h = c * p * (1.0 - p)
        hww, hwb, hbb = 1.0 + (h * x * x).sum(axis=1), (h * x).sum(axis=1), h.sum(axis=1) + 1e-12
        det = hww * hbb - hwb ** 2
        dw, db = -(hbb * gw - hwb * gb) / det, -(hww * gb - hwb * gw) / det
        step = np.ones(len(x))
        for _ in range(30):  # backtrack until the objective does not increase
            new = objective(w + step * dw, b + step * db)
            worse = new > f + 1e-12 * np.abs(f)
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
        w, b, f_old, f = w + step * dw, b + step * db, f, objective(w + step * dw, b + step * db)
        if np.all(np.abs(f_old - f) <= tol * np.maximum(1.0, np.abs(f))):
            break
    return w, b


def logistic_regression_attack_rates(unlearned: ArrayLike, retrained: ArrayLike, *,
                                     n_splits: int = LR_SPLITS, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, FNR) of a logistic regression on the scalar output, averaged over the held-out parts of
    `n_splits` stratified shuffle splits (test size 0.1), as in the notebook's
    `logistic_regression_attack` (sklearn defaults for the model). The test part holds at least
    one sample of each side (the notebook fails below 10 models per side).

    Inputs are (n_models,) for one example, or (P, n_models) for P examples at once (same splits:
    they depend only on the labels); the rates are then (P,) arrays.
    """
    from sklearn.model_selection import StratifiedShuffleSplit

    u = np.asarray(unlearned, dtype=np.float64)
    r = np.asarray(retrained, dtype=np.float64)
    single = u.ndim == 1
    u, r = np.atleast_2d(u), np.atleast_2d(r)
    samples = np.concatenate([r, u], axis=1)
    labels = np.concatenate([np.zeros(r.shape[1], dtype=int), np.ones(u.shape[1], dtype=int)])
    fprs, fnrs = [], []
    test_size = max(int(np.ceil(0.1 * len(labels))), 2)
    cv = StratifiedShuffleSplit(n_splits=n_splits, test_size=test_size, random_state=random_state)
    for train, test in cv.split(samples[0].reshape(-1, 1), labels):
        w, b = logistic_regression_1d(samples[:, train], labels[train])
        pred = (w[:, None] * samples[:, test] + b[:, None]) > 0
        truth = labels[test]
        fprs.append(pred[:, truth == 0].mean(axis=1))
        fnrs.append((~pred[:, truth == 1]).mean(axis=1))
    fpr, fnr = np.mean(fprs, axis=0), np.mean(fnrs, axis=0)
    return (float(fpr[0]), float(fnr[0])) if single else (fpr, fnr)


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
                    logistic_regression: bool = True, random_state: int = 0, two_sided: bool = False,
                    lr_rates: tuple[float, float] | None = None) -> float:
    """ε of one forget example: the max over all threshold attacks and the logistic regression
    attack; 0 when every attack is discarded (the notebook starts its list with 0).
    `lr_rates`: the logistic regression's (FPR, FNR) if already computed (batched)."""
    fpr, fnr = threshold_attack_rates(unlearned, retrained, two_sided=two_sided)
    if logistic_regression:
        lr_fpr, lr_fnr = lr_rates or logistic_regression_attack_rates(unlearned, retrained,
                                                                      random_state=random_state)
        fpr, fnr = np.append(fpr, lr_fpr), np.append(fnr, lr_fnr)
    eps = attack_epsilons(fpr, fnr, delta)
    kept = eps[~np.isnan(eps)]
    return float(max(0.0, kept.max())) if kept.size else 0.0


def _max_eps(fpr: np.ndarray, fnr: np.ndarray, delta: float) -> np.ndarray:
    """Row-wise max of the kept attacks' ε, 0 when none is kept; nan rates mark absent attacks."""
    absent = np.isnan(fpr)
    eps = attack_epsilons(np.where(absent, 0.5, fpr), np.where(absent, 0.5, fnr), delta)
    eps = np.where(absent | np.isnan(eps), 0.0, eps)
    return eps.max(axis=1)


def example_epsilons(unlearned: ArrayLike, retrained: ArrayLike, delta: float = CHALLENGE_DELTA, *,
                     logistic_regression: bool = True, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(ε of the notebook's attacks, ε of the two-sided variant) of every row, (P,) each, from
    (P, n_models) arrays: `example_epsilon` of each row, vectorised (an audit scores millions of rows).

    Both share the logistic regression; the two-sided ε also maximises over the reversed rules.
    """
    u = np.asarray(unlearned, dtype=np.float64)
    r = np.asarray(retrained, dtype=np.float64)
    fpr, fnr = threshold_attack_rates_batched(u, r)
    forward = _max_eps(fpr, fnr, delta)
    reverse = _max_eps(1.0 - fpr, 1.0 - fnr, delta)
    if logistic_regression:
        lr_fpr, lr_fnr = logistic_regression_attack_rates(u, r, random_state=random_state)
        lr = _max_eps(lr_fpr[:, None], lr_fnr[:, None], delta)
        forward = np.maximum(forward, lr)
    return forward, np.maximum(forward, reverse)


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
                       random_state: int = 0, two_sided: bool = False) -> tuple[float, np.ndarray]:
    """(F, per-example ε) from (n_examples, N) arrays of one scalar output per forget example and
    model (note: examples on rows; the notebook's arrays are (N, n_examples)).

    Unlike the later DeepMind paper code (per-example positive class by median, double thresholds,
    ε capped at 50, bins up to ceil(ln(N − 1))), this follows the Kaggle leaderboard notebook;
    `two_sided=True` adds the reversed threshold rules (our variant, not the challenge's score).
    """
    u = _check(unlearned_outputs, "unlearned_outputs")
    r = _check(retrained_outputs, "retrained_outputs")
    if u.shape != r.shape:
        raise BadInput(f"unlearned_outputs {u.shape} and retrained_outputs {r.shape} must have the same shape")
    if not 0.0 <= delta < 1.0:
        raise BadInput(f"delta={delta!r} is not allowed; it must be in [0, 1)")
    one, two = example_epsilons(u, r, delta, logistic_regression=logistic_regression, random_state=random_state)
    eps = two if two_sided else one
    return float(example_scores(eps).mean()), eps


def final_score(forget_quality: float, ra_u: float, ra_r: float, ta_u: float, ta_r: float) -> float:
    """F · (RA_u / RA_r) · (TA_u / TA_r), the challenge's utility-adjusted score."""
    if ra_r <= 0 or ta_r <= 0:
        raise BadInput(f"retrained accuracies must be positive; got RA_r={ra_r!r}, TA_r={ta_r!r}")
    return float(forget_quality * (ra_u / ra_r) * (ta_u / ta_r))


def null_forgetting_quality(n_models: int, n_examples: int = 50, delta: float = CHALLENGE_DELTA,
                            seed: int = 0, trials: int = 1, *, logistic_regression: bool = True,
                            two_sided: bool = False) -> float:
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
        scores.append(forgetting_quality(a, b, delta, logistic_regression=logistic_regression,
                                         two_sided=two_sided)[0])
    return float(np.mean(scores))


__all__ = [
    "attack_epsilons",
    "bin_index",
    "example_epsilon",
    "example_epsilons",
    "example_scores",
    "final_score",
    "forgetting_quality",
    "logistic_regression_1d",
    "logistic_regression_attack_rates",
    "null_forgetting_quality",
    "threshold_attack_rates",
    "threshold_attack_rates_batched",
]
