"""Gaussian amnesiac (Tarun et al. 2023): noise targets on D_f, then fine-tuning on all of D."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method, run_method


def test_forget_error_rises_and_retain_error_stays(tiny_regression_data, tiny_regression_original):
    task = make_tiny_task(tiny_regression_data, tiny_regression_original)

    def mae(model, data):
        x, y = data
        with torch.no_grad():
            return float((model(x)[:, 0] - y).abs().mean())

    # the tiny task has 20 forget samples in 4 batches an epoch: a larger step than the default shows the
    # mechanism in a few steps (the defaults are measured on diabetes, tests/test_regression.py)
    model = run_method(build_method("gaussian_amnesiac", {"lr": 0.01}), tiny_regression_original, task).model
    assert mae(model, task.forget_data) > mae(tiny_regression_original, task.forget_data)
    # D_r keeps its targets: its error moves far less than D_f's
    forget_rise = mae(model, task.forget_data) - mae(tiny_regression_original, task.forget_data)
    assert abs(mae(model, task.retain_data) - mae(tiny_regression_original, task.retain_data)) < forget_rise


def test_bad_hyper_parameters_are_one_line():
    with pytest.raises(BadInput, match="gaussian_amnesiac: batch_size=0"):
        build_method("gaussian_amnesiac", {"batch_size": 0})
