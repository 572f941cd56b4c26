"""SCRUB: a frozen teacher, max-passes on D_f only in the first msteps epochs, and its two losses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import unlearnlab.methods.scrub as scrub_module
from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method, run_method
from unlearnlab.training import FitResult


def _spy_fit(task, run=True):
    """Record every task.fit call (description, batches, loss_fn, optimizer); optionally skip the loop."""
    calls, real = [], task.fit

    def fit(model, batches, loss_fn, optimizer, **kwargs):
        calls.append((kwargs.get("description"), batches, loss_fn, optimizer))
        return real(model, batches, loss_fn, optimizer, **kwargs) if run else FitResult()

    task.fit = fit
    return calls


def test_teacher_is_a_frozen_copy_of_the_original_that_no_optimiser_holds(tiny_data, tiny_original, monkeypatch):
    teachers, real_frozen = [], scrub_module.frozen

    def spy(model):
        teachers.append(real_frozen(model))
        return teachers[-1]

    monkeypatch.setattr(scrub_module, "frozen", spy)
    task = make_tiny_task(tiny_data, tiny_original)
    calls = _spy_fit(task)
    student = run_method(build_method("scrub", {"lr": 0.01}), tiny_original, task).model

    (teacher,) = teachers
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    for k, v in tiny_original.state_dict().items():
        assert torch.equal(teacher.state_dict()[k], v), k
    # the student did move, so an unchanged teacher is not just an idle run
    assert any(not torch.equal(student.state_dict()[k], v) for k, v in tiny_original.state_dict().items())
    teacher_ids = {id(p) for p in teacher.parameters()}
    for _, _, _, opt in calls:
        held = {id(p) for group in opt.param_groups for p in group["params"]}
        assert held and not held & teacher_ids
    assert len({id(opt) for *_, opt in calls}) == 1, "one optimiser serves the max- and the min-passes"


@pytest.mark.parametrize("epochs, msteps", [(3, 2), (3, 0), (2, 5), (1, 1)])
def test_max_pass_runs_only_in_the_first_msteps_epochs_before_each_min_pass(tiny_data, tiny_original, epochs, msteps):
    task = make_tiny_task(tiny_data, tiny_original)
    calls = _spy_fit(task)
    res = run_method(build_method("scrub", {"epochs": epochs, "msteps": msteps}), tiny_original, task)

    expected = []
    for e in range(epochs):
        expected += ["scrub max", "scrub min"] if e < msteps else ["scrub min"]
    assert [c[0] for c in calls] == expected
    n_f, n_r = len(task.forget_idx), len(task.retain_idx)
    assert res.samples == min(epochs, msteps) * n_f + epochs * n_r
    # the max-pass reads D_f without labels
    for desc, batches, _, _ in calls:
        assert len(batches.tensors) == (1 if desc == "scrub max" else 2)


def _kl(p_teacher, p_student):
    return (p_teacher * (p_teacher.log() - p_student.log())).sum(1).mean()


def test_losses_match_a_hand_computation(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    calls = _spy_fit(task, run=False)
    method = build_method("scrub", {"temperature": 3.0, "gamma": 0.7, "alpha": 0.2})
    student = run_method(method, tiny_original, task).model  # loop skipped: still θ_o
    torch.manual_seed(1)
    with torch.no_grad():
        for p in student.parameters():  # move the student so the KL is not zero
            p.add_(0.3 * torch.randn_like(p))
    (_, _, maximize, _), (_, _, minimize, _) = calls[:2]

    x, y = task.x_train[:7], task.y_train[:7]
    t = 3.0
    with torch.no_grad():
        zs, zt = student(x).double(), tiny_original(x).double()
    ps, pt = F.softmax(zs / t, 1), F.softmax(zt / t, 1)
    kl = t * t * _kl(pt, ps)
    ce = -F.log_softmax(zs, 1)[torch.arange(7), y].mean()
    assert kl > 0.01
    assert maximize(student, (x,)).item() == pytest.approx(-kl.item(), rel=1e-4)
    assert minimize(student, (x, y)).item() == pytest.approx((0.7 * ce + 0.2 * kl).item(), rel=1e-4)


def test_bad_hyper_parameters_are_rejected_by_name():
    for params, text in [({"optimizer": "rmsprop"}, "optimizer='rmsprop'"), ({"msteps": -1}, "msteps=-1"),
                         ({"temperature": 0.0}, "temperature=0.0"), ({"gamma": -1.0}, "gamma=-1.0"),
                         ({"forget_batch_size": 0}, "forget_batch_size=0")]:
        with pytest.raises(BadInput, match=text):
            build_method("scrub", params)
