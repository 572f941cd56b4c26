"""MIA-Efficacy: the SVC membership-inference protocol of Jia et al. 2023 (Model Sparsity Can
Simplify Machine Unlearning, App. C.3), reused by Fan et al. 2024 (SalUn) as their MIA column,
which is the "confidence" attack of their `SVC_MIA` (softmax probability of the true label).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax
from sklearn.svm import SVC

from ..errors import BadInput
from . import EvalContext, register_metric


def true_label_probability(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """softmax(logits)[i, labels[i]] in float64, via log-softmax so large logits do not overflow."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(logits) == 0:
        return np.zeros(0)
    return np.exp(log_softmax(logits, axis=1)[np.arange(len(labels)), labels])


def mia_efficacy(p_true_retain: np.ndarray, p_true_test: np.ndarray, p_true_forget: np.ndarray,
                 seed: int = 0) -> float:
    """Share of the forget set that an RBF SVC (C=3, gamma='auto') calls a non-member.

    The attacker is trained on one feature, the true-label probability: members are |D_t|
    retain samples (label 1), non-members the test samples (label 0). Higher = more forgotten.
    """
    retain = np.asarray(p_true_retain, dtype=np.float64).ravel()
    test = np.asarray(p_true_test, dtype=np.float64).ravel()
    forget = np.asarray(p_true_forget, dtype=np.float64).ravel()
    if len(retain) == 0 or len(test) == 0 or len(forget) == 0:
        raise BadInput("mia_efficacy needs non-empty retain, test and forget sets")
    # The reference takes the first |D_t| samples of its retain set; a seeded draw avoids
    # depending on how our retain split happens to be ordered. If D_r is the smaller, use all.
    rng = np.random.default_rng(seed)
    members = rng.choice(retain, size=min(len(test), len(retain)), replace=False)
    x = np.concatenate([members, test])[:, None]
    y = np.concatenate([np.ones(len(members)), np.zeros(len(test))])
    attacker = SVC(C=3, gamma="auto", kernel="rbf")
    attacker.fit(x, y)
    return float(1.0 - attacker.predict(forget[:, None]).mean())


@register_metric("mia_efficacy")
def mia_efficacy_metric(ctx: EvalContext) -> float | None:
    """MIA-Efficacy of θ_u. In class-wise requests the non-members are the test samples of the
    retained classes, as in the reference, whose class-wise test set drops the forgotten class."""
    keep = ctx.retained_test_mask()
    if len(ctx.y_forget) == 0 or len(ctx.y_retain) == 0 or not keep.any():
        return None
    return mia_efficacy(
        true_label_probability(ctx.outputs.retain, ctx.y_retain),
        true_label_probability(ctx.outputs.test[keep], ctx.y_test[keep]),
        true_label_probability(ctx.outputs.forget, ctx.y_forget),
        seed=ctx.seed,
    )
