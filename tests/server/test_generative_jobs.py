"""Generative (ddpm) jobs through the API: planned with the CLI's checks and messages, run by the worker through
the generative runner (θ_o, θ_r, then one run per configuration, with the classifier jobs' events), cancelled
at a step boundary; and what /api/options and /api/models say about generative models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import unlearnlab as ul
from unlearnlab.methods import METHODS

from .helpers import assert_one_line_error, read_events

#: The smallest generative job that trains, unlearns and samples (seconds on a 2-core CPU).
TRAIN = {"steps": 30, "batch_size": 32}
GEN = {"width": 16, "depth": 1, "timesteps": 20, "n_per_class": 4, "sample_steps": 2, "gallery": 2}
TINY = {"model": "ddpm", "forget": "class:3", "train": TRAIN, "gen": GEN, "methods": ["ft_retain"],
        "grids": {"ft_retain": {"steps": [2, 3]}}}


@pytest.fixture
def empty_client(tmp_path):
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    with TestClient(create_app(tmp_path / "store")) as c:
        yield c


def test_a_ddpm_job_runs_every_configuration_and_equals_the_cli_run(empty_client, tmp_path):
    client = empty_client
    r = client.post("/api/jobs", json=TINY)
    assert r.status_code == 202, r.text
    job = r.json()
    assert [(c["method"], c["hparams"]["steps"]) for c in job["configs"]] == [("ft_retain", 2), ("ft_retain", 3)]
    events = read_events(client, job["id"])
    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["job_queued", "job_started", "references_started"] and kinds[-1] == "job_done", events[-1]
    assert kinds.count("method_started") == 2 and "epoch" in kinds
    finished = [e for e in events if e["type"] == "run_finished"]
    assert [e["method"] for e in finished] == ["original", "retrain", "ft_retain", "ft_retain"]
    assert all(e["status"] == "done" for e in finished)
    assert [e["hparams"]["steps"] for e in finished[2:]] == [2, 3]
    for e in finished:
        assert 0 <= e["metrics"]["forget_rate"] <= 1 and 0 <= e["metrics"]["kept_accuracy"] <= 1

    done = client.get(f"/api/jobs/{job['id']}").json()
    assert done["status"] == "done" and done["run_ids"] == [e["run_id"] for e in finished]
    assert client.get(f"/api/scenarios/{done['scenario_id']}").json()["task"] == "generation"
    gallery = client.get(f"/api/runs/{finished[2]['run_id']}/gallery").json()
    assert [k["label"] for k in gallery["classes"] if k["forgotten"]] == [3]
    assert all(len(k["images"]) == GEN["gallery"] for k in gallery["classes"])

    # the same request through the library: the same scenario and, same seed same bits, the same numbers
    plain = ul.api.run(model="ddpm", forget="class:3", methods=["ft_retain"], train=TRAIN,
                       overrides={"gen": GEN, "ft_retain": {"steps": 2}}, store=tmp_path / "plain")
    assert plain.scenario["id"] == done["scenario_id"]
    for key in ("forget_rate", "kept_accuracy", "fd_kept"):
        assert finished[2]["metrics"][key] == plain.run("ft_retain").metrics[key]

    # submitted again, every run is reused from the store
    again = read_events(client, client.post("/api/jobs", json=TINY).json()["id"])
    assert all(e["cached"] for e in again if e["type"] == "run_finished")


def test_a_running_ddpm_job_is_cancelled_at_a_step(empty_client):
    client = empty_client
    job = client.post("/api/jobs", json={**TINY, "train": {"steps": 200_000, "batch_size": 32}}).json()
    sent = []

    def on_event(event):
        if event["type"] == "progress" and not sent:
            sent.append(client.post(f"/api/jobs/{job['id']}/cancel"))

    events = read_events(client, job["id"], on_event=on_event)
    assert sent and sent[0].status_code == 200 and events[-1]["type"] == "job_cancelled"
    state = client.get(f"/api/jobs/{job['id']}").json()
    assert state["status"] == "cancelled" and len(state["run_ids"]) == 1
    run = client.get(f"/api/runs/{state['run_ids'][0]}").json()
    assert run["method"] == "original" and run["status"] == "cancelled"


BAD = [
    ({"methods": ["ft"]}, "method 'ft' needs classification or regression; generation supports:"),
    ({"forget": "random:0.1"}, "generation supports: class:C"),
    ({"forget": "class:12"}, "dataset 'digits' has classes 0..9"),
    ({"gen": {**GEN, "guidance": 25}}, "guidance scale 25.0 is not allowed"),
    ({"gen": {**GEN, "sample_steps": 21}}, "sampling steps 21 is not allowed; it must be an integer in [1, 20]"),
    ({"gen": {"colour": 3}}, "unknown generation option gen.colour; allowed: guidance"),
    ({"gen": {"width": 2.5}}, "gen.width=2.5 is not allowed; it must be an integer"),
    ({"gen": {"width": 10**6}}, "gen.width=1000000"),
    ({"train": {"epochs": 3}}, "unknown training option train.epochs for a generative model"),
    ({"train": {"lr": -1}}, "diffusion_train.lr"),
    ({"dataset": "diabetes"}, "cannot train a class-conditional generator"),
    ({"prune": 0.5}, "prune is not supported on generative model 'ddpm'"),
    ({"poison": "badnets:0.1"}, "poison is not supported on generative model 'ddpm'"),
    ({"preset": "fast-cifar10"}, "preset is not supported on generative model 'ddpm'"),
    ({"grids": {"ft_retain": {"nope": [1]}}}, "unknown hyper-parameter ft_retain.nope"),
    ({"model": "mlp", "methods": ["esd"], "gen": {}, "train": {}, "grids": {}},
     "method 'esd' needs generation; classification supports:"),
    ({"model": "mlp", "methods": ["ft"], "train": {}, "grids": {}}, "gen.* options apply to generative models"),
]


@pytest.mark.parametrize("change,needle", BAD, ids=[n[:30] for _, n in BAD])
def test_bad_ddpm_jobs_are_refused_in_one_line_and_nothing_is_written(empty_client, change, needle):
    client = empty_client
    assert_one_line_error(client.post("/api/jobs", json={**TINY, **change}), 422, needle)
    assert client.get("/api/jobs").json() == [] and client.get("/api/scenarios").json() == []


def test_planning_a_ddpm_job_leaves_the_global_generators_alone():
    from unlearnlab.server.jobs import GenerativePlan, plan_job
    from unlearnlab.server.schemas import JobRequest

    torch.manual_seed(5)
    np.random.seed(5)
    before = torch.get_rng_state(), np.random.get_state()[1].copy()
    plan = plan_job(JobRequest(model="ddpm"))
    assert torch.equal(before[0], torch.get_rng_state()) and (before[1] == np.random.get_state()[1]).all()
    # the default: every registered generation method, nothing else
    assert isinstance(plan, GenerativePlan)
    assert [c["method"] for c in plan.configs] == [n for n in METHODS.names() if "generation" in METHODS.get(n).tasks]


def test_options_and_models_describe_generative_models(empty_client):
    client = empty_client
    options = client.get("/api/options").json()
    assert "ddpm" in options["generative_models"]
    recipe = options["generation_train_defaults"]
    assert recipe["steps"] == 2000 and "epochs" not in recipe
    assert {"guidance", "sample_steps", "n_per_class", "gallery", "width", "depth"} <= set(options["gen_defaults"])
    by_task = options["task_methods"]
    assert set(by_task["generation"]) == {n for n in METHODS.names() if "generation" in METHODS.get(n).tasks}
    assert "ft" in by_task["classification"] and "ft" not in by_task["generation"]
    assert not set(by_task["generation"]) & set(by_task["classification"])
    models = {m["name"]: m for m in client.get("/api/models").json()}
    assert models["ddpm"]["task"] == "generation" and models["cnn"]["task"] == "classification"
    assert {p["name"] for p in models["ddpm"]["params"]} == {"width", "depth", "timesteps", "schedule", "p_uncond",
                                                               "prediction"}
