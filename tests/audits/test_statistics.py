"""The ensemble statistics on synthetic φ: values, intervals of those values, the swap test's null,
p-values and effect sizes; U-LiRA's and LiRA's symmetric fits; partitions never pair member i
with member i. Calibration by simulation: test_calibration.py."""

import numpy as np
import pytest

from unlearnlab.audits.statistics import (challenge_audit, klom_audit, lira_audit, partitions, per_example_auc,
                                         swaps, ulira_audit, ulira_scores, verdict)
from unlearnlab.errors import BadInput
from unlearnlab.metrics.lira import gaussian_llr

OPTS = {"partitions_m": 10, "permutations": 39, "n_boot": 50, "level": 0.95, "seed": 0}


def ensembles(shift: float, n_examples=60, n_models=16, seed=0):
    rng = np.random.default_rng(seed)
    centre = rng.normal(0, 3, size=(n_examples, 1))  # per-example difficulty, shared by both sides
    reference = centre + rng.normal(size=(n_examples, n_models))
    candidate = centre + shift + rng.normal(size=(n_examples, n_models))
    return candidate, reference


def test_partitions_are_disjoint_halves_and_seeded():
    parts = partitions(16, 10, seed=3)
    assert parts[0][0].tolist() == partitions(16, 10, seed=3)[0][0].tolist()
    for a, b in parts:
        assert len(a) == len(b) == 8 and not set(a) & set(b)
    assert len({tuple(a) for a, _ in parts}) > 1
    with pytest.raises(BadInput, match="at least 6 members"):
        partitions(4, 2, 0)


def test_swaps_leave_the_first_row_observed():
    s = swaps(8, 30, seed=1)
    assert s.shape == (31, 8) and not s[0].any() and 0.3 < s[1:].mean() < 0.7


def test_ulira_targets_meet_the_same_held_out_fit():
    c, r = ensembles(1.0, n_examples=5, n_models=8)
    sc, sr = ulira_scores(c, r)
    assert sc.shape == sr.shape == (5, 8)
    shadows_c, shadows_r = np.delete(c, 2, axis=1), np.delete(r, 2, axis=1)
    np.testing.assert_allclose(sc[:, 2], gaussian_llr(c[:, 2], shadows_c, shadows_r))
    np.testing.assert_allclose(sr[:, 2], gaussian_llr(r[:, 2], shadows_c, shadows_r))


def test_a_perfect_unlearner_reads_near_half():
    # One-sided leave-one-out read ≈ 0.4 here; the symmetric fit is unbiased: mean AUC over seeds ≈ 0.5.
    aucs = [ulira_audit(*ensembles(0.0, n_models=16, seed=s), partitions_m=5, permutations=19, n_boot=1)[0]["auc"]
            for s in range(20)]
    values = np.array([a["value"] for a in aucs])
    # 20 seeds: the standard error of the mean is about 0.03 / sqrt(20) < 0.01
    assert abs(values.mean() - 0.5) < 0.03, values
    assert all(abs(a["null"] - 0.5) < 0.05 for a in aucs)


def test_per_example_auc_by_hand():
    sc = np.array([[3.0, 2.0], [0.0, 0.0]])
    sr = np.array([[1.0, 2.0], [0.0, 1.0]])
    # example 0: pairs (3>1, 3>2, 2>1, 2=2) -> (3 + 0.5) / 4; example 1: (0=0, 0<1, 0=0, 0<1) -> 1 / 4
    np.testing.assert_allclose(per_example_auc(sc, sr), [0.875, 0.25])


def test_every_statistic_reports_value_interval_null_p_and_effect():
    c, r = ensembles(0.0)
    ulira, auc = ulira_audit(c, r, **OPTS)
    quality, eps = challenge_audit(c, r, **OPTS)
    klom, kl = klom_audit(c, r, **OPTS)
    for stat in (ulira["accuracy"], quality["forgetting_quality"], quality["forgetting_quality_two_sided"],
                 klom["median"]):
        assert {"value", "ci", "null", "null_ci", "p", "effect", "z"} <= set(stat)
        assert stat["ci"][0] <= stat["value"] <= stat["ci"][1]  # the interval is of the value itself
        assert stat["null_ci"][0] <= stat["null"] <= stat["null_ci"][1]
        assert 1 / 40 <= stat["p"] <= 1 and stat["effect"] == pytest.approx(stat["value"] - stat["null"])
    # the small-N biases the null makes visible: accuracy above 0.5, F below 1, KLoM above 0
    assert ulira["accuracy"]["null"] > 0.5 and quality["forgetting_quality"]["null"] < 0.7
    assert quality["forgetting_quality_two_sided"]["null"] < quality["forgetting_quality"]["null"]
    assert klom["median"]["null"] > 0
    assert auc.shape == kl.shape == eps["challenge_eps"].shape == eps["challenge_eps_two_sided"].shape == (60,)


