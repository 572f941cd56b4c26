"""KLoM, KL divergence of margins (Georgiev et al. 2024, Attribute-to-Delete: Machine Unlearning
via Datamodel Matching): per example, the KL divergence between the distribution of its margin over
N unlearned models and over N retrained models, estimated from shared-bin histograms.

Pure functions of margin arrays; the ensembles are built elsewhere, so KLoM is not registered as
a scalar metric.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..errors import BadInput
from .lira import logit_confidence

# Attribute-to-Delete's settings (data-unlearning-bench, compute_binned_KL_div).
BINS = 20
CLIP = 100.0
FLOOR = 1e-5


def margins(logits: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """m = z_y − logsumexp_{j≠y} z_j over the last axis, float64 (stable for any logit size).

    The same number as LiRA's φ = log(p_y / (1 − p_y)).
    """
    return logit_confidence(logits, labels)


def klom_histogram(unlearned_margins: ArrayLike, retrained_margins: ArrayLike, bins: int = BINS,
                   clip: float | None = CLIP, floor: float = FLOOR) -> np.ndarray:
    """Per-example KL(P_unlearned ‖ P_retrained) of histogrammed margins, shape (n_examples,).

    Inputs are (n_examples, n_models) each (the model counts may differ). Per example: clip both
    samples to [−clip, clip] (None: no clip), cut the pooled range [lo, hi] into `bins` equal bins
    (half-open, the last one closed; hi = lo + 1 when every value is equal), and sum
    p·log(p / max(q, floor)) over the bins where p > 0.
    The reference counts with np.digitize, which drops the samples equal to the pooled maximum;
    we keep them in the last bin.
    """
    p_raw = np.asarray(unlearned_margins, dtype=np.float64)
    q_raw = np.asarray(retrained_margins, dtype=np.float64)
    if p_raw.ndim != 2 or q_raw.ndim != 2 or len(p_raw) != len(q_raw):
        raise BadInput(f"margins have shapes {p_raw.shape} and {q_raw.shape}; expected "
                       "(n_examples, n_models) each, with the same n_examples")
    if p_raw.shape[1] == 0 or q_raw.shape[1] == 0:
        raise BadInput("klom_histogram needs at least one model on each side")
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise BadInput(f"bins={bins!r} is not allowed; it must be a positive integer")
    if clip is not None and not clip > 0:
        raise BadInput(f"clip={clip!r} is not allowed; it must be > 0 or None")
    if not floor > 0:
        raise BadInput(f"floor={floor!r} is not allowed; it must be > 0")
    if clip is not None:
        p_raw, q_raw = np.clip(p_raw, -clip, clip), np.clip(q_raw, -clip, clip)
    if not (np.all(np.isfinite(p_raw)) and np.all(np.isfinite(q_raw))):
        raise BadInput("margins must be finite (pass a finite clip to bound infinities)")
    lo = np.minimum(p_raw.min(axis=1), q_raw.min(axis=1))
    hi = np.maximum(p_raw.max(axis=1), q_raw.max(axis=1))
    hi = np.where(hi > lo, hi, lo + 1.0)
    width = (hi - lo) / bins

    def probs(x: np.ndarray) -> np.ndarray:
        idx = np.floor((x - lo[:, None]) / width[:, None]).astype(np.int64)
        idx = np.clip(idx, 0, bins - 1)
        rows = np.repeat(np.arange(len(x)), x.shape[1])
        counts = np.bincount(rows * bins + idx.ravel(), minlength=len(x) * bins).reshape(len(x), bins)
        return counts / x.shape[1]

    p, q = probs(p_raw), probs(q_raw)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / np.maximum(q, floor)), 0.0)
    return terms.sum(axis=1)


def klom_summary(kl: ArrayLike) -> dict[str, float]:
    """Median and upper percentiles (95th, 99th; linear interpolation) of per-example KLoM."""
    values = np.asarray(kl, dtype=np.float64).ravel()
    if values.size == 0:
        raise BadInput("klom_summary needs at least one value")
    median, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"median": float(median), "p95": float(p95), "p99": float(p99)}


__all__ = ["klom_histogram", "klom_summary", "margins"]
