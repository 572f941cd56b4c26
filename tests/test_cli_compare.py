"""`unlearnlab compare A B` as a user drives it: the summary, the --json file, and bad input (exit 2,
one line, nothing written). Uses the session's default store; the comparison of (original, rl) is
the one tests/analysis/test_compare.py computes, so in one session it comes from the store's cache."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from unlearnlab.cli import app
from unlearnlab.store import Store

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def no_store_env(monkeypatch):
    monkeypatch.delenv("UNLEARNLAB_STORE", raising=False)


@pytest.fixture(scope="module")
def ids(default_classwise):
    return {r.method: r.run_id for r in default_classwise.runs}


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, repr(result.exception))
    assert "Traceback" not in result.output and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(n in lines[0] for n in needles), (needles, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def compared(default_store, ids, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "compare.json"
    result = cli("compare", ids["original"], ids["rl"], "--store", default_store, "--json", out)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout, json.loads(out.read_text())


def test_json_holds_every_analysis(compared, ids):
    _, payload = compared
    assert {"scenario", "models", "per_class", "prediction_matrices", "cka", "embedding", "instances"} <= set(payload)
    assert payload["models"]["A"]["run_id"] == ids["original"] and payload["models"]["B"]["method"] == "rl"
    assert payload["cka"]["blocks"] == ["conv1", "conv2", "conv3", "head"]
    assert len(payload["instances"]) == len(payload["embedding"]["indices"]) == 500


def test_summary_prints_per_class_accuracy_cka_and_categories(compared, ids):
    stdout, payload = compared
    for needle in ("Per-class accuracy", "Linear CKA, A~B", "target forgotten", "correctly kept", ids["rl"],
                   "B−A test", "conv3"):
        assert needle in stdout, needle
    # class 3: θ_o knows it, rl has forgotten it; the row shows both and their difference
    a3 = payload["per_class"]["test"]["A"][3]
    assert f"{100 * a3:.2f}" in stdout and f"{-100 * a3:.2f}" in stdout


def test_unknown_run_is_one_line_and_writes_nothing(default_store, ids, tmp_path):
    out = tmp_path / "x.json"
    assert_one_line_error(cli("compare", ids["rl"], "nope", "--store", default_store, "--json", out), "'nope'")
    assert not out.exists()


def test_runs_of_different_scenarios_exit_2(tmp_path):
    store = Store(tmp_path / "store")
    run_ids = []
    for sid in ("scenario1", "scenario2"):
        store.upsert_scenario(sid, {"dataset": {"name": "digits"}, "model": {"name": "cnn"}, "forget": "class:3",
                                    "seed": 0})
        run_ids.append(store.start_run(sid, "ft", {}, 0))
        store.finish_run(run_ids[-1], metrics={}, run_time_s=0.0, steps=0, samples=0)
    out = tmp_path / "x.json"
    assert_one_line_error(cli("compare", *run_ids, "--store", store.root, "--json", out), "different scenarios",
                          *run_ids)
    assert not out.exists()


def test_bad_json_path_and_missing_store_exit_2(default_store, ids, tmp_path):
    out = tmp_path / "missing" / "x.json"
    assert_one_line_error(cli("compare", ids["original"], ids["rl"], "--store", default_store, "--json", out),
                          "--json", "does not exist")
    assert_one_line_error(cli("compare", ids["original"], ids["rl"], "--store", tmp_path / "nowhere"),
                          "no store")
    assert not (tmp_path / "nowhere").exists()
