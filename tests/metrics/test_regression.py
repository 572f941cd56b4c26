"""Regression metrics (metrics/regression.py): hand-computed values, the MIA's chance level, task filtering."""

from __future__ import annotations

import numpy as np
import pytest

from unlearnlab.metrics import (METRICS, EvalContext, ModelOutputs, NoValue, compute_metrics_with_notes, loss_mia,
                                mean_absolute_error, metric_names, r2_check, r2_score)


def _col(values):
    return np.asarray(values, dtype=np.float32)[:, None]


def test_mae_and_r2_by_hand():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert mean_absolute_error(_col([0.5, 1.0, 2.0, 2.0]), y) == pytest.approx((0.5 + 0 + 0 + 1) / 4)
    # SS_res = 0.25 + 1 = 1.25, SS_tot = 5
    assert r2_score(_col([0.5, 1.0, 2.0, 2.0]), y) == pytest.approx(1 - 1.25 / 5)
    assert r2_score(_col([1.5] * 4), y) == pytest.approx(0.0)


def test_a_constant_predictor_is_no_better_than_the_mean():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    check = r2_check(_col([1.5] * 4), y)
    assert check.at_chance and "no better than the mean" in check.describe()
    assert not r2_check(_col([0.1, 0.9, 2.1, 2.9]), y).at_chance
    assert r2_check(_col([0, 0]), np.array([1.0, 1.0])).at_chance  # constant targets: R² undefined


def test_loss_mia_is_near_chance_when_forget_and_test_errors_share_a_law():
    rng = np.random.default_rng(0)
    accs = [loss_mia(rng.exponential(0.1, 300), rng.exponential(1.0, 100), rng.exponential(1.0, 40), seed=s)
            for s in range(20)]
    # 20 draws of 40 + 100 samples: the mean's standard error is about 0.01
    assert abs(np.mean(accs) - 0.5) < 0.05, np.mean(accs)


def test_loss_mia_sees_forget_samples_that_are_still_fitted():
    rng = np.random.default_rng(1)
    acc = loss_mia(rng.exponential(0.01, 300), rng.exponential(1.0, 100), rng.exponential(0.01, 40))
    assert acc > 0.9


def test_loss_mia_without_samples_says_why():
    assert isinstance(loss_mia(np.ones(5), np.ones(1), np.ones(3)), NoValue)


def _ctx(task="regression", reference=True):
    y = np.array([0.0, 1.0, 2.0, 3.0], dtype=np.float32)
    out = ModelOutputs(forget=_col([0.5, 1, 2, 2]), retain=_col([0, 1, 2, 3]), test=_col([0, 1, 2, 4]))
    ref = ModelOutputs(forget=_col([1, 1, 2, 3]), retain=_col([0, 1, 2, 3]), test=_col([0, 1, 2, 3]))
    return EvalContext(out, ref if reference else None, y, y, y, 1, None, task=task)


def test_regression_requests_get_regression_metrics_only():
    metrics, notes = compute_metrics_with_notes(_ctx())
    assert set(metrics) == set(metric_names("regression"))
    assert not {"ua", "ra", "ta", "mia_efficacy", "privacy_score"} & set(metrics)
    assert metrics["forget_mae"] == pytest.approx(0.375) and metrics["retain_mae"] == 0.0
    assert metrics["test_mae"] == pytest.approx(0.25)
    assert metrics["forget_gap"] == pytest.approx(abs(0.375 - 0.25))  # θ_r's forget MAE: (1 + 0 + 0 + 0) / 4


def test_forget_gap_needs_theta_r_and_a_classification_metric_named_on_regression_says_why():
    metrics, notes = compute_metrics_with_notes(_ctx(reference=False), ["forget_gap", "ua"])
    assert metrics == {"forget_gap": None, "ua": None}
    assert "not applicable" in notes["ua"] and "classification" in notes["ua"]


def test_every_metric_declares_its_tasks():
    classification, regression = set(metric_names("classification")), set(metric_names("regression"))
    assert classification | regression == set(METRICS.names()) and not classification & regression
