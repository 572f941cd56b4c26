"""Hostile or oversized inputs get one line and a 4xx, never a 500, a hang or unbounded memory."""

from __future__ import annotations

import pytest

from .helpers import assert_one_line_error


@pytest.mark.parametrize("indices, needles", [
    ("\u00b9", ("malformed",)),             # str.isdigit accepts it, int() does not
    ("0,\u0663", ("malformed",)),           # an Arabic-Indic digit
    ("1" * 2000, ("out of range",)),        # parsed as text, not by int()
    ("0," + "0" * 30 + "5", None),          # leading zeros are still index 5
])
def test_inputs_indices_are_parsed_strictly(shared_client, comparison, indices, needles):
    sid = comparison.scenario["id"]
    r = shared_client.get(f"/api/scenarios/{sid}/inputs", params={"indices": indices})
    if needles is None:
        assert r.status_code == 200, r.text
        assert len(r.json()["inputs"]) == 2
    else:
        assert_one_line_error(r, 422, *needles)


def test_inputs_refuses_an_index_of_thousands_of_digits(shared_client, comparison):
    sid = comparison.scenario["id"]
    assert_one_line_error(shared_client.get(f"/api/scenarios/{sid}/inputs", params={"indices": "7" * 5000}), 422,
                          "indices")


@pytest.mark.parametrize("header", [b"\xb9", b"1" * 50, b"-1"])  # b"\xb9" is '¹' in latin-1
def test_last_event_id_is_parsed_strictly(client, header):
    fake = _finished_job(client.app.state.jobs)
    r = client.get(f"/api/jobs/{fake.id}/events", headers={"Last-Event-ID": header})
    assert_one_line_error(r, 400, "Last-Event-ID")


def _finished_job(manager):
    """A finished job in the manager, without training anything."""
    from unlearnlab.server.jobs import AuditPlan, Job

    job = Job("0123456789ab", AuditPlan({}, "0" * 12, "0" * 16, "ft", {}, "retrain", 6))
    manager._jobs[job.id] = job
    job.finish("cancelled", "job_cancelled", reason="test")
    return job


def test_a_body_over_the_limit_is_refused_before_it_is_parsed(shared_client):
    from unlearnlab.server.app import MAX_BODY_BYTES

    huge = b'{"dataset": "' + b"x" * MAX_BODY_BYTES + b'"}'  # valid JSON: parsing it would answer 422
    r = shared_client.post("/api/jobs", content=huge, headers={"content-type": "application/json"})
    assert_one_line_error(r, 413, "too large", str(MAX_BODY_BYTES))

    def chunks():  # no Content-Length: the limit holds while reading
        yield b'{"dataset": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    r = shared_client.post("/api/jobs", content=chunks(), headers={"content-type": "application/json"})
    assert_one_line_error(r, 413, "too large")
    assert shared_client.get("/api/jobs").json() == []


def test_a_body_within_the_limit_still_reaches_the_handler(shared_client):
    def chunks():
        yield b'{"methods": '
        yield b'"ft"}'

    assert_one_line_error(shared_client.post("/api/jobs", content=chunks(), headers={"content-type": "application/json"}),
                          422, "methods")


@pytest.mark.parametrize("body, needles", [
    ({"train": {"epochs": 1_000_000_000}}, ("train.epochs=1000000000", "[1, 10000]")),
    ({"methods": ["ft"], "grids": {"ft": {"epochs": [1_000_000_000]}}}, ("ft.epochs=1000000000", "10000")),
    ({"methods": ["ft"], "grids": {"ft": {"batch_size": [10**30]}}}, ("ft.batch_size",)),
    ({"dataset": "mnist1d", "dataset_params": {"num_samples": 1_000_000_000}}, ("num_samples=1000000000", "200000")),
    ({"dataset": "mnist1d:num_samples=1000000000"}, ("num_samples=1000000000",)),
    ({"methods": ["ft"] * 1000}, ("methods",)),
    ({"methods": ["ft"], "grids": {"ft": {"lr": [0.001 * i for i in range(1, 100)]}}}, ("grids.ft.lr",)),
    ({"forget": "class:" + "1" * 5000}, ("forget",)),
])
def test_unbounded_sizes_in_a_job_request_are_refused(shared_client, body, needles):
    assert_one_line_error(shared_client.post("/api/jobs", json=body), 422, *needles)
    assert shared_client.get("/api/jobs").json() == []


def test_train_epochs_is_capped_for_every_caller():
    from unlearnlab.errors import BadInput
    from unlearnlab.training import TrainConfig

    assert TrainConfig(epochs=10_000).epochs == 10_000
    with pytest.raises(BadInput, match=r"train.epochs=10001 is not allowed; it must be an integer in \[1, 10000\]"):
        TrainConfig(epochs=10_001)


def test_an_audit_of_a_run_against_itself_is_refused(client, comparison):
    ga = comparison.run("ga").run_id
    assert_one_line_error(client.post(f"/api/runs/{ga}/audit", json={"against": ga}), 400, ga, "itself")
    assert client.get("/api/jobs").json() == []


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_unknown_api_paths_are_a_json_404_for_every_method(shared_client, method):
    # the packaged UI is mounted at / (its StaticFiles answered 405 with Allow: GET, HEAD here)
    r = shared_client.request(method, "/api/no/such/thing")
    assert_one_line_error(r, 404, "/api/no/such/thing")
    assert r.headers["content-type"] == "application/json"


def test_a_wrong_method_on_a_known_path_names_the_allowed_ones(shared_client):
    r = shared_client.delete("/api/health")
    assert_one_line_error(r, 405, "DELETE")
    assert r.headers["allow"] == "GET"
    r = shared_client.put("/api/jobs")
    assert_one_line_error(r, 405, "PUT")
    assert r.headers["allow"] == "GET, POST"
