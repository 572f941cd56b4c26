"""Task types: what a model predicts and how it is trained and scored, as one axis with a registry.

A task says how a data set's targets are checked and stored, how wide the model's output is, which loss
trains it (θ_o, θ_r and every method that fits on labels), which forget requests and metrics apply, and
which metrics the machine-readable contract and the Avg. Gap read. Code that differs between task types
asks the data set's task instead of branching on its name.

- `classification` (the default): integer labels in [0, K), K logits, cross-entropy.
- `regression`: one float target per sample, one output, mean squared error (Tarun et al. 2023, Deep
  Regression Unlearning, ICML, study unlearning in this setting; their code trains with L1, see
  docs/scenarios.md for why MSE here).
- `generation`: class-conditional generation of a classification data set's images (a DDPM; erasing a
  class as ESD, Gandikota et al. 2023, and SalUn, Fan et al. 2024, do). It is chosen by the model (a
  `GENERATIVE_MODELS` entry), not by the data: its data set is a classification one, so no `Dataset` carries
  it (`data_task` False); `runner_generative` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import BadInput
from .registry import Registry

LossFn = Callable[[nn.Module, tuple[torch.Tensor, ...]], torch.Tensor]


class Task:
    """What differs between task types. Subclasses are registered (one instance each) in TASKS."""

    name: ClassVar[str] = ""
    #: Forget-request kinds (`data.forget`) that make sense on this task's data.
    forget_kinds: ClassVar[tuple[str, ...]] = ()
    #: The metrics Avg. Gap averages (|m − m_r| against θ_r), in order.
    avg_gap_keys: ClassVar[tuple[str, ...]] = ()
    #: The keys of the machine-readable contract (`run --json`), present (maybe None) on every run.
    contract_keys: ClassVar[tuple[str, ...]] = ()
    #: Whether targets are classes (per-class accuracies, class-wise requests, poisons apply).
    has_classes: ClassVar[bool] = True
    #: Whether a `Dataset` may carry this task (False: the task follows from the model, e.g. generation).
    data_task: ClassVar[bool] = True
    #: The two metrics a one-line listing shows (`unlearnlab runs`): what was forgotten, what was kept, as
    #: (key, label, shown in %).
    headline: ClassVar[tuple[tuple[str, str, bool], ...]] = ()

    def check_num_classes(self, k: Any, dataset: str) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_targets(self, y: Any, what: str, dataset: str, k: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """The batch-mean training loss of `outputs` (N, width) against `targets` (N,)."""
        raise NotImplementedError

    def train_step(self, label_smoothing: float = 0.0) -> LossFn:
        """`loss_fn(model, batch)` for the shared loop (`training.fit`) on (x, y) batches."""
        if label_smoothing:
            raise BadInput(f"train.label_smoothing={label_smoothing!r} is not allowed on a {self.name} task; "
                           "it applies to classification only: leave it at 0")
        return self.step

    def step(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.loss(model(batch[0]), batch[1])


TASKS: Registry[Task] = Registry("task")


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: registers one instance of `cls` under `cls.name`."""
    TASKS.add(cls.name, cls())
    return cls


def get_task(name: str) -> Task:
    return TASKS.get(name)


@register_task
class Classification(Task):
    name = "classification"
    forget_kinds = ("class", "random", "indices", "subclass", "poison", "group", "worst", "memorised")
    avg_gap_keys = ("ua", "ra", "ta", "mia_efficacy")
    contract_keys = ("ua", "ra", "ta", "tua", "tra", "mia_efficacy", "privacy_score", "avg_gap", "run_time_s",
                     "speedup_vs_retrain")
    headline = (("ua", "UA", True), ("ta", "TA", True))

    def check_num_classes(self, k: Any, dataset: str) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
            raise BadInput(f"dataset {dataset!r}: num_classes={k!r} is not allowed; it must be an integer >= 2")
        return int(k)

    def check_targets(self, y: Any, what: str, dataset: str, k: int) -> np.ndarray:
        a = np.asarray(y)
        if a.dtype.kind not in "iu" or a.ndim != 1:
            raise BadInput(
                f"dataset {dataset!r}: {what} has dtype {a.dtype} and shape {a.shape}; it must be 1-D integers"
            )
        if a.size and (a.min() < 0 or a.max() >= k):
            bad = a[(a < 0) | (a >= k)][0]
            raise BadInput(f"dataset {dataset!r}: {what} holds label {int(bad)}; labels must be in [0, {k - 1}]")
        return np.ascontiguousarray(a, dtype=np.int64)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets)

    def train_step(self, label_smoothing: float = 0.0) -> LossFn:
        if label_smoothing:
            return lambda model, batch: F.cross_entropy(model(batch[0]), batch[1], label_smoothing=label_smoothing)
        return self.step


