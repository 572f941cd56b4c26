"""The accuracy family: UA, RA, TA (Jia et al. 2023, Model Sparsity Can Simplify Machine
Unlearning; Fan et al. 2024, SalUn) and TUA, TRA and the class-mean RA of the Unlearning
Comparator (Lee et al., IEEE TVCG 2026).
"""

from __future__ import annotations

import math

import numpy as np

from . import EvalContext, register_metric


def _predictions(logits_or_preds: np.ndarray) -> np.ndarray:
    arr = np.asarray(logits_or_preds)
    return arr.argmax(axis=1) if arr.ndim == 2 else arr.astype(np.int64)


def accuracy(logits_or_preds: np.ndarray, labels: np.ndarray) -> float:
    """Share of samples whose predicted class (argmax of logits, or the given prediction) is the
    label; nan for no samples."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        return math.nan
    return float(np.mean(_predictions(logits_or_preds) == labels))


def per_class_accuracy(logits_or_preds: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Accuracy of each class 0..num_classes-1 (float64); nan where a class has no samples."""
    labels = np.asarray(labels, dtype=np.int64)
    correct = (_predictions(logits_or_preds) == labels).astype(np.float64)
    totals = np.bincount(labels, minlength=num_classes).astype(np.float64)
    hits = np.bincount(labels, weights=correct, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / totals


def class_mean_accuracy(logits_or_preds: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """Unweighted mean of per-class accuracies over the classes present (the Comparator's RA)."""
    per_class = per_class_accuracy(logits_or_preds, labels, num_classes)
    present = per_class[~np.isnan(per_class)]
    return float(present.mean()) if len(present) else math.nan


def _value(x: float) -> float | None:
    # An empty split (e.g. no test samples of the forget class) has no accuracy to report.
    return None if math.isnan(x) else x


@register_metric("ua")
def unlearning_accuracy(ctx: EvalContext) -> float | None:
    """UA = 1 − Acc(θ_u, D_f)."""
    return _value(1.0 - accuracy(ctx.outputs.forget, ctx.y_forget))


@register_metric("ra")
def retain_accuracy(ctx: EvalContext) -> float | None:
    """RA = Acc(θ_u, D_r), sample-weighted."""
    return _value(accuracy(ctx.outputs.retain, ctx.y_retain))


@register_metric("ra_class_mean")
def retain_class_mean_accuracy(ctx: EvalContext) -> float | None:
    """RA as the Unlearning Comparator reports it: the mean of per-class retain accuracies."""
    return _value(class_mean_accuracy(ctx.outputs.retain, ctx.y_retain, ctx.num_classes))


@register_metric("ta")
def test_accuracy(ctx: EvalContext) -> float | None:
    """TA = Acc(θ_u, D_t); in class-wise forgetting only over test samples of retained classes."""
    keep = ctx.retained_test_mask()
    return _value(accuracy(ctx.outputs.test[keep], ctx.y_test[keep]))


@register_metric("tua")
def test_unlearning_accuracy(ctx: EvalContext) -> float | None:
    """TUA = 1 − Acc on test samples of the forgotten classes (class-wise requests only)."""
    if not ctx.classwise:
        return None
    drop = ~ctx.retained_test_mask()
    return _value(1.0 - accuracy(ctx.outputs.test[drop], ctx.y_test[drop]))


@register_metric("tra")
def test_retain_accuracy(ctx: EvalContext) -> float | None:
    """TRA = Acc on test samples of the retained classes (class-wise requests only), sample-weighted."""
    if not ctx.classwise:
        return None
    keep = ctx.retained_test_mask()
    return _value(accuracy(ctx.outputs.test[keep], ctx.y_test[keep]))
