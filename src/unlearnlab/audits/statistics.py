"""Ensemble audit statistics, each with a calibrated test against a perfect unlearner.

Arrays are per forget (or retain / test) example × ensemble member. Member i of the candidate
ensemble C unlearned θ_o member i, which shares its initialisation and batch order with member i
of the reference ensemble R: (C_i, R_i) is a natural pair.

Value. A statistic S compares C and R over M random partitions of the member indices into
disjoint halves (A, B), h = N // 2 each: the value is T(C, R) = mean over partitions of
S(C[A], R[B]). Disjoint indices keep member i of C away from member i of R, whose shared
initialisation would make them look alike.

Test. When the candidate is a perfect unlearner, C_i and R_i are exchangeable: swapping any
subset of pairs leaves the joint law of (C, R) unchanged. So T recomputed on randomly swapped
ensembles (the same partitions) is a draw from T's null distribution given these models, and
p = (1 + #{T_swapped at least as bad as T}) / (1 + B) is a valid p-value for any statistic, any N
and any dependence between examples or partitions (a paired permutation test; Good 2005,
"Permutation, Parametric and Bootstrap Tests of Hypotheses", §3.3). Swapping whole members keeps
every per-model effect (a model that is globally more confident) inside its pair, which is what
an example bootstrap ignores.

Reported per statistic (`swap_test`): value; ci, the percentile interval of that same value when
the forget examples are resampled (the models held fixed); null, the mean of the swap
distribution (what a perfect unlearner scores with these models, at this N: every small-N
estimator is biased); null_ci, that distribution's central interval; p (one-sided, towards
"worse than retraining"); effect = value − null, in the statistic's units, and z = effect / the
swap distribution's standard deviation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.stats import norm

from ..errors import BadInput
from ..metrics.challenge import example_epsilons, example_scores
from ..metrics.klom import klom_histogram
from ..metrics.lira import _STD_EPS, ROC_KEYS, roc_summaries

KLOM_KEYS = ("median", "p95", "p99")
F_KEYS = ("forgetting_quality", "forgetting_quality_two_sided")
#: The smallest ensemble: leave-one-pair-out Gaussians need at least two models per side of a half.
MIN_MEMBERS = 6
#: KLoM's 20-bin histograms of h = N/2 margins a side: below this N nearly every candidate margin
#: falls in a bin without reference margins for any candidate (perfect or not), so KLoM sits at its
#: ceiling and its test has almost no power (`benchmarks/bench_audit_power.py`, docs/audits.md).
KLOM_MIN_MEMBERS = 16
#: Random half-partitions per statistic.
PARTITIONS = 50
#: Random pair swaps per test: the smallest attainable p-value is 1 / (PERMUTATIONS + 1).
PERMUTATIONS = 100
#: Per-example ε is capped for averaging over partitions: every ε ≥ 6 already scores the minimum.
EPS_CAP = 6.0
#: Elements of the largest intermediate array (float64) per chunk of permuted ensembles.
_CHUNK_ELEMENTS = 4_000_000


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


def swaps(n: int, permutations: int, seed: int) -> np.ndarray:
    """(1 + permutations, n) bool: row 0 swaps nothing (the observed ensembles), the others swap
    each pair with probability ½."""
    rng = np.random.default_rng([seed, 2])
    return np.vstack([np.zeros((1, n), dtype=bool), rng.random((permutations, n)) < 0.5])


def swap_test(candidate: np.ndarray, reference: np.ndarray,
              per_example: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]],
              reduce: Callable[..., np.ndarray], keys: Sequence[str], worse: Sequence[str], *,
              parts: Sequence[tuple[np.ndarray, np.ndarray]] | None = None, partitions_m: int = PARTITIONS,
              permutations: int = PERMUTATIONS, n_boot: int = 200, level: float = 0.95,
              seed: int = 0) -> tuple[dict[str, dict], list[np.ndarray]]:
    """{key: {value, ci, null, null_ci, p, effect, z}} of T = mean over partitions of
    `reduce(*per_example(C[A], R[B]))`, and the observed per-example arrays, (M, n, ...) each.

    `per_example(c, r)` maps (k, n, h) arrays (k pairings at once) to per-example arrays (k, n, ...);
    `reduce` maps those to (k, len(keys)). `worse[i]` ("higher" or "lower") is the direction of
    key i that means "not like retraining". `parts`: the (A, B) column pairs (default: random
    half-partitions). `permutations=0` gives value and ci only.
    """
    if candidate.shape != reference.shape or candidate.ndim != 2:
        raise BadInput(f"candidate {candidate.shape} and reference {reference.shape} ensembles must match "
                       "as (n_examples, n_members) arrays")
    if not 0.0 < level < 1.0:
        raise BadInput(f"level={level!r} is not allowed; it must be in (0, 1)")
    if permutations < 0 or n_boot < 1:
        raise BadInput(f"permutations={permutations!r}, n_boot={n_boot!r}: need permutations >= 0 and n_boot >= 1")
    n_ex, n = reference.shape
    parts = partitions(n, partitions_m, seed) if parts is None else parts
    a_idx = np.stack([a for a, _ in parts])  # (M, h)
    b_idx = np.stack([b for _, b in parts])
    m, h = a_idx.shape
    sw = swaps(n, permutations, seed).astype(np.int64)  # (1 + B, n)
    # column j of [C | R] is C_j, column N + j is R_j; a swapped pair trades them
    cols_c = (a_idx[None] + n * sw[:, a_idx]).reshape(-1, h)  # ((1 + B)·M, h), swap-major
    cols_r = (b_idx[None] + n * (1 - sw[:, b_idx])).reshape(-1, h)
    both = np.concatenate([candidate, reference], axis=1).astype(np.float64)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n_ex * h * h))
    values, kept, have = [], [], 0
    for start in range(0, len(cols_c), chunk):
        c = np.moveaxis(both[:, cols_c[start:start + chunk]], 0, 1)  # (k, n, h)
        r = np.moveaxis(both[:, cols_r[start:start + chunk]], 0, 1)
        arrays = per_example(c, r)
        values.append(reduce(*arrays))
        if have < m:  # the first M pairings are the observed ensembles (swap row 0)
            kept.append([x[:m - have] for x in arrays])
            have += len(kept[-1][0])
    observed = [np.concatenate(xs) for xs in zip(*kept)]
    t = np.concatenate(values).reshape(1 + permutations, m, len(keys)).mean(axis=1)  # (1 + B, keys)

    rng = np.random.default_rng([seed, 3])
    boot = []
    b_chunk = max(1, chunk // m)
    for start in range(0, n_boot, b_chunk):
        idx = rng.integers(0, n_ex, size=(min(b_chunk, n_boot - start), n_ex))
        resampled = [x[:, idx].swapaxes(0, 1).reshape((-1,) + x.shape[1:]) for x in observed]
        boot.append(reduce(*resampled).reshape(len(idx), m, len(keys)).mean(axis=1))
    boot = np.concatenate(boot)
    alpha = (1.0 - level) / 2.0
    out = {}
    for i, key in enumerate(keys):
        value = float(t[0, i])
        ci = np.quantile(boot[:, i], [alpha, 1 - alpha])
        stat: dict[str, Any] = {"value": value, "ci": [float(ci[0]), float(ci[1])]}
        if permutations:
            null = t[1:, i]
            sign = 1.0 if worse[i] == "higher" else -1.0
            # float noise must not split ties: a swap within 1e-12 of the observed value counts as "as bad"
            tol = 1e-12 * max(1.0, abs(value))
            as_bad = np.sum(sign * (null - value) >= -tol)
            as_good = np.sum(sign * (null - value) <= tol)
            sd = float(null.std())
            effect = value - float(null.mean())
            null_ci = np.quantile(null, [alpha, 1 - alpha])
            stat.update({"null": float(null.mean()), "null_ci": [float(null_ci[0]), float(null_ci[1])],
                         "p": float((1 + as_bad) / (1 + permutations)),
                         "p_better": float((1 + as_good) / (1 + permutations)),
                         "effect": effect, "z": effect / sd if sd > 0 else None, "permutations": permutations,
                         "degenerate": bool(sd == 0.0)})
        out[key] = stat
    return out, observed


def verdict(stat: dict[str, Any], alpha: float = 0.05, *, too_few: int | None = None) -> str:
    """The test's reading of one statistic: "distinguishable" (p ≤ α: worse than a perfect unlearner
    with these models), "better than null" (the other tail), "too few models (need N)" (the
    statistic cannot discriminate at this ensemble size: `too_few` = N, or a swap distribution with
    no spread), else "not distinguished" (no evidence at this N; see the power table in
    docs/audits.md for how much that says)."""
    if too_few is not None:
        return f"too few models (need {too_few})"
    if stat.get("degenerate"):
        return "too few models (the null has no spread)"
    if stat["p"] <= alpha:
        return "distinguishable"
    if stat["p_better"] <= alpha:
        return "better than null"
    return "not distinguished"


# Gaussian likelihood ratios, vectorised over pairings --------------------------------------------------
def _leave_one_out(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(median, std) of the other h − 1 columns for every column of x (..., h): Carlini et al.'s fit
    (median centre, population std), as `metrics.lira.gaussian_llr` makes it."""
    h = x.shape[-1]
    others = np.array([[j for j in range(h) if j != i] for i in range(h)])
    g = x[..., others]  # (..., h, h - 1)
    return np.median(g, axis=-1), g.std(axis=-1)


