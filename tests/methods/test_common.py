from __future__ import annotations

import math
import threading

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from unlearnlab.errors import Cancelled
from unlearnlab.methods.common import distill_kl, fisher_diagonal, frozen
from unlearnlab.training import RunContext, TensorBatches


def test_distill_kl_is_zero_for_equal_logits_and_matches_a_hand_case():
    z = torch.randn(4, 3)
    assert distill_kl(z, z, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    s, t = torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3.0), 0.0]])  # teacher p = (0.75, 0.25)
    expected = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert distill_kl(s, t, 1.0).item() == pytest.approx(expected, rel=1e-5)
    assert distill_kl(s, 2 * t, 2.0).item() == pytest.approx(4 * expected, rel=1e-5)  # T² scaling


def test_fisher_diagonal_matches_squared_batch_gradients():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    ctx = RunContext()
    fisher = fisher_diagonal(model, TensorBatches(x, y, batch_size=4, shuffle=False), ctx)
    expected = torch.zeros_like(model.weight)
    for i in (0, 4):
        g, = torch.autograd.grad(F.cross_entropy(model(x[i:i + 4]), y[i:i + 4]), model.weight)
        expected += g ** 2 / 2
    assert torch.allclose(fisher["weight"], expected, atol=1e-7)
    assert ctx.counters.samples == 8 and model.weight.grad is None


def test_fisher_diagonal_honours_cancellation_and_frozen_copies_are_frozen():
    cancel = threading.Event()
    cancel.set()
    model = nn.Linear(3, 2)
    with pytest.raises(Cancelled):
        fisher_diagonal(model, TensorBatches(torch.randn(4, 3), torch.zeros(4, dtype=torch.long), batch_size=2),
                        RunContext(cancel=cancel))
    teacher = frozen(model)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    assert all(p.requires_grad for p in model.parameters())
