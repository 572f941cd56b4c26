"""LAF+R: LAF, then a supervised step on D_r that trains the head alone."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput
from unlearnlab.methods import METHODS, build_method, run_method
from unlearnlab.methods.laf_r import repair_head


def test_shares_lafs_defaults_and_reads_retain_labels():
    laf, laf_r = METHODS.get("laf"), METHODS.get("laf_r")
    assert issubclass(laf_r, laf)
    shared = laf.param_defaults()
    assert {k: v for k, v in laf_r.param_defaults().items() if k in shared} == shared
    assert laf_r.reference_defaults == laf.reference_defaults
    assert laf_r.uses_labels is True and laf.uses_labels is False


def test_repair_step_is_one_adam_step_on_the_head_by_hand(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    model = copy.deepcopy(tiny_original).requires_grad_(True)
    x_r, y_r = task.retain_data
    n, lr = len(y_r), 0.01
    with torch.no_grad():
        h = model.features(x_r)
        # d CE / d W = (softmax − onehot)ᵀ h / N, d CE / d b = mean(softmax − onehot)
        delta = (model.head(h).softmax(1) - F.one_hot(y_r, task.num_classes)) / n
        g_w, g_b = delta.T @ h, delta.sum(0)
        # Adam's first step moves each weight by lr · g / (|g| + eps)
        w = model.head.weight - lr * g_w / (g_w.abs() + 1e-8)
        b = model.head.bias - lr * g_b / (g_b.abs() + 1e-8)
    body = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("head.")}
    repair_head(model, task, lr=lr, epochs=1, batch_size=n)  # one full batch: exactly one step
    # Where |g| is near Adam's eps the step g / (|g| + eps) turns on g's last bits, which differ between
    # CPU kernels (ATEN_CPU_CAPABILITY=default moved one weight by 3e-4): there, only the bound lr holds.
    # θ_o is nearly saturated, so many gradients are that small: 36 % of the head's weights are clear of it.
    assert ((g_w == 0) | (g_w.abs() > 1e-6)).float().mean() > 0.25
    for p, expected, g in ((model.head.weight, w, g_w), (model.head.bias, b, g_b)):
        clear = (g == 0) | (g.abs() > 1e-6)  # no step, or a full one of size lr
        assert torch.allclose(p[clear], expected[clear], atol=1e-6)
        assert ((p - expected).abs() <= 2 * lr + 1e-6).all()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in body.items())


def test_laf_r_is_laf_then_a_head_only_repair(tiny_data, tiny_original):
    params = {"epochs": 2}
    laf = run_method(build_method("laf", params), tiny_original, make_tiny_task(tiny_data, tiny_original)).model
    laf_r = run_method(build_method("laf_r", params), tiny_original, make_tiny_task(tiny_data, tiny_original)).model
    a, b = laf.state_dict(), laf_r.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a if not k.startswith("head."))
    assert not torch.equal(a["head.weight"], b["head.weight"])


def test_never_reads_a_forget_label(tiny_data, tiny_original):
    a = make_tiny_task(tiny_data, tiny_original)
    b = make_tiny_task(tiny_data, tiny_original)
    y = b.y_train.clone()
    y[b.forget_idx] = (y[b.forget_idx] + 1) % 3
    b.y_train = y
    wa, wb = (run_method(build_method("laf_r"), tiny_original, t).model.state_dict() for t in (a, b))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize("key,value", [("repair_lr", "0"), ("repair_epochs", "0"), ("temperature", "-1")])
def test_bad_hyper_parameters_are_named(key, value):
    with pytest.raises(BadInput, match=rf"{key}={value}"):
        build_method("laf_r", {key: value})
