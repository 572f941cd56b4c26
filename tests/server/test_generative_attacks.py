"""The generative attacks in the web API: POST /api/runs/{id}/attacks queues one as a job (θ_r attacked with the
same settings too), GET /api/runs/{id}/attacks lists them with the θ_r reading, GET /api/attacks/{id}/gallery
serves the samples before and after; bad requests are one line, before anything is queued."""

from __future__ import annotations

import pytest

import unlearnlab as ul

from .helpers import assert_one_line_error, read_events
from ..generative_fixtures import tiny_generative_run

BODY = {"kind": "embedding", "steps": 5, "images": 4, "batch_size": 8, "n_samples": 10, "seed": 0}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    root = tmp_path_factory.mktemp("gen-attack-api")
    result = tiny_generative_run(root)
    classifier = ul.api.run(dataset="digits", model="mlp", forget="class:1", methods=["ft"], train={"epochs": 1},
                            store=root)
    with TestClient(create_app(root)) as c:
        yield c, {r.method: r.run_id for r in result.runs}, classifier.runs[-1].run_id


def test_an_attack_job_stores_the_run_and_retrain_attacks(client) -> None:
    c, runs, _ = client
    r = c.post(f"/api/runs/{runs['ft_retain']}/attacks", json=BODY)
    assert r.status_code == 202, r.text
    events = read_events(c, r.json()["id"])
    kinds = [e["type"] for e in events]
    assert "attack_finished" in kinds and kinds[-1] == "job_done", kinds
    done = next(e for e in events if e["type"] == "attack_finished")
    listed = c.get(f"/api/runs/{runs['ft_retain']}/attacks").json()
    assert [a["id"] for a in listed] == [done["audit_id"]]
    a = listed[0]
    assert a["attack"] == "embedding" and a["n_samples"] == 10 and a["budget"]["steps"] == 5
    assert a["versus_retrain"]["retrain_run_id"] == runs["retrain"] and done["verdict"] == a["versus_retrain"]["verdict"]
    assert len(c.get(f"/api/runs/{runs['retrain']}/attacks").json()) == 1  # θ_r's, same settings
    g = c.get(f"/api/attacks/{a['id']}/gallery")
    assert g.status_code == 200, g.text
    body = g.json()
    ch, h, w = body["shape"]
    assert body["forget_class"] == 3 and len(body["before"]) == len(body["after"]) == 10
    assert all(len(im) == ch * h * w and 0 <= min(im) and max(im) <= 1 for im in body["before"] + body["after"])
    assert len(body["after_pred"]) == 10


@pytest.mark.parametrize("body,status,needle", [
    ({"kind": "relearn", "radius": 1.0}, 422, "unknown relearn attack option 'radius'"),
    ({"kind": "embedding", "steps": 0}, 422, "steps"),
    ({"kind": "noise"}, 422, "kind"),
    ({"n_samples": 1}, 422, "n_samples"),
    ({"colour": "red"}, 422, "colour"),
    ({"kind": "relearn", "lr": 5.0}, 422, "relearn lr"),
])
def test_bad_attack_requests_are_one_line_and_queue_nothing(client, body, status, needle) -> None:
    c, runs, _ = client
    before = len(c.get("/api/jobs").json())
    assert_one_line_error(c.post(f"/api/runs/{runs['ft_retain']}/attacks", json=body), status, needle)
    assert len(c.get("/api/jobs").json()) == before


def test_classifier_runs_and_unknown_ids(client) -> None:
    c, _, classifier = client
    assert_one_line_error(c.get(f"/api/runs/{classifier}/attacks"), 404, "generation runs only")
    assert_one_line_error(c.post(f"/api/runs/{classifier}/attacks", json={}), 404, "generation runs only")
    assert_one_line_error(c.get("/api/attacks/0123456789abcdef/gallery"), 404, "unknown attack")
    assert_one_line_error(c.get("/api/attacks/nothex/gallery"), 400, "malformed")
