"""GET /api/runs/{id}/attack: the Comparator's threshold attack against the scenario's θ_r."""

from __future__ import annotations

import pytest

from unlearnlab.metrics.privacy import NUM_THRESHOLDS

from .helpers import assert_one_line_error


@pytest.mark.parametrize("feature", ["entropy", "confidence"])
def test_attack_curves_strategies_and_samples(client, comparison, feature):
    ft = comparison.run("ft")
    r = client.get(f"/api/runs/{ft.run_id}/attack", params={"feature": feature})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["retrain_run_id"] == comparison.run("retrain").run_id and body["feature"] == feature
    assert body["privacy_score"] == pytest.approx(ft.metrics["privacy_score"])
    assert {c["positive"] for c in body["curves"]} == {"unlearn", "retrain"}
    for c in body["curves"]:
        assert len(c["thresholds"]) == len(c["fpr"]) == len(c["fnr"]) == len(c["attack_score"]) == NUM_THRESHOLDS
        assert all(0 <= v <= 1 for v in c["fpr"] + c["fnr"] + c["attack_score"] + c["success_rate"])
    strategies = {s["strategy"]: s for s in body["strategies"]}
    assert set(strategies) == {"max_attack_score", "max_success_rate"}
    best = strategies["max_attack_score"]
    assert best["attack_score"] == pytest.approx(body["feature_best_score"])
    assert best["attack_score"] == max(max(c["attack_score"]) for c in body["curves"])
    assert 1 - body["privacy_score"] >= body["feature_best_score"] - 1e-12
    samples = body["samples"]
    assert len(samples) == comparison.scenario["forget_size"]
    assert all(s["label"] == 3 for s in samples) and len({s["index"] for s in samples}) == len(samples)
    # `attacked` is the max-attack-score threshold applied in its direction
    t = best["threshold"]
    side = [best["attack_score"] > 0 and ((s["value"] >= t) if best["positive"] == "unlearn" else (s["value"] < t))
            for s in samples]
    assert side == [s["attacked"] for s in samples]
    assert all(0 <= s["risk"] <= 1 for s in samples)


def test_attack_against_itself_finds_nothing_and_compare_adds_the_common_threshold(client, comparison):
    retrain = comparison.run("retrain").run_id
    body = client.get(f"/api/runs/{retrain}/attack").json()
    assert body["privacy_score"] == 1.0 and body["feature_best_score"] == 0.0
    assert all(s["value"] == s["retrain_value"] and not s["attacked"] for s in body["samples"])
    ft, ga = comparison.run("ft").run_id, comparison.run("ga").run_id
    both = client.get(f"/api/runs/{ft}/attack", params={"compare": ga}).json()
    common = next(s for s in both["strategies"] if s["strategy"] == "common_threshold")
    alone = client.get(f"/api/runs/{ga}/attack").json()
    curve = next(c for c in alone["curves"] if c["positive"] == common["positive"])
    i = curve["thresholds"].index(common["threshold"])
    assert common["other_attack_score"] == pytest.approx(curve["attack_score"][i])


def test_attack_bad_inputs(client, comparison, store_copy):
    ft = comparison.run("ft").run_id
    assert_one_line_error(client.get(f"/api/runs/{ft}/attack", params={"feature": "loss"}), 422, "'loss'")
    assert_one_line_error(client.get(f"/api/runs/{ft}/attack", params={"compare": "../x"}), 400, "malformed")
    assert_one_line_error(client.get(f"/api/runs/{ft}/attack", params={"compare": "0123456789ab"}), 404)
    from unlearnlab.store import Store

    with Store(store_copy) as st:
        failed = st.start_run(comparison.scenario["id"], "ft", {}, 0)
        st.fail_run(failed, "failed", "boom")
    assert_one_line_error(client.get(f"/api/runs/{failed}/attack"), 409, "failed")
    assert client.delete(f"/api/runs/{comparison.run('retrain').run_id}").status_code == 200
    assert_one_line_error(client.get(f"/api/runs/{ft}/attack"), 409, "no finished retrain")
