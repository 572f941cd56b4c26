"""Jobs: validation before queueing, a real job streamed by SSE, replay, cancellation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import unlearnlab as ul

from .conftest import SCENARIO
from .helpers import assert_one_line_error, read_events

GOOD = {**SCENARIO, "methods": ["ft"], "grids": {"ft": {"epochs": [1, 2]}}}


def _job(**changes):
    body = {k: v for k, v in {**GOOD, **changes}.items() if v is not ...}
    return body


BAD_JOBS = [
    (_job(methods=["ft", "nope"]), "'nope'"),
    (_job(methods=["ft", "ft"]), "listed twice"),
    (_job(grids={"ft": {"foo": [1]}}), "ft.foo"),
    (_job(grids={"ft": {"lr": 0.1}}), "grids.ft.lr"),
    (_job(grids={"ft": [0.1]}), "grids.ft"),
    (_job(grids={"ft": {"lr": [{"a": 1}]}}), "grids.ft.lr.0"),
    (_job(grids={"ft": {"lr": []}}), "grids.ft.lr is empty"),
    (_job(grids={"ft": {"lr": [0.1, 0.1]}}), "repeats the value 0.1"),
    (_job(grids={"ft": {"lr": ["fast"]}}), "ft.lr='fast'"),
    (_job(grids={"ft": {"lr": [-1.0]}}), "lr=-1.0"),
    (_job(grids={"ft": {"epochs": [1.5]}}), "ft.epochs=1.5"),
    (_job(grids={"ga": {"lr": [0.1]}}), "'ga'"),
    (_job(grids={"retrain": {"lr": [0.1]}}), "retrain"),
    (_job(grids={"ft": {"lr": [0.001 * i for i in range(1, 9)], "epochs": list(range(1, 10))}}), "72"),
    (_job(forget="class:x"), "'x'"),
    (_job(forget="random:1.5"), "'1.5'"),
    (_job(forget="indices:/etc/passwd"), "reads a file"),
    (_job(dataset="arrays:/etc/passwd.npz"), "reads files"),
    (_job(dataset="digits:seed=3"), "'seed'"),
    (_job(dataset="digits", dataset_params={"path": "/etc"}), "'path'"),
    (_job(dataset="imagenet"), "'imagenet'"),
    (_job(dataset="mnist1d", dataset_params={"num_samples": "many"}), "num_samples='many'"),
    (_job(model="vgg"), "'vgg'"),
    (_job(train={"epochs": 0}), "train.epochs=0"),
    (_job(train={"epochs": "many"}), "train.epochs='many'"),
    (_job(train={"warm_restarts": True}), "train.warm_restarts"),
    (_job(train={"schedule": "step"}), "'step'"),
    (_job(prune=1.5), "prune=1.5"),
    (_job(poison="badnets:1.5", forget="poison"), "poison rate '1.5'"),
    (_job(poison="blended:0.1", forget="poison"), "'blended'"),
    (_job(poison="badnets:0.1,target=10", forget="poison"), "poison target 10 is out of range; it must be in [0, 9]"),
    (_job(forget="poison"), "needs poisoned training data"),
    (_job(seed=-1), "seed"),
    (_job(device="tpu"), "'tpu'"),
    (_job(grid={"ft": {}}), "unknown field 'grid'"),
    (_job(methods="ft"), "methods"),
]


@pytest.mark.parametrize("body,needle", BAD_JOBS, ids=[n for _, n in BAD_JOBS])
def test_bad_jobs_are_refused_before_queueing(shared_client, body, needle):
    assert_one_line_error(shared_client.post("/api/jobs", json=body), 422, needle)
    assert shared_client.get("/api/jobs").json() == []


def test_bad_bodies(client):
    assert_one_line_error(client.post("/api/jobs", content=b"{not json", headers={"content-type": "application/json"}),
                          422, "not valid JSON")
    assert_one_line_error(client.post("/api/jobs", json=[1, 2]), 422)
    assert_one_line_error(client.post("/api/jobs"), 422, "required")
    assert client.get("/api/jobs").json() == []


def test_validation_leaves_the_global_generators_alone():
    from unlearnlab.server.jobs import plan_job
    from unlearnlab.server.schemas import JobRequest

    torch.manual_seed(123)
    np.random.seed(123)
    before = torch.get_rng_state(), np.random.get_state()[1].copy()
    plan = plan_job(JobRequest(**{**GOOD, "dataset": "mnist1d", "dataset_params": {"num_samples": 200},
                                  "model": "cnn", "forget": "random:0.1"}))
    assert torch.equal(before[0], torch.get_rng_state()) and (before[1] == np.random.get_state()[1]).all()
    assert [c["hparams"]["epochs"] for c in plan.configs] == [1, 2]


def test_a_job_streams_to_completion_and_its_runs_are_stored(client, comparison, tmp_path):
    r = client.post("/api/jobs", json=GOOD)
    assert r.status_code == 202, r.text
    job = r.json()
    assert len(job["configs"]) == 2
    events = read_events(client, job["id"])
    kinds = [e["type"] for e in events]
    assert kinds[0] == "job_queued" and kinds[1] == "job_started" and kinds[-1] == "job_done"
    assert [e["id"] for e in events] == list(range(len(events)))
    assert kinds.count("method_started") == 2 and kinds.count("run_finished") == 4
    finished = [e for e in events if e["type"] == "run_finished"]
    assert [e["method"] for e in finished] == ["original", "retrain", "ft", "ft"]
    assert all(e["cached"] for e in finished[:2])  # θ_o and θ_r come from the store
    epochs = [e for e in events if e["type"] == "epoch" and e["method"] == "ft"]
    assert [(e["index"], e["epoch"], e["epochs"]) for e in epochs] == [(0, 1, 1), (1, 1, 2), (1, 2, 2)]
    assert all(0 <= e["forget_acc"] <= 1 and e["loss"] > 0 and e["eta_s"] >= 0 for e in epochs)
    done = client.get(f"/api/jobs/{job['id']}").json()
    assert done["scenario_id"] == comparison.scenario["id"]
    assert done["status"] == "done" and done["run_ids"] == [e["run_id"] for e in finished] == events[-1]["run_ids"]
    screen = client.get(f"/api/scenarios/{done['scenario_id']}/runs").json()["runs"]
    new = {row["id"]: row for row in screen}
    for e in finished[2:]:
        assert new[e["run_id"]]["status"] == "done" and new[e["run_id"]]["hparams"]["epochs"] == e["hparams"]["epochs"]
        assert new[e["run_id"]]["metrics"]["ua"] == pytest.approx(e["metrics"]["ua"])

    # the forget-accuracy hook changes nothing: the same config through the plain API gives the same run
    plain = ul.run(SCENARIO["dataset"], SCENARIO["model"], SCENARIO["forget"], ["ft"], overrides={"ft": {"epochs": 2}},
                   train=SCENARIO["train"], store=tmp_path / "plain")
    for key in ("ua", "ra", "ta", "privacy_score"):
        assert finished[3]["metrics"][key] == pytest.approx(plain.run("ft").metrics[key], abs=1e-12)

    # a late subscriber gets the whole log; Last-Event-ID (or ?after=) resumes after an event
    assert read_events(client, job["id"]) == events
    assert read_events(client, job["id"], headers={"Last-Event-ID": "5"}) == events[6:]
    assert read_events(client, job["id"], params={"after": len(events) - 2}) == events[-1:]
    r = client.get(f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": "x"})
    assert_one_line_error(r, 400, "Last-Event-ID")
    assert_one_line_error(client.post(f"/api/jobs/{job['id']}/cancel"), 409, "already finished")
    assert [j["id"] for j in client.get("/api/jobs").json()] == [job["id"]]


def test_cancel_a_queued_job_and_running_ones(client, comparison):
    # A: cached references, then a long ft; B: queued behind A; C: a new scenario (references train)
    long_ft = {**SCENARIO, "methods": ["ft"], "grids": {"ft": {"epochs": [500]}}}
    a = client.post("/api/jobs", json=long_ft).json()
    b = client.post("/api/jobs", json={**SCENARIO, "methods": ["ga"]}).json()
    c = client.post("/api/jobs", json={**SCENARIO, "seed": 11, "train": {"epochs": 500}, "methods": ["ga"]}).json()
    assert client.get(f"/api/jobs/{b['id']}").json()["queue_position"] in (1, 2)

    r = client.post(f"/api/jobs/{b['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert [e["type"] for e in read_events(client, b["id"])] == ["job_queued", "job_cancelled"]

    def cancel_once_training(job_id, method):
        sent = []

        def on_event(event):
            if event["type"] in ("progress", "epoch") and event["method"] == method and not sent:
                sent.append(client.post(f"/api/jobs/{job_id}/cancel"))
        events = read_events(client, job_id, on_event=on_event)
        assert sent and sent[0].status_code == 200 and sent[0].json()["cancel_requested"]
        return events

    events = cancel_once_training(a["id"], "ft")
    assert events[-1]["type"] == "job_cancelled" and "cancel_requested" in [e["type"] for e in events]
    ft_run = [e for e in events if e["type"] == "run_finished" and e["method"] == "ft"]
    assert len(ft_run) == 1 and ft_run[0]["status"] == "cancelled"
    stored = client.get(f"/api/runs/{ft_run[0]['run_id']}").json()
    assert stored["status"] == "cancelled" and stored["steps"] < 500 * 12

    events = cancel_once_training(c["id"], "references")
    assert events[-1]["type"] == "job_cancelled"
    job_c = client.get(f"/api/jobs/{c['id']}").json()
    assert job_c["status"] == "cancelled" and len(job_c["run_ids"]) == 1
    assert client.get(f"/api/runs/{job_c['run_ids'][0]}").json()["status"] == "cancelled"

    statuses = {j["id"]: j["status"] for j in client.get("/api/jobs").json()}
    assert statuses == {a["id"]: "cancelled", b["id"]: "cancelled", c["id"]: "cancelled"}
    assert client.get("/api/health").json()["jobs"] == {"cancelled": 3}


def test_shutdown_cancels_what_is_left(store_copy):
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    app = create_app(store_copy)
    with TestClient(app) as c:
        ids = [c.post("/api/jobs", json={**SCENARIO, "methods": ["ft"], "grids": {"ft": {"epochs": [500]}}}).json()["id"]
               for _ in range(2)]
    jobs = app.state.jobs
    assert [jobs.get(i).status for i in ids] == ["cancelled", "cancelled"]
    assert not jobs._thread.is_alive()


def test_the_progress_hook_leaves_the_model_as_it_found_it():
    from unlearnlab.models import create_model
    from unlearnlab.server.jobs import Job, JobPlan, JobProgress
    from unlearnlab.server.schemas import JobRequest

    from unlearnlab.server.jobs import plan_job

    plan: JobPlan = plan_job(JobRequest(**SCENARIO, methods=[]))
    progress = JobProgress(Job("0123456789ab", plan))
    progress.set_forget(plan.build())
    model = create_model("mlp", (1, 8, 8), 10)
    model.train()
    model.head.eval()  # a mixed-mode model keeps each module's mode
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = torch.get_rng_state()
    acc = progress._forget_accuracy(model)
    assert 0 <= acc <= 1 and model.training and not model.head.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(state, torch.get_rng_state())
    assert progress._forget_accuracy(torch.nn.Linear(64, 10)) is None  # not a classifier (e.g. LAF's VAE)


def test_a_job_whose_original_diverges_fails_with_the_reason(client):
    body = {**SCENARIO, "seed": 3, "train": {"epochs": 2, "lr": 1e30}, "methods": ["ft"]}
    job = client.post("/api/jobs", json=body).json()
    events = read_events(client, job["id"])
    assert events[-1]["type"] == "job_failed" and "diverged" in events[-1]["error"]
    assert client.get(f"/api/jobs/{job['id']}").json()["status"] == "failed"


def test_a_forget_request_that_does_not_fit_the_data_fails_the_job_with_one_line(client):
    # the data set is built in the job (not in the request), so what depends on it is checked there
    r = client.post("/api/jobs", json=_job(forget="class:12"))
    assert r.status_code == 202, r.text
    events = read_events(client, r.json()["id"])
    assert events[-1]["type"] == "job_failed" and "forget class 12 is out of range" in events[-1]["error"]
    assert "\n" not in events[-1]["error"] and "references_started" not in [e["type"] for e in events]


def test_a_poisoned_job_reports_the_attack_success_rate(client):
    r = client.post("/api/jobs", json=_job(poison="badnets:0.1", forget="poison:0.5", grids={}))
    assert r.status_code == 202, r.text
    events = read_events(client, r.json()["id"])
    assert events[-1]["type"] == "job_done", events[-1]
    finished = [e for e in events if e["type"] == "run_finished"]
    assert all(0 <= e["metrics"]["asr"] <= 1 for e in finished)
    sid = client.get(f"/api/jobs/{r.json()['id']}").json()["scenario_id"]
    summary = next(s for s in client.get("/api/scenarios").json() if s["id"] == sid)
    assert summary["poison"]["spec"] == "badnets:0.1,target=0" and summary["forget"] == "poison:0.5"
    screen = client.get(f"/api/scenarios/{sid}/runs").json()["runs"]
    assert {row["method"] for row in screen} == {"original", "retrain", "ft"}
    assert all(row["metrics"]["asr"] is not None for row in screen)


@pytest.fixture
def blocked_loader(monkeypatch):
    """The job's data set loader, held until `release` is set: a slow build without any timing. It
    records the thread it ran in; outside the job worker it does not block (so a handler that builds
    the data set itself fails the test instead of hanging it)."""
    import threading

    import unlearnlab.server.jobs as jobs_module

    real = jobs_module.load_dataset
    state = {"threads": [], "entered": threading.Event(), "release": threading.Event()}

    def slow(*args, **kwargs):
        state["threads"].append(threading.current_thread().name)
        if threading.current_thread().name == "unlearnlab-jobs":
            state["entered"].set()
            assert state["release"].wait(120), "the test never released the loader"
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs_module, "load_dataset", slow)
    yield state
    state["release"].set()


def test_the_data_set_is_built_in_the_job_and_a_slow_build_can_be_cancelled(client, blocked_loader):
    r = client.post("/api/jobs", json=GOOD)
    assert r.status_code == 202, r.text  # answered while the build is still held
    job = r.json()
    assert job["scenario_id"] is None and job["status"] in ("queued", "running")
    assert blocked_loader["entered"].wait(120)
    assert blocked_loader["threads"] == ["unlearnlab-jobs"]
    assert client.get(f"/api/jobs/{job['id']}").json()["current"]["phase"] == "building the data set"
    cancel = client.post(f"/api/jobs/{job['id']}/cancel")
    assert cancel.status_code == 200 and cancel.json()["cancel_requested"]
    blocked_loader["release"].set()
    events = read_events(client, job["id"])
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "job_cancelled" and "references_started" not in kinds and events[-1]["run_ids"] == []


def test_pending_jobs_are_capped(client, blocked_loader):
    manager = client.app.state.jobs
    manager.max_pending = 2
    first = client.post("/api/jobs", json=GOOD).json()
    assert blocked_loader["entered"].wait(120)  # running (held in its build); the next one queues
    second = client.post("/api/jobs", json=GOOD).json()
    assert second["status"] == "queued"
    assert_one_line_error(client.post("/api/jobs", json=GOOD), 429, "2 jobs are queued or running")
    assert client.post(f"/api/jobs/{second['id']}/cancel").status_code == 200
    third = client.post("/api/jobs", json=GOOD)  # room again
    assert third.status_code == 202, third.text
    for job in (first, third.json()):
        client.post(f"/api/jobs/{job['id']}/cancel")
    blocked_loader["release"].set()
    assert read_events(client, third.json()["id"])[-1]["type"] == "job_cancelled"


def test_finished_jobs_stay_within_their_limit(tmp_path, monkeypatch):
    """Jobs finish after they were submitted: the limit must hold once they have, not only at submission."""
    import threading

    from unlearnlab.server.jobs import AuditPlan, JobManager

    manager = JobManager(tmp_path, max_finished=2)
    gate = threading.Event()
    monkeypatch.setattr(manager, "_run_audit", lambda job, store, plan: gate.wait(120))
    jobs = [manager.submit(AuditPlan({}, "0" * 12, "0" * 16, "ft", {}, "retrain", 6)) for _ in range(4)]
    gate.set()
    idle = threading.Event()
    for _ in range(12_000):  # the worker runs them in order: the last one finishes last
        if jobs[-1].done:
            break
        idle.wait(0.01)
    manager.shutdown()
    assert [j.status for j in jobs] == ["done"] * 4
    assert [j.id for j in manager.all()] == [j.id for j in jobs[-2:]]


def test_rerun_runs_a_finished_configuration_again(client, comparison):
    stored_ft = comparison.run("ft").run_id
    reused = read_events(client, client.post("/api/jobs", json={**SCENARIO, "methods": ["ft"]}).json()["id"])
    [ft] = [e for e in reused if e["type"] == "run_finished" and e["method"] == "ft"]
    assert ft["run_id"] == stored_ft and ft["cached"]
    again = read_events(client, client.post("/api/jobs", json={**SCENARIO, "methods": ["ft"], "rerun": True}).json()["id"])
    [ft] = [e for e in again if e["type"] == "run_finished" and e["method"] == "ft"]
    assert ft["run_id"] != stored_ft and not ft["cached"] and ft["status"] == "done"


def test_a_regression_job_skips_the_classification_methods_and_stores_regression_metrics(client):
    body = {"dataset": "diabetes", "model": "mlp", "forget": "random:0.1", "seed": 0, "train": {"epochs": 2},
            "methods": ["ft", "salun", "blindspot"]}
    job = client.post("/api/jobs", json=body).json()
    events = read_events(client, job["id"])
    assert events[-1]["type"] == "job_done", events[-1]
    skipped = [e for e in events if e["type"] == "method_skipped"]
    assert [e["method"] for e in skipped] == ["salun"] and "needs classification" in skipped[0]["reason"]
    finished = {e["method"]: e for e in events if e["type"] == "run_finished"}
    assert set(finished) == {"original", "retrain", "ft", "blindspot"}
    for run in finished.values():
        assert run["status"] == "done" and run["metrics"]["forget_mae"] is not None
        assert "ua" not in run["metrics"]
    stored = client.get(f"/api/runs/{finished['blindspot']['run_id']}").json()
    assert stored["metrics"]["loss_mia"] is not None
    attack = client.get(f"/api/runs/{finished['blindspot']['run_id']}/attack")
    assert_one_line_error(attack, 422, "is a regression run; the threshold attack reads class probabilities")