@register_task
class Regression(Task):
    """One float target per sample; the model's single output is the prediction."""

    name = "regression"
    forget_kinds = ("random", "indices", "target")
    # Errors in the targets' units (standard deviations of the training targets for the built-in sets) and the
    # loss MIA's accuracy (0.5: forget and test samples look alike): SalUn's Avg. Gap with errors for accuracies.
    avg_gap_keys = ("forget_mae", "retain_mae", "test_mae", "loss_mia")
    contract_keys = ("forget_mae", "retain_mae", "test_mae", "test_r2", "forget_gap", "loss_mia", "avg_gap",
                     "run_time_s", "speedup_vs_retrain")
    headline = (("forget_mae", "F-MAE", False), ("test_mae", "T-MAE", False))
    has_classes = False

    def check_num_classes(self, k: Any, dataset: str) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k != 1:
            raise BadInput(f"dataset {dataset!r}: num_classes={k!r} is not allowed on a regression task; it is the "
                           "model's output width, which must be 1 (one target)")
        return 1

    def check_targets(self, y: Any, what: str, dataset: str, k: int) -> np.ndarray:
        a = np.asarray(y)
        if a.dtype.kind not in "biuf" or a.ndim != 1:
            raise BadInput(f"dataset {dataset!r}: {what} has dtype {a.dtype} and shape {a.shape}; regression "
                           "targets must be 1-D numbers")
        out = np.ascontiguousarray(a, dtype=np.float32)
        bad = ~np.isfinite(out)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise BadInput(f"dataset {dataset!r}: {what} holds {out[i]} at sample {i}; regression targets must be "
                           "finite (no NaN or inf, nor beyond float32's range)")
        return out

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if outputs.ndim != 2 or outputs.shape[1] != 1:
            raise BadInput(f"a regression model must give one output per sample; it gave shape {tuple(outputs.shape)}")
        return F.mse_loss(outputs[:, 0], targets.to(outputs.dtype))


@register_task
class Generation(Task):
    """Class-conditional generation of a classification data set's images: the model is a DDPM
    (`models.diffusion`), the forget request a class, and the metrics read the model's samples with a
    held-out judge (`metrics.generative`).

    The loss is DDPM's ε-prediction MSE (Ho et al. 2020): `loss(predicted ε, true ε)`; the noising and the
    label dropout that produce its inputs need the run's generator, so batches are trained with
    `training.diffusion.diffusion_loss`, not `step`. Avg. Gap averages the forget rate and the kept-class
    accuracy, both shares in [0, 1] as SalUn's accuracies are; the Frechet distance lives in the judge's feature
    space (unbounded, of another scale), so it is reported beside the gap, not averaged into it.
    """

    name = "generation"
    forget_kinds = ("class",)
    avg_gap_keys = ("forget_rate", "kept_accuracy")
    contract_keys = ("forget_rate", "kept_accuracy", "fd_kept", "avg_gap", "run_time_s", "speedup_vs_retrain")
    data_task = False
    headline = (("forget_rate", "Forget rate", True), ("kept_accuracy", "Kept acc.", True))

    def check_num_classes(self, k: Any, dataset: str) -> int:
        return get_task("classification").check_num_classes(k, dataset)

    def check_targets(self, y: Any, what: str, dataset: str, k: int) -> np.ndarray:
        return get_task("classification").check_targets(y, what, dataset, k)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(outputs, targets.to(outputs.dtype))

    def step(self, model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        raise BadInput("a generation task trains (x, y) batches with training.diffusion.diffusion_loss(model, x, y, "
                       "generator), which noises them with the run's generator; it has no plain (x, y) step")


TASK_NAMES: tuple[str, ...] = tuple(TASKS.names())

__all__ = ["TASKS", "TASK_NAMES", "Classification", "Generation", "LossFn", "Regression", "Task", "get_task",
           "register_task"]
