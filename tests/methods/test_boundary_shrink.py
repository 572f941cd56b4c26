"""Boundary Shrink: the FGSM step and the neighbour label, by hand on a linear model."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput, Cancelled
from unlearnlab.methods import UnlearningTask, build_method, run_method
from unlearnlab.methods.boundary_shrink import fgsm, nearest_wrong_labels
from unlearnlab.models import Classifier
from unlearnlab.training import RunContext


class TwoPixels(Classifier):
    """logits = W x + b on a 1x2 image: w0 = (2, 0), w1 = (0, 2), w2 = (0, 0), b = (0, 0, 0.7)."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(2, 3)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
            self.head.bias.copy_(torch.tensor([0.0, 0.0, 0.7]))

    def features(self, x):
        return x.flatten(1)


# d CE / dx = Σ_j (p_j − [j = y]) w_j. For y = 0 that is (2(p0 − 1), 2 p1): sign (−, +);
# for y = 1 it is (2 p0, 2(p1 − 1)): sign (+, −).
X = torch.tensor([[0.60, 0.45],   # logits (1.2, 0.9, 0.7) -> x_adv (0.5, 0.55): (1.0, 1.1, 0.7), crosses to 1
                  [0.90, 0.20],   # (1.8, 0.4, 0.7) -> (0.8, 0.3): (1.6, 0.6, 0.7), still 0; best wrong is 2
                  [0.95, 0.05]])  # y = 1 -> (1.05, -0.05) clamped to (1.0, 0.0): (2.0, 0.0, 0.7); best wrong is 0
Y = torch.tensor([0, 0, 1])
X_ADV = torch.tensor([[0.5, 0.55], [0.8, 0.3], [1.0, 0.0]])
NEIGHBOURS = [1, 2, 0]


def _task(model, cancel=None):
    return UnlearningTask(x_train=X[:, None], y_train=Y, forget_idx=np.arange(3), num_classes=3, original=model,
                          make_model=TwoPixels, ctx=RunContext(device=torch.device("cpu"), cancel=cancel))


def test_fgsm_step_is_epsilon_times_the_gradient_sign_clamped_to_the_data_range():
    x_adv = fgsm(TwoPixels(), X[:, None], Y, 0.1, 0.0, 1.0)
    assert torch.allclose(x_adv[:, 0], X_ADV, atol=1e-6)


def test_neighbour_is_the_adversarial_prediction_or_else_the_best_wrong_class():
    model = TwoPixels()
    task = _task(model)
    labels = nearest_wrong_labels(model, X[:, None], Y, 0.1, 0.0, 1.0, task)
    assert labels.tolist() == NEIGHBOURS
    assert task.ctx.counters.samples == 3  # the pre-pass is billed


def test_the_pre_pass_honours_cancellation():
    cancel = threading.Event()
    cancel.set()
    model = TwoPixels()
    with pytest.raises(Cancelled):
        nearest_wrong_labels(model, X[:, None], Y, 0.1, 0.0, 1.0, _task(model, cancel))


def _spy_fit(task):
    seen = []
    real = task.fit

    def spy(model, batches, *args, **kwargs):
        seen.append(batches.tensors)
        return real(model, batches, *args, **kwargs)

    task.fit = spy
    return seen


def test_fine_tunes_the_forget_set_towards_the_hand_computed_neighbours():
    model = TwoPixels()
    task = _task(model)
    seen = _spy_fit(task)
    out = run_method(build_method("boundary_shrink", {"lr": 0.5, "epochs": 5}), model, task).model
    (x, labels), = seen
    assert torch.equal(x, X[:, None]) and labels.tolist() == NEIGHBOURS
    target = torch.tensor(NEIGHBOURS)
    with torch.no_grad():
        before = nn.functional.cross_entropy(model(X[:, None]), target)
        after = nn.functional.cross_entropy(out(X[:, None]), target)
    assert after < before - 0.05


def test_trained_labels_are_never_the_true_label_and_the_forget_class_is_left(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    seen = _spy_fit(task)
    out = run_method(build_method("boundary_shrink", {"lr": 0.05, "epochs": 10}), tiny_original, task).model
    x_f, y_f = task.forget_data
    (_, labels), = seen
    assert len(labels) == len(y_f) and (labels != y_f).all()
    with torch.no_grad():
        assert (tiny_original(x_f).argmax(1) == y_f).float().mean() > 0.9
        assert (out(x_f).argmax(1) == y_f).float().mean() < 0.1


@pytest.mark.parametrize("key,value", [("epsilon", "0"), ("epsilon", "-0.1"), ("epochs", "0"), ("momentum", "-1")])
def test_bad_hyper_parameters_are_named(key, value):
    with pytest.raises(BadInput, match=rf"{key}={value}"):
        build_method("boundary_shrink", {key: value})