def test_a_shifted_candidate_is_distinguishable_on_every_statistic():
    c, r = ensembles(2.0)
    ulira, auc = ulira_audit(c, r, **OPTS)
    quality, _ = challenge_audit(c, r, **OPTS)
    klom, _ = klom_audit(c, r, **OPTS)
    for stat in (ulira["accuracy"], ulira["auc"], quality["forgetting_quality"],
                 quality["forgetting_quality_two_sided"], klom["median"]):
        assert verdict(stat) == "distinguishable" and stat["p"] == pytest.approx(1 / 40), stat
    assert ulira["auc"]["value"] > 0.7 and auc.mean() > 0.7 and ulira["auc"]["z"] > 3
    assert quality["forgetting_quality"]["effect"] < 0 and klom["median"]["effect"] > 0


def test_the_notebook_f_sees_one_direction_only():
    # A candidate *less* confident than retraining: the notebook's rule "unlearned iff φ > t" cannot
    # see it, the two-sided variant can.
    c, r = ensembles(-2.0)
    quality, _ = challenge_audit(c, r, **OPTS)
    assert verdict(quality["forgetting_quality_two_sided"]) == "distinguishable"
    assert quality["forgetting_quality"]["p"] > 0.05


def test_same_seed_same_numbers():
    c, r = ensembles(0.5)
    assert ulira_audit(c, r, **OPTS)[0] == ulira_audit(c, r, **OPTS)[0]
    assert ulira_audit(c, r, **OPTS)[0] != ulira_audit(c, r, **{**OPTS, "seed": 1})[0]


def test_lira_before_and_after():
    rng = np.random.default_rng(1)
    centre = rng.normal(0, 2, size=(80, 1))
    original = centre + 3 + rng.normal(size=(80, 12))  # IN: trained on the example
    retrain = centre + rng.normal(size=(80, 12))  # OUT
    before = lira_audit(original, retrain, n_boot=50)
    assert before["online"]["auc"]["value"] > 0.95 and before["offline"]["auc"]["value"] > 0.9
    assert "p" not in before["online"]["auc"]  # θ_o is the baseline, not tested
    after = lira_audit(original, retrain, centre + rng.normal(size=(80, 12)), n_boot=50)  # a perfect unlearner
    assert 0.4 < after["online"]["auc"]["value"] < 0.6 and abs(after["online"]["auc"]["null"] - 0.5) < 0.05
    assert after["online"]["auc"]["p"] > 0.05
    kept = lira_audit(original, retrain, original + 0.1 * rng.normal(size=(80, 12)), n_boot=50)  # no unlearning
    assert kept["online"]["auc"]["value"] > 0.9 and verdict(kept["online"]["auc"]) == "distinguishable"


def test_verdict_reads_the_test():
    stat = {"p": 0.01, "p_better": 0.99, "degenerate": False}
    assert verdict(stat) == "distinguishable"
    assert verdict({**stat, "p": 0.5, "p_better": 0.5}) == "not distinguished"
    assert verdict({**stat, "p": 0.99, "p_better": 0.01}) == "better than null"
    assert verdict(stat, too_few=16) == "too few models (need 16)"
    assert verdict({**stat, "degenerate": True}).startswith("too few models")


def test_klom_saturates_with_few_models():
    # N = 6: three margins a side in 20 bins rarely share a bin; the swap null has (almost) no room
    c, r = ensembles(0.0, n_models=6)
    klom, _ = klom_audit(c, r, **OPTS)
    assert klom["median"]["null_ci"][1] - klom["median"]["null_ci"][0] < 0.2


def test_mismatched_ensembles_are_rejected():
    c, r = ensembles(0.0, n_models=8)
    with pytest.raises(BadInput, match="must match"):
        ulira_audit(c[:, :6], r, **OPTS)
