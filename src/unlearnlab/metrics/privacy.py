"""The Unlearning Comparator's privacy score (Lee et al., IEEE TVCG 2026): a worst-case threshold
attack that tries to tell θ_u's outputs on D_f from θ_r's, scored by the (ε, δ) bound that each
threshold's (FPR, FNR) implies, as in the NeurIPS 2023 unlearning challenge (Triantafillou et al.
2024, Are we making progress in unlearning?).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import log_softmax, logsumexp

from ..errors import BadInput
from . import EvalContext, register_metric

DELTA = 1e-5
# The Comparator's settings (backend/app/utils/attack.py): entropy at temperature 2, confidence
# at temperature 1, each swept over 51 evenly spaced thresholds on a fixed range.
ENTROPY_TEMPERATURE = 2.0
CONFIDENCE_TEMPERATURE = 1.0
ENTROPY_RANGE = (0.0, 2.5)
CONFIDENCE_RANGE = (-2.5, 10.0)
NUM_THRESHOLDS = 51


def _log_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # From the DP inequality FPR + e^ε·FNR ≥ 1 − δ: a non-positive left side (num) constrains
    # nothing (−inf); a zero FNR (den) with num > 0 cannot be met by any finite ε (+inf).
    with np.errstate(divide="ignore"):
        return np.where(num > 0, np.log(np.where(num > 0, num, 1.0)) - np.log(den), -np.inf)


def epsilon(fpr: ArrayLike, fnr: ArrayLike, delta: float = DELTA, *,
            one_zero: Literal["formula", "discard"] = "formula",
            combine: Literal["min", "max"] = "min") -> float | np.ndarray:
    """ε = max(0, min(ln(1−δ−FPR) − ln FNR, ln(1−δ−FNR) − ln FPR)), element-wise.

    Edges: the log of a non-positive argument is −inf, so a term whose 1−δ−rate ≤ 0 is −inf
    (whatever its divisor) and a term divided by a zero rate is +inf; FPR = FNR = 0 (a perfect
    attack) gives +inf.
    `one_zero` says what exactly one of FPR, FNR being 0 gives: "formula" keeps the formula's
    value (the finite term wins the min; the Comparator's clipping to 1e-10 agrees up to that
    clip), "discard" gives nan, so that a caller taking `np.nanmax` over attacks drops that
    attack, as the NeurIPS 2023 challenge does.
    `combine="max"` takes the larger of the two terms, the usual DP-auditing lower bound (and the
    public copies of the challenge's scoring code); "min" is the spec's and the Comparator's.
    """
    if not 0.0 <= delta < 1.0:
        raise BadInput(f"delta={delta!r} is not allowed; it must be in [0, 1)")
    if one_zero not in ("formula", "discard") or combine not in ("min", "max"):
        raise BadInput(f"one_zero={one_zero!r}, combine={combine!r}: allowed are "
                       "one_zero in (formula, discard), combine in (min, max)")
    scalar = np.ndim(fpr) == 0 and np.ndim(fnr) == 0
    fpr_a, fnr_a = np.broadcast_arrays(np.asarray(fpr, dtype=np.float64), np.asarray(fnr, dtype=np.float64))
    if not (np.all((fpr_a >= 0) & (fpr_a <= 1)) and np.all((fnr_a >= 0) & (fnr_a <= 1))):
        raise BadInput("FPR and FNR must lie in [0, 1]")
    t1 = _log_ratio(1.0 - delta - fpr_a, fnr_a)
    t2 = _log_ratio(1.0 - delta - fnr_a, fpr_a)
    eps = np.maximum(0.0, np.minimum(t1, t2) if combine == "min" else np.maximum(t1, t2))
    eps = np.where((fpr_a == 0) & (fnr_a == 0), np.inf, eps)
    if one_zero == "discard":
        eps = np.where((fpr_a == 0) != (fnr_a == 0), np.nan, eps)
    return float(eps) if scalar else eps


def attack_score(eps: ArrayLike) -> float | np.ndarray:
    """1 − 2^(−ε): 0 for ε = 0 (no evidence), 1 for ε = ∞ (a perfect attack)."""
    score = 1.0 - np.exp2(-np.asarray(eps, dtype=np.float64))
    return float(score) if np.ndim(eps) == 0 else score


def entropy_feature(logits: np.ndarray, temperature: float = ENTROPY_TEMPERATURE) -> np.ndarray:
    """Shannon entropy (nats) of softmax(logits / temperature), float64."""
    logp = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    p = np.exp(logp)
    # Where p underflows to 0, logp is finite, so p·logp is 0 as the limit requires.
    return -(p * logp).sum(axis=1)


def confidence_feature(logits: np.ndarray, temperature: float = CONFIDENCE_TEMPERATURE) -> np.ndarray:
    """log p_max − log(1 − p_max) of softmax(logits / temperature), float64.

    Computed as z_max − logsumexp of the other logits, which equals it exactly and stays finite
    where 1 − p_max rounds to 0.
    """
    z = np.asarray(logits, dtype=np.float64) / temperature
    if z.shape[1] < 2:
        raise BadInput("the confidence feature needs at least two classes")
    top = z.argmax(axis=1)
    rows = np.arange(len(z))
    others = z.copy()
    others[rows, top] = -np.inf
    return z[rows, top] - logsumexp(others, axis=1)


@dataclass(frozen=True)
class AttackCurve:
    """One threshold sweep: the attacker calls a sample `positive`'s ("unlearn" or "retrain")
    when its `feature` value is ≥ the threshold. Arrays are aligned with `thresholds`."""

    feature: str
    positive: str
    thresholds: np.ndarray
    fpr: np.ndarray
    fnr: np.ndarray
    attack_score: np.ndarray

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.attack_score))

    @property
    def best_score(self) -> float:
        return float(self.attack_score[self.best_index])


@dataclass(frozen=True)
class PrivacyAttack:
    """The four sweeps (entropy / confidence × which model is called positive) and the best one."""

    curves: tuple[AttackCurve, ...]
    best_score: float
    best_curve: AttackCurve
    best_threshold: float

    @property
    def privacy_score(self) -> float:
        return 1.0 - self.best_score


def _sweep(feature: str, positive: str, pos: np.ndarray, neg: np.ndarray,
           thresholds: np.ndarray, delta: float) -> AttackCurve:
    pos_sorted, neg_sorted = np.sort(pos), np.sort(neg)
    tpr = 1.0 - np.searchsorted(pos_sorted, thresholds, side="left") / len(pos)
    fpr = 1.0 - np.searchsorted(neg_sorted, thresholds, side="left") / len(neg)
    fnr = 1.0 - tpr
    score = np.asarray(attack_score(epsilon(fpr, fnr, delta)))
    return AttackCurve(feature, positive, thresholds, fpr, fnr, score)


def privacy_attack(unlearned_logits: np.ndarray, retrain_logits: np.ndarray, delta: float = DELTA, *,
                   entropy_range: tuple[float, float] = ENTROPY_RANGE,
                   confidence_range: tuple[float, float] = CONFIDENCE_RANGE,
                   num_thresholds: int = NUM_THRESHOLDS) -> PrivacyAttack:
    """Sweep thresholds on both features and in both directions over θ_u's and θ_r's forget-set
    logits; the best attack score is the max over all four curves, as in the Comparator.

    Feature values are clipped to their range, as in the Comparator, so the lowest threshold
    is always the trivial attack. The Comparator also rounds feature values to 2 decimals before
    thresholding; we do not.
    """
    if len(unlearned_logits) == 0 or len(retrain_logits) == 0:
        raise BadInput("the privacy attack needs at least one forget sample from each model")
    features = {
        "entropy": (entropy_feature, entropy_range),
        "confidence": (confidence_feature, confidence_range),
    }
    curves = []
    for name, (feature, (low, high)) in features.items():
        thresholds = np.linspace(low, high, num_thresholds)
        un = np.clip(feature(unlearned_logits), low, high)
        re = np.clip(feature(retrain_logits), low, high)
        curves.append(_sweep(name, "unlearn", un, re, thresholds, delta))
        curves.append(_sweep(name, "retrain", re, un, thresholds, delta))
    best = max(curves, key=lambda c: c.best_score)
    return PrivacyAttack(tuple(curves), best.best_score, best, float(best.thresholds[best.best_index]))


def privacy_score(unlearned_logits: np.ndarray, retrain_logits: np.ndarray, delta: float = DELTA) -> float:
    """1 − the best attack score: 1 when θ_u's forget outputs are indistinguishable from θ_r's."""
    return privacy_attack(unlearned_logits, retrain_logits, delta).privacy_score


@register_metric("privacy_score")
def privacy_score_metric(ctx: EvalContext) -> float | None:
    """Privacy score of θ_u against θ_r on D_f; None without a retrained reference."""
    if ctx.reference is None or len(ctx.y_forget) == 0:
        return None
    return privacy_score(ctx.outputs.forget, ctx.reference.forget)


__all__ = [
    "AttackCurve",
    "PrivacyAttack",
    "attack_score",
    "confidence_feature",
    "entropy_feature",
    "epsilon",
    "privacy_attack",
    "privacy_score",
]
