"""GET /api/scenarios/{id}/seeds: a request's results over its stored seeds (Screen's "over N seeds"
mode), on a tiny store (digits, MLP, 2 epochs, seeds 0, 1, 2, ft and ga), and the pure function behind
it (server/seeds.py) on synthetic runs."""

from __future__ import annotations

import pytest

import unlearnlab as ul
from unlearnlab.analysis.seeds import t_interval
from unlearnlab.errors import BadInput
from unlearnlab.report import BETTER
from unlearnlab.server.seeds import over_seeds

from .helpers import assert_one_line_error

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """The store, the three seeds' results (random:0.1, so each seed draws its own forget set), and a
    one-seed request (class:3) beside them."""
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    root = tmp_path_factory.mktemp("seeds") / "store"
    results = [ul.run("digits", "mlp", "random:0.1", ["ft", "ga"], train={"epochs": 2}, seed=s, store=root)
               for s in SEEDS]
    single = ul.run("digits", "mlp", "class:3", ["ft"], train={"epochs": 2}, seed=0, store=root)
    with TestClient(create_app(root)) as client:
        yield client, results, single


def test_every_seed_of_the_request_is_aggregated_with_the_reports_intervals(seeded):
    client, results, _single = seeded
    ids = {r.scenario["id"] for r in results}
    for sid in ids:  # any seed's scenario answers for the whole request
        r = client.get(f"/api/scenarios/{sid}/seeds")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["seeds"] == list(SEEDS) and set(body["scenario_ids"]) == ids and body["note"] is None
    by_label = {g["label"]: g for g in body["groups"]}
    assert list(by_label)[:2] == ["original", "retrain"] and {"ft", "ga"} <= set(by_label)
    assert by_label["retrain"]["reference"] and not by_label["ft"]["reference"]
    for label in ("ft", "ga"):
        g = by_label[label]
        runs = [res.run(label) for res in results]
        assert g["seeds"] == list(SEEDS) and g["done"] == 3 and sorted(g["run_ids"]) == sorted(x.run_id for x in runs)
        for key in ("ua", "ra", "ta", "avg_gap", "run_time_s"):
            cell, iv = g["metrics"][key], t_interval([x.metrics[key] for x in runs])
            assert cell["n"] == 3 and cell["mean"] == pytest.approx(iv.mean)
            assert cell["lo"] == pytest.approx(iv.lo) and cell["hi"] == pytest.approx(iv.hi)
            assert cell["lo"] <= cell["mean"] <= cell["hi"]
        # distance to θ_r is taken seed by seed, to that seed's own θ_r
        per_seed = [abs(x.metrics["ua"] - res.run("retrain").metrics["ua"]) for x, res in zip(runs, results)]
        assert g["distances"]["ua"]["mean"] == pytest.approx(sum(per_seed) / 3)
    assert by_label["retrain"]["distances"]["ua"] == {"mean": 0.0, "lo": 0.0, "hi": 0.0, "n": 3}


def test_ranking_ties_overlapping_intervals_and_says_no_winner(seeded):
    client, results, _ = seeded
    sid = results[0].scenario["id"]
    # asr: poisoned requests only (tests/test_poison.py); nomus: group requests with unseen identities
    # (tests/metrics/test_identity.py): on this random request nobody has them, so nobody is ranked by them
    only_some = {"asr", "nomus"}
    for rank_by in only_some:
        ranking = client.get(f"/api/scenarios/{sid}/seeds", params={"rank_by": rank_by}).json()["ranking"]
        assert ranking["ranks"] == [] and sorted(ranking["unranked"]) == ["ft", "ga"]
    for rank_by in (k for k in BETTER if k not in only_some):
        body = client.get(f"/api/scenarios/{sid}/seeds", params={"rank_by": rank_by}).json()
        ranking = body["ranking"]
        assert ranking["rank_by"] == rank_by and ranking["better"] == BETTER[rank_by]
        labels = [e["label"] for e in ranking["ranks"]]
        assert sorted(labels) == ["ft", "ga"]  # the references are never ranked
        cells = {g["label"]: g["metrics"][rank_by] for g in body["groups"]}
        a, b = (cells[x] for x in labels)
        overlap = a["lo"] <= b["hi"] and b["lo"] <= a["hi"]
        ranks = [e["rank"] for e in ranking["ranks"]]
        assert ranks == ([1, 1] if overlap else [1, 2])
        assert ranking["no_winner"] is overlap and all(e["tied"] is overlap for e in ranking["ranks"])
        assert ("no winner" in ranking["text"]) is overlap and ranking["text"].startswith(f"1. {labels[0]}")


@pytest.mark.parametrize("rank_by", ["ua", "privacy_score", "nonsense"])
def test_rank_by_without_a_direction_is_one_clear_line(seeded, rank_by):
    client, results, _ = seeded
    r = client.get(f"/api/scenarios/{results[0].scenario['id']}/seeds", params={"rank_by": rank_by})
    assert_one_line_error(r, 422, rank_by, "avg_gap")


