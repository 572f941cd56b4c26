"""Ensemble audit statistics, each with its null value.

Arrays are per forget (or retain / test) example × ensemble member. A candidate ensemble C and a
reference ensemble R of N members each are compared over M random partitions of the member
indices into disjoint halves (A, B), h = N // 2 each: the statistic S(C[A], R[B]). Disjoint
indices matter: member i of C unlearned θ_o member i, which shares its initialisation and batch
order with member i of R. The null is the same statistic between disjoint halves of the
reference ensemble, S(R[A], R[B]), on the same partitions: what a perfect unlearner scores with
the same number of models, since every small-N estimator is biased (F ≈ 0.25 and KLoM > 0 for
identical distributions). Value = mean over partitions; the interval is the percentile interval
over partitions, each evaluated on one bootstrap resample of the examples, so it holds both the
model and the example sampling variation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import BadInput
from ..metrics.challenge import example_scores, forgetting_quality
from ..metrics.klom import klom_histogram, klom_summary
from ..metrics.lira import bootstrap_ci, gaussian_llr, offline_score, roc_summary

ROC_KEYS = ("accuracy", "auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr")
KLOM_KEYS = ("median", "p95", "p99")
#: The smallest ensemble: leave-one-out Gaussians need at least two models per side of a half.
MIN_MEMBERS = 6
#: Random half-partitions per statistic.
PARTITIONS = 50
#: Per-example ε is capped for averaging over partitions: every ε ≥ 6 already scores the minimum.
EPS_CAP = 6.0


def partitions(n: int, m: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`m` seeded random (A, B): disjoint sorted halves of range(n), h = n // 2 each."""
    if n < MIN_MEMBERS:
        raise BadInput(f"an audit needs at least {MIN_MEMBERS} members per ensemble; got {n}")
    h, rng = n // 2, np.random.default_rng(seed)
    out = []
    for _ in range(m):
        perm = rng.permutation(n)
        out.append((np.sort(perm[:h]), np.sort(perm[h:2 * h])))
    return out


def compare_to_null(candidate: np.ndarray, reference: np.ndarray, per_pair: Callable[[np.ndarray, np.ndarray], tuple],
                    reduce: Callable[..., Sequence[float]], keys: Sequence[str], *, partitions_m: int = PARTITIONS,
                    level: float = 0.95, seed: int = 0) -> tuple[dict[str, dict], list[np.ndarray]]:
    """{key: {value, ci, null, null_ci}} of `reduce(*per_pair(c, r))`, and the candidate's per-example
    arrays averaged over partitions.

    `per_pair(c, r)` turns (n, h) arrays of one pairing into per-example arrays (first axis n);
    `reduce` turns those into one number per key.
    """
    if candidate.shape != reference.shape:
        raise BadInput(f"candidate {candidate.shape} and reference {reference.shape} ensembles must match")
    if not 0.0 < level < 1.0:
        raise BadInput(f"level={level!r} is not allowed; it must be in (0, 1)")
    n_ex = len(reference)
    rng = np.random.default_rng([seed, 1])
    parts = partitions(reference.shape[1], partitions_m, seed)
    values = {"cand": [], "null": [], "cand_boot": [], "null_boot": []}
    per_example = None
    for a, b in parts:
        idx = rng.integers(0, n_ex, size=n_ex)
        for side, arrays in (("cand", per_pair(candidate[:, a], reference[:, b])),
                             ("null", per_pair(reference[:, a], reference[:, b]))):
            values[side].append(reduce(*arrays))
            values[side + "_boot"].append(reduce(*(x[idx] for x in arrays)))
            if side == "cand":
                per_example = ([x.astype(np.float64) for x in arrays] if per_example is None
                               else [p + x for p, x in zip(per_example, arrays)])
    alpha = (1.0 - level) / 2.0
    summary = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
    out = {}
    for i, key in enumerate(keys):
        ci = np.quantile(summary["cand_boot"][:, i], [alpha, 1 - alpha])
        null_ci = np.quantile(summary["null_boot"][:, i], [alpha, 1 - alpha])
        out[key] = {"value": float(summary["cand"][:, i].mean()), "ci": [float(ci[0]), float(ci[1])],
                    "null": float(summary["null"][:, i].mean()), "null_ci": [float(null_ci[0]), float(null_ci[1])]}
    return out, [p / len(parts) for p in per_example]


