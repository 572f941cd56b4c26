"""Training a classifier from scratch: the original model θ_o and the retrained gold standard θ_r."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInput
from ..registry import Registry
from ..tasks import Task, get_task
from ..validation import check_choice, check_int, check_non_negative, check_positive, check_range
from .augment import AUGMENTATIONS, Augment
from .batches import TensorBatches
from .context import RunContext
from .loop import FitResult, fit

#: Upper bound of train.epochs (the papers' longest recipe is 182 epochs).
MAX_EPOCHS = 10_000


@dataclass(frozen=True)
class TrainConfig:
    """How θ_o and θ_r are trained (and so every member of an audit's ensembles).

    The papers' CIFAR-10 protocol is SGD(0.9), wd 5e-4, lr 0.1, 160-182 epochs with crop-and-flip
    augmentation (the `salun-cifar10` preset, `unlearnlab.presets`); the defaults here are that recipe
    sized for the 8x8 digits, without augmentation.

    - `schedule`: how the lr moves, per optimiser step: `cosine` to 0, `constant`, `multistep` (times
      `lr_decay` at each of `milestones`, fractions of the run: (0.5, 0.75) of 182 epochs is the papers'
      91, 136) or `onecycle` (linear up over the first `warmup` share of steps, then linear down to 0).
    - `augment`: `none` or `crop_flip` (random crop with `crop_padding` zero padding and a horizontal flip,
      batched on the device, `training.augment`). It applies to the methods' fits too: see
      `augmentation_for`.
    - `amp`: autocast on CUDA (bfloat16 where the GPU has it); `channels_last` and `compile`
      (torch.compile) are speed switches for θ_o and θ_r training on a GPU; none of them changes the
      recipe's maths, only its rounding.
    """

    epochs: int = 20
    lr: float = 0.1
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    amp: bool = False
    nesterov: bool = False
    label_smoothing: float = 0.0
    milestones: tuple[float, ...] = ()
    lr_decay: float = 0.1
    warmup: float = 0.0
    augment: str = "none"
    crop_padding: int = 4
    channels_last: bool = False
    compile: bool = False

    def __post_init__(self):
        check_int("train.epochs", self.epochs, minimum=1)
        if self.epochs > MAX_EPOCHS:  # a typo of a few zeros would otherwise train for days, uncancellable in the CLI
            raise BadInput(f"train.epochs={self.epochs!r} is not allowed; it must be an integer in [1, {MAX_EPOCHS}]")
        check_int("train.batch_size", self.batch_size, minimum=1)
        check_positive(**{"train.lr": self.lr})
        check_non_negative(**{"train.momentum": self.momentum, "train.weight_decay": self.weight_decay})
        check_choice("train.schedule", self.schedule, SCHEDULES.names())
        for name in ("amp", "nesterov", "channels_last", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise BadInput(f"train.{name}={getattr(self, name)!r} is not allowed; it must be true or false")
        if self.nesterov and self.momentum == 0:
            raise BadInput("train.nesterov=true is not allowed with train.momentum=0; Nesterov needs momentum > 0")
        check_range("train.label_smoothing", self.label_smoothing, 0.0, 1.0, closed="left")
        object.__setattr__(self, "milestones", _fractions(self.milestones))
        check_range("train.lr_decay", self.lr_decay, 0.0, 1.0, closed="right")
        check_range("train.warmup", self.warmup, 0.0, 1.0, closed="left")
        if self.schedule == "multistep" and not self.milestones:
            raise BadInput("train.schedule=multistep needs train.milestones, e.g. 0.5,0.75 (fractions of the run)")
        check_choice("train.augment", self.augment, AUGMENTATIONS.names())
        check_int("train.crop_padding", self.crop_padding, minimum=0)

    def to_dict(self) -> dict:
        """JSON-shaped (tuples as lists), so the recipe equals what the store reads back."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def augmentation(self) -> Augment | None:
        """The augmentation of θ_o's and θ_r's image batches, or None."""
        return AUGMENTATIONS.get(self.augment)(self)


def _fractions(values) -> tuple[float, ...]:
    """train.milestones as a sorted tuple of fractions in (0, 1); from the CLI they arrive as strings."""
    if isinstance(values, (str, int, float)):
        values = (values,)
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise BadInput(f"train.milestones={values!r} is not allowed; expected fractions in (0, 1), "
                       "e.g. 0.5,0.75") from None
    if any(not 0.0 < v < 1.0 for v in out) or list(out) != sorted(set(out)):
        raise BadInput(f"train.milestones={','.join(map(str, out))} is not allowed; expected increasing "
                       "fractions in (0, 1), e.g. 0.5,0.75")
    return out


#: name -> builder(config, optimizer, steps_per_epoch) of the per-step lr scheduler (None: constant).
Schedule = Callable[["TrainConfig", torch.optim.Optimizer, int], "torch.optim.lr_scheduler.LRScheduler | None"]
SCHEDULES: Registry[Schedule] = Registry("schedule")


@SCHEDULES.register("cosine")
def _cosine(config: TrainConfig, opt: torch.optim.Optimizer, steps_per_epoch: int):
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs * steps_per_epoch)


