"""The generative attacks as stored audits (audits/generative_audit.py): the paired test's false-positive rate by
simulation, the exact interval's coverage, attack_run on a tiny stored request (stored, read back, read against
θ_r, same settings same bits), and bad input in one line with nothing written."""

from __future__ import annotations

import numpy as np
import pytest

import unlearnlab as ul
from unlearnlab.audits.generative_audit import (EASIER, KIND, NOT_DISTINGUISHED, attack_config, attack_run,
                                                attacks_of, exact_ci, paired_test)
from unlearnlab.errors import BadInput
from unlearnlab.store import Store

from ..generative_fixtures import tiny_generative_run

BUDGET = {"steps": 5, "n_targets": 4, "batch_size": 8}


def _paired(rng, n, p, rho):
    """Paired outcomes with the same marginal p and correlation rho: H0 of the paired test."""
    shared = rng.random(n) < rho
    common = rng.random(n) < p
    a = np.where(shared, common, rng.random(n) < p)
    b = np.where(shared, common, rng.random(n) < p)
    return a, b


@pytest.mark.parametrize("n,p,rho", [(30, 0.1, 0.0), (100, 0.5, 0.0), (100, 0.7, 0.6), (400, 0.3, 0.3)])
def test_paired_test_false_positive_rate_is_at_most_alpha(n, p, rho) -> None:
    """Two models regenerated equally often (paired by initial noise, correlated): the verdict says `easier` in
    at most α of 2,000 simulated requests, plus three Monte Carlo standard errors (0.015). The exact test is
    conservative: measured 0.01-0.04 in these settings."""
    rng = np.random.default_rng([n, int(100 * p), int(10 * rho)])
    reps = 2000
    hits = sum(paired_test(*_paired(rng, n, p, rho))["verdict"] == EASIER for _ in range(reps))
    assert hits / reps <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)


def test_paired_test_detects_a_clearly_easier_model() -> None:
    """0.6 against 0.2 over 100 paired samples: the power is near 1 (benchmarks/attack_test_power.py prints the
    curve); the reverse direction is never `easier` (one-sided)."""
    rng = np.random.default_rng(0)
    rejections = reverse = 0
    for _ in range(200):
        a, b = rng.random(100) < 0.6, rng.random(100) < 0.2
        rejections += paired_test(a, b)["verdict"] == EASIER
        reverse += paired_test(b, a)["verdict"] == EASIER
    assert rejections >= 195 and reverse == 0


def test_paired_test_counts_and_degenerate_input() -> None:
    a = np.array([1, 1, 0, 0, 1], bool)
    b = np.array([1, 0, 0, 1, 0], bool)
    out = paired_test(a, b)
    assert (out["run_only"], out["retrain_only"]) == (2, 1) and 0 < out["p"] < 1
    same = paired_test(a, a)  # no discordant pair: nothing to read, p = 1
    assert same["p"] == 1.0 and same["verdict"] == NOT_DISTINGUISHED
    with pytest.raises(ValueError):
        paired_test(a, b[:3])


def test_exact_interval_covers_the_rate() -> None:
    """Clopper-Pearson at 95 %: coverage at least 0.95 (it is conservative) over 2,000 draws at n = 50."""
    rng = np.random.default_rng(1)
    for p in (0.05, 0.4):
        cover = 0
        for _ in range(2000):
            k = int(rng.binomial(50, p))
            lo, hi = exact_ci(k, 50)
            cover += lo <= p <= hi
        assert cover / 2000 >= 0.95 - 3 * np.sqrt(0.05 * 0.95 / 2000)
    assert exact_ci(0, 10)[0] == 0.0 and exact_ci(10, 10)[1] == 1.0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen-attack-store")
    result = tiny_generative_run(root)
    runs = {r.method: r.run_id for r in result.runs}
    classifier = ul.api.run(dataset="digits", model="mlp", forget="class:1", methods=["ft"],
                            train={"epochs": 1}, store=root)
    return root, runs, result.scenario["id"], classifier.runs[-1].run_id


