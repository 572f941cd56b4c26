"""Pieces several methods share: a frozen model copy, temperature-scaled distillation, Fisher diagonals."""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ..training import RunContext


def frozen(model: nn.Module) -> nn.Module:
    """An eval-mode copy with gradients off: a teacher or a reference that no optimiser can touch."""
    twin = copy.deepcopy(model).eval()
    for p in twin.parameters():
        p.requires_grad_(False)
    return twin


def distill_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """KL(teacher ‖ student) on temperature-softened outputs, batch mean, scaled by T² so gradient
    magnitudes do not shrink with T (Hinton et al. 2015)."""
    t = temperature
    return F.kl_div(F.log_softmax(student_logits / t, dim=1), F.log_softmax(teacher_logits / t, dim=1),
                    reduction="batchmean", log_target=True) * (t * t)


def fisher_diagonal(model: nn.Module, batches: Iterable[tuple[torch.Tensor, ...]], ctx: RunContext) -> dict[str, torch.Tensor]:
    """Diagonal empirical Fisher: squared gradients of the batch cross-entropy, averaged over batches.

    Runs in eval mode and restores the model's mode and gradients afterwards; counts the samples
    it reads and honours cancellation like the training loop.
    """
    was_training = model.training
    model.eval()
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    fisher = {n: torch.zeros_like(p) for n, p in params.items()}
    n_batches = 0
    for batch in batches:
        ctx.check_cancelled()
        x, y = (t.to(ctx.device) for t in batch[:2])
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        for n, p in params.items():
            if p.grad is not None:
                fisher[n] += p.grad.detach() ** 2
        n_batches += 1
        ctx.counters.samples += len(x)
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return {n: f / max(n_batches, 1) for n, f in fisher.items()}
