from __future__ import annotations

import torch
from torch import nn

from ..training import sgd
from ..validation import check_sgd
from .base import Method, UnlearningTask, register_method


@register_method("ft", paper="Warnecke et al. 2023, Machine Unlearning of Features and Labels (NDSS)")
class FineTune(Method):
    """Fine-tune θ_o on D_r only, relying on catastrophic forgetting of D_f."""

    tasks = ("classification", "regression")
    reference_defaults = {"lr": 0.01, "epochs": 10, "batch_size": 256}
    weak_at_default_scale = ("catastrophic forgetting is slow on digits: UA stays at 0.02-0.08 over 40 runs (seeds 0-9 x 4 kernel settings, docs/method_spread.md) with TA unchanged; lr 0.1 or 10 epochs reach only 0.16")

    def __init__(self, lr: float = 0.02, epochs: int = 5, batch_size: int = 64, momentum: float = 0.9,
                 weight_decay: float = 5e-4):
        check_sgd(lr, epochs, batch_size, momentum, weight_decay)
        self.lr, self.epochs, self.batch_size = lr, epochs, batch_size
        self.momentum, self.weight_decay = momentum, weight_decay

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        loader = task.retain_loader(self.batch_size)
        opt = sgd(model, self.lr, self.momentum, self.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.epochs * len(loader))
        task.fit(model, loader, task.loss_step, opt, epochs=self.epochs, scheduler=sched, description="ft")
        return model
