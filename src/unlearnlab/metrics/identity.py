"""Identity unlearning metrics of the MUFAC protocol (Choi & Na 2023, "Towards Machine Unlearning Benchmarks:
Forgetting the Personal Identities in Facial Recognition Systems"; MUFAC/MUCAC, arXiv:2311.02240).

The attacker tries to tell the training samples of the forgotten identities (D_f) from samples of identities
never trained on (the unseen identities of the test split), from each sample's cross-entropy loss, with a
logistic regression scored by cross-validation on a balanced set. A model that has forgotten the identities
treats them as strangers: the attack accuracy is then 0.5. NoMUS (Normalized Machine Unlearning Score)
weighs utility and forgetting equally:

    NoMUS = λ · TA + (1 − λ) · (1 − 2·|MIA_acc − 0.5|),  λ = 0.5,

in [0, 1], higher is better; TA is the test accuracy. Both apply to `group:` requests only.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from ..errors import BadInput
from . import EvalContext, NoValue, register_metric
from .accuracy import accuracy

#: Folds of the attacker's cross-validation, as in the paper's protocol; fewer where a side is smaller.
FOLDS = 5
#: NoMUS's weight of utility against forgetting (the paper's λ).
NOMUS_LAMBDA = 0.5
_NO_UNSEEN = ("no test sample of an identity absent from training, so nothing to compare the forgotten "
              "identities with; hold identities out (arrays:PATH.npz:unseen=N, olivetti:unseen=N) or give "
              "groups_test beside X_test")


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample cross-entropy in float64, via log-softmax so large logits do not overflow."""
    logits = np.asarray(logits, dtype=np.float64)
    if len(logits) == 0:
        return np.zeros(0)
    return -log_softmax(logits, axis=1)[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)]


def identity_mia_accuracy(loss_forgotten: np.ndarray, loss_unseen: np.ndarray, seed: int = 0) -> float | NoValue:
    """Cross-validated accuracy of a logistic regression telling forgotten-identity samples (members, 1) from
    unseen-identity samples (0) by their loss. The larger side is subsampled (seeded) to the smaller one's size,
    so chance is exactly 0.5. NoValue when a side has fewer than 2 samples."""
    f = np.asarray(loss_forgotten, dtype=np.float64).ravel()
    u = np.asarray(loss_unseen, dtype=np.float64).ravel()
    if not (np.isfinite(f).all() and np.isfinite(u).all()):
        raise BadInput("identity MIA needs finite losses")
    n = min(len(f), len(u))
    if n < 2:
        return NoValue(f"too few samples for the identity MIA: {len(f)} of forgotten identities and {len(u)} "
                       "of unseen ones; each side needs at least 2")
    rng = np.random.default_rng([seed, 0x1D])
    f, u = rng.choice(f, n, replace=False), rng.choice(u, n, replace=False)
    x = np.concatenate([f, u])[:, None]
    y = np.concatenate([np.ones(n), np.zeros(n)])
    correct = 0
    for fit_idx, held_idx in StratifiedKFold(min(FOLDS, n), shuffle=True, random_state=seed).split(x, y):
        attacker = LogisticRegression().fit(x[fit_idx], y[fit_idx])
        correct += int((attacker.predict(x[held_idx]) == y[held_idx]).sum())
    return correct / len(y)


def nomus(test_accuracy: float, mia_accuracy: float, lam: float = NOMUS_LAMBDA) -> float:
    """NoMUS = λ·TA + (1 − λ)·(1 − 2·|MIA_acc − 0.5|) (Choi & Na 2023); in [0, 1] for inputs in [0, 1]."""
    for name, v in (("test_accuracy", test_accuracy), ("mia_accuracy", mia_accuracy), ("lam", lam)):
        if not 0.0 <= v <= 1.0:
            raise BadInput(f"nomus: {name}={v!r} is not allowed; it must be in [0, 1]")
    return lam * test_accuracy + (1.0 - lam) * (1.0 - 2.0 * abs(mia_accuracy - 0.5))


def _identity_mia(ctx: EvalContext) -> float | NoValue | None:
    if ctx.unseen_test is None:  # not a group request
        return None
    if len(ctx.unseen_test) == 0:
        return NoValue(_NO_UNSEEN)
    unseen = np.asarray(ctx.unseen_test, dtype=np.int64)
    return identity_mia_accuracy(cross_entropy(ctx.outputs.forget, ctx.y_forget),
                                 cross_entropy(ctx.outputs.test[unseen], ctx.y_test[unseen]), seed=ctx.seed)


@register_metric("identity_mia")
def identity_mia(ctx: EvalContext) -> float | NoValue | None:
    """Accuracy of the MUFAC attack telling forgotten identities from unseen ones (0.5 = forgotten)."""
    return _identity_mia(ctx)


@register_metric("nomus")
def nomus_metric(ctx: EvalContext) -> float | NoValue | None:
    """NoMUS of the model: half test accuracy, half closeness of the identity MIA to chance."""
    mia = _identity_mia(ctx)
    if mia is None or isinstance(mia, NoValue):
        return mia
    return nomus(accuracy(ctx.outputs.test, ctx.y_test), mia)
