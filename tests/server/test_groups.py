"""Groups in the web API (issue 13): GET /api/datasets/groups lists what `group:G` may forget,
with each group's training and test counts, as a job with that seed would build the data (olivetti here,
as a tiny file in scikit-learn's format in the server's data root); and a job takes olivetti's own
parameters (`olivetti:unseen=N`), while a missing olivetti file is one line, never a download or a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from unlearnlab.server import create_app

from ..data.formats import tiny
from .helpers import assert_one_line_error, read_events
from .test_data_root import no_downloads  # noqa: F401  (a fixture: any download attempt fails the test)


@pytest.fixture(scope="module")
def olivetti_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("olivetti") / "data"
    with pytest.MonkeyPatch.context() as mp:  # the checksum table trusts the tiny file for this module only
        tiny("olivetti", root, mp)
        yield root


@pytest.fixture(scope="module")
def served(olivetti_root, tmp_path_factory):
    """One app (its analysis worker spawned once) over a data root holding olivetti only."""
    app = create_app(tmp_path_factory.mktemp("groups") / "store", data_root=olivetti_root)
    with TestClient(app) as c:
        yield c


def groups_answer(client, spec: str, **params):
    return client.get("/api/datasets/groups", params={"dataset": spec, **params})


def groups(client, spec: str, **params):
    r = groups_answer(client, spec, **params)
    assert r.status_code == 200, r.text
    return r.json()


def test_olivetti_lists_its_forty_persons_and_unseen_ones_follow_the_seed(served, no_downloads):  # noqa: F811
    every = groups(served, "olivetti")
    assert [g["group"] for g in every["groups"]] == [str(i) for i in range(40)] and every["note"] is None
    assert all(g["train"] + g["test"] == 10 and g["train"] >= 1 and g["test"] >= 1 for g in every["groups"])
    held = {}
    for seed in (0, 1):
        out = groups(served, "olivetti:unseen=5", seed=seed)
        assert out["dataset"] == "olivetti:unseen=5" and out["seed"] == seed
        unseen = [g for g in out["groups"] if g["train"] == 0]
        assert len(out["groups"]) == 40 and len(unseen) == 5 and all(g["test"] == 10 for g in unseen)
        held[seed] = {g["group"] for g in unseen}
    assert held[0] != held[1]  # the seed draws them, as it does for the job
    # what the picker fills in is what a job accepts: an unseen person is refused when the job builds the data
    listed = groups(served, "olivetti:unseen=5")["groups"]
    trained = next(g for g in listed if g["train"])
    r = served.post("/api/jobs", json={"dataset": "olivetti:unseen=5", "model": "mlp",
                                       "forget": f"group:{trained['group']}", "methods": ["ft"],
                                       "train": {"epochs": 1}, "grids": {"ft": {"epochs": [1]}}})
    assert r.status_code == 202, r.text
    events = read_events(served, r.json()["id"])
    assert events[-1]["type"] == "job_done", events[-1]
    done = served.get(f"/api/jobs/{r.json()['id']}").json()
    scenario = served.get(f"/api/scenarios/{done['scenario_id']}").json()
    assert scenario["dataset_params"]["unseen"] == 5 and scenario["forget"] == f"group:{trained['group']}"
    assert scenario["forget_size"] == trained["train"]  # the count the picker showed is what the job forgets
    ft = next(x for x in served.get(f"/api/scenarios/{done['scenario_id']}/runs").json()["runs"]
              if x["method"] == "ft")
    assert ft["status"] == "done" and ft["metrics"].get("identity_mia") is not None  # the unseen persons exist
    gone = next(g["group"] for g in listed if not g["train"])
    r = served.post("/api/jobs", json={"dataset": "olivetti:unseen=5", "model": "mlp", "forget": f"group:{gone}",
                                       "methods": ["ft"], "train": {"epochs": 1}})
    events = read_events(served, r.json()["id"])
    assert events[-1]["type"] == "job_failed" and "unseen" in events[-1]["error"]


def test_data_without_groups_lists_none_with_a_note(served, no_downloads):  # noqa: F811
    for spec in ("digits", "cifar10"):  # cifar10 is not even read: its official split has no group column
        out = groups(served, spec)
        assert out["groups"] == [] and f"'{spec}' has no groups" in out["note"]


@pytest.mark.parametrize(("spec", "needles"), [
    ("arrays:x.npz", ("reads files",)),
    ("olivetti:unseen=-1", ("unseen=-1", ">= 0")),
    ("olivetti:unseen=x", ("unseen='x'", "integer")),
    ("olivetti:data_root=elsewhere", ("path",)),
    ("cifar10:test_size=0.3", ("official split",)),
    ("nosuchset", ("nosuchset",)),
])
def test_bad_specs_are_one_line(served, spec, needles, no_downloads):  # noqa: F811
    assert_one_line_error(served.get("/api/datasets/groups", params={"dataset": spec}), 422, *needles)


def test_olivetti_unseen_out_of_range_is_one_line(served, no_downloads):  # noqa: F811
    assert_one_line_error(groups_answer(served, "olivetti:unseen=39"), 422, "unseen=39", "[0, 38]")


def test_a_missing_olivetti_file_is_one_line_for_the_groups_and_the_job(tmp_path, no_downloads):  # noqa: F811
    root = tmp_path / "empty"
    root.mkdir()
    with TestClient(create_app(tmp_path / "store", data_root=root)) as c:
        sets = {d["name"]: d for d in c.get("/api/datasets").json()}
        assert sets["olivetti"]["web"] and not sets["olivetti"]["present"]
        assert {p["name"] for p in sets["olivetti"]["params"]} == {"test_size", "unseen"}  # no path, no seed
        for answer in (groups_answer(c, "olivetti:unseen=5"),
                       c.post("/api/jobs", json={"dataset": "olivetti:unseen=5", "forget": "group:3"})):
            assert_one_line_error(answer, 422, "olivettifaces.mat", "does not download")
        assert c.get("/api/jobs").json() == []
    assert list(root.iterdir()) == []
