"""Bad Teacher: seeded retain share, label-free, per-sample teacher chosen by the forget flag."""

from __future__ import annotations

import pytest
import torch

import unlearnlab.methods.bad_teacher as bt
from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput
from unlearnlab.methods import METHODS, build_method, run_method
from unlearnlab.training import FitResult


def test_retain_subset_is_a_seeded_share_rounded_down():
    n = 1291
    a = bt.retain_subset(n, 0.3, torch.Generator().manual_seed(5))
    assert len(a) == 387 and len(set(a.tolist())) == 387 and 0 <= a.min() and a.max() < n
    assert torch.equal(a, bt.retain_subset(n, 0.3, torch.Generator().manual_seed(5)))
    assert not torch.equal(a, bt.retain_subset(n, 0.3, torch.Generator().manual_seed(6)))
    assert len(bt.retain_subset(10, 0.35, torch.Generator())) == 3
    assert len(bt.retain_subset(10, 1.0, torch.Generator())) == 10


def _captured_run(data, original, seed=0, params=None, monkeypatch=None):
    """Run bad_teacher with task.batches / task.fit recorded; the loop itself is skipped."""
    task = make_tiny_task(data, original, seed=seed)
    seen = {"teachers": []}
    real_batches = task.batches

    def batches(*tensors, **kwargs):
        seen["tensors"] = tensors
        return real_batches(*tensors, **kwargs)

    def fit(model, batches, loss_fn, optimizer, **kwargs):
        seen["loss_fn"] = loss_fn
        return FitResult()

    task.batches, task.fit = batches, fit
    if monkeypatch is not None:
        real_frozen = bt.frozen

        def spy(model):
            seen["teachers"].append(real_frozen(model))
            return seen["teachers"][-1]

        monkeypatch.setattr(bt, "frozen", spy)
    seen["model"] = run_method(build_method("bad_teacher", params or {}), original, task).model
    seen["task"] = task
    return seen


def test_unlearning_set_is_d_f_plus_a_seeded_30_percent_of_d_r_with_only_a_flag(tiny_data, tiny_original):
    seen = _captured_run(tiny_data, tiny_original, seed=4, params={"retain_fraction": 0.3})
    task = seen["task"]
    x, flag = seen["tensors"]  # no label tensor travels with the batches
    x_f, x_r = task.forget_data[0], task.retain_data[0]
    n_sub = int(0.3 * len(x_r))
    assert flag.dtype == torch.bool and int(flag.sum()) == len(x_f) and int((~flag).sum()) == n_sub
    assert torch.equal(x[flag], x_f)
    match = (x[~flag][:, None] == x_r[None]).flatten(2).all(2)  # [subset, D_r]: which retain row each is
    assert (match.sum(1) == 1).all() and len(set(match.float().argmax(1).tolist())) == n_sub
    same = _captured_run(tiny_data, tiny_original, seed=4, params={"retain_fraction": 0.3})
    other = _captured_run(tiny_data, tiny_original, seed=5, params={"retain_fraction": 0.3})
    assert torch.equal(same["tensors"][0], x)
    assert not torch.equal(other["tensors"][0][~flag], x[~flag])


def test_labels_are_never_read(tiny_data, tiny_original):
    assert METHODS.get("bad_teacher").uses_labels is False
    task = make_tiny_task(tiny_data, tiny_original, seed=2)
    scrambled = make_tiny_task(tiny_data, tiny_original, seed=2)
    scrambled.y_train = (scrambled.y_train + 1 + torch.arange(len(scrambled.y_train)) % 2) % 3
    assert (scrambled.y_train != task.y_train).all()
    a = run_method(build_method("bad_teacher"), tiny_original, task).model.state_dict()
    b = run_method(build_method("bad_teacher"), tiny_original, scrambled).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], v) for k, v in tiny_original.state_dict().items())


def _kl_rows(p_teacher, log_p_student):
    return (p_teacher * (p_teacher.log() - log_p_student)).sum(1)


def test_target_is_the_incompetent_teacher_on_forget_rows_and_the_original_on_retain_rows(
        tiny_data, tiny_original, monkeypatch):
    seen = _captured_run(tiny_data, tiny_original, params={"temperature": 2.0}, monkeypatch=monkeypatch)
    competent, incompetent = seen["teachers"]
    assert all(torch.equal(competent.state_dict()[k], v) for k, v in tiny_original.state_dict().items())
    assert not any(p.requires_grad for p in incompetent.parameters())
    assert not torch.equal(incompetent.state_dict()["head.weight"], tiny_original.state_dict()["head.weight"])

    student = seen["model"]
    torch.manual_seed(0)
    with torch.no_grad():
        for p in student.parameters():  # move the student off θ_o so both teachers are far from it
            p.add_(0.2 * torch.randn_like(p))
    x, flag = seen["tensors"]
    idx = torch.cat([torch.nonzero(flag).flatten()[:3], torch.nonzero(~flag).flatten()[:4]])
    xb, fb = x[idx], flag[idx]
    with torch.no_grad():
        log_s = torch.log_softmax(student(xb).double() / 2, 1)
        p_bad = torch.softmax(incompetent(xb).double() / 2, 1)
        p_good = torch.softmax(tiny_original(xb).double() / 2, 1)
    rows = torch.where(fb, _kl_rows(p_bad, log_s), _kl_rows(p_good, log_s))
    expected = 4 * rows.mean()  # T² · batch mean
    assert seen["loss_fn"](student, (xb, fb)).item() == pytest.approx(expected.item(), rel=1e-4)
    swapped = 4 * torch.where(fb, _kl_rows(p_good, log_s), _kl_rows(p_bad, log_s)).mean()
    assert abs(swapped - expected) > 0.05


def test_incompetent_teacher_depends_only_on_the_run_seed(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original, seed=7)
    torch.manual_seed(123)
    a = bt.random_model(task, offset=11).state_dict()
    torch.rand(5)
    b = bt.random_model(task, offset=11).state_dict()
    c = bt.random_model(make_tiny_task(tiny_data, tiny_original, seed=8), offset=11).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_bad_hyper_parameters_are_rejected_by_name():
    for params, text in [({"retain_fraction": 1.5}, "retain_fraction=1.5"), ({"temperature": 0.0}, "temperature=0.0"),
                         ({"batch_size": 0}, "batch_size=0"), ({"epochs": 0}, "epochs=0")]:
        with pytest.raises(BadInput, match=text):
            build_method("bad_teacher", params)
