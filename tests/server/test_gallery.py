"""GET /api/runs/{id}/gallery: a generative run's fixed-seed samples per class; and the classifier-only
routes (threshold attack, comparison) refusing generation runs in one line."""

from __future__ import annotations

import numpy as np
import pytest

from unlearnlab.store import Store

from ..generative_fixtures import tiny_generative_run
from .helpers import assert_one_line_error



@pytest.fixture(scope="module")
def gen_client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    root = tmp_path_factory.mktemp("gen-store")
    result = tiny_generative_run(root)
    with TestClient(create_app(root)) as c:
        yield c, result, root


def test_gallery_groups_the_stored_samples_by_class(gen_client):
    client, result, root = gen_client
    runs = {r.method: r.run_id for r in result.runs}
    bodies = {}
    for method, rid in runs.items():
        r = client.get(f"/api/runs/{rid}/gallery")
        assert r.status_code == 200, r.text
        bodies[method] = body = r.json()
        assert body["run_id"] == rid and body["method"] == method
        c, h, w = body["shape"]
        assert [k["label"] for k in body["classes"]] == list(range(10))
        assert [k["label"] for k in body["classes"] if k["forgotten"]] == [3]
        stored = Store(root).load_outputs(rid)
        for k in body["classes"]:
            assert len(k["images"]) == 2 and all(len(im) == c * h * w for im in k["images"])
            mine = np.asarray(k["images"])
            want = stored["gallery"][stored["gallery_labels"] == k["label"]].reshape(len(mine), -1)
            assert np.abs(mine - want).max() <= 5e-4 and mine.min() >= 0 and mine.max() <= 1
    # the same seeds for every run: the galleries differ only where the models do
    assert bodies["original"]["shape"] == bodies["ft_retain"]["shape"]


def test_the_scenario_says_it_is_generative(gen_client):
    client, result, _ = gen_client
    sid = result.scenario["id"]
    assert client.get(f"/api/scenarios/{sid}").json()["task"] == "generation"
    payload = client.get(f"/api/scenarios/{sid}/runs").json()
    assert {"forget_rate", "kept_accuracy", "fd_kept"} <= set(payload["runs"][0]["metrics"])
    assert any(s["task"] == "generation" for s in client.get("/api/scenarios").json())


def test_classifier_views_refuse_generation_runs_in_one_line(gen_client):
    client, result, _ = gen_client
    a, b = (r.run_id for r in result.runs[:2])
    assert_one_line_error(client.get(f"/api/runs/{a}/attack"), 422, "generation")
    assert_one_line_error(client.get("/api/compare", params={"a": a, "b": b}), 422, "generation")


def test_a_classifier_run_has_no_gallery(shared_client, comparison):
    rid = comparison.run("ft").run_id
    assert_one_line_error(shared_client.get(f"/api/runs/{rid}/gallery"), 404, "classification")
    assert_one_line_error(shared_client.get("/api/runs/0123456789ab/gallery"), 404)


def test_gallery_maps_the_data_range_to_unit_pixels(gen_client):
    """A model trained on data in [lo, hi] samples in that range: the payload maps it to [0, 1]."""
    from unlearnlab.server.app import gallery_payload

    _client, result, root = gen_client
    st = Store(root)
    rec = st.run(result.run("original").run_id)
    spec = st.scenario(rec.scenario_id)
    out = st.load_outputs(rec.id)
    plain = gallery_payload(rec, spec, out)
    scaled = gallery_payload(rec, spec, {**out, "gallery": out["gallery"] * 4 - 2}, data_range=(-2.0, 2.0))
    for p, s in zip(plain["classes"], scaled["classes"]):
        assert np.abs(np.asarray(p["images"]) - np.asarray(s["images"])).max() <= 1.5e-3
