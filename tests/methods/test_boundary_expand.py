"""Boundary Expanding: a shadow class during training, θ_o's architecture afterwards."""

from __future__ import annotations

import math

import pytest
import torch

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method, run_method
from unlearnlab.methods.boundary_expand import narrow, widen
from unlearnlab.models import MODELS, create_model
from unlearnlab.training import global_magnitude_masks

SHAPES = {"mlp": (1, 4, 4), "cnn": (1, 8, 8), "resnet18": (3, 8, 8), "fastnet": (3, 16, 16)}


@pytest.mark.parametrize("name", list(MODELS))
def test_widen_and_narrow_work_on_every_registered_model(name):
    model = create_model(name, SHAPES[name], 5)
    head = model.head
    wide = widen(head, torch.Generator().manual_seed(0))
    assert (wide.in_features, wide.out_features) == (head.in_features, 6)
    assert torch.equal(wide.weight[:5], head.weight)
    if head.bias is None:  # fastnet's head has none (airbench's)
        assert wide.bias is None
    else:
        assert torch.equal(wide.bias[:5], head.bias) and wide.bias[5] == 0
    # the shadow row is Xavier-normal over the widened (6 x d) matrix, drawn from the given generator
    std = math.sqrt(2 / (head.in_features + 6))
    expected = torch.randn(head.in_features, generator=torch.Generator().manual_seed(0)) * std
    assert torch.allclose(wide.weight[5], expected)
    with torch.no_grad():
        wide.weight.add_(1.0)
    back = narrow(wide, head)
    assert back is head and torch.equal(head.weight, wide.weight[:5])


def _spy_fit(task):
    seen = []
    real = task.fit

    def spy(model, batches, loss_fn, *args, **kwargs):
        x = next(iter(batches))[0]
        with torch.no_grad():
            seen.append((model.head.out_features, model(x).shape[1]))
        return real(model, batches, loss_fn, *args, **kwargs)

    task.fit = spy
    return seen


def test_trains_with_k_plus_one_outputs_and_returns_the_original_architecture(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    seen = _spy_fit(task)
    out = run_method(build_method("boundary_expand", {"lr": 0.01, "epochs": 5}), tiny_original, task).model
    k = tiny_original.num_classes
    assert seen == [(k + 1, k + 1)]
    assert out.head.out_features == k
    before, after = tiny_original.state_dict(), out.state_dict()
    assert list(after) == list(before)
    assert all(after[n].shape == before[n].shape for n in before)


def test_forget_samples_move_away_from_their_class(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    out = run_method(build_method("boundary_expand", {"lr": 0.01, "epochs": 5}), tiny_original, task).model
    x_f, y_f = task.forget_data
    with torch.no_grad():
        p_before = tiny_original(x_f).softmax(1).gather(1, y_f[:, None]).mean()
        p_after = out(x_f).softmax(1).gather(1, y_f[:, None]).mean()
        assert (out(x_f).argmax(1) == y_f).float().mean() < 0.5
    assert p_after < p_before - 0.5


def test_reads_no_label(tiny_data, tiny_original):
    a = make_tiny_task(tiny_data, tiny_original)
    b = make_tiny_task(tiny_data, tiny_original)
    b.y_train = torch.randint(0, 3, b.y_train.shape, generator=torch.Generator().manual_seed(1))
    wa, wb = (run_method(build_method("boundary_expand"), tiny_original, t).model.state_dict() for t in (a, b))
    assert all(torch.equal(wa[n], wb[n]) for n in wa)


def test_a_pruned_model_stays_pruned_with_the_shadow_row_trained(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    masks = global_magnitude_masks(tiny_original, 0.5)
    task.ctx.masks = masks
    out = run_method(build_method("boundary_expand", {"lr": 0.01}), tiny_original, task).model
    for name, mask in masks.items():
        assert (out.get_parameter(name)[mask == 0] == 0).all(), name


@pytest.mark.parametrize("key,value", [("lr", "0"), ("epochs", "0"), ("batch_size", "0"), ("weight_decay", "-1")])
def test_bad_hyper_parameters_are_named(key, value):
    with pytest.raises(BadInput, match=rf"{key}={value}"):
        build_method("boundary_expand", {key: value})
