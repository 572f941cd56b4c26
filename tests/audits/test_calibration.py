"""The audit's tests are calibrated: on simulated perfect unlearners (candidate members exchangeable
with their θ_r partners, per-pair and per-model effects, 20 forget examples) each statistic calls
"distinguishable" at p ≤ 0.05 in 2-8 % of 400 seeded audits.

Monte-Carlo margin: with 400 audits the standard error of an observed rate near 5 % is
sqrt(0.05 · 0.95 / 400) ≈ 1.1 points, so 2-8 % is ±2.75 standard errors: a calibrated test lands
outside it with probability ≈ 0.6 % per statistic, whatever the seed. With 19 swaps the test
rejects only when the observed value is the most extreme of 20, exactly 5 % without ties (ties
count against rejecting), so the run costs a few seconds per statistic. The power of the same
tests is printed by benchmarks/bench_audit_power.py (docs/audits.md).
"""

import numpy as np
import pytest

from unlearnlab.audits.statistics import challenge_audit, klom_audit, lira_audit, ulira_audit

REPS = 400
OPTS = {"partitions_m": 2, "permutations": 19, "n_boot": 1}


def perfect_unlearners(n_members: int, n_examples: int = 20, seed: int = 0):
    """Seeded (candidate, θ_r, θ_o) φ arrays of REPS simulated audits of a perfect unlearner."""
    rng = np.random.default_rng(seed)
    for _ in range(REPS):
        centre = rng.normal(0, 3, size=(n_examples, 1))
        pair = rng.normal(0, 0.5, size=(1, n_members))  # member j of every ensemble shares its initialisation

        def side(shift: float) -> np.ndarray:
            return centre + pair + shift + rng.normal(0, 0.5, size=(1, n_members)) + rng.normal(
                size=(n_examples, n_members))

        yield side(0.0), side(0.0), side(3.0)


def rejection_rates(n_members: int, statistics) -> np.ndarray:
    hits = np.zeros(len(statistics))
    for rep, (c, r, o) in enumerate(perfect_unlearners(n_members)):
        hits += [stat(c, r, o, rep)["p"] <= 0.05 for stat in statistics]
    return hits / REPS


def test_ulira_and_lira_after_are_calibrated():
    def ulira_auc(c, r, o, seed):
        return ulira_audit(c, r, seed=seed, **OPTS)[0]["auc"]

    def lira_after(c, r, o, seed):
        return lira_audit(o, r, c, permutations=19, n_boot=1, seed=seed)["online"]["auc"]

    rates = rejection_rates(8, [ulira_auc, lira_after])
    assert np.all((rates >= 0.02) & (rates <= 0.08)), rates


def test_forgetting_quality_is_calibrated():
    def challenge(key):
        return lambda c, r, o, seed: challenge_audit(c, r, seed=seed, **OPTS)[0][key]

    rates = rejection_rates(8, [challenge("forgetting_quality"), challenge("forgetting_quality_two_sided")])
    assert np.all((rates >= 0.02) & (rates <= 0.08)), rates


def test_klom_is_calibrated_where_it_can_discriminate():
    # at N = 16, the smallest ensemble KLoM gets a verdict at (KLOM_MIN_MEMBERS)
    rates = rejection_rates(16, [lambda c, r, o, seed: klom_audit(c, r, seed=seed, **OPTS)[0]["median"]])
    assert np.all((rates >= 0.02) & (rates <= 0.08)), rates


@pytest.mark.parametrize("audit", [ulira_audit, klom_audit])
def test_a_clearly_worse_candidate_is_detected(audit):
    c, r, _ = next(perfect_unlearners(16, n_examples=60, seed=5))
    stats = audit(c + 2.0, r, **OPTS)[0]
    stat = stats["auc"] if "auc" in stats else stats["median"]
    # a 1.6-SD shift: worse than all 19 swaps, the smallest p-value 19 swaps can give
    assert stat["p"] == pytest.approx(1 / 20) and stat["effect"] > 0
