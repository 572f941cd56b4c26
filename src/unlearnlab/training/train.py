"""Training a classifier from scratch: the original model θ_o and the retrained gold standard θ_r."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInput
from ..validation import check_choice, check_int, check_non_negative, check_positive
from .batches import TensorBatches
from .context import RunContext
from .loop import FitResult, fit

#: Upper bound of train.epochs (the papers' longest recipe is 182 epochs).
MAX_EPOCHS = 10_000


@dataclass(frozen=True)
class TrainConfig:
    """How θ_o and θ_r are trained. The papers' CIFAR-10 protocol is SGD(0.9), wd 5e-4, cosine,
    lr 0.1, 160-182 epochs; the defaults here are that recipe sized for the 8x8 digits."""

    epochs: int = 20
    lr: float = 0.1
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    amp: bool = False

    def __post_init__(self):
        check_int("train.epochs", self.epochs, minimum=1)
        if self.epochs > MAX_EPOCHS:  # a typo of a few zeros would otherwise train for days, uncancellable in the CLI
            raise BadInput(f"train.epochs={self.epochs!r} is not allowed; it must be an integer in [1, {MAX_EPOCHS}]")
        check_int("train.batch_size", self.batch_size, minimum=1)
        check_positive(**{"train.lr": self.lr})
        check_non_negative(**{"train.momentum": self.momentum, "train.weight_decay": self.weight_decay})
        check_choice("train.schedule", self.schedule, ("cosine", "constant"))

    def to_dict(self) -> dict:
        return asdict(self)


def sgd(model: nn.Module, lr: float, momentum: float = 0.9, weight_decay: float = 5e-4) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def cross_entropy_step(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    x, y = batch[0], batch[1]
    return F.cross_entropy(model(x), y)


def train_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: TrainConfig,
                     ctx: RunContext, description: str = "train") -> FitResult:
    """Standard supervised training with cross-entropy, SGD and a per-step cosine schedule."""
    batches = TensorBatches(x, y, batch_size=config.batch_size, generator=ctx.generator(1))
    opt = sgd(model, config.lr, config.momentum, config.weight_decay)
    sched = None
    if config.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs * len(batches))
    return fit(model, batches, cross_entropy_step, opt, ctx, epochs=config.epochs,
               scheduler=sched, description=description)