def _logpdf(t: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    # norm.logpdf without its argument checks; the constant −½ log 2π cancels in every ratio
    sd = sd + _STD_EPS
    return -0.5 * ((t - mu) / sd) ** 2 - np.log(sd)


# U-LiRA ------------------------------------------------------------------------------------------
def ulira_scores(c: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """U-LiRA scores (higher = "unlearned, not retrained") of every member as a target, (..., n, h)
    each, for pairings c, r of shape (..., n, h).

    Hayes et al. 2024 fit the Gaussians on shadow models disjoint from the targets. Here column t
    of c and column t of r are the targets of round t, and the other h − 1 columns of each side are
    the shadows: both targets meet the same h − 1 vs h − 1 fit, so a perfect unlearner's AUC is ½
    in expectation (leave-one-out on one side only, h − 1 vs h, scores the side whose own Gaussian
    lost a member lower: AUC ≈ 0.4 at N = 16).
    """
    mu_in, sd_in = _leave_one_out(c)
    mu_out, sd_out = _leave_one_out(r)
    sc = _logpdf(c, mu_in, sd_in) - _logpdf(c, mu_out, sd_out)
    sr = _logpdf(r, mu_in, sd_in) - _logpdf(r, mu_out, sd_out)
    return sc, sr


def per_example_auc(sc: np.ndarray, sr: np.ndarray) -> np.ndarray:
    """P(score of a candidate target > score of a reference target) per example (ties count ½);
    (..., n, h) scores give (..., n)."""
    gt = (sc[..., :, None] > sr[..., None, :]).mean(axis=(-2, -1))
    eq = (sc[..., :, None] == sr[..., None, :]).mean(axis=(-2, -1))
    return gt + 0.5 * eq


def _roc_of(sc: np.ndarray, sr: np.ndarray) -> np.ndarray:
    k = len(sc)
    labels = np.concatenate([np.ones(sc[0].size, bool), np.zeros(sr[0].size, bool)])
    return roc_summaries(np.concatenate([sc.reshape(k, -1), sr.reshape(k, -1)], axis=1), labels)


def ulira_audit(candidate_phi: np.ndarray, reference_phi: np.ndarray, **opts) -> tuple[dict, np.ndarray]:
    """U-LiRA accuracy, AUC and TPR at low FPR, each tested against a perfect unlearner, and the
    per-example AUC (n,) averaged over partitions."""
    stats, (sc, sr) = swap_test(candidate_phi, reference_phi, ulira_scores, _roc_of, ROC_KEYS,
                                ("higher",) * len(ROC_KEYS), **opts)
    return stats, per_example_auc(sc, sr).mean(axis=0)


# The challenge's forgetting quality --------------------------------------------------------------------
def _challenge_per_example(c: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, ...]:
    k, n, h = c.shape
    one, two = example_epsilons(c.reshape(-1, h), r.reshape(-1, h))
    return (example_scores(one).reshape(k, n), example_scores(two).reshape(k, n),
            np.minimum(one, EPS_CAP).reshape(k, n), np.minimum(two, EPS_CAP).reshape(k, n))


def challenge_audit(candidate_phi: np.ndarray, reference_phi: np.ndarray,
                    **opts) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """The challenge's forgetting quality F (the Kaggle notebook's attacks) and our two-sided variant,
    each tested, and the per-example ε (n,) of each, capped at 6, averaged over partitions."""
    stats, (_, _, eps, eps2) = swap_test(candidate_phi, reference_phi, _challenge_per_example,
                                         lambda h1, h2, _e1, _e2: np.stack([h1.mean(1), h2.mean(1)], axis=1),
                                         F_KEYS, ("lower", "lower"), **opts)
    return stats, {"challenge_eps": eps.mean(axis=0), "challenge_eps_two_sided": eps2.mean(axis=0)}


# KLoM ----------------------------------------------------------------------------------------------------
def _klom_per_example(c: np.ndarray, r: np.ndarray) -> tuple[np.ndarray]:
    k, n, h = c.shape
    return (klom_histogram(c.reshape(-1, h), r.reshape(-1, h)).reshape(k, n),)


def klom_audit(candidate_margin: np.ndarray, reference_margin: np.ndarray, **opts) -> tuple[dict, np.ndarray]:
    """KLoM median / p95 / p99, each tested, and the per-example KLoM (n,) averaged over partitions."""
    stats, (kl,) = swap_test(candidate_margin, reference_margin, _klom_per_example,
                             lambda kl_: np.percentile(kl_, [50, 95, 99], axis=1).T, KLOM_KEYS,
                             ("higher",) * 3, **opts)
    return stats, kl.mean(axis=0)


# LiRA of θ_o (before) and of θ_u (after) ---------------------------------------------------------------
LIRA_MODES = ("online", "offline")


def lira_audit(original_phi: np.ndarray, retrain_phi: np.ndarray, target_phi: np.ndarray | None = None, *,
               permutations: int = PERMUTATIONS, n_boot: int = 200, level: float = 0.95,
               seed: int = 0) -> dict[str, dict]:
    """Carlini et al.'s LiRA on the forget set, IN = θ_o members (trained on it), OUT = θ_r members.

    Targets are θ_o members (before unlearning; `target_phi=None`) or the candidate's members
    (after), against θ_r members. Target pair j (positive member j, θ_r member j) is scored with
    Gaussians fitted on θ_o and θ_r without member j: both targets out of sample, with the same
    N − 1 vs N − 1 fits, and no target meets a shadow that shares its initialisation. Online and
    offline (one-sided, OUT only) scores. "After" is tested by swapping (candidate j, θ_r j)
    pairs: its null is the AUC a perfect unlearner gets against these θ_o and θ_r (about ½).
    """
    n = retrain_phi.shape[1]
    if original_phi.shape != retrain_phi.shape or (target_phi is not None and target_phi.shape != retrain_phi.shape):
        raise BadInput("LiRA needs θ_o, θ_r (and candidate) ensembles of one shape (n_examples, n_members)")
    mu_in, sd_in = _leave_one_out(original_phi.astype(np.float64))  # (n, N), fixed under swaps

    def per_example(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, ...]:
        mu_out, sd_out = _leave_one_out(neg)
        online = [_logpdf(x, mu_in, sd_in) - _logpdf(x, mu_out, sd_out) for x in (pos, neg)]
        offline = [-norm.logsf(x, mu_out, sd_out + _STD_EPS) for x in (pos, neg)]
        return (*online, *offline)

    def reduce(on_p, on_n, off_p, off_n):
        return np.concatenate([_roc_of(on_p, on_n), _roc_of(off_p, off_n)], axis=1)

    keys = [f"{mode}:{k}" for mode in LIRA_MODES for k in ROC_KEYS]
    pairs = [(np.arange(n), np.arange(n))]
    positive = original_phi if target_phi is None else target_phi
    stats, _ = swap_test(positive, retrain_phi, per_example, reduce, keys, ("higher",) * len(keys), parts=pairs,
                         permutations=0 if target_phi is None else permutations, n_boot=n_boot, level=level,
                         seed=seed)
    return {mode: {k: stats[f"{mode}:{k}"] for k in ROC_KEYS} for mode in LIRA_MODES}
