"""`unlearnlab attack`: the generative attacks from the command line, every run of a scenario read against θ_r;
bad input exit 2 in one line, nothing written."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from unlearnlab.cli import app
from unlearnlab.store import Store

from .generative_fixtures import tiny_generative_run

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-attack")
    result = tiny_generative_run(root)
    return root, result.scenario["id"], {r.method: r.run_id for r in result.runs}


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_attack_every_run_of_a_scenario(store, tmp_path) -> None:
    root, sid, runs = store
    out = tmp_path / "a.json"
    r = _invoke("attack", "--scenario", sid, "--steps", 3, "--images", 4, "--n", 8, "--store", root, "--json", out)
    assert r.exit_code == 0, r.output
    assert "embedding attack on class 3" in r.output and "ft_retain" in r.output
    results = json.loads(out.read_text())
    assert [x["method"] for x in results] == ["retrain", "original", "ft_retain"]
    assert all(x["n_samples"] == 8 and x["budget"]["steps"] == 3 for x in results)
    assert results[2]["versus_retrain"]["retrain_audit_id"] == results[0]["id"]
    r = _invoke("attack", runs["ft_retain"], "--kind", "relearn", "--steps", 2, "--images", 4, "--n", 8,
                "--store", root)
    assert r.exit_code == 0, r.output and "relearn attack" in r.output


@pytest.mark.parametrize("args,needle", [
    (["--kind", "relearn", "--radius", "1"], "unknown relearn attack option 'radius'"),
    (["--kind", "nope"], "attack='nope' is not allowed"),
    (["--radius", "20"], "radius"),
    (["--n", "1"], "samples"),
])
def test_bad_input_is_one_line_exit_2(store, args, needle) -> None:
    root, _, runs = store
    before = len(Store(root).audits())
    r = _invoke("attack", runs["ft_retain"], *args, "--store", root)
    assert r.exit_code == 2, r.output
    assert needle in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert len(Store(root).audits()) == before


def test_neither_or_both_targets_and_classifier_scenarios(store) -> None:
    root, sid, runs = store
    for args in ([], [runs["ft_retain"], "--scenario", sid]):
        r = _invoke("attack", *args, "--store", root)
        assert r.exit_code == 2 and "give run ids or --scenario" in r.output, r.output
    r = _invoke("audit", runs["ft_retain"], "--store", root)
    assert r.exit_code == 2 and "unlearnlab attack" in r.output, r.output


def test_runs_lists_the_tasks_own_metrics(store) -> None:
    """`unlearnlab runs` shows a generative run's forget rate and kept accuracy, not a classifier's UA/TA."""
    root, _, runs = store
    r = _invoke("runs", "--store", root)
    assert r.exit_code == 0, r.output
    assert "Forget rate" in r.output and "Kept acc." in r.output and " UA " not in r.output
    stored = Store(root).run(runs["original"]).metrics["forget_rate"]
    row = next(line for line in r.output.splitlines() if runs["original"] in line)
    assert f"{100 * stored:.2f}" in row
