"""Pieces several methods share: a frozen model copy, temperature-scaled distillation, Fisher diagonals."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

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


def masked_update(params: dict[str, nn.Parameter], mask: dict[str, torch.Tensor],
                  reference: dict[str, torch.Tensor]) -> tuple[Callable[[nn.Module], None], Callable[[nn.Module], None]]:
    """(after_backward, after_step) hooks of the shared loop that train only the weights in `mask` (SalUn's
    saliency mask, Fan et al. 2024, ICLR): gradients outside it are zeroed, and after every step the weights
    outside it are put back to `reference` (θ_o). Zeroing alone is not enough: SGD's weight decay and momentum
    act inside step(), past the masked gradient (and Adam may leave a residue); the update is elementwise, so
    restoring keeps those weights exactly θ_o's."""

    def mask_grads(m: nn.Module) -> None:
        for n, p in params.items():
            if p.grad is not None:
                p.grad.mul_(mask[n])

    @torch.no_grad()
    def restore_unmasked(m: nn.Module) -> None:
        for n, p in params.items():
            p.copy_(torch.where(mask[n], p, reference[n]))

    return mask_grads, restore_unmasked