@SCHEDULES.register("constant")
def _constant(config: TrainConfig, opt: torch.optim.Optimizer, steps_per_epoch: int):
    return None


@SCHEDULES.register("multistep")
def _multistep(config: TrainConfig, opt: torch.optim.Optimizer, steps_per_epoch: int):
    """The papers' MultiStepLR, stepped per epoch there: the lr falls at the start of epoch ⌊f·epochs⌋."""
    bounds = [int(f * config.epochs) * steps_per_epoch for f in config.milestones]
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: config.lr_decay ** sum(step >= b for b in bounds))


@SCHEDULES.register("onecycle")
def _onecycle(config: TrainConfig, opt: torch.optim.Optimizer, steps_per_epoch: int):
    """Piecewise linear: up to lr over the first `warmup` share of steps, then down to 0 (Smith's one-cycle,
    as the speed-run CIFAR-10 trainers use it without its momentum cycling)."""
    total = config.epochs * steps_per_epoch
    up = max(1, round(config.warmup * total)) if config.warmup else 0

    def factor(step: int) -> float:
        if step < up:
            return (step + 1) / up
        return max(0.0, (total - step) / (total - up + 1))  # the peak once, then down; the last step is not 0

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def sgd(model: nn.Module, lr: float, momentum: float = 0.9, weight_decay: float = 5e-4,
        nesterov: bool = False) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay,
                           nesterov=nesterov)


def cross_entropy_step(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    x, y = batch[0], batch[1]
    return F.cross_entropy(model(x), y)


def _channels_last(loss_fn, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return loss_fn(model, (batch[0].contiguous(memory_format=torch.channels_last), *batch[1:]))


def train_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: TrainConfig,
                     ctx: RunContext, description: str = "train", task: str | Task = "classification") -> FitResult:
    """Supervised training with the task's loss (`unlearnlab.tasks`: cross-entropy for classification, MSE
    for regression) and SGD under `config` (schedule, augmentation, speed switches).

    `model` itself is trained in place: with `config.compile` the loop runs its torch.compile wrapper, which
    shares its parameters, so the caller's module and its state dict keys are unchanged.
    """
    kind = get_task(task) if isinstance(task, str) else task
    augment = config.augmentation() if x.ndim == 4 else None
    batches = TensorBatches(x, y, batch_size=config.batch_size, generator=ctx.generator(1), augment=augment)
    opt = sgd(model, config.lr, config.momentum, config.weight_decay, config.nesterov)
    sched = SCHEDULES.get(config.schedule)(config, opt, len(batches))
    loss_fn = kind.train_step(config.label_smoothing)
    net = model
    if config.channels_last and x.ndim == 4:
        model.to(memory_format=torch.channels_last)
        loss_fn = partial(_channels_last, loss_fn)
    if config.compile:
        net = torch.compile(model)
    return fit(net, batches, loss_fn, opt, ctx, epochs=config.epochs, scheduler=sched, description=description)
