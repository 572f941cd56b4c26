from __future__ import annotations

import threading

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from unlearnlab.errors import Cancelled, Diverged
from unlearnlab.training import Cycled, RunContext, TensorBatches, TrainConfig, fit, seed_everything, train_classifier


def _data(n=50):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    return x, (x[:, 0] > 0).long()


def test_batches_cover_every_sample_once_per_pass_and_reshuffle():
    x = torch.arange(10).float()[:, None]
    b = TensorBatches(x, batch_size=4, generator=torch.Generator().manual_seed(0))
    assert len(b) == 3
    first = torch.cat([t[0] for t in b]).flatten()
    second = torch.cat([t[0] for t in b]).flatten()
    assert sorted(first.tolist()) == list(range(10)) == sorted(second.tolist())
    assert not torch.equal(first, second)


def test_cycled_restarts_the_shorter_loader():
    a = TensorBatches(torch.zeros(10, 1), batch_size=2, shuffle=False)
    b = TensorBatches(torch.ones(3, 1), batch_size=2, shuffle=False)
    pairs = list(Cycled(a, b))
    assert len(pairs) == 5 and [len(p[1]) for p in pairs] == [2, 1, 2, 1, 2]
    assert Cycled(a, b).count(pairs[0]) == 4


def test_fit_counts_steps_and_samples_and_learns():
    x, y = _data()
    seed_everything(0)
    model = nn.Linear(3, 2)
    ctx = RunContext(seed=0)
    res = fit(model, TensorBatches(x, y, batch_size=16), lambda m, b: F.cross_entropy(m(b[0]), b[1]),
              torch.optim.SGD(model.parameters(), lr=0.5), ctx, epochs=4)
    assert res.steps == ctx.counters.steps == 16
    assert ctx.counters.samples == 200
    assert res.epoch_losses[-1] < res.epoch_losses[0]


def test_nan_loss_raises_diverged_with_reason():
    x, y = _data()
    model = nn.Linear(3, 2)
    with pytest.raises(Diverged, match="nan"):
        fit(model, TensorBatches(x, y, batch_size=16), lambda m, b: m(b[0]).sum() * float("nan"),
            torch.optim.SGD(model.parameters(), lr=0.1), RunContext(), description="probe")


def test_cancellation_stops_between_steps():
    x, y = _data()
    cancel = threading.Event()
    model = nn.Linear(3, 2)
    calls = []

    def loss(m, b):
        calls.append(1)
        if len(calls) == 2:
            cancel.set()
        return F.cross_entropy(m(b[0]), b[1])

    with pytest.raises(Cancelled):
        fit(model, TensorBatches(x, y, batch_size=8), loss, torch.optim.SGD(model.parameters(), lr=0.1),
            RunContext(cancel=cancel), epochs=5)
    assert len(calls) == 2


def test_training_is_deterministic_for_a_seed():
    x, y = _data()
    states = []
    for _ in range(2):
        seed_everything(1)
        model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
        train_classifier(model, x, y, TrainConfig(epochs=3, batch_size=8), RunContext(seed=1))
        states.append(model.state_dict())
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k])


def test_train_config_rejects_bad_values():
    from unlearnlab.errors import BadInput

    with pytest.raises(BadInput, match="train.lr=-1"):
        TrainConfig(lr=-1)
    with pytest.raises(BadInput, match="train.schedule='step'"):
        TrainConfig(schedule="step")
