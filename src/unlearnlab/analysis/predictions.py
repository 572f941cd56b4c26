"""The Unlearning Comparator's prediction matrix: what a model predicts for each true class, as a
row-normalised confusion matrix and as the mean softmax (pure functions of logits and labels)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..errors import BadInput


def _labels(labels: ArrayLike, n: int, num_classes: int) -> np.ndarray:
    y = np.asarray(labels).ravel()
    if len(y) != n:
        raise BadInput(f"labels has {len(y)} entries for {n} samples; they must be equal")
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise BadInput(f"labels must lie in 0..{num_classes - 1}; got {y.min()}..{y.max()}")
    return y.astype(np.int64)


def softmax(logits: ArrayLike) -> np.ndarray:
    """Row-wise softmax (float64, max-shifted so large logits do not overflow)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _row_means(values: np.ndarray, y: np.ndarray, num_classes: int) -> np.ndarray:
    """Mean of `values` rows per true class (K, K); nan rows for classes without samples."""
    sums = np.zeros((num_classes, values.shape[1]))
    np.add.at(sums, y, values)
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def confusion_matrix(logits_or_preds: ArrayLike, labels: ArrayLike, num_classes: int) -> np.ndarray:
    """Row-normalised confusion matrix (K, K): entry [t, p] = share of class-t samples predicted p.

    Takes logits (n, K) or predicted labels (n,); rows of classes without samples are nan.
    """
    arr = np.asarray(logits_or_preds)
    pred = arr.argmax(axis=1) if arr.ndim == 2 else arr.astype(np.int64).ravel()
    y = _labels(labels, len(pred), num_classes)
    if len(pred) and (pred.min() < 0 or pred.max() >= num_classes):
        raise BadInput(f"predictions must lie in 0..{num_classes - 1}; got {pred.min()}..{pred.max()}")
    return _row_means(np.eye(num_classes)[pred], y, num_classes)


def mean_softmax(logits: ArrayLike, labels: ArrayLike, num_classes: int) -> np.ndarray:
    """Mean softmax probability vector per true class (K, K); rows of absent classes are nan."""
    z = np.asarray(logits)
    if z.ndim != 2 or z.shape[1] != num_classes:
        raise BadInput(f"logits must be shaped (n, {num_classes}); got {z.shape}")
    return _row_means(softmax(z), _labels(labels, len(z), num_classes), num_classes)


__all__ = ["confusion_matrix", "mean_softmax", "softmax"]
