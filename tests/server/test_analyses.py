"""The Contrast and Attack routes: comparisons (computed in the analysis worker process, then
cached), stored audits with their per-sample arrays, and model inputs for the instance panel."""

from __future__ import annotations

import numpy as np
import pytest

from unlearnlab.audits import audit_run
from unlearnlab.executors import SerialExecutor
from unlearnlab.store import Store

from .helpers import assert_one_line_error


@pytest.fixture(scope="module")
def audited(server_store, tmp_path_factory):
    """The server store copy with one small audit of ft (6-member ensembles, 2-epoch training)."""
    import shutil

    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    dest = tmp_path_factory.mktemp("audited") / "store"
    shutil.copytree(server_store[0], dest)
    ft = server_store[1].run("ft").run_id
    with Store(dest) as st:
        result = audit_run(st, ft, refs=6, executor=SerialExecutor(), partitions=4, n_boot=10, relearn_steps=3)
    with TestClient(create_app(dest)) as client:
        yield client, ft, result


def test_compare_runs_in_the_worker_then_reads_the_cache(audited, comparison):
    client, _, _ = audited
    a, b = comparison.run("original").run_id, comparison.run("ft").run_id
    first = client.get("/api/compare", params={"a": a, "b": b, "n_per_class": 5})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["models"]["A"]["run_id"] == a and body["models"]["B"]["run_id"] == b
    k = body["scenario"]["num_classes"]
    assert len(body["per_class"]["test"]["diff"]) == k
    assert len(body["embedding"]["xy_a"]) == len(body["instances"]) > 0
    again = client.get("/api/compare", params={"a": a, "b": b, "n_per_class": 5})
    assert again.json() == body


@pytest.mark.parametrize("params, status, needles", [
    ({"a": "zz", "b": "zz"}, 400, ("run id", "malformed")),
    ({"a": "0123456789ab", "b": "0123456789ab"}, 404, ("unknown run",)),
    ({"a": "RUN"}, 422, ("b", "required")),
    ({"a": "RUN", "b": "RUN", "n_per_class": 0}, 422, ("n_per_class",)),
])
def test_bad_compare_requests(audited, comparison, params, status, needles):
    client, _, _ = audited
    params = {k: comparison.run("ft").run_id if v == "RUN" else v for k, v in params.items()}
    assert_one_line_error(client.get("/api/compare", params=params), status, *needles)


def test_audits_and_their_samples(audited, comparison):
    client, ft, result = audited
    listed = client.get(f"/api/runs/{ft}/audits").json()
    assert [a["id"] for a in listed] == [result["id"]]
    assert listed[0]["ulira"]["accuracy"]["null_ci"] == result["ulira"]["accuracy"]["null_ci"]
    assert client.get(f"/api/runs/{comparison.run('ga').run_id}/audits").json() == []
    samples = client.get(f"/api/audits/{result['id']}/samples").json()
    assert len(samples["ulira_auc"]) == len(samples["forget_index"]) == len(samples["klom_forget"]) > 0
    assert_one_line_error(client.get("/api/audits/../../etc/samples"), (400, 404))
    assert_one_line_error(client.get("/api/audits/0123456789abcdef/samples"), 404, "unknown audit")
    assert_one_line_error(client.get("/api/audits/xyz/samples"), 400, "malformed")


def test_inputs_for_the_instance_panel(audited, comparison):
    client, _, _ = audited
    sid = comparison.scenario["id"]
    body = client.get(f"/api/scenarios/{sid}/inputs", params={"indices": "0,5"}).json()
    assert body["shape"] == [8, 8] and body["kind"] == "image" and len(body["inputs"]) == 2
    assert len(body["inputs"][0]) == 64 and np.isfinite(body["inputs"]).all()
    assert body["labels"] == comparison_labels(comparison, [0, 5])
    for bad, needles in (("a,b", ("malformed",)), ("99999", ("out of range",)), ("", ("malformed",))):
        assert_one_line_error(client.get(f"/api/scenarios/{sid}/inputs", params={"indices": bad}), 422, *needles)


def comparison_labels(comparison, indices):
    from unlearnlab.data import load_dataset

    return load_dataset("digits", seed=comparison.scenario["seed"]).y_train[indices].tolist()


def test_an_audit_runs_as_a_job_and_is_listed(client, comparison):
    from .helpers import read_events

    ga = comparison.run("ga").run_id
    job = client.post(f"/api/runs/{ga}/audit", json={"refs": 6})
    assert job.status_code == 202, job.text
    events = read_events(client, job.json()["id"], timeout=600)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "job_queued" and kinds[-1] == "job_done", events[-1]
    finished = next(e for e in events if e["type"] == "audit_finished")
    assert set(finished["verdicts"]) >= {"ulira_accuracy", "ulira_auc", "forgetting_quality",
                                         "forgetting_quality_two_sided", "klom_forget_median", "lira_after_online_auc"}
    assert "progress" in kinds or "epoch" in kinds  # ensemble members streamed their progress
    [listed] = client.get(f"/api/runs/{ga}/audits").json()
    assert listed["id"] == finished["audit_id"] and listed["refs"] == 6


def test_bad_audit_jobs_are_refused(shared_client, comparison):
    ga = comparison.run("ga").run_id
    assert_one_line_error(shared_client.post(f"/api/runs/{ga}/audit", json={"refs": 3}), 422, "refs")
    assert_one_line_error(shared_client.post(f"/api/runs/{ga}/audit", json={"workers": 3}), 422, "workers")
    assert_one_line_error(shared_client.post("/api/runs/0123456789ab/audit", json={}), 404, "unknown run")
    assert_one_line_error(shared_client.post(f"/api/runs/{ga}/audit", json={"against": "0123456789ab"}), 404,
                          "unknown run")
    assert shared_client.get("/api/jobs").json() == []
