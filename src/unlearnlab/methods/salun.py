from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..training import TensorBatches, cross_entropy_step, sgd
from ..validation import check_range, check_sgd
from .base import Method, UnlearningTask, register_method
from .common import masked_update
from .rl import random_wrong_labels


@register_method("salun", paper="Fan et al. 2024, SalUn: Empowering Machine Unlearning via Gradient-based "
                                "Weight Saliency in Both Image Classification and Generation (ICLR)")
class SalUn(Method):
    """Saliency unlearning: mask the `ratio` share of parameters with the largest |∇θ(−CE)| on D_f (ranked
    globally), then random-label unlearning that updates only those; the rest stay exactly at θ_o.

    Each epoch runs the forget batches, relabelled afresh, then the retain batches, as the reference
    does on CIFAR-10 (its labels are uniform over all classes; ours are always wrong, as in `rl`).
    """

    reference_defaults = {"ratio": 0.5, "lr": 0.013, "epochs": 10, "batch_size": 256}

    def __init__(self, ratio: float = 0.5, lr: float = 0.013, epochs: int = 3, batch_size: int = 64,
                 momentum: float = 0.9, weight_decay: float = 5e-4):
        check_sgd(lr, epochs, batch_size, momentum, weight_decay)
        check_range("ratio", ratio, 0.0, 1.0, closed="right")
        self.ratio, self.lr, self.epochs, self.batch_size = ratio, lr, epochs, batch_size
        self.momentum, self.weight_decay = momentum, weight_decay

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        mask = saliency_mask(forget_saliency(model, task.forget_loader(self.batch_size, shuffle=False), task),
                             self.ratio)
        theta_o = {n: p.detach().to(task.ctx.device) for n, p in task.original.named_parameters()}
        params = dict(model.named_parameters())
        opt = sgd(model, self.lr, self.momentum, self.weight_decay)

        mask_grads, restore_unmasked = masked_update(params, mask, theta_o)
        batches = _ForgetThenRetain(task.forget_loader(self.batch_size), task.retain_loader(self.batch_size),
                                    task.num_classes, task.ctx.generator(7))
        task.fit(model, batches, cross_entropy_step, opt, epochs=self.epochs, after_backward=mask_grads,
                 after_step=restore_unmasked, description="salun")
        return model


def forget_saliency(model: nn.Module, forget: TensorBatches, task: UnlearningTask) -> dict[str, torch.Tensor]:
    """|Σ_batches ∇θ(−CE)| over D_f, in eval mode; a pre-pass, so it counts its samples and can be cancelled."""
    was_training = model.training
    model.eval()
    params = dict(model.named_parameters())
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    for x, y in forget:
        task.ctx.check_cancelled()
        x, y = x.to(task.ctx.device), y.to(task.ctx.device)
        grads = torch.autograd.grad(-F.cross_entropy(model(x), y), list(params.values()), allow_unused=True)
        for n, g in zip(params, grads):
            if g is not None:
                total[n] += g
        task.ctx.counters.samples += len(x)
    model.train(was_training)
    return {n: g.abs() for n, g in total.items()}


def saliency_mask(saliency: dict[str, torch.Tensor], ratio: float) -> dict[str, torch.Tensor]:
    """Boolean masks selecting the `ratio` share of all entries with the largest saliency, ranked globally."""
    flat = torch.cat([s.flatten() for s in saliency.values()])
    k = max(1, int(ratio * flat.numel()))
    keep = torch.zeros(flat.numel(), dtype=torch.bool, device=flat.device)
    keep[torch.argsort(flat, descending=True, stable=True)[:k]] = True
    out, start = {}, 0
    for n, s in saliency.items():
        out[n] = keep[start:start + s.numel()].view_as(s)
        start += s.numel()
    return out


class _ForgetThenRetain:
    """One epoch = every forget batch, relabelled with fresh random wrong classes, then every retain batch."""

    def __init__(self, forget: TensorBatches, retain: TensorBatches, num_classes: int, generator: torch.Generator):
        self.forget, self.retain = forget, retain
        self.num_classes, self.generator = num_classes, generator

    def __len__(self) -> int:
        return len(self.forget) + len(self.retain)

    def __iter__(self):
        for x, y in self.forget:
            yield x, random_wrong_labels(y, self.num_classes, self.generator)
        yield from self.retain