def test_unknown_and_malformed_scenarios_are_refused(seeded):
    client, _, _ = seeded
    assert_one_line_error(client.get("/api/scenarios/0123456789abcdef/seeds"), 404, "0123456789abcdef")
    assert_one_line_error(client.get("/api/scenarios/nothex/seeds"), 400)
    assert_one_line_error(client.get(f"/api/scenarios/{'0' * 16}/seeds", params={"rank_by": "x" * 100}), 422)


def test_one_seed_has_no_interval_and_says_so(seeded):
    client, _, single = seeded
    body = client.get(f"/api/scenarios/{single.scenario['id']}/seeds").json()
    assert body["seeds"] == [0] and "one seed" in body["note"]
    ft = next(g for g in body["groups"] if g["label"] == "ft")
    assert ft["metrics"]["ua"]["n"] == 1 and ft["metrics"]["ua"]["lo"] is None and ft["metrics"]["ua"]["hi"] is None
    assert ft["metrics"]["ua"]["mean"] == pytest.approx(single.run("ft").metrics["ua"])
    assert body["ranking"]["ranks"] == [] and body["ranking"]["unranked"] == ["ft"]
    assert not body["ranking"]["no_winner"] and "none is ranked" in body["ranking"]["text"]


# the pure function on synthetic runs ------------------------------------------------------------------

def _scenario(seed: int) -> dict:
    return {"id": f"{seed:016x}", "seed": seed}


def _run(i: int, method: str, seed: int, status: str = "done", hparams=None, **metrics) -> dict:
    return {"id": f"{i:012x}", "scenario_id": f"{seed:016x}", "method": method, "hparams": hparams or {},
            "seed": seed, "status": status, "created": float(i), "metrics": metrics}


def test_clearly_separated_methods_get_a_winner_and_overlapping_ones_share_a_rank():
    runs, i = [], 0
    for seed in range(4):
        for method, gap in (("a", 0.10), ("b", 0.50), ("c", 0.51)):
            i += 1
            runs.append(_run(i, method, seed, avg_gap=gap + 0.01 * seed))
    out = over_seeds([_scenario(s) for s in range(4)], runs)
    ranking = out["ranking"]
    assert [(e["label"], e["rank"]) for e in ranking["ranks"]] == [("a", 1), ("b", 2), ("c", 2)]
    assert not ranking["no_winner"] and ranking["text"] == "1. a; 2. b, c (intervals overlap: no winner)"
    # higher is better: the order turns
    for r in runs:
        r["metrics"]["ta"] = r["metrics"]["avg_gap"]
    by_ta = over_seeds([_scenario(s) for s in range(4)], runs, rank_by="ta")["ranking"]
    assert by_ta["ranks"][0]["label"] in ("b", "c") and by_ta["ranks"][-1] == {**by_ta["ranks"][-1], "label": "a", "rank": 3}


def test_settings_are_labelled_failed_runs_left_out_and_seeds_with_one_value_unranked():
    scenarios = [_scenario(s) for s in range(3)]
    runs = [_run(1, "ft", 0, hparams={"lr": 0.1}, avg_gap=0.2), _run(2, "ft", 1, hparams={"lr": 0.1}, avg_gap=0.3),
            _run(3, "ft", 2, "failed", hparams={"lr": 0.1}),
            _run(4, "ft", 0, hparams={"lr": 0.5}, avg_gap=0.9)]
    out = over_seeds(scenarios, runs)
    by_label = {g["label"]: g for g in out["groups"]}
    assert set(by_label) == {"ft (lr=0.1)", "ft (lr=0.5)"}
    fast = by_label["ft (lr=0.1)"]
    assert fast["done"] == 2 and fast["seeds"] == [0, 1, 2] and fast["metrics"]["avg_gap"]["n"] == 2
    assert by_label["ft (lr=0.5)"]["metrics"]["avg_gap"] == {"mean": 0.9, "lo": None, "hi": None, "n": 1}
    assert out["ranking"]["unranked"] == ["ft (lr=0.5)"]
    assert [e["label"] for e in out["ranking"]["ranks"]] == ["ft (lr=0.1)"]


def test_the_pure_function_refuses_a_metric_without_a_direction():
    with pytest.raises(BadInput, match="mia_efficacy"):
        over_seeds([_scenario(0)], [], rank_by="mia_efficacy")


def test_the_route_is_documented(seeded):
    client, _, _ = seeded
    op = client.get("/openapi.json").json()["paths"]["/api/scenarios/{scenario_id}/seeds"]["get"]
    assert op["summary"] and op["tags"] == ["scenarios"] and {"200", "400", "404", "422"} <= set(op["responses"])
    rank_by = next(p for p in op["parameters"] if p["name"] == "rank_by")
    assert rank_by["schema"]["default"] == "avg_gap" and all(k in rank_by["description"] for k in BETTER)
