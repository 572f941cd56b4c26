"""Blindspot (Tarun et al. 2023): the proxy, the forget loss's pull toward it, and its validation."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method, run_method
from unlearnlab.methods.blindspot import _attention, _forward


def _forget_mae(model, task):
    x_f, y_f = task.forget_data
    with torch.no_grad():
        return float((model(x_f)[:, 0] - y_f).abs().mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forget_error_rises_toward_a_blind_proxy(tiny_regression_data, tiny_regression_original, seed):
    # The forget set is the 20 largest targets. A proxy of one slow epoch on D_r has learned almost nothing, so it
    # misses them; a larger step than the default shows the pull within the tiny task's few steps (measured: the
    # forget MAE 0.25 -> 0.99-1.15 over these seeds, the retain MAE 0.18 -> 0.22-0.25).
    task = make_tiny_task(tiny_regression_data, tiny_regression_original, seed=seed)
    before = _forget_mae(tiny_regression_original, task)
    method = build_method("blindspot", {"proxy_lr": 1e-3, "proxy_epochs": 1, "lr": 0.01})
    after = _forget_mae(run_method(method, tiny_regression_original, task).model, task)
    assert after > before + 0.3, (before, after)


def test_beta_zero_matches_outputs_only_and_changes_the_result(tiny_regression_data, tiny_regression_original):
    task = lambda: make_tiny_task(tiny_regression_data, tiny_regression_original)  # noqa: E731
    with_maps = run_method(build_method("blindspot"), tiny_regression_original, task()).model
    without = run_method(build_method("blindspot", {"beta": 0}), tiny_regression_original, task()).model
    assert any(not torch.equal(a, b) for a, b in zip(with_maps.state_dict().values(), without.state_dict().values()))


def test_attention_maps_of_dense_and_conv_activations_are_unit_vectors():
    dense, conv = torch.randn(4, 16), torch.randn(4, 8, 5, 5)
    assert _attention(dense).shape == (4, 16) and _attention(conv).shape == (4, 25)
    for a in (dense, conv):
        assert torch.allclose(_attention(a).norm(dim=1), torch.ones(4))


def test_hidden_blocks_are_hooked_and_released(tiny_regression_original, tiny_regression_data):
    x = torch.as_tensor(tiny_regression_data.x_train[:5])
    out, acts = _forward(tiny_regression_original, x)
    assert out.shape == (5, 1) and len(acts) == len(tiny_regression_original.block_names) - 1
    assert not any(m._forward_hooks for m in tiny_regression_original.modules())


@pytest.mark.parametrize("params, message", [({"proxy_lr": -1}, "proxy_lr=-1"), ({"proxy_epochs": 0}, "proxy_epochs=0"),
                                             ({"beta": -1}, "beta=-1")])
def test_bad_hyper_parameters_are_one_line(params, message):
    with pytest.raises(BadInput, match=message):
        build_method("blindspot", params)
