"""Evaluation metrics: pure functions of model outputs, and a registry of scalar metrics over an
`EvalContext` (one model's logits on the forget, retain and test splits, plus θ_r's if known).

`compute_metrics(ctx)` returns every registered scalar of the request's task (`unlearnlab.tasks`): on
classification ua, ra, ra_class_mean, ta, tua, tra, mia_efficacy, privacy_score, asr, identity_mia, nomus
(fractions in [0, 1]; None where a metric does not apply), on regression forget_mae, retain_mae, test_mae,
test_r2, forget_gap and loss_mia (`metrics.regression`); `compute_metrics_with_notes(ctx)` also says why a
metric is None on degenerate input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import BadInput
from ..registry import Registry


@dataclass(frozen=True)
class ModelOutputs:
    """One model's raw logits on the three evaluation splits, each (n, K); on a poisoned scenario also on the
    test samples not of the poison's target, stamped with its trigger (`triggered`)."""

    forget: np.ndarray
    retain: np.ndarray
    test: np.ndarray
    triggered: np.ndarray | None = None


@dataclass(frozen=True)
class EvalContext:
    """Everything a scalar metric may read; the forward passes were done once, elsewhere."""

    outputs: ModelOutputs
    reference: ModelOutputs | None  # θ_r (retrained on D_r) on the same splits
    y_forget: np.ndarray
    y_retain: np.ndarray
    y_test: np.ndarray
    num_classes: int
    forget_classes: tuple[int, ...] | None  # set for class-wise requests only
    seed: int = 0
    #: The target class of a poison (`--poison`), whose trigger `outputs.triggered` carries; None when clean.
    poison_target: int | None = None
    #: `group:` requests only: indices into the test split of the samples of identities absent from training
    #: (possibly none); what the identity MIA compares the forgotten identities with. None otherwise.
    unseen_test: np.ndarray | None = None
    #: The task type (`unlearnlab.tasks`); the y_* hold float targets and the outputs one column on regression.
    task: str = "classification"

    def __post_init__(self) -> None:
        models = [("outputs", self.outputs)]
        if self.reference is not None:
            models.append(("reference", self.reference))
        for who, out in models:
            for split in ("forget", "retain", "test"):
                logits = getattr(out, split)
                labels = getattr(self, f"y_{split}")
                if logits.ndim != 2 or logits.shape[1] != self.num_classes:
                    raise BadInput(f"{who}.{split} has shape {logits.shape}; "
                                   f"expected (n, {self.num_classes})")
                if len(logits) != len(labels):
                    raise BadInput(f"{who}.{split} has {len(logits)} rows but y_{split} "
                                   f"has {len(labels)} labels")

    @property
    def classwise(self) -> bool:
        return self.forget_classes is not None

    def retained_test_mask(self) -> np.ndarray:
        """Test samples whose class is kept (all of them outside class-wise requests)."""
        if self.forget_classes is None:
            return np.ones(len(self.y_test), dtype=bool)
        return ~np.isin(self.y_test, self.forget_classes)


@dataclass(frozen=True)
class NoValue:
    """A metric's answer on degenerate input (e.g. an attacker at chance): no number, and why.

    A number computed from such input would look like a finding; `compute_metrics` reports None and
    `compute_metrics_with_notes` also returns the reason, which travels with the run.
    """

    reason: str


MetricFn = Callable[[EvalContext], "float | NoValue | None"]
METRICS: Registry[MetricFn] = Registry("metric")
#: The task types each registered metric applies to (`register_metric(..., tasks=...)`).
METRIC_TASKS: dict[str, tuple[str, ...]] = {}


def register_metric(name: str, tasks: tuple[str, ...] = ("classification",)) -> Callable[[MetricFn], MetricFn]:
    """Register a scalar metric `fn(ctx) -> float | NoValue | None` under `name` (None: the metric does
    not apply to this request; NoValue: it applies but the input cannot support a number), for the task
    types `tasks`: on any other task it is not computed."""
    def decorate(fn: MetricFn) -> MetricFn:
        METRICS.add(name, fn)
        METRIC_TASKS[name] = tuple(tasks)
        return fn

    return decorate


