from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..training import sgd
from ..validation import check_non_negative, check_sgd
from .base import Method, UnlearningTask, register_method


@register_method("l1_sparse", paper="Jia et al. 2023, Model Sparsity Can Simplify Machine Unlearning (NeurIPS)")
class L1Sparse(Method):
    """ℓ1-sparse unlearning: fine-tune on D_r with CE + γ_t·‖θ‖₁, γ_t falling linearly from `gamma` to 0.

    As the reference (Unlearn-Sparse, FT_l1), γ_t is held for an epoch, γ_e = γ·(1 − e/epochs), and
    the norm runs over every parameter, biases included.
    """

    # Unlearn-Sparse passes γ as --alpha on the command line and publishes no value; 5e-4 as quoted
    # in the spec (unverified). The unlearning lr is constant (its MultiStepLR milestones lie past 10 epochs).
    # Ours: ~15x fewer steps than 10 CIFAR epochs, so a larger γ (total pull γ·lr·steps 2e-2 against 8e-3).
    reference_defaults = {"gamma": 5e-4, "lr": 0.01, "epochs": 10, "batch_size": 256}
    fragile_at_default_scale = ("fine-tuning under the ℓ1 pull forgets the class on most runs, and leaves up to 62 % of it on others; over 40 runs (seeds 0-9 x 4 kernel settings, docs/method_spread.md) UA spans 0.38-1.00, below 0.9 in 12 and below 0.75 in 8")

    def __init__(self, gamma: float = 0.02, lr: float = 0.01, epochs: int = 5, batch_size: int = 64,
                 momentum: float = 0.9, weight_decay: float = 5e-4):
        check_sgd(lr, epochs, batch_size, momentum, weight_decay)
        check_non_negative(gamma=gamma)
        self.gamma, self.lr, self.epochs, self.batch_size = gamma, lr, epochs, batch_size
        self.momentum, self.weight_decay = momentum, weight_decay

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        loader = task.retain_loader(self.batch_size)
        per_step = l1_schedule(self.gamma, self.epochs, len(loader))
        step = iter(per_step)

        def loss_fn(m: nn.Module, batch):
            return F.cross_entropy(m(batch[0]), batch[1]) + next(step) * l1_norm(m)

        opt = sgd(model, self.lr, self.momentum, self.weight_decay)
        task.fit(model, loader, loss_fn, opt, epochs=self.epochs, description="l1_sparse")
        return model


def l1_schedule(gamma: float, epochs: int, steps_per_epoch: int) -> list[float]:
    """γ for every optimiser step: γ·(1 − e/epochs) through epoch e, so 0 is reached as the run ends."""
    return [gamma * (1 - e / epochs) for e in range(epochs) for _ in range(steps_per_epoch)]


def l1_norm(model: nn.Module) -> torch.Tensor:
    return sum(p.abs().sum() for p in model.parameters())
