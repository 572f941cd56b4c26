"""ℓ1-sparse: CE + γ_t·‖θ‖₁ over every parameter, γ_t linear to 0 per epoch; the model ends sparser than FT."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method, run_method
from unlearnlab.methods.l1_sparse import l1_norm, l1_schedule


def test_gamma_is_held_per_epoch_and_falls_linearly_to_zero():
    assert l1_schedule(0.1, 4, 2) == pytest.approx([0.1, 0.1, 0.075, 0.075, 0.05, 0.05, 0.025, 0.025])
    steps = l1_schedule(3e-3, 10, 5)
    assert len(steps) == 50 and steps[0] == 3e-3
    # equal decrements that would reach 0 at the epoch after the last one
    per_epoch = steps[::5]
    diffs = [a - b for a, b in zip(per_epoch, per_epoch[1:])]
    assert diffs == pytest.approx([3e-4] * 9)
    assert per_epoch[-1] - diffs[0] == pytest.approx(0.0, abs=1e-12)


def test_each_step_is_ce_gradient_plus_gamma_t_sign_over_every_parameter(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    x_r, y_r = task.retain_data
    gamma, lr = 0.05, 0.1
    # full-batch plain SGD, 2 epochs: one step at γ, then one at γ/2
    params = {"gamma": gamma, "lr": lr, "epochs": 2, "batch_size": len(x_r), "momentum": 0.0, "weight_decay": 0.0}
    model = run_method(build_method("l1_sparse", params), tiny_original, task).model
    ref = copy.deepcopy(tiny_original).requires_grad_(True)
    for g_t in (gamma, gamma / 2):
        grads = torch.autograd.grad(F.cross_entropy(ref(x_r), y_r), list(ref.parameters()))
        with torch.no_grad():
            for p, g in zip(ref.parameters(), grads):
                # biases are in the norm too, as in the reference's l1_regularization
                p -= lr * (g + g_t * torch.sign(p))
    for (name, p), p_ref in zip(model.named_parameters(), ref.parameters()):
        assert torch.allclose(p, p_ref, atol=1e-6), name


def test_l1_makes_the_model_sparser_than_plain_fine_tuning(tiny_data, tiny_original):
    common = {"lr": 0.05, "epochs": 5, "batch_size": 16}
    plain = run_method(build_method("l1_sparse", {**common, "gamma": 0.0}), tiny_original,
                       make_tiny_task(tiny_data, tiny_original)).model
    sparse = run_method(build_method("l1_sparse", {**common, "gamma": 0.01}), tiny_original,
                        make_tiny_task(tiny_data, tiny_original)).model
    ft = run_method(build_method("ft", {**common, "momentum": 0.9, "weight_decay": 5e-4}), tiny_original,
                    make_tiny_task(tiny_data, tiny_original)).model

    def near_zero(m):
        w = torch.cat([p.detach().flatten() for p in m.parameters()])
        return (w.abs() < 1e-3).float().mean().item()

    with torch.no_grad():
        assert l1_norm(sparse).item() < 0.9 * min(l1_norm(plain).item(), l1_norm(ft).item())
    assert near_zero(sparse) > near_zero(plain)


def test_gamma_must_not_be_negative():
    with pytest.raises(BadInput, match=r"gamma=-0\.1"):
        build_method("l1_sparse", {"gamma": "-0.1"})
    assert build_method("l1_sparse", {"gamma": "0"}).gamma == 0.0
