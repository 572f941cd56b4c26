from __future__ import annotations

import torch
from torch import nn

from ..training import cross_entropy_step, sgd
from ..validation import check_sgd
from .base import Method, UnlearningTask, register_method


@register_method("rl", paper="Golatkar et al. 2020, Eternal Sunshine of the Spotless Net (CVPR); random-label baseline as in SalUn")
class RandomLabel(Method):
    """Relabel every forget sample with a random wrong class, then train on D_f (relabelled) ∪ D_r."""

    reference_defaults = {"lr": 0.01, "epochs": 10, "batch_size": 256}

    def __init__(self, lr: float = 0.01, epochs: int = 5, batch_size: int = 64, momentum: float = 0.9,
                 weight_decay: float = 5e-4):
        check_sgd(lr, epochs, batch_size, momentum, weight_decay)
        self.lr, self.epochs, self.batch_size = lr, epochs, batch_size
        self.momentum, self.weight_decay = momentum, weight_decay

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        x_f, y_f = task.forget_data
        x_r, y_r = task.retain_data
        x = torch.cat([x_f, x_r])
        y = torch.cat([random_wrong_labels(y_f, task.num_classes, task.ctx.generator(7)), y_r])
        opt = sgd(model, self.lr, self.momentum, self.weight_decay)
        task.fit(model, task.batches(x, y, batch_size=self.batch_size, stream=4), cross_entropy_step, opt,
                 epochs=self.epochs, description="rl")
        return model


def random_wrong_labels(y: torch.Tensor, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """A uniformly drawn label different from each true label (shift by 1..K-1 modulo K)."""
    shift = torch.randint(1, num_classes, y.shape, generator=generator).to(y.device)
    return (y + shift) % num_classes
