"""What each core method does, checked on the tiny task."""

from __future__ import annotations

import numpy as np
import torch

from tests.conftest import make_tiny_task
from unlearnlab.methods import build_method, run_method
from unlearnlab.methods.rl import random_wrong_labels


def _acc(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def test_random_wrong_labels_are_always_wrong_and_cover_the_other_classes():
    y = torch.zeros(3000, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    new = random_wrong_labels(y, 4, g)
    assert (new != y).all()
    counts = np.bincount(new.numpy(), minlength=4)
    assert counts[0] == 0 and all(abs(c - 1000) < 100 for c in counts[1:])


def test_retrain_never_sees_the_forget_set(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    model = run_method(build_method("retrain"), tiny_original, task).model
    x_f, y_f = task.forget_data
    # trained without class 1, the retrained model never predicts it on class-1 samples
    assert _acc(model, x_f, y_f) == 0.0
    assert task.ctx.counters.samples >= len(task.retain_idx) * task.train_config.epochs


def _forget_loss(model, x, y):
    with torch.no_grad():
        return torch.nn.functional.cross_entropy(model(x), y).item()


def test_ga_and_rl_raise_the_forget_loss(tiny_data, brief_original):
    original = brief_original
    x_f, y_f = make_tiny_task(tiny_data, original).forget_data
    before = _forget_loss(original, x_f, y_f)
    for name, params in [("ga", {"lr": 0.05, "epochs": 5}), ("rl", {"lr": 0.05, "epochs": 5})]:
        model = run_method(build_method(name, params), original, make_tiny_task(tiny_data, original)).model
        assert _forget_loss(model, x_f, y_f) > before + 1.0, name


def test_ft_reads_only_the_retain_set(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    method = build_method("ft", {"epochs": 2, "batch_size": 16})
    res = run_method(method, tiny_original, task)
    n_r = len(task.retain_idx)
    assert res.samples == 2 * n_r
    assert res.steps == 2 * -(-n_r // 16)
