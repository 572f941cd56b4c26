"""Likelihood-ratio membership attacks over shadow-model ensembles.

LiRA (Carlini et al. 2022, Membership Inference Attacks From First Principles): per example, fit
a Gaussian to the logit-scaled confidence φ = log(p_y / (1 − p_y)) over shadow models that
trained on it (IN) and over shadow models that did not (OUT); score a target model's φ by the
likelihood ratio. The offline variant uses only the OUT models, with a one-sided test.

U-LiRA (Hayes et al. 2024, Inexact Unlearning Needs More Careful Evaluations to Avoid a False
Sense of Privacy): the same test with IN = models that trained on x and then unlearned it with the
method, OUT = models retrained without x; the attack accuracy on balanced targets is 0.5 for a
perfect unlearner.

Pure functions of arrays: the shadow statistics come from model ensembles built elsewhere. Not
registered as scalar metrics (a single θ_u is not enough to compute them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import logsumexp
from scipy.stats import norm

from ..errors import BadInput

# Carlini et al.'s reference code adds this to σ so a shadow set with zero spread stays finite.
_STD_EPS = 1e-30

ShadowStats = ArrayLike | tuple[ArrayLike, ArrayLike]
Center = Literal["median", "mean"]


def logit_confidence(logits: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """φ = log p_y − log(1 − p_y) of softmax(logits), float64, over the last axis.

    Equals z_y − logsumexp_{j≠y} z_j exactly, which stays finite where p_y rounds to 1 or 0
    (Carlini et al. compute it from probabilities with a 1e-45 guard instead). `logits` is
    (..., K) and `labels` has shape logits.shape[:-1] (or broadcasts to it).
    """
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim < 1 or z.shape[-1] < 2:
        raise BadInput(f"logits have shape {z.shape}; expected (..., K) with K >= 2 classes")
    y = np.asarray(labels)
    if not np.issubdtype(y.dtype, np.integer):
        raise BadInput(f"labels have dtype {y.dtype}; expected integers")
    try:
        y = np.broadcast_to(y, z.shape[:-1])
    except ValueError:
        raise BadInput(f"labels of shape {y.shape} do not match logits of shape {z.shape}") from None
    k = z.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= k):
        raise BadInput(f"labels must lie in [0, {k}); got values in [{y.min()}, {y.max()}]")
    idx = y[..., None]
    z_y = np.take_along_axis(z, idx, axis=-1)[..., 0]
    others = z.copy()
    np.put_along_axis(others, idx, -np.inf, axis=-1)
    return z_y - logsumexp(others, axis=-1)


def _fit(stats: ShadowStats, center: Center, who: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(μ, σ, raw) per example from raw (n_examples, n_shadow) statistics or a (mean, std) pair."""
    if center not in ("median", "mean"):
        raise BadInput(f"center={center!r} is not allowed; use 'median' or 'mean'")
    if isinstance(stats, tuple):
        if len(stats) != 2:
            raise BadInput(f"{who} must be an (n_examples, n_shadow) array or a (mean, std) pair")
        mu = np.atleast_1d(np.asarray(stats[0], dtype=np.float64))
        sigma = np.atleast_1d(np.asarray(stats[1], dtype=np.float64))
        if mu.shape != sigma.shape or mu.ndim != 1:
            raise BadInput(f"{who}: mean {mu.shape} and std {sigma.shape} must be equal 1-D shapes")
        if np.any(sigma < 0):
            raise BadInput(f"{who}: std must be >= 0")
        return mu, sigma, None
    raw = np.asarray(stats, dtype=np.float64)
    if raw.ndim != 2 or raw.shape[1] == 0:
        raise BadInput(f"{who} has shape {raw.shape}; expected (n_examples, n_shadow) with n_shadow >= 1")
    # Carlini et al. centre the Gaussian on the median, which resists the odd diverged shadow model.
    mu = np.median(raw, axis=1) if center == "median" else raw.mean(axis=1)
    return mu, raw.std(axis=1), raw


