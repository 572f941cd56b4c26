"""One-shot global magnitude pruning (Frankle & Carbin 2019; the "prune first, then unlearn" recipe of
Jia et al. 2023, Model Sparsity Can Simplify Machine Unlearning) and the masks that keep it pruned."""

from __future__ import annotations

import torch
from torch import nn

from ..validation import check_range

Masks = dict[str, torch.Tensor]


def prunable_names(model: nn.Module) -> list[str]:
    return list(prunable(model))


def prunable(model: nn.Module) -> dict[str, nn.Parameter]:
    """The weights of every convolution and linear layer, the head included; biases and norms are kept dense."""
    out = {}
    for mod_name, mod in model.named_modules():
        if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            out[f"{mod_name}.weight" if mod_name else "weight"] = mod.weight
    return out


def global_magnitude_masks(model: nn.Module, sparsity: float) -> Masks:
    """0/1 masks that zero the `sparsity` share of prunable weights with the smallest |w|, ranked globally."""
    check_range("prune", sparsity, 0.0, 1.0, closed="neither")
    weights = prunable(model)
    scores = torch.cat([w.detach().abs().flatten() for w in weights.values()])
    k = int(round(sparsity * scores.numel()))
    if k == 0:
        return {n: torch.ones_like(w) for n, w in weights.items()}
    # Rank by order, not by a threshold value, so ties cannot make the sparsity overshoot.
    keep = torch.ones_like(scores)
    keep[torch.argsort(scores, stable=True)[:k]] = 0
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = keep[start:start + w.numel()].view_as(w).clone()
        start += w.numel()
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Masks | None) -> None:
    if not masks:
        return
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        params[name].mul_(mask.to(params[name].device))


def sparsity(model: nn.Module) -> float:
    """Share of prunable weights that are exactly zero."""
    weights = prunable(model).values()
    total = sum(w.numel() for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / total
