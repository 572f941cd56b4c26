"""IU: the WoodFisher recursion against a direct solve, per-sample gradients, the applied Newton step."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput, Cancelled
from unlearnlab.methods import UnlearningTask, build_method, run_method
from unlearnlab.methods.iu import InfluenceUnlearning, per_sample_gradients, woodfisher_ifvp
from unlearnlab.training import RunContext, TensorBatches, TrainConfig


def _grads_one_by_one(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    rows = []
    for i in range(len(x)):
        g = torch.autograd.grad(F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]), list(model.parameters()))
        rows.append(torch.cat([t.reshape(-1) for t in g]))
    return torch.stack(rows)


@pytest.mark.parametrize("m, p, damping", [(7, 5, 1.0), (4, 9, 0.1), (12, 3, 1e-3)])
def test_woodfisher_recursion_equals_a_direct_solve(m, p, damping):
    g = torch.Generator().manual_seed(m)
    grads = torch.randn(m, p, generator=g, dtype=torch.float64)
    v = torch.randn(p, generator=g, dtype=torch.float64)
    fisher = damping * torch.eye(p, dtype=torch.float64) + grads.T @ grads / m
    assert torch.allclose(woodfisher_ifvp(grads, v, damping), torch.linalg.solve(fisher, v), rtol=1e-9, atol=1e-9)


def test_per_sample_gradients_of_a_linear_model_and_their_inverse_fisher_product():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)  # 8 parameters: the Fisher is small enough to invert directly
    x, y = torch.randn(10, 3), torch.randint(0, 2, (10,))
    ctx = RunContext(device=torch.device("cpu"))
    params = dict(model.named_parameters())
    grads = per_sample_gradients(model, params, TensorBatches(x, y, batch_size=4, shuffle=False), 9, ctx)
    expected = _grads_one_by_one(model, x[:9], y[:9])
    assert grads.shape == (9, 8) and torch.allclose(grads, expected, atol=1e-6)
    assert ctx.counters.samples == 9  # stops reading at the cap, mid-batch
    v = torch.randn(8)
    fisher = 0.5 * torch.eye(8) + expected.T @ expected / 9
    assert torch.allclose(woodfisher_ifvp(grads, v, 0.5), torch.linalg.solve(fisher, v), atol=1e-5)


def _linear_task(n=24, n_forget=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = (x[:, 0] > 0).long()
    original = nn.Linear(3, 2)
    with torch.no_grad():
        original.weight.copy_(torch.tensor([[1.0, -0.5, 0.2], [-1.0, 0.3, 0.1]]))
        original.bias.zero_()
    original.requires_grad_(False)
    task = UnlearningTask(x, y, np.arange(n_forget), 2, original, lambda: nn.Linear(3, 2),
                          TrainConfig(), RunContext(device=torch.device("cpu")))
    return task, original


def test_applied_step_is_alpha_times_the_inverse_fisher_of_the_influence_direction():
    task, original = _linear_task()
    alpha, damping = 0.3, 0.2
    res = run_method(InfluenceUnlearning(alpha=alpha, retain_samples=1000, damping=damping, batch_size=5),
                     original, task)

    model = nn.Linear(3, 2)
    model.load_state_dict(original.state_dict())
    (x_f, y_f), (x_r, y_r) = task.forget_data, task.retain_data
    g_f, g_r = _grads_one_by_one(model, x_f, y_f), _grads_one_by_one(model, x_r, y_r)
    n_f, n_r = len(x_f), len(x_r)
    # The reference (Unlearn-Sparse, Wfisher.py): v = Σ_f g / |D| − (|D_f| / (|D|·|D_r|))·Σ_r g
    v = g_f.sum(0) / (n_f + n_r) - g_r.sum(0) * n_f / ((n_f + n_r) * n_r)
    fisher = damping * torch.eye(8) + g_r.T @ g_r / n_r  # every retain sample: cap above |D_r|
    theta = torch.cat([original.weight.reshape(-1), original.bias]) + alpha * torch.linalg.solve(fisher, v)
    got = torch.cat([res.model.weight.reshape(-1), res.model.bias]).detach()
    assert torch.allclose(got, theta, atol=1e-5)
    assert res.samples == n_f + 2 * n_r and res.steps == 0


def test_retain_samples_caps_the_fisher_estimate():
    task, original = _linear_task()
    res = run_method(InfluenceUnlearning(retain_samples=5, batch_size=4), original, task)
    assert res.samples == len(task.forget_idx) + len(task.retain_idx) + 5


def test_iu_raises_the_forget_loss(tiny_data, brief_original):
    original = brief_original  # a saturated θ_o has no gradient to take a Newton step along
    task = make_tiny_task(tiny_data, original)
    (x_f, y_f), (x_r, y_r) = task.forget_data, task.retain_data
    model = run_method(build_method("iu", {"alpha": 0.3}), original, task).model
    with torch.no_grad():
        before, after = (F.cross_entropy(m(x_f), y_f).item() for m in (original, model))
        assert (model(x_r).argmax(1) == y_r).float().mean() > 0.85
        assert (model(x_f).argmax(1) == y_f).float().mean() < 0.1
    assert after > before + 1.0


def test_gradient_passes_honour_cancellation():
    task, original = _linear_task()
    task.ctx.cancel = threading.Event()
    task.ctx.cancel.set()
    with pytest.raises(Cancelled):
        per_sample_gradients(original, dict(original.named_parameters()), task.retain_loader(4), 10, task.ctx)
    assert task.ctx.counters.samples == 0


@pytest.mark.parametrize("params, bad", [({"alpha": "0"}, r"alpha=0\.0"), ({"alpha": "-1"}, r"alpha=-1\.0"),
                                         ({"damping": "-0.1"}, r"damping=-0\.1"),
                                         ({"retain_samples": "0"}, r"retain_samples=0"),
                                         ({"batch_size": "0"}, r"batch_size=0")])
def test_rejects_bad_hyper_parameters(params, bad):
    with pytest.raises(BadInput, match=bad):
        build_method("iu", params)
