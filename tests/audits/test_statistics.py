"""The ensemble statistics on synthetic φ: identical distributions sit within their null, shifted
ones do not; partitions never pair member i with member i."""

import numpy as np
import pytest

from unlearnlab.audits.statistics import (challenge_audit, klom_audit, lira_audit, partitions, per_example_auc,
                                         ulira_audit, ulira_loo, verdict)
from unlearnlab.errors import BadInput
from unlearnlab.metrics.lira import gaussian_llr

OPTS = {"partitions_m": 20, "level": 0.95, "seed": 0}


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


def test_leave_one_out_scores_match_a_direct_fit():
    c, r = ensembles(1.0, n_examples=5, n_models=8)
    sc, sr = ulira_loo(c, r)
    assert sc.shape == sr.shape == (5, 8)
    expected = gaussian_llr(c[:, 2], np.delete(c, 2, axis=1), r)
    np.testing.assert_allclose(sc[:, 2], expected)
    expected = gaussian_llr(r[:, 5], c, np.delete(r, 5, axis=1))
    np.testing.assert_allclose(sr[:, 5], expected)


def test_per_example_auc_by_hand():
    sc = np.array([[3.0, 2.0], [0.0, 0.0]])
    sr = np.array([[1.0, 2.0], [0.0, 1.0]])
    # example 0: pairs (3>1, 3>2, 2>1, 2=2) -> (3 + 0.5) / 4; example 1: (0=0, 0<1, 0=0, 0<1) -> 1 / 4
    np.testing.assert_allclose(per_example_auc(sc, sr), [0.875, 0.25])


def test_identical_distributions_sit_within_their_null():
    c, r = ensembles(0.0)
    ulira, auc = ulira_audit(c, r, **OPTS)
    quality, eps = challenge_audit(c, r, **OPTS)
    klom, kl = klom_audit(c, r, **OPTS)
    for stat, worse in ((ulira["accuracy"], "higher"), (quality, "lower"), (klom["median"], "higher")):
        assert verdict(stat["value"], stat["null_ci"], worse) == "within null", stat
    # the small-N biases the null makes visible: accuracy above 0.5, F far below 1, KLoM above 0
    assert ulira["accuracy"]["null"] > 0.5 and quality["null"] < 0.6 and klom["median"]["null"] > 0
    assert auc.shape == eps.shape == kl.shape == (60,)


def test_a_shifted_candidate_is_distinguishable_on_every_statistic():
    c, r = ensembles(2.0)
    ulira, auc = ulira_audit(c, r, **OPTS)
    quality, _ = challenge_audit(c, r, **OPTS)
    klom, _ = klom_audit(c, r, **OPTS)
    assert verdict(ulira["accuracy"]["value"], ulira["accuracy"]["null_ci"], "higher") == "distinguishable"
    assert verdict(quality["value"], quality["null_ci"], "lower") == "distinguishable"
    assert verdict(klom["median"]["value"], klom["median"]["null_ci"], "higher") == "distinguishable"
    assert ulira["accuracy"]["value"] > 0.8 and auc.mean() > 0.8
    lo, hi = ulira["accuracy"]["ci"]
    assert lo <= ulira["accuracy"]["value"] <= hi


def test_same_seed_same_numbers():
    c, r = ensembles(0.5)
    assert ulira_audit(c, r, **OPTS)[0] == ulira_audit(c, r, **OPTS)[0]
    assert ulira_audit(c, r, **OPTS)[0] != ulira_audit(c, r, **{**OPTS, "seed": 1})[0]


def test_lira_separates_members_from_non_members():
    rng = np.random.default_rng(1)
    centre = rng.normal(0, 2, size=(80, 1))
    original = centre + 3 + rng.normal(size=(80, 12))  # IN: trained on the example
    retrain = centre + rng.normal(size=(80, 12))  # OUT
    before = lira_audit(original, retrain, n_boot=50)
    assert before["online"]["auc"]["value"] > 0.95 and before["offline"]["auc"]["value"] > 0.9
    after = lira_audit(original, retrain, centre + rng.normal(size=(80, 12)), n_boot=50)  # a perfect unlearner
    assert 0.4 < after["online"]["auc"]["value"] < 0.6


def test_verdict_reads_the_direction():
    assert verdict(0.5, (0.45, 0.55), "higher") == "within null"
    assert verdict(0.6, (0.45, 0.55), "higher") == "distinguishable"
    assert verdict(0.4, (0.45, 0.55), "higher") == "better than null"
    assert verdict(0.1, (0.2, 0.3), "lower") == "distinguishable"


def test_mismatched_ensembles_are_rejected():
    c, r = ensembles(0.0, n_models=8)
    with pytest.raises(BadInput, match="must match"):
        ulira_audit(c[:, :6], r, **OPTS)