def _per_example(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    # (n_examples,) → broadcastable against a target of shape (n_examples, ...).
    return values.reshape(values.shape + (1,) * (target.ndim - 1))


def _target(target: ArrayLike, n: int) -> np.ndarray:
    t = np.asarray(target, dtype=np.float64)
    if t.ndim == 0 or t.shape[0] != n:
        raise BadInput(f"target has shape {t.shape}; expected its first axis to be the {n} examples")
    return t


def gaussian_llr(target: ArrayLike, in_stats: ShadowStats, out_stats: ShadowStats, *,
                 fix_variance: bool = False, center: Center = "median") -> np.ndarray:
    """Online LiRA score log N(φ; μ_in, σ_in) − log N(φ; μ_out, σ_out), per example.

    `in_stats` / `out_stats`: φ over the shadow models, (n_examples, n_shadow) each (the counts
    may differ), or a per-example (mean, std) pair. `target`: (n_examples,) or (n_examples, m)
    φ of the attacked model(s). Higher = more likely IN.
    `fix_variance=True` uses one σ for every example and both Gaussians: the std of all IN
    statistics pooled, as Carlini et al.'s code does (it needs raw statistics).
    """
    mu_in, sd_in, raw_in = _fit(in_stats, center, "in_stats")
    mu_out, sd_out, _ = _fit(out_stats, center, "out_stats")
    if mu_in.shape != mu_out.shape:
        raise BadInput(f"in_stats has {len(mu_in)} examples but out_stats has {len(mu_out)}")
    if fix_variance:
        if raw_in is None:
            raise BadInput("fix_variance=True needs raw in_stats (n_examples, n_shadow), not (mean, std)")
        sd_in = sd_out = np.full_like(mu_in, raw_in.std())
    t = _target(target, len(mu_in))
    log_in = norm.logpdf(t, _per_example(mu_in, t), _per_example(sd_in + _STD_EPS, t))
    log_out = norm.logpdf(t, _per_example(mu_out, t), _per_example(sd_out + _STD_EPS, t))
    return log_in - log_out


def offline_score(target: ArrayLike, out_stats: ShadowStats, *, fix_variance: bool = False,
                  center: Center = "median") -> np.ndarray:
    """Offline LiRA: −log Pr[Z > φ], Z ~ N(μ_out, σ_out), per example. Higher = more likely IN.

    The one-sided test of Carlini et al. §IV-C (Λ = 1 − Pr[Z > φ]), in log form so it does not
    saturate at 1. Their public plotting code ranks by the OUT log-density instead (two-sided).
    `fix_variance=True` uses the std of all OUT statistics pooled for every example.
    """
    mu, sd, raw = _fit(out_stats, center, "out_stats")
    if fix_variance:
        if raw is None:
            raise BadInput("fix_variance=True needs raw out_stats (n_examples, n_shadow), not (mean, std)")
        sd = np.full_like(mu, raw.std())
    t = _target(target, len(mu))
    return -norm.logsf(t, _per_example(mu, t), _per_example(sd + _STD_EPS, t))


def _roc_points(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) of "positive iff score ≥ t" at every distinct score, from (0, 0) up: sklearn's
    roc_curve(drop_intermediate=False) without its input checks, which cost more than the curve
    itself in the thousands of calls an ensemble audit makes."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]  # last index of each distinct score
    tps = np.cumsum(y_sorted)[last]
    fps = (last + 1) - tps
    return np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]]