def test_attack_is_stored_read_back_and_read_against_retrain(tiny) -> None:
    root, runs, sid, _ = tiny
    with Store(root) as st:
        first = attack_run(st, runs["ft_retain"], "embedding", BUDGET, n_samples=12, seed=0)
        assert first["kind"] == KIND and first["method"] == "ft_retain" and first["forget_class"] == 3
        assert first["settings"]["budget"] == attack_config("embedding", BUDGET).to_dict()
        vs = first["versus_retrain"]
        assert vs["retrain_run_id"] == runs["retrain"] and vs["verdict"] in (EASIER, NOT_DISTINGUISHED)
        assert vs["run_only"] + vs["retrain_only"] <= 12 and 0 <= vs["p"] <= 1
        for key in ("forget_rate", "attack_success_rate"):
            assert 0.0 <= first[key] <= 1.0
        lo, hi = first["success_ci"]
        assert lo <= first["attack_success_rate"] <= hi
        # θ_r was attacked with the same settings, and is stored as its own audit
        gold = [a for a in st.audits(runs["retrain"]) if a.get("kind") == KIND]
        assert [a["id"] for a in gold] == [vs["retrain_audit_id"]]
        assert gold[0]["attack_success_rate"] == vs["retrain_success_rate"]
        arrays = st.audit_arrays(first["id"])
        assert arrays["after_pred"].shape == (12,) and arrays["after_images"].shape[0] == 12
        # read back, not recomputed
        again = attack_run(st, runs["ft_retain"], "embedding", BUDGET, n_samples=12, seed=0)
        assert again["id"] == first["id"] and again["created"] == first["created"]
        # force: recomputed, and the same settings give the same bits
        forced = attack_run(st, runs["ft_retain"], "embedding", BUDGET, n_samples=12, seed=0, force=True)
        assert forced["created"] > first["created"]
        redo = st.audit_arrays(first["id"])
        for k in arrays:
            assert np.array_equal(arrays[k], redo[k]), k
        listed = attacks_of(st, runs["ft_retain"])
        assert [a["id"] for a in listed] == [first["id"]] and "versus_retrain" in listed[0]
        own = attack_run(st, runs["retrain"], "embedding", BUDGET, n_samples=12, seed=0)
        assert "note" in own["versus_retrain"]


def test_noise_search_uses_the_attackers_own_classifier(tiny) -> None:
    root, runs, _, _ = tiny
    with Store(root) as st:
        res = attack_run(st, runs["ft_retain"], "embedding", {**BUDGET, "noise_search": 3}, n_samples=6, seed=0)
        assert res["budget"]["noise_search"] == 3
        assert res["settings"]["surrogate"] != res["settings"]["judge"]
        assert res["versus_retrain"]["retrain_audit_id"] in {a["id"] for a in st.audits(runs["retrain"])}


def test_relearn_attack_is_stored_too(tiny) -> None:
    root, runs, _, _ = tiny
    with Store(root) as st:
        res = attack_run(st, runs["original"], "relearn", {"steps": 2, "samples": 4}, n_samples=10, seed=1)
        assert res["attack"] == "relearn" and res["budget"]["steps"] == 2
        assert 0.0 <= res["attack_success_rate"] <= 1.0 and "versus_retrain" in res
        assert "embedding" not in st.audit_arrays(res["id"])
        assert res["curve"]["steps"] == [0, 1, 2] and len(res["curve"]["forget_rate"]) == 3
        assert res["versus_retrain"]["retrain_curve"]["steps"] == [0, 1, 2]


@pytest.mark.parametrize("call,match", [
    (lambda st, r: attack_run(st, r["ft_retain"], "noise", {}), "attack='noise' is not allowed"),
    (lambda st, r: attack_run(st, r["ft_retain"], "relearn", {"radius": 1.0}), "unknown relearn attack option"),
    (lambda st, r: attack_run(st, r["ft_retain"], "embedding", {"radius": 0}), "radius"),
    (lambda st, r: attack_run(st, r["ft_retain"], "embedding", {"steps": 0}), "steps"),
    (lambda st, r: attack_run(st, r["ft_retain"], n_samples=1), "samples"),
    (lambda st, r: attack_run(st, r["ft_retain"], seed=-1), "seed"),
    (lambda st, r: attack_run(st, r["ft_retain"], forget_class=4), "class 4 is not forgotten"),
    (lambda st, r: attack_run(st, "0" * 12), "unknown run"),
    (lambda st, r: attack_run(st, r["classifier"]), "applies? to generative runs|apply to generative runs"),
])
def test_bad_input_is_one_line_and_nothing_is_written(tiny, call, match) -> None:
    root, runs, _, classifier = tiny
    with Store(root) as st:
        before = len(st.audits())
        with pytest.raises(BadInput, match=match) as err:
            call(st, {**runs, "classifier": classifier})
        assert "\n" not in str(err.value)
        assert len(st.audits()) == before
