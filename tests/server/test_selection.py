"""A worst: / memorised: request through the web API: the job selects, the selection route shows it."""

from __future__ import annotations

from .helpers import assert_one_line_error, read_events
from .test_jobs import _job


def test_a_memorised_job_stores_its_selection_and_the_route_shows_it(client):
    r = client.post("/api/jobs", json=_job(forget="memorised:12,k=4,subset=0.5", grids={}))
    assert r.status_code == 202, r.text
    events = read_events(client, r.json()["id"])
    assert events[-1]["type"] == "job_done", events[-1]
    sid = client.get(f"/api/jobs/{r.json()['id']}").json()["scenario_id"]
    sel = client.get(f"/api/scenarios/{sid}/selection").json()
    assert sel["kind"] == "memorised" and sel["score"] == "memorisation" and sel["chosen"] == "highest"
    assert sel["size"] == len(sel["samples"]) == 12
    scores = [s["score"] for s in sel["samples"]]
    assert scores == sorted(scores, reverse=True) and min(scores) == sel["cutoff"]
    assert all(s["models_in"] + s["models_out"] == 4 and s["label"] is not None for s in sel["samples"])
    assert sum(sel["histogram"]["counts"]) == sel["ranked"] and sum(sel["histogram"]["chosen"]) == 12
    assert sel["details"]["k"] == 4 and sel["details"]["members_trained"] == 4
    summary = client.get(f"/api/scenarios/{sid}").json()
    assert summary["forget"] == "memorised:12,k=4,subset=0.5" and summary["forget_size"] == 12


def test_the_selection_route_refuses_other_requests_and_bad_specs_fail_at_submission(client):
    sid = client.get("/api/scenarios").json()[0]["id"]  # the stored class:3 request
    assert_one_line_error(client.get(f"/api/scenarios/{sid}/selection"), 404, "no stored selection")
    assert_one_line_error(client.post("/api/jobs", json=_job(forget="worst:0")), None, "forget count")
    assert_one_line_error(client.post("/api/jobs", json=_job(forget="worst:10,by=grad")), None, "bilevel, loss")
    forms = client.get("/api/options").json()["forget_forms"]
    assert any(f.startswith("worst:") for f in forms) and any(f.startswith("memorised:") for f in forms)