def roc_summary(scores: ArrayLike, is_positive: ArrayLike) -> dict[str, float]:
    """AUC, best-threshold accuracy and TPR at 1 % / 0.1 % FPR of "positive iff score ≥ t".

    accuracy = max over thresholds of 1 − (FPR + FNR)/2 (Carlini et al.'s; the plain accuracy on
    balanced targets). TPR at FPR x = the largest TPR among thresholds with FPR ≤ x.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(is_positive).ravel()
    if s.shape != y.shape:
        raise BadInput(f"{s.size} scores but {y.size} labels")
    if y.dtype != bool:
        if not np.all(np.isin(y, (0, 1))):
            raise BadInput("is_positive must be boolean (or 0/1)")
        y = y.astype(bool)
    if y.all() or not y.any():
        raise BadInput("roc_summary needs at least one positive and one negative")
    if not np.all(np.isfinite(s)):
        raise BadInput("scores must be finite")
    fpr, tpr = _roc_points(s, y)
    return {
        "auc": float(np.trapezoid(tpr, fpr)),
        "accuracy": float(np.max(1.0 - (fpr + (1.0 - tpr)) / 2.0)),
        "tpr_at_1pct_fpr": float(tpr[fpr <= 0.01].max()),
        "tpr_at_0.1pct_fpr": float(tpr[fpr <= 0.001].max()),
    }


ROC_KEYS = ("accuracy", "auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr")


def roc_summaries(scores: np.ndarray, is_positive: np.ndarray) -> np.ndarray:
    """`roc_summary` of every row of `scores` (K, P) with shared labels (P,) bool: (K, 4) in
    `ROC_KEYS` order. Vectorised for the thousands of permuted ensembles a calibrated audit scores;
    ties as in `roc_summary`: only the last of a run of tied scores is a threshold, and for the AUC
    a tied positive-negative pair counts ½ (the trapezoid over those thresholds).
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(is_positive, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if s.ndim != 2 or s.shape[1] != y.size or n_pos == 0 or n_neg == 0:
        raise BadInput(f"roc_summaries needs (K, {y.size}) scores and both labels; got {s.shape}")
    order = np.argsort(-s, axis=1)  # tie order does not matter: ties are handled by runs below
    s_sorted, y_sorted = np.take_along_axis(s, order, axis=1), y[order]
    new = s_sorted[:, 1:] != s_sorted[:, :-1]
    last = np.concatenate([new, np.ones((len(s), 1), bool)], axis=1)
    first = np.concatenate([np.ones((len(s), 1), bool), new], axis=1)
    tps = np.cumsum(y_sorted, axis=1)
    fps = np.arange(1, s.shape[1] + 1) - tps
    tpr, fpr = tps / n_pos, fps / n_neg
    accuracy = np.maximum(0.5, np.where(last, 1.0 - (fpr + 1.0 - tpr) / 2.0, 0.0).max(axis=1))
    tpr1 = np.where(last & (fpr <= 0.01), tpr, 0.0).max(axis=1)
    tpr01 = np.where(last & (fpr <= 0.001), tpr, 0.0).max(axis=1)
    # per negative: positives scored above it, plus half of those tied with it
    pos = np.arange(s.shape[1])
    run_start = np.maximum.accumulate(np.where(first, pos, 0), axis=1)
    run_end = np.minimum.accumulate(np.where(last, pos, s.shape[1])[:, ::-1], axis=1)[:, ::-1]
    above = np.take_along_axis(tps - y_sorted, run_start, axis=1)
    tied = np.take_along_axis(tps, run_end, axis=1) - above
    auc = np.where(y_sorted, 0.0, above + 0.5 * tied).sum(axis=1) / (n_pos * n_neg)
    return np.stack([accuracy, auc, tpr1, tpr01], axis=1)


def bootstrap_ci(fn: Callable[..., float | ArrayLike], *arrays: ArrayLike, n_boot: int = 1000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of fn(*arrays), resampling rows (axis 0) jointly.

    Every array's first axis is the same set of examples; each replicate draws n of them with
    replacement from `np.random.default_rng(seed)`. `fn` may return a float or a 1-D array (then
    low and high are arrays).
    """
    if not arrays:
        raise BadInput("bootstrap_ci needs at least one array")
    if n_boot < 1:
        raise BadInput(f"n_boot={n_boot!r} is not allowed; it must be >= 1")
    if not 0.0 < level < 1.0:
        raise BadInput(f"level={level!r} is not allowed; it must be in (0, 1)")
    arrs = [np.asarray(a) for a in arrays]
    n = len(arrs[0])
    if n == 0 or any(a.ndim == 0 or len(a) != n for a in arrs):
        raise BadInput("bootstrap_ci needs non-empty arrays with the same first-axis length")
    rng = np.random.default_rng(seed)
    stats = np.array([np.asarray(fn(*(a[idx] for a in arrs)), dtype=np.float64)
                      for idx in (rng.integers(0, n, size=n) for _ in range(n_boot))])
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha], axis=0)
    if np.ndim(low) == 0:
        return float(low), float(high)
    return low, high


@dataclass(frozen=True)
class ULiRAResult:
    """U-LiRA scores (higher = "was unlearned") aligned with the two target arrays, the attack's
    roc_summary over all of them, and a bootstrap interval per summary key (resampling forget
    examples)."""

    scores_unlearned: np.ndarray
    scores_retrained: np.ndarray
    summary: dict[str, float]
    ci: dict[str, tuple[float, float]]

    @property
    def accuracy(self) -> float:
        return self.summary["accuracy"]


def ulira(unlearned_stats: ShadowStats, retrained_stats: ShadowStats, target_unlearned: ArrayLike,
          target_retrained: ArrayLike, *, fix_variance: bool = False, center: Center = "median",
          n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> ULiRAResult:
    """U-LiRA (Hayes et al. 2024) from φ statistics; see `logit_confidence` for φ.

    unlearned_stats: (n_forget, n_shadow_u) φ of each forget example under shadow models that
        trained on it and then unlearned it with the method (or a (mean, std) pair).
    retrained_stats: (n_forget, n_shadow_r) φ under shadow models never trained on it.
    target_unlearned / target_retrained: (n_forget,) or (n_forget, m) φ under held-out target
        models of each kind; the two must have the same shape, so targets are balanced.
    The attack calls a target "unlearned" when the likelihood ratio is high; its accuracy is 0.5
    (and AUC 0.5) when unlearning is indistinguishable from retraining.
    """
    tu = np.asarray(target_unlearned, dtype=np.float64)
    tr = np.asarray(target_retrained, dtype=np.float64)
    if tu.shape != tr.shape:
        raise BadInput(f"target_unlearned {tu.shape} and target_retrained {tr.shape} must have the "
                       "same shape (balanced targets)")
    su = gaussian_llr(tu, unlearned_stats, retrained_stats, fix_variance=fix_variance, center=center)
    sr = gaussian_llr(tr, unlearned_stats, retrained_stats, fix_variance=fix_variance, center=center)

    keys = ("auc", "accuracy", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr")

    def summarise(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
        labels = np.concatenate([np.ones(a.size, bool), np.zeros(b.size, bool)])
        return roc_summary(np.concatenate([a.ravel(), b.ravel()]), labels)

    summary = summarise(su, sr)
    low, high = bootstrap_ci(lambda a, b: [summarise(a, b)[k] for k in keys], su, sr,
                             n_boot=n_boot, level=level, seed=seed)
    ci = {k: (float(lo), float(hi)) for k, lo, hi in zip(keys, low, high)}
    return ULiRAResult(su, sr, summary, ci)


__all__ = [
    "ROC_KEYS",
    "ULiRAResult",
    "bootstrap_ci",
    "gaussian_llr",
    "logit_confidence",
    "offline_score",
    "roc_summaries",
    "roc_summary",
    "ulira",
]
