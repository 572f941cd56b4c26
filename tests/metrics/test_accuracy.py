from __future__ import annotations

import numpy as np
import pytest

from unlearnlab.metrics import (
    EvalContext,
    ModelOutputs,
    accuracy,
    class_mean_accuracy,
    compute_metrics,
    per_class_accuracy,
)

K = 3


def logits_for(preds: list[int]) -> np.ndarray:
    """Logits whose argmax is `preds`."""
    out = np.zeros((len(preds), K), dtype=np.float32)
    out[np.arange(len(preds)), preds] = 5.0
    return out


# Forget class 2. Forget: predictions 2, 0, 2 (2 of 3 right). Retain, unbalanced: four class-0
# samples all right, one class-1 sample wrong. Test: labels 0 0 1 1 2 2, predictions 0 1 1 1 2 0.
Y_FORGET = np.array([2, 2, 2])
Y_RETAIN = np.array([0, 0, 0, 0, 1])
Y_TEST = np.array([0, 0, 1, 1, 2, 2])
OUTPUTS = ModelOutputs(forget=logits_for([2, 0, 2]), retain=logits_for([0, 0, 0, 0, 0]),
                       test=logits_for([0, 1, 1, 1, 2, 0]))


def context(forget_classes: tuple[int, ...] | None) -> EvalContext:
    return EvalContext(outputs=OUTPUTS, reference=None, y_forget=Y_FORGET, y_retain=Y_RETAIN,
                       y_test=Y_TEST, num_classes=K, forget_classes=forget_classes)


def test_classwise_accuracy_family() -> None:
    m = compute_metrics(context((2,)), ["ua", "ra", "ra_class_mean", "ta", "tua", "tra"])
    assert m["ua"] == pytest.approx(1 / 3)
    assert m["ra"] == pytest.approx(4 / 5)
    assert m["ra_class_mean"] == pytest.approx((1.0 + 0.0) / 2)  # differs from ra: unbalanced
    assert m["ta"] == pytest.approx(3 / 4)  # retained-class test samples only
    assert m["tra"] == pytest.approx(3 / 4)
    assert m["tua"] == pytest.approx(1 - 1 / 2)


def test_random_request_accuracy_family() -> None:
    m = compute_metrics(context(None), ["ua", "ra", "ta", "tua", "tra"])
    assert m["ua"] == pytest.approx(1 / 3)
    assert m["ra"] == pytest.approx(4 / 5)
    assert m["ta"] == pytest.approx(4 / 6)  # the whole test set
    assert m["tua"] is None and m["tra"] is None


def test_classwise_without_forget_class_test_samples_has_no_tua() -> None:
    ctx = EvalContext(outputs=ModelOutputs(OUTPUTS.forget, OUTPUTS.retain, OUTPUTS.test[:4]),
                      reference=None, y_forget=Y_FORGET, y_retain=Y_RETAIN, y_test=Y_TEST[:4],
                      num_classes=K, forget_classes=(2,))
    assert compute_metrics(ctx, ["tua"]) == {"tua": None}


def test_per_class_accuracy_marks_absent_class_nan() -> None:
    labels = np.array([0, 0, 2])
    for given in (np.array([0, 1, 2]), logits_for([0, 1, 2])):  # predictions or logits
        acc = per_class_accuracy(given, labels, K)
        assert acc[0] == 0.5 and np.isnan(acc[1]) and acc[2] == 1.0
    assert class_mean_accuracy(np.array([0, 1, 2]), labels, K) == pytest.approx(0.75)


def test_accuracy_of_nothing_is_nan() -> None:
    assert np.isnan(accuracy(np.zeros((0, K)), np.zeros(0, dtype=np.int64)))
