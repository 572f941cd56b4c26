"""The method protocol, its registry and the task object that hands a method everything shared.

A method is a small class: the constructor takes every hyper-parameter (reference default,
validated, no other work, as in scikit-learn); `unlearn(model, task)` edits a copy of θ_o and
returns it. Data, devices, seeding, timing, progress and cancellation come from `task`.
"""

from __future__ import annotations

import copy
import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..errors import BadInput
from ..registry import Registry
from ..tasks import Task, get_task
from ..training import (FitResult, RunContext, TensorBatches, TrainConfig, apply_masks, augmentation_for, fit,
                        seed_everything)
from ..validation import coerce

METHODS: Registry[type[Method]] = Registry("method")


def register_method(name: str, *, paper: str) -> Callable[[type[Method]], type[Method]]:
    """Class decorator: `@register_method("ft", paper="...")` names the method and cites its paper."""

    def decorate(cls: type[Method]) -> type[Method]:
        cls.name, cls.paper = name, paper
        METHODS.add(name, cls)
        return cls

    return decorate


class Method:
    """Base class of every unlearning method.

    Class attributes declare what callers may ask instead of guess:
    - `uses_labels`: reads labels of D_f / D_r (LAF does not).
    - `needs_retrain`: reads θ_r (oracle matching), so it is an upper bound, not a method.
    - `tasks`: the task types (`unlearnlab.tasks`) it applies to; a method that reads class structure
      (relabelling, per-class saliency, boundaries) is classification only and says so.
    - `reference_defaults`: the paper's defaults (CIFAR-10 / ResNet-18) where ours differ.
    - `weak_at_default_scale`: why the method, run faithfully, does not forget a class of the
      embedded default: UA never reaches 0.9, or TA falls more than 5 points on average; empty when not.
    - `fragile_at_default_scale`: why, and how often, its outcome on that request changes with the
      seed or the CPU kernels (some runs reach UA 0.9, others stay below 0.75); empty when it does not.
    Both carry the numbers measured by `benchmarks/method_spread.py` (docs/method_spread.md). A method
    with neither forgets the default class in every run measured; `tests/test_runner.py` asserts that,
    and a weaker property for the declared ones.
    """

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    uses_labels: ClassVar[bool] = True
    needs_retrain: ClassVar[bool] = False
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    reference_defaults: ClassVar[dict[str, Any]] = {}
    weak_at_default_scale: ClassVar[str] = ""
    fragile_at_default_scale: ClassVar[str] = ""

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        if cls.__init__ is object.__init__:
            return {}
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is p.empty:
                raise TypeError(f"{cls.__name__}.__init__ must take only named hyper-parameters with defaults")
        return {p.name: p.default for p in params}

    def get_params(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self.param_defaults()}

    @classmethod
    def unsupported(cls, task: str) -> str | None:
        """Why the method cannot run on a `task` data set, or None when it can."""
        if task in cls.tasks:
            return None
        others = [n for n in METHODS.names() if task in METHODS.get(n).tasks]
        return (f"method {cls.name!r} needs {' or '.join(cls.tasks)}; {task} supports: "
                f"{', '.join(others) or 'none'}")

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


