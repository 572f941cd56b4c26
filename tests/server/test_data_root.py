"""The server's data root, standard data sets and presets: /api/datasets says which data sets' files are
present (cifar10 here, as tiny files in CIFAR's own format) and what a missing one needs, /api/presets
lists the presets with their data's presence, /api/models includes entry-point models, and a job may
name a preset (resolved as the CLI does). Refused with one line: a client's path, an unknown preset,
a data set whose files are missing. Nothing is ever downloaded (every download attempt fails the test)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from unlearnlab.data import download
from unlearnlab.presets import resolve
from unlearnlab.server import create_app
from unlearnlab.server.jobs import plan_job
from unlearnlab.server.schemas import JobRequest

from ..data.formats import tiny
from .helpers import assert_one_line_error, read_events

#: A cifar10 job that runs in seconds on the tiny files (40 training images).
TINY_JOB = {"dataset": "cifar10", "model": "mlp", "forget": "class:0", "train": {"epochs": 1},
            "methods": ["ga"], "grids": {"ga": {"epochs": [1]}}}


@pytest.fixture
def no_downloads(monkeypatch):
    """Any download attempt fails the test: the server must never start one."""
    attempts = []

    def refuse(url, *args, **kwargs):
        attempts.append(url)
        raise AssertionError(f"the server tried to download {url}")

    monkeypatch.setattr(download, "urlopen", refuse)
    yield attempts
    assert attempts == []


@pytest.fixture
def data_root(tmp_path, monkeypatch, no_downloads):
    """A data root holding tiny CIFAR-10 files (trusted by the checksum table) and nothing else."""
    root = tmp_path / "data"
    root.mkdir()
    tiny("cifar10", root, monkeypatch)
    return root


@pytest.fixture
def app_client(tmp_path, data_root):
    with TestClient(create_app(tmp_path / "store", data_root=data_root)) as c:
        yield c


def test_datasets_say_which_standard_files_are_present_and_what_a_missing_one_needs(app_client, data_root):
    health = app_client.get("/api/health").json()
    assert health["data_root"] == str(data_root) and health["data_root_source"] == "--data-root"
    sets = {d["name"]: d for d in app_client.get("/api/datasets").json()}
    assert {"cifar10", "cifar100", "cifar20", "mnist", "fashion_mnist", "svhn"} <= set(sets)
    c10, c100 = sets["cifar10"], sets["cifar100"]
    assert c10["standard"] and c10["web"] and c10["present"] and c10["missing"] is None
    assert c10["params"] == []  # no data_root (a path), no test_size (the official split), no seed
    assert c100["standard"] and c100["web"] and not c100["present"]
    assert "\n" not in c100["missing"]
    for needle in ("'cifar100'", "cifar-100-python/train", f"missing under {data_root}", "does not download",
                   "cifar-100-python.tar.gz", "https://www.cs.toronto.edu/~kriz/"):
        assert needle in c100["missing"], (needle, c100["missing"])
    assert "svhn" in sets and "train_32x32.mat" in sets["svhn"]["missing"]
    assert sets["digits"]["present"] and not sets["digits"]["standard"] and sets["digits"]["missing"] is None
    assert not sets["arrays"]["web"]


def test_a_data_root_that_does_not_exist_is_refused_at_start_and_reported_when_it_comes_from_elsewhere(
        tmp_path, monkeypatch, no_downloads):
    from unlearnlab.errors import BadInput

    with pytest.raises(BadInput, match=r"data root .*nowhere.* does not exist"):
        create_app(tmp_path / "store", data_root=tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()
    monkeypatch.setenv("UNLEARNLAB_DATA", str(tmp_path / "gone"))
    with TestClient(create_app(tmp_path / "store")) as client:
        assert client.get("/api/health").json()["data_root_source"] == "$UNLEARNLAB_DATA"
        c10 = {d["name"]: d for d in client.get("/api/datasets").json()}["cifar10"]
        assert not c10["present"] and "the data root" in c10["missing"] and "does not exist" in c10["missing"]
    assert not (tmp_path / "gone").exists()


def test_presets_are_listed_as_the_cli_lists_them_with_their_data_presence(app_client):
    from unlearnlab import api

    listed = {p["name"]: p for p in app_client.get("/api/presets").json()}
    cli = {p["name"]: p for p in api.presets()}
    assert set(listed) == set(cli) >= {"salun-cifar10", "comparator-cifar10", "fast-cifar10"}
    for name, p in listed.items():
        for key in ("paper", "dataset", "model", "recipe", "forget", "methods", "method_params", "notes"):
            assert p[key] == cli[name][key], (name, key)
        assert p["train"]["epochs"] == cli[name]["train"]["epochs"]
        assert p["data_present"] and p["data_missing"] is None  # all three are CIFAR-10, which is present


def test_preset_data_missing_is_reported(tmp_path, no_downloads):
    empty = tmp_path / "empty"
    empty.mkdir()
    with TestClient(create_app(tmp_path / "store", data_root=empty)) as client:
        fast = {p["name"]: p for p in client.get("/api/presets").json()}["fast-cifar10"]
        assert not fast["data_present"] and "cifar-10-batches-py/data_batch_1" in fast["data_missing"]
        r = client.post("/api/jobs", json={"preset": "fast-cifar10"})
        assert_one_line_error(r, 422, "'cifar10'", f"missing under {empty}", "cifar-10-python.tar.gz")
        assert client.get("/api/jobs").json() == []


def test_models_include_entry_point_models(app_client, monkeypatch):
    from importlib.metadata import EntryPoint

    from unlearnlab import registry
    from unlearnlab.models import MODELS, reference

    monkeypatch.setattr(MODELS, "_items", dict(MODELS._items))
    monkeypatch.setattr(reference, "_loaded", False)
    monkeypatch.setattr(reference, "PLUGIN_ERRORS", {})
    monkeypatch.setattr(reference, "PLUGIN_MODELS", {})
    found = [EntryPoint("tvnet", "tests.models.test_adapter:TorchvisionStyle", reference.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(registry, "entry_points", lambda group: found if group == reference.ENTRY_POINT_GROUP else [])
    models = {m["name"]: m for m in app_client.get("/api/models").json()}
    assert models["tvnet"]["source"] == "entry point" and models["mlp"]["source"] == "built-in"
    # and a job may use it (validated before queueing: its name is registered now)
    plan = plan_job(JobRequest(**{**TINY_JOB, "model": "tvnet"}), app_client.app.state.data_root)
    assert plan.model == "tvnet"


BAD = [
    ({"dataset": "cifar10", "dataset_params": {"data_root": "/etc"}}, ("'data_root' is a path", "its own data root")),
    ({"dataset": "cifar10:data_root=/etc"}, ("'data_root' is a path",)),
    ({"dataset": "cifar10", "dataset_params": {"test_size": 0.2}}, ("takes no parameters", "official split")),
    ({"dataset": "cifar100"}, ("'cifar100'", "cifar-100-python/train", "missing under", "does not download")),
    ({"dataset": "cifar20", "forget": "class:1"}, ("'cifar20'", "cifar-100-python.tar.gz")),
    ({"preset": "salun-cifar11"}, ("salun-cifar11", "salun-cifar10")),
    ({"preset": "fast-cifar10", "dataset": "mnist"}, ("'mnist'", "MNIST/raw/")),
    ({"preset": "fast-cifar10", "grids": {"scrub": {"lr": [0.1]}}}, ("grids names method 'scrub'",)),
    ({"preset": "fast-cifar10", "train": {"milestones": 0.5}}, ("train.milestones",)),
]


@pytest.mark.parametrize("body,needles", BAD, ids=[n[0] for _, n in BAD])
def test_refusals_are_one_line_before_queueing(app_client, body, needles):
    assert_one_line_error(app_client.post("/api/jobs", json={**TINY_JOB, **body} if "preset" not in body else body),
                          422, *needles)
    assert app_client.get("/api/jobs").json() == []


def test_a_preset_is_resolved_as_the_cli_resolves_it(app_client, data_root):
    body = {"preset": "fast-cifar10", "model": "mlp", "forget": "random:4", "methods": ["ga", "ft"],
            "train": {"epochs": 1}, "grids": {"ga": {"lr": [0.001, 0.002]}}}
    plan = plan_job(JobRequest(**body), data_root)
    cli = resolve("fast-cifar10", model="mlp", forget="random:4", methods=["ga", "ft"], train={"epochs": 1},
                  overrides={"ga": {"lr": [0.001, 0.002]}})
    assert (plan.dataset, plan.model, plan.data_root) == ("cifar10", "mlp", data_root)
    assert plan.train.to_dict() == cli.train
    assert plan.train.lr == 0.4 and plan.train.schedule == "onecycle" and plan.train.epochs == 1
    ga = [c["hparams"] for c in plan.configs if c["method"] == "ga"]
    assert [h["lr"] for h in ga] == [0.001, 0.002]  # the request's grid over the preset's lr
    preset_ga = resolve("fast-cifar10").overrides["ga"]
    assert all(h[k] == v for h in ga for k, v in preset_ga.items() if k != "lr")  # the preset's other values
    ft = next(m for m in plan.methods if m.name == "ft").get_params()
    assert all(ft[k] == v for k, v in cli.overrides["ft"].items())  # the preset's hyper-parameters of ft
    assert plan.request["preset"] == "fast-cifar10"
    assert plan.request["preset_overridden"] == cli.overridden
    assert "model=mlp" in cli.overridden and "train.epochs=1" in cli.overridden
    # nothing but the name: every field from the preset, its first forget request
    bare = plan_job(JobRequest(preset="fast-cifar10"), data_root)
    assert (bare.model, bare.request["forget"], bare.train.epochs) == ("fastnet", "class:0", 10)
    assert [m.name for m in bare.methods] == list(resolve("fast-cifar10").methods)
    assert bare.request["preset_overridden"] == []


def test_a_cifar10_job_from_a_preset_runs_on_the_servers_data_root(app_client, data_root):
    body = {"preset": "fast-cifar10", "model": "mlp", "forget": "class:0", "methods": ["ga"], "train": {"epochs": 1}}
    r = app_client.post("/api/jobs", json=body)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["request"]["dataset"] == "cifar10" and job["request"]["preset"] == "fast-cifar10"
    events = read_events(app_client, job["id"])
    assert events[-1]["type"] == "job_done", events[-1]
    done = app_client.get(f"/api/jobs/{job['id']}").json()
    scenario = app_client.get(f"/api/scenarios/{done['scenario_id']}").json()
    assert scenario["dataset"] == "cifar10" and scenario["n_train"] == 40 and scenario["forget_size"] == 3
    assert scenario["dataset_params"]["data_root"] == str(data_root)
    assert scenario["train"]["lr"] == 0.4 and scenario["train"]["augment"] == "crop_flip"
    runs = app_client.get(f"/api/scenarios/{done['scenario_id']}/runs").json()["runs"]
    assert sorted(r["method"] for r in runs) == ["ga", "original", "retrain"]
    assert all(r["status"] == "done" for r in runs)
    ga = next(r for r in runs if r["method"] == "ga")
    assert ga["hparams"]["lr"] == resolve("fast-cifar10").overrides["ga"]["lr"]
    # the Attack view reads D_f's labels from the files (present): class 0 only; the instance panel its images
    attack = app_client.get(f"/api/runs/{ga['id']}/attack").json()
    assert [s["label"] for s in attack["samples"]] == [0] * 3
    inputs = app_client.get(f"/api/scenarios/{done['scenario_id']}/inputs", params={"indices": "0,1"}).json()
    assert inputs["shape"] == [3, 32, 32] and inputs["kind"] == "image" and len(inputs["inputs"][0]) == 3072

    # once its files are gone, what would rebuild the data is refused with the line (never downloaded)
    (data_root / "cifar-10-batches-py" / "data_batch_3").unlink()
    retrain = next(r["id"] for r in runs if r["method"] == "retrain")
    for answer, status in ((app_client.get("/api/compare", params={"a": ga["id"], "b": retrain}), 409),
                           (app_client.post(f"/api/runs/{ga['id']}/audit", json={"refs": 6}), 409)):
        assert_one_line_error(answer, status, "cifar-10-batches-py/data_batch_3 missing under", "does not download")
    other = app_client.get(f"/api/scenarios/{done['scenario_id']}/inputs", params={"indices": "0"})
    assert_one_line_error(other, 422, "data_batch_3")
    assert [j["id"] for j in app_client.get("/api/jobs").json()] == [job["id"]]  # no audit job was queued


def test_a_job_whose_files_vanished_after_queueing_fails_with_the_line(app_client, data_root, monkeypatch):
    """The files are checked again in the job, just before they are read: never downloaded."""
    import unlearnlab.server.jobs as jobs_module

    real = jobs_module.missing_files
    calls = []

    def vanished_in_the_job(name, root):
        calls.append(name)
        if len(calls) == 1:  # the check at submission: present
            return real(name, root)
        (data_root / "cifar-10-batches-py" / "test_batch").unlink(missing_ok=True)
        return real(name, root)

    monkeypatch.setattr(jobs_module, "missing_files", vanished_in_the_job)
    r = app_client.post("/api/jobs", json=TINY_JOB)
    assert r.status_code == 202, r.text
    events = read_events(app_client, r.json()["id"])
    assert events[-1]["type"] == "job_failed"
    error = events[-1]["error"]
    assert "\n" not in error and "cifar-10-batches-py/test_batch missing under" in error
    assert "does not download" in error and not (data_root / "cifar-10-batches-py" / "test_batch").exists()


def test_serve_passes_its_data_root_and_refuses_one_that_does_not_exist(tmp_path, data_root, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from unlearnlab.cli import app

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: calls.append(application))
    result = CliRunner().invoke(app, ["serve", "--store", str(tmp_path / "s"), "--data-root", str(data_root)])
    assert result.exit_code == 0, result.output
    assert calls[0].state.data_root == data_root and f"data root {data_root}" in result.output
    result = CliRunner().invoke(app, ["serve", "--store", str(tmp_path / "s2"), "--data-root", str(tmp_path / "typo")])
    assert result.exit_code == 2 and "does not exist" in result.output and len(calls) == 1
    assert not (tmp_path / "s2").exists() and not (tmp_path / "typo").exists()  # nothing written
