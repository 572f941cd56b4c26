from __future__ import annotations

import math

import numpy as np
import pytest

from unlearnlab.metrics import EvalContext, ModelOutputs, compute_metrics, mia, mia_efficacy, true_label_probability


def confidences(rng: np.random.Generator, centre: float, n: int) -> np.ndarray:
    return np.clip(centre + rng.uniform(-0.03, 0.03, size=n), 0.0, 1.0)


@pytest.fixture()
def shadow() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return confidences(rng, 0.98, 300), confidences(rng, 0.1, 100)  # members p≈1, non-members p≈0.1


def test_member_like_forget_set_is_not_forgotten(shadow: tuple[np.ndarray, np.ndarray]) -> None:
    retain, test = shadow
    forget = confidences(np.random.default_rng(1), 0.98, 50)
    assert mia_efficacy(retain, test, forget) == pytest.approx(0.0, abs=0.02)


def test_test_like_forget_set_is_forgotten(shadow: tuple[np.ndarray, np.ndarray]) -> None:
    retain, test = shadow
    forget = confidences(np.random.default_rng(1), 0.1, 50)
    assert mia_efficacy(retain, test, forget) == pytest.approx(1.0, abs=0.02)


def test_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(2)
    retain, test, forget = rng.uniform(size=400), rng.uniform(size=100), rng.uniform(size=100)
    first = mia_efficacy(retain, test, forget, seed=3)
    assert mia_efficacy(retain, test, forget, seed=3) == first


class SpySVC:
    """Records what the attacker is trained on; calls everything a member."""

    fitted: list[tuple[np.ndarray, np.ndarray]] = []

    def __init__(self, **params: object) -> None:
        assert params == {"C": 3, "gamma": "auto", "kernel": "rbf"}

    def fit(self, x: np.ndarray, y: np.ndarray) -> SpySVC:
        SpySVC.fitted.append((x, y))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.ones(len(x))


def test_protocol_members_are_test_sized_draw_from_retain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mia, "SVC", SpySVC)
    SpySVC.fitted.clear()
    retain, test = np.linspace(0.5, 1.0, 40), np.full(10, 0.2)
    assert mia_efficacy(retain, test, np.full(5, 0.3)) == 0.0
    (x, y), = SpySVC.fitted
    assert x.shape == (20, 1) and list(y) == [1] * 10 + [0] * 10
    assert set(x[:10, 0]) <= set(retain) and len(set(x[:10, 0])) == 10
    np.testing.assert_array_equal(x[10:, 0], test)


def test_classwise_non_members_are_retained_class_test_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mia, "SVC", SpySVC)
    SpySVC.fitted.clear()
    logits = np.zeros((6, 3))
    y_test = np.array([0, 1, 2, 2, 2, 1])
    ctx = EvalContext(outputs=ModelOutputs(forget=np.zeros((2, 3)), retain=np.zeros((8, 3)), test=logits),
                      reference=None, y_forget=np.array([2, 2]), y_retain=np.zeros(8, dtype=np.int64),
                      y_test=y_test, num_classes=3, forget_classes=(2,))
    compute_metrics(ctx, ["mia_efficacy"])
    (x, y), = SpySVC.fitted
    assert list(y) == [1] * 3 + [0] * 3  # 3 retained-class test samples, and as many members


def test_true_label_probability_is_stable() -> None:
    p = true_label_probability(np.array([[1000.0, 0.0], [0.0, 0.0]], dtype=np.float32), np.array([1, 0]))
    assert p.dtype == np.float64
    assert p[0] == 0.0 and p[1] == pytest.approx(0.5)
    p_log3 = true_label_probability(np.array([[math.log(3), 0.0]]), np.array([0]))
    assert p_log3[0] == pytest.approx(0.75)