@dataclass(eq=False)
class UnlearningTask:
    """A forget request made concrete: training tensors on the device, D_f's indices, θ_o (frozen),
    the training recipe (for retraining) and the run context."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    forget_idx: np.ndarray
    num_classes: int
    original: nn.Module
    make_model: Callable[[], nn.Module]
    train_config: TrainConfig = field(default_factory=TrainConfig)
    ctx: RunContext = field(default_factory=RunContext)
    forget_classes: tuple[int, ...] | None = None
    retrained: nn.Module | None = None
    #: The data's task type (`unlearnlab.tasks`): its loss is what methods train and ascend on.
    task_type: str = "classification"

    @cached_property
    def kind(self) -> Task:
        return get_task(self.task_type)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The task's batch-mean loss (cross-entropy, or MSE for regression)."""
        return self.kind.loss(outputs, targets)

    def loss_step(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The task's loss of `model` on an (x, y) batch, for `fit`."""
        return self.kind.loss(model(batch[0]), batch[1])

    @cached_property
    def retain_idx(self) -> np.ndarray:
        mask = np.ones(len(self.y_train), dtype=bool)
        mask[self.forget_idx] = False
        return np.flatnonzero(mask)

    def _take(self, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.as_tensor(idx, device=self.x_train.device)
        return self.x_train.index_select(0, i), self.y_train.index_select(0, i)

    @cached_property
    def forget_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._take(self.forget_idx)

    @cached_property
    def retain_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._take(self.retain_idx)

    def batches(self, *tensors: torch.Tensor, batch_size: int, shuffle: bool = True, stream: int = 0) -> TensorBatches:
        """Seeded batches; `stream` keeps the shuffles of different loaders independent. Image batches paired
        with labels or flags get the recipe's augmentation (train.augment), as the papers' loaders do
        (`training.augmentation_for`)."""
        return TensorBatches(*tensors, batch_size=batch_size, shuffle=shuffle,
                             generator=self.ctx.generator(100 + stream),
                             augment=augmentation_for(self.train_config, *tensors))

    def forget_loader(self, batch_size: int, shuffle: bool = True, labels: bool = True) -> TensorBatches:
        """Batches of (x, y) from D_f; `labels=False` yields (x,) only, for label-free methods."""
        data = self.forget_data if labels else self.forget_data[:1]
        return self.batches(*data, batch_size=batch_size, shuffle=shuffle, stream=1)

    def retain_loader(self, batch_size: int, shuffle: bool = True, labels: bool = True) -> TensorBatches:
        data = self.retain_data if labels else self.retain_data[:1]
        return self.batches(*data, batch_size=batch_size, shuffle=shuffle, stream=2)

    def train_loader(self, batch_size: int, shuffle: bool = True, labels: bool = True) -> TensorBatches:
        data = (self.x_train, self.y_train) if labels else (self.x_train,)
        return self.batches(*data, batch_size=batch_size, shuffle=shuffle, stream=3)

    def fit(self, model: nn.Module, batches, loss_fn, optimizer: torch.optim.Optimizer, **kwargs) -> FitResult:
        """The shared loop (see `training.fit`), bound to this task's context."""
        return fit(model, batches, loss_fn, optimizer, self.ctx, **kwargs)


@dataclass
class MethodResult:
    model: nn.Module
    seconds: float
    steps: int
    samples: int


def run_method(method: Method, original: nn.Module, task: UnlearningTask) -> MethodResult:
    """Seed, copy θ_o, time `method.unlearn` end to end (every pre-pass included) and count its cost."""
    why = type(method).unsupported(task.task_type)
    if why is not None:
        raise BadInput(why)
    seed_everything(task.ctx.seed)
    model = copy.deepcopy(original).to(task.ctx.device)
    model.requires_grad_(True)  # θ_o itself is frozen; its copy is the method's to train
    steps0, samples0 = task.ctx.counters.steps, task.ctx.counters.samples
    start = time.perf_counter()
    out = method.unlearn(model, task)
    apply_masks(out, task.ctx.masks)  # weight edits outside the loop (SSD, IU) must not revive pruned weights
    if task.ctx.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return MethodResult(out, seconds, task.ctx.counters.steps - steps0, task.ctx.counters.samples - samples0)


def build_method(name: str, overrides: Mapping[str, Any] | None = None) -> Method:
    """Instantiate a registered method with hyper-parameter overrides, validated."""
    from .plugins import ensure_loaded

    ensure_loaded()
    cls = METHODS.get(name)
    defaults = cls.param_defaults()
    params = {}
    for key, raw in (overrides or {}).items():
        if key not in defaults:
            allowed = ", ".join(defaults) or "none"
            raise BadInput(f"unknown hyper-parameter {name}.{key}; allowed: {allowed}")
        params[key] = coerce(f"{name}.{key}", raw, defaults[key])
    try:
        return cls(**params)
    except BadInput as err:
        raise BadInput(f"{name}: {err}") from None