def metric_names(task: str = "classification") -> list[str]:
    """The registered metrics that apply to `task`, in registration order."""
    return [n for n in METRICS.names() if task in METRIC_TASKS.get(n, ("classification",))]


def compute_metrics_with_notes(ctx: EvalContext, names: Iterable[str] | None = None
                               ) -> tuple[dict[str, float | None], dict[str, str]]:
    """(metrics, notes): named scalar metrics as Python floats or None, and for each metric left None
    because its input was degenerate, the reason."""
    result: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    for name in metric_names(ctx.task) if names is None else names:
        fn = METRICS.get(name)
        if ctx.task not in METRIC_TASKS.get(name, ("classification",)):
            result[name] = None
            notes[name] = f"not applicable: {name} is a {' / '.join(METRIC_TASKS[name])} metric; this is {ctx.task}"
            continue
        value = fn(ctx)
        if isinstance(value, NoValue):
            notes[name] = value.reason
            value = None
        result[name] = None if value is None else float(value)
    return result, notes


def compute_metrics(ctx: EvalContext, names: Iterable[str] | None = None) -> dict[str, float | None]:
    """Named scalar metrics of `ctx` (every registered one by default), as Python floats or None."""
    return compute_metrics_with_notes(ctx, names)[0]


# Imported last: these modules register their metrics through `register_metric` defined above.
from .accuracy import accuracy, class_mean_accuracy, per_class_accuracy  # noqa: E402
from .backdoor import attack_success_rate  # noqa: E402
from .chance import ChanceCheck, chance_check, majority_rate, model_chance_check  # noqa: E402
from .gap import AVG_GAP_KEYS, avg_gap, avg_gap_keys, speedup  # noqa: E402
from .identity import identity_mia_accuracy, nomus  # noqa: E402
from .mia import MiaAttack, mia_attack, mia_efficacy, true_label_probability  # noqa: E402
from .regression import MeanCheck, loss_mia, mean_absolute_error, r2_check, r2_score  # noqa: E402
from .privacy import (  # noqa: E402
    AttackCurve,
    PrivacyAttack,
    attack_score,
    confidence_feature,
    entropy_feature,
    epsilon,
    privacy_attack,
    privacy_score,
)

#: A model's check against the best constant predictor, by task: (outputs, targets) -> an object with
#: `at_chance` and `describe()`; what flags a request unusable (θ_o or θ_r that learned nothing).
MODEL_CHECKS: Registry[Callable] = Registry("task")
MODEL_CHECKS.add("classification", model_chance_check)
MODEL_CHECKS.add("regression", r2_check)

__all__ = [
    "AVG_GAP_KEYS",
    "METRICS",
    "AttackCurve",
    "ChanceCheck",
    "MiaAttack",
    "NoValue",
    "EvalContext",
    "METRIC_TASKS",
    "MODEL_CHECKS",
    "MeanCheck",
    "ModelOutputs",
    "PrivacyAttack",
    "accuracy",
    "attack_score",
    "attack_success_rate",
    "avg_gap",
    "avg_gap_keys",
    "chance_check",
    "class_mean_accuracy",
    "compute_metrics",
    "compute_metrics_with_notes",
    "confidence_feature",
    "entropy_feature",
    "epsilon",
    "identity_mia_accuracy",
    "loss_mia",
    "majority_rate",
    "mean_absolute_error",
    "metric_names",
    "mia_attack",
    "mia_efficacy",
    "model_chance_check",
    "nomus",
    "per_class_accuracy",
    "privacy_attack",
    "privacy_score",
    "r2_check",
    "r2_score",
    "register_metric",
    "speedup",
    "true_label_probability",
]
