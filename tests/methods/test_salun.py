"""SalUn: the saliency mask, the forget-then-retain RL loop, and weights outside the mask left exactly at θ_o."""

from __future__ import annotations

import threading

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput, Cancelled
from unlearnlab.methods import UnlearningTask, build_method, run_method
from unlearnlab.methods.salun import _ForgetThenRetain, forget_saliency, saliency_mask
from unlearnlab.training import RunContext, TensorBatches


def test_mask_is_the_global_top_ratio_on_a_hand_built_case():
    saliency = {"a": torch.tensor([[0.1, 0.5], [0.3, 0.9]]), "b": torch.tensor([0.2, 0.7])}
    mask = saliency_mask(saliency, 0.5)  # 6 entries -> the 3 largest: 0.9, 0.7, 0.5, across tensors
    assert mask["a"].tolist() == [[False, True], [False, True]]
    assert mask["b"].tolist() == [False, True]
    assert all(m.all() for m in saliency_mask(saliency, 1.0).values())


@pytest.mark.parametrize("ratio", [0.01, 0.1, 0.37, 0.5, 0.9])
def test_mask_covers_the_requested_share_of_all_weights(ratio):
    torch.manual_seed(0)
    saliency = {"w1": torch.rand(30, 20), "b1": torch.rand(30), "w2": torch.rand(7, 30)}
    mask = saliency_mask(saliency, ratio)
    n = sum(s.numel() for s in saliency.values())
    kept = sum(int(m.sum()) for m in mask.values())
    assert kept == int(ratio * n)
    # and it is the top set: every kept value beats every dropped one
    flat_s = torch.cat([s.flatten() for s in saliency.values()])
    flat_m = torch.cat([m.flatten() for m in mask.values()])
    assert flat_s[flat_m].min() > flat_s[~flat_m].max()


def test_saliency_is_abs_of_the_summed_forget_gradients_in_eval_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.9), nn.Linear(4, 2))  # dropout: eval mode matters
    model.train()
    x, y = torch.randn(6, 3), torch.randint(0, 2, (6,))
    ctx = RunContext()
    task = UnlearningTask(x, y, torch.arange(6).numpy(), 2, model, lambda: model, ctx=ctx)
    saliency = forget_saliency(model, TensorBatches(x, y, batch_size=4, shuffle=False), task)
    assert model.training  # the caller's mode comes back
    model.eval()
    expected = [torch.zeros_like(p) for p in model.parameters()]
    for i in (0, 4):
        gs = torch.autograd.grad(-F.cross_entropy(model(x[i:i + 4]), y[i:i + 4]), list(model.parameters()))
        expected = [e + g for e, g in zip(expected, gs)]
    for (name, s), e in zip(saliency.items(), expected):
        assert torch.allclose(s, e.abs(), atol=1e-7), name
    assert ctx.counters.samples == 6
    assert all(p.grad is None for p in model.parameters())


def test_saliency_pass_honours_cancellation():
    model = nn.Linear(3, 2)
    x, y = torch.randn(4, 3), torch.zeros(4, dtype=torch.long)
    cancel = threading.Event()
    cancel.set()
    task = UnlearningTask(x, y, torch.arange(4).numpy(), 2, model, lambda: model, ctx=RunContext(cancel=cancel))
    with pytest.raises(Cancelled):
        forget_saliency(model, TensorBatches(x, y, batch_size=2), task)


def test_weights_outside_the_mask_stay_exactly_at_theta_o(tiny_data, tiny_original):
    # momentum and weight decay on, a large lr: both would move masked-out weights if only gradients were masked
    params = {"ratio": 0.3, "lr": 0.1, "epochs": 3, "batch_size": 16, "momentum": 0.9, "weight_decay": 0.05}
    task = make_tiny_task(tiny_data, tiny_original)
    model = run_method(build_method("salun", params), tiny_original, task).model
    probe = make_tiny_task(tiny_data, tiny_original)
    mask = saliency_mask(forget_saliency(tiny_original, probe.forget_loader(16, shuffle=False), probe), 0.3)
    moved_inside = 0
    for (name, p), p0 in zip(model.named_parameters(), tiny_original.parameters()):
        assert torch.equal(p.detach()[~mask[name]], p0[~mask[name]]), name
        moved_inside += int((p.detach()[mask[name]] != p0[mask[name]]).sum())
    assert moved_inside > 0.5 * sum(int(m.sum()) for m in mask.values())


def test_each_epoch_runs_relabelled_forget_batches_then_retain_batches(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    forget, retain = task.forget_loader(16), task.retain_loader(16)
    batches = list(_ForgetThenRetain(forget, retain, task.num_classes, torch.Generator().manual_seed(0)))
    assert len(batches) == len(forget) + len(retain) == len(_ForgetThenRetain(forget, retain, 3, None))
    head, tail = batches[:len(forget)], batches[len(forget):]
    assert all((y != 1).all() for _, y in head)  # D_f is class 1: every new label is a wrong one
    assert torch.cat([x for x, _ in head]).shape[0] == len(task.forget_idx)
    assert all((y != 1).all() for _, y in tail) and sum(len(y) for _, y in tail) == len(task.retain_idx)


def test_cost_counts_the_saliency_pass(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    res = run_method(build_method("salun", {"epochs": 2, "batch_size": 16}), tiny_original, task)
    n_f, n_r = len(task.forget_idx), len(task.retain_idx)
    assert res.samples == n_f + 2 * (n_f + n_r)
    assert res.steps == 2 * (-(-n_f // 16) + -(-n_r // 16))


@pytest.mark.parametrize("ratio", ["0", "-0.5", "1.5"])
def test_ratio_must_lie_in_0_1(ratio):
    with pytest.raises(BadInput, match=rf"ratio={ratio}"):
        build_method("salun", {"ratio": ratio})
    assert build_method("salun", {"ratio": "1"}).ratio == 1.0
