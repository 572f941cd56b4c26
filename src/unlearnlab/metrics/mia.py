"""MIA-Efficacy: the SVC membership-inference protocol of Jia et al. 2023 (Model Sparsity Can
Simplify Machine Unlearning, App. C.3), reused by Fan et al. 2024 (SalUn) as their MIA column,
which is the "confidence" attack of their `SVC_MIA` (softmax probability of the true label).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC

from ..errors import BadInput
from . import EvalContext, NoValue, register_metric
from .chance import ChanceCheck, chance_check


def true_label_probability(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """softmax(logits)[i, labels[i]] in float64, via log-softmax so large logits do not overflow."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(logits) == 0:
        return np.zeros(0)
    return np.exp(log_softmax(logits, axis=1)[np.arange(len(labels)), labels])


def _attack_set(p_true_retain: np.ndarray, p_true_test: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    retain = np.asarray(p_true_retain, dtype=np.float64).ravel()
    test = np.asarray(p_true_test, dtype=np.float64).ravel()
    if len(retain) == 0 or len(test) == 0:
        raise BadInput("mia_efficacy needs non-empty retain, test and forget sets")
    # The reference takes the first |D_t| samples of its retain set; a seeded draw avoids
    # depending on how our retain split happens to be ordered. If D_r is the smaller, use all.
    rng = np.random.default_rng(seed)
    members = rng.choice(retain, size=min(len(test), len(retain)), replace=False)
    x = np.concatenate([members, test])[:, None]
    y = np.concatenate([np.ones(len(members)), np.zeros(len(test))])
    return x, y


def _attacker() -> SVC:
    return SVC(C=3, gamma="auto", kernel="rbf")


def mia_efficacy(p_true_retain: np.ndarray, p_true_test: np.ndarray, p_true_forget: np.ndarray,
                 seed: int = 0) -> float:
    """Share of the forget set that an RBF SVC (C=3, gamma='auto') calls a non-member.

    The attacker is trained on one feature, the true-label probability: members are |D_t|
    retain samples (label 1), non-members the test samples (label 0). Higher = more forgotten.
    The number means something only if the attacker beats chance: see `mia_attack`.
    """
    forget = np.asarray(p_true_forget, dtype=np.float64).ravel()
    x, y = _attack_set(p_true_retain, p_true_test, seed)
    if len(forget) == 0:
        raise BadInput("mia_efficacy needs non-empty retain, test and forget sets")
    attacker = _attacker()
    attacker.fit(x, y)
    return float(1.0 - attacker.predict(forget[:, None]).mean())


@dataclass(frozen=True)
class MiaAttack:
    """MIA-Efficacy with the evidence that its attacker works.

    `heldout` is the attacker's accuracy on members and non-members it was not trained on
    (`FOLDS`-fold cross-validation, each sample held out once) against the larger class's share.
    Its training accuracy is optimistic (an RBF SVC fits noise), so only held-out accuracy can show
    that the attacker tells members from non-members at all.
    """

    efficacy: float
    train_accuracy: float
    heldout: ChanceCheck

    @property
    def at_chance(self) -> bool:
        return self.heldout.at_chance

    def note(self) -> str:
        return (f"attacker at chance: held-out {self.heldout.describe()} ({FOLDS}-fold; training accuracy "
                f"{self.train_accuracy:.2f}), so its member calls on the forget set are noise")


#: Folds of the held-out check. Two keep its cost below one reference fit (an SVC fit grows about
#: quadratically with the samples) while every sample is still held out once.
FOLDS = 2


def mia_attack(p_true_retain: np.ndarray, p_true_test: np.ndarray, p_true_forget: np.ndarray,
               seed: int = 0) -> MiaAttack | NoValue:
    """`mia_efficacy` and its attacker's held-out accuracy; NoValue when a class of the attack set
    is too small to hold samples out."""
    forget = np.asarray(p_true_forget, dtype=np.float64).ravel()
    x, y = _attack_set(p_true_retain, p_true_test, seed)
    if len(forget) == 0:
        raise BadInput("mia_efficacy needs non-empty retain, test and forget sets")
    counts = np.bincount(y.astype(np.int64), minlength=2)
    if counts.min() < FOLDS:
        return NoValue(f"too few samples to check the attacker: {counts[1]} members and {counts[0]} "
                       f"non-members; each needs at least {FOLDS}")
    attacker = _attacker().fit(x, y)
    efficacy = float(1.0 - attacker.predict(forget[:, None]).mean())
    train_accuracy = float((attacker.predict(x) == y).mean())
    correct = 0
    for fit_idx, held_idx in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y):
        fold = _attacker().fit(x[fit_idx], y[fit_idx])
        correct += int((fold.predict(x[held_idx]) == y[held_idx]).sum())
    heldout = chance_check(correct, len(y), float(counts.max() / len(y)))
    return MiaAttack(efficacy, train_accuracy, heldout)


@register_metric("mia_efficacy")
def mia_efficacy_metric(ctx: EvalContext) -> float | NoValue | None:
    """MIA-Efficacy of θ_u. In class-wise requests the non-members are the test samples of the
    retained classes, as in the reference, whose class-wise test set drops the forgotten class.
    NoValue when the attacker is at chance on held-out samples."""
    keep = ctx.retained_test_mask()
    if len(ctx.y_forget) == 0 or len(ctx.y_retain) == 0 or not keep.any():
        return None
    result = mia_attack(
        true_label_probability(ctx.outputs.retain, ctx.y_retain),
        true_label_probability(ctx.outputs.test[keep], ctx.y_test[keep]),
        true_label_probability(ctx.outputs.forget, ctx.y_forget),
        seed=ctx.seed,
    )
    if isinstance(result, NoValue):
        return result
    return NoValue(result.note()) if result.at_chance else result.efficacy
