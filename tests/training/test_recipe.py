"""TrainConfig's recipe options: schedules, Nesterov, label smoothing and the speed switches."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from unlearnlab.errors import BadInput
from unlearnlab.training import SCHEDULES, RunContext, TrainConfig, seed_everything, train_classifier
from unlearnlab.validation import coerce


def _lrs(config: TrainConfig, steps_per_epoch: int) -> list[float]:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=config.lr)
    sched = SCHEDULES.get(config.schedule)(config, opt, steps_per_epoch)
    out = []
    for _ in range(config.epochs * steps_per_epoch):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
    return out


def test_multistep_falls_at_the_papers_epochs():
    """SalUn / l1-sparse: MultiStepLR(91, 136), gamma 0.1, over 182 epochs = milestones 0.5, 0.75."""
    cfg = TrainConfig(epochs=182, lr=0.1, schedule="multistep", milestones=(0.5, 0.75))
    lrs = _lrs(cfg, 2)
    by_epoch = lrs[::2]
    assert by_epoch[90] == pytest.approx(0.1) and by_epoch[91] == pytest.approx(0.01)
    assert by_epoch[135] == pytest.approx(0.01) and by_epoch[136] == pytest.approx(0.001)
    assert lrs[182] == lrs[183]  # constant within an epoch, as the per-epoch reference


def test_onecycle_rises_then_falls_to_zero():
    cfg = TrainConfig(epochs=4, lr=0.4, schedule="onecycle", warmup=0.25)
    lrs = _lrs(cfg, 10)
    peak = lrs.index(max(lrs))
    assert max(lrs) == pytest.approx(0.4) and peak == 9
    assert all(a < b for a, b in zip(lrs[:peak], lrs[1:peak + 1]))
    assert all(a > b for a, b in zip(lrs[peak:], lrs[peak + 1:]))
    assert lrs[-1] == pytest.approx(0.4 / 31)


@pytest.mark.parametrize("options,message", [
    ({"schedule": "multistep"}, "needs train.milestones"),
    ({"schedule": "multistep", "milestones": (0.75, 0.5)}, "increasing fractions"),
    ({"milestones": (91, 136)}, "increasing fractions"),
    ({"milestones": ("half",)}, "train.milestones"),
    ({"schedule": "step"}, "choose from cosine, constant, multistep, onecycle"),
    ({"warmup": 1.0}, r"train.warmup=1.0 is not allowed"),
    ({"label_smoothing": 1.0}, r"train.label_smoothing=1.0"),
    ({"lr_decay": 0.0}, r"train.lr_decay=0.0"),
    ({"nesterov": True, "momentum": 0.0}, "Nesterov needs momentum"),
    ({"compile": "yes"}, "train.compile='yes' is not allowed"),
])
def test_bad_recipes_are_one_line_errors(options, message):
    with pytest.raises(BadInput, match=message):
        TrainConfig(**options)


def test_milestones_from_the_command_line():
    raw = coerce("train.milestones", "0.5,0.75", TrainConfig().milestones)
    assert TrainConfig(schedule="multistep", milestones=raw).milestones == (0.5, 0.75)


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 1, 4, 4, generator=g)
    return x, (x.flatten(1).sum(1) > 0).long()


def _trained(config: TrainConfig) -> nn.Module:
    x, y = _data()
    seed_everything(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(16, 2))
    train_classifier(model, x, y, config, RunContext(seed=0))
    return model


def _same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("option", [{"nesterov": True}, {"label_smoothing": 0.2}, {"schedule": "constant"}])
def test_each_recipe_option_changes_the_training(option):
    base = TrainConfig(epochs=2, batch_size=8)
    assert not _same(_trained(base), _trained(TrainConfig(**{**base.to_dict(), **option})))


def test_channels_last_trains_the_same_function_in_nhwc():
    base = TrainConfig(epochs=2, batch_size=8)
    fast = _trained(TrainConfig(epochs=2, batch_size=8, channels_last=True))
    assert fast[0].weight.is_contiguous(memory_format=torch.channels_last)
    for p, q in zip(_trained(base).parameters(), fast.parameters()):
        assert torch.allclose(p, q, atol=1e-5)


def test_compile_runs_the_loop_through_torch_compile(monkeypatch):
    """The switch hands the loop torch.compile's wrapper of the model (its parameters are the model's)."""
    compiled = []

    def fake_compile(model, **kwargs):
        compiled.append(model)
        return model

    monkeypatch.setattr(torch, "compile", fake_compile)
    model = _trained(TrainConfig(epochs=1, batch_size=8, compile=True))
    assert compiled == [model]
    assert _trained(TrainConfig(epochs=1, batch_size=8)) is not None and len(compiled) == 1
