"""Regression metrics, after Tarun et al. 2023 (Deep Regression Unlearning, ICML): the error of θ_u on the
forget, retain and test sets (mean absolute error, their metric, in the targets' units), its forget error's
distance to θ_r's, and a loss-based membership-inference attack.

The MIA asks the question unlearning must answer directly: can an attacker tell the forget samples from
samples never trained on by their loss? A logistic regression on the log squared error learns members (D_r)
from non-members (D_t) and is scored on D_f against held-out D_t as a balanced accuracy: 0.5 when D_f looks
like unseen data (θ_r, which never saw it), above when θ_u still fits D_f better. The paper trains an RBF
SVC on the L1 losses of retain against test samples and reports the share of D_f it calls members; that
share sits at the attacker's false-positive rate on unseen data for θ_r, not at a fixed level, which is
why D_t's held-out calls enter the score here (docs/scenarios.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from sklearn.linear_model import LogisticRegression

from . import EvalContext, NoValue, register_metric

REGRESSION = ("regression",)
#: Folds over D_t for its held-out calls; fewer where D_t is smaller.
MIA_FOLDS = 5


def _predictions(outputs: np.ndarray) -> np.ndarray:
    out = np.asarray(outputs, dtype=np.float64)
    return out[:, 0] if out.ndim == 2 else out


def mean_absolute_error(outputs: np.ndarray, targets: np.ndarray) -> float:
    """mean |ŷ − y| (float64); nan for no samples."""
    targets = np.asarray(targets, dtype=np.float64)
    if len(targets) == 0:
        return float("nan")
    return float(np.mean(np.abs(_predictions(outputs) - targets)))


def r2_score(outputs: np.ndarray, targets: np.ndarray) -> float:
    """Coefficient of determination 1 − SS_res / SS_tot against the mean of `targets`: 0 is the mean
    predictor, below 0 worse than it; nan when the targets do not vary."""
    targets = np.asarray(targets, dtype=np.float64)
    ss_tot = float(np.sum((targets - targets.mean()) ** 2)) if len(targets) else 0.0
    if ss_tot <= 0:
        return float("nan")
    return 1.0 - float(np.sum((_predictions(outputs) - targets) ** 2)) / ss_tot


@dataclass(frozen=True)
class MeanCheck:
    """A regression model against the best constant predictor (the mean): R² on `n` samples."""

    r2: float
    n: int
    baseline: ClassVar[str] = "the mean predictor's R² is 0"

    @property
    def at_chance(self) -> bool:
        """True when the model predicts no better than the targets' mean (R² <= 0, or targets constant)."""
        return not self.r2 > 0

    def describe(self) -> str:
        if self.at_chance:
            r2 = "undefined (constant targets)" if np.isnan(self.r2) else f"{self.r2:.2f}"
            return f"R² {r2} on {self.n} samples: no better than the mean"
        return f"R² {self.r2:.2f} on {self.n} samples"


def r2_check(outputs: np.ndarray, targets: np.ndarray) -> MeanCheck:
    return MeanCheck(r2_score(outputs, targets), len(targets))


def squared_errors(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return (_predictions(outputs) - np.asarray(targets, dtype=np.float64)) ** 2


def _feature(errors: np.ndarray) -> np.ndarray:
    # log: squared errors span orders of magnitude (a memorised sample's is near 0); a linear attacker sees ratios
    return np.log(np.asarray(errors, dtype=np.float64) + 1e-12)[:, None]


def _attacker(members: np.ndarray, non_members: np.ndarray) -> LogisticRegression:
    x = np.concatenate([members, non_members])
    y = np.concatenate([np.ones(len(members)), np.zeros(len(non_members))])
    return LogisticRegression(class_weight="balanced").fit(x, y)


def loss_mia(retain_errors: np.ndarray, test_errors: np.ndarray, forget_errors: np.ndarray,
             seed: int = 0) -> float | NoValue:
    """Balanced accuracy of a loss attacker telling D_f (members) from D_t (non-members); 0.5 = D_f looks unseen.

    The attacker, a logistic regression on the log squared error, learns members from D_r and non-members from
    D_t, as the classification MIA and the paper's attack do: the large retain set fixes its threshold, which
    D_f's few samples could not. It is then scored on D_f and on D_t, each test sample by an attacker that did
    not see it (`MIA_FOLDS`-fold over D_t). NoValue when a set is too small to train or hold out."""
    r, t, f = (_feature(e) for e in (retain_errors, test_errors, forget_errors))
    if len(r) < 1 or len(f) < 1 or len(t) < 2:
        return NoValue(f"too few samples for the loss MIA: {len(r)} retain, {len(t)} test and {len(f)} forget; "
                       "it needs at least 1, 2 and 1")
    called_member = float(_attacker(r, t).predict(f).mean())
    held = np.zeros(len(t))
    folds = min(MIA_FOLDS, len(t))
    order = np.random.default_rng(seed).permutation(len(t))
    for k in range(folds):
        out = order[k::folds]
        held[out] = _attacker(r, np.delete(t, out, axis=0)).predict(t[out])
    # balanced: the mean of the two recalls, so 0.5 is chance whatever |D_f| / |D_t|
    return 0.5 * (called_member + float(np.mean(held == 0)))


def _value(x: float) -> float | None:
    return None if np.isnan(x) else x


@register_metric("forget_mae", tasks=REGRESSION)
def forget_mae(ctx: EvalContext) -> float | None:
    """MAE of θ_u on D_f: θ_r's is what a model that never saw D_f makes there."""
    return _value(mean_absolute_error(ctx.outputs.forget, ctx.y_forget))


@register_metric("retain_mae", tasks=REGRESSION)
def retain_mae(ctx: EvalContext) -> float | None:
    return _value(mean_absolute_error(ctx.outputs.retain, ctx.y_retain))


@register_metric("test_mae", tasks=REGRESSION)
def test_mae(ctx: EvalContext) -> float | None:
    return _value(mean_absolute_error(ctx.outputs.test, ctx.y_test))


@register_metric("test_r2", tasks=REGRESSION)
def test_r2(ctx: EvalContext) -> float | None:
    """R² on D_t (0: the mean predictor)."""
    return _value(r2_score(ctx.outputs.test, ctx.y_test))


@register_metric("forget_gap", tasks=REGRESSION)
def forget_gap(ctx: EvalContext) -> float | None:
    """|MAE(θ_u, D_f) − MAE(θ_r, D_f)|: how far the forget error is from retraining's; None without θ_r."""
    if ctx.reference is None:
        return None
    return _value(abs(mean_absolute_error(ctx.outputs.forget, ctx.y_forget)
                      - mean_absolute_error(ctx.reference.forget, ctx.y_forget)))


@register_metric("loss_mia", tasks=REGRESSION)
def loss_mia_metric(ctx: EvalContext) -> float | NoValue | None:
    """The loss MIA's balanced accuracy on D_f against D_t (0.5: D_f looks unseen)."""
    return loss_mia(squared_errors(ctx.outputs.retain, ctx.y_retain), squared_errors(ctx.outputs.test, ctx.y_test),
                    squared_errors(ctx.outputs.forget, ctx.y_forget), seed=ctx.seed)