# U-LiRA ------------------------------------------------------------------------------------------
def ulira_loo(candidate: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out U-LiRA scores (higher = "unlearned, not retrained") of every member as a target.

    Each member of either side is attacked with Gaussians fitted on all other members (Hayes et al.
    2024 use disjoint shadow and target models; leave-one-out uses every model as both).
    Returns (scores of candidate targets, scores of reference targets), each (n, h).
    """
    sc = np.stack([gaussian_llr(candidate[:, j], np.delete(candidate, j, axis=1), reference)
                   for j in range(candidate.shape[1])], axis=1)
    sr = np.stack([gaussian_llr(reference[:, j], candidate, np.delete(reference, j, axis=1))
                   for j in range(reference.shape[1])], axis=1)
    return sc, sr


def _roc(sc: np.ndarray, sr: np.ndarray) -> dict[str, float]:
    labels = np.concatenate([np.ones(sc.size, bool), np.zeros(sr.size, bool)])
    return roc_summary(np.concatenate([sc.ravel(), sr.ravel()]), labels)


def per_example_auc(sc: np.ndarray, sr: np.ndarray) -> np.ndarray:
    """P(score of a candidate target > score of a reference target) per example (ties count ½)."""
    gt = (sc[:, :, None] > sr[:, None, :]).mean(axis=(1, 2))
    eq = (sc[:, :, None] == sr[:, None, :]).mean(axis=(1, 2))
    return gt + 0.5 * eq


def ulira_audit(candidate_phi: np.ndarray, reference_phi: np.ndarray, **opts) -> tuple[dict, np.ndarray]:
    """U-LiRA accuracy, AUC and TPR at low FPR with the null, and the per-example AUC (n,)."""
    def per_pair(c: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, ...]:
        sc, sr = ulira_loo(c, r)
        return sc, sr, per_example_auc(sc, sr)

    stats, (_, _, auc) = compare_to_null(candidate_phi, reference_phi, per_pair,
                                         lambda sc, sr, _auc: [_roc(sc, sr)[k] for k in ROC_KEYS], ROC_KEYS, **opts)
    return stats, auc


def challenge_audit(candidate_phi: np.ndarray, reference_phi: np.ndarray, **opts) -> tuple[dict, np.ndarray]:
    """The challenge's forgetting quality F with the null, and the per-example ε (n,) over partitions
    (the mean of finite values; ∞ where every partition gave ∞)."""
    def per_pair(c: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, eps = forgetting_quality(c, r)
        return example_scores(eps), np.minimum(eps, EPS_CAP)

    stats, (_, eps) = compare_to_null(candidate_phi, reference_phi, per_pair,
                                      lambda h, _eps: [float(h.mean())], ("forgetting_quality",), **opts)
    return stats["forgetting_quality"], eps


def klom_audit(candidate_margin: np.ndarray, reference_margin: np.ndarray, **opts) -> tuple[dict, np.ndarray]:
    """KLoM median / p95 / p99 with the null, and the per-example KLoM (n,) averaged over partitions."""
    stats, (kl,) = compare_to_null(candidate_margin, reference_margin, lambda c, r: (klom_histogram(c, r),),
                                   lambda kl_: [klom_summary(kl_)[k] for k in KLOM_KEYS], KLOM_KEYS, **opts)
    return stats, kl


# LiRA of θ_o (before) and of θ_u (after) ---------------------------------------------------------------
def lira_audit(original_phi: np.ndarray, retrain_phi: np.ndarray, target_phi: np.ndarray | None = None, *,
               n_boot: int = 200, level: float = 0.95, seed: int = 0) -> dict[str, dict]:
    """Carlini et al.'s LiRA on the forget set, IN = θ_o members (trained on it), OUT = θ_r members.

    Targets are θ_o members (before unlearning; `target_phi=None`) or the candidate's members
    (after), against θ_r members, leave-one-out. Online and offline (one-sided, OUT only) scores.
    """
    n = retrain_phi.shape[1]
    outs = [np.delete(retrain_phi, j, axis=1) for j in range(n)]
    pos = original_phi if target_phi is None else target_phi
    pos_in = [np.delete(original_phi, j, axis=1) if target_phi is None else original_phi for j in range(pos.shape[1])]
    online_pos = np.stack([gaussian_llr(pos[:, j], pos_in[j], retrain_phi) for j in range(pos.shape[1])], axis=1)
    online_neg = np.stack([gaussian_llr(retrain_phi[:, j], original_phi, outs[j]) for j in range(n)], axis=1)
    offline_pos = np.stack([offline_score(pos[:, j], retrain_phi) for j in range(pos.shape[1])], axis=1)
    offline_neg = np.stack([offline_score(retrain_phi[:, j], outs[j]) for j in range(n)], axis=1)
    result = {}
    for name, (sp, sn) in {"online": (online_pos, online_neg), "offline": (offline_pos, offline_neg)}.items():
        value = _roc(sp, sn)
        low, high = bootstrap_ci(lambda a, b: [_roc(a, b)[k] for k in ROC_KEYS], sp, sn, n_boot=n_boot,
                                 level=level, seed=seed)
        result[name] = {k: {"value": value[k], "ci": [float(lo), float(hi)]}
                        for k, lo, hi in zip(ROC_KEYS, low, high)}
    return result


def verdict(value: float, null_ci: Sequence[float], worse: str) -> str:
    """"within null" when the value lies in the null's interval; else whether it is on the worse side."""
    low, high = null_ci
    if low <= value <= high:
        return "within null"
    bad = value > high if worse == "higher" else value < low
    return "distinguishable" if bad else "better than null"
