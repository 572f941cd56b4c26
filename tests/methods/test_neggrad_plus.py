"""NegGrad+: the loss is α·CE(retain) − (1−α)·CE(forget), the retain set sets the epoch, forget loss rises."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method, run_method
from unlearnlab.methods.neggrad_plus import neggrad_plus_loss
from unlearnlab.models import create_model
from unlearnlab.training import RunContext, TrainConfig, seed_everything, train_classifier


def _ce_by_hand(logits: list[list[float]], labels: list[int]) -> float:
    return sum(math.log(sum(math.exp(v) for v in z)) - z[y] for z, y in zip(logits, labels)) / len(labels)


def test_loss_is_alpha_retain_ce_minus_one_minus_alpha_forget_ce():
    model = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    x_r, y_r = torch.tensor([[1.0, 2.0], [0.0, -1.0]]), torch.tensor([1, 0])
    x_f, y_f = torch.tensor([[3.0, 1.0]]), torch.tensor([2])
    # logits = (x1, x2, x1 + x2)
    ce_r = _ce_by_hand([[1, 2, 3], [0, -1, -1]], [1, 0])
    ce_f = _ce_by_hand([[3, 1, 4]], [2])
    loss = neggrad_plus_loss(model, (x_r, y_r, x_f, y_f), 0.8)
    assert loss.item() == pytest.approx(0.8 * ce_r - 0.2 * ce_f, rel=1e-6)
    loss.backward()  # the forget term is ascended: its gradient enters with the opposite sign
    g_r, = torch.autograd.grad(F.cross_entropy(model(x_r), y_r), model.weight)
    g_f, = torch.autograd.grad(F.cross_entropy(model(x_f), y_f), model.weight)
    assert torch.allclose(model.weight.grad, 0.8 * g_r - 0.2 * g_f, atol=1e-6)


def test_retain_set_sets_the_epoch_and_forget_batches_are_cycled(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    n_r, n_f, bs, epochs = len(task.retain_idx), len(task.forget_idx), 16, 2
    res = run_method(build_method("neggrad_plus", {"epochs": epochs, "batch_size": bs}), tiny_original, task)
    steps_per_epoch = -(-n_r // bs)
    assert res.steps == epochs * steps_per_epoch
    # every step pairs a retain batch with the next forget batch, restarting D_f when it runs out
    forget_sizes = [min(bs, n_f - i) for i in range(0, n_f, bs)]
    per_epoch_f = sum(forget_sizes[i % len(forget_sizes)] for i in range(steps_per_epoch))
    assert res.samples == epochs * (n_r + per_epoch_f)


def test_forget_loss_rises_and_retain_accuracy_holds(tiny_data):
    # a briefly trained θ_o: on a saturated one the ascent has almost no gradient to follow
    seed_everything(0)
    original = create_model("mlp", tiny_data.input_shape, tiny_data.num_classes, hidden=(32,))
    train_classifier(original, torch.as_tensor(tiny_data.x_train), torch.as_tensor(tiny_data.y_train),
                     TrainConfig(epochs=1, lr=0.01, batch_size=16), RunContext(seed=0))
    task = make_tiny_task(tiny_data, original)
    (x_f, y_f), (x_r, y_r) = task.forget_data, task.retain_data
    with torch.no_grad():
        before = F.cross_entropy(original(x_f), y_f).item()
    model = run_method(build_method("neggrad_plus", {"alpha": 0.5, "lr": 0.05, "epochs": 5, "batch_size": 16}),
                       original, task).model
    with torch.no_grad():
        assert F.cross_entropy(model(x_f), y_f).item() > before + 1.0
        assert (model(x_r).argmax(1) == y_r).float().mean().item() > 0.9


@pytest.mark.parametrize("alpha", ["0", "1", "1.5", "-0.2"])
def test_alpha_must_lie_strictly_between_0_and_1(alpha):
    with pytest.raises(BadInput, match=rf"alpha={alpha}"):
        build_method("neggrad_plus", {"alpha": alpha})


def test_bad_sgd_settings_are_named():
    with pytest.raises(BadInput, match=r"epochs=0"):
        build_method("neggrad_plus", {"epochs": 0})
