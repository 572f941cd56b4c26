"""Sweeps: a plan's cells and grid points, bad plans refused before anything is written, a failing method that
does not stop the sweep, and a sweep killed with SIGKILL and started again that re-runs nothing finished."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import unlearnlab as ul
from unlearnlab.cli import app
from unlearnlab.methods import METHODS, Method
from unlearnlab.store import Store
from unlearnlab.sweeps import Cell, parse_plan

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_a_plan_expands_to_its_cells_and_each_methods_grid_points():
    plan = parse_plan({"datasets": ["digits"], "model": "mlp", "forget": ["class:3", "random:0.1"],
                       "seeds": [0, 1, 2], "methods": ["ft", "ga"], "train": {"epochs": 1},
                       "grid": {"ft": {"lr": [0.01, 0.02], "epochs": [1, 2]}}})
    assert plan.cells == [Cell("digits", False, f, s) for f in ("class:3", "random:0.1") for s in (0, 1, 2)]
    assert plan.points == [("ft", {"lr": 0.01, "epochs": 1}), ("ft", {"lr": 0.01, "epochs": 2}),
                           ("ft", {"lr": 0.02, "epochs": 1}), ("ft", {"lr": 0.02, "epochs": 2}), ("ga", {})]
    assert plan.train == {"epochs": 1} and plan.model == "mlp" and plan.store is None
    assert plan.cells[4].label == "digits random:0.1 seed 1"


GOOD = 'datasets = ["digits"]\nmodel = "mlp"\nforget = ["class:3"]\nmethods = ["ft"]\n'
GOOD_PLAN = {"datasets": ["digits"], "model": "mlp", "forget": ["class:3"], "methods": ["ft"]}


@pytest.mark.parametrize("text,needle", [
    ('datasets = ["digits"\n', "is not valid TOML"),
    ('datasets = ["digits"]\nforget = ["class:3"]\nmethods = ["ft"]\nx = = 1\n', "line 5"),
    (GOOD + "seed = 3\n", "unknown key 'seed'"),
    ('forget = ["class:3"]\nmethods = ["ft"]\n', "exactly one of datasets"),
    ('datasets = ["nope"]\nforget = ["class:3"]\nmethods = ["ft"]\n', "unknown dataset 'nope'"),
    ('presets = ["nope"]\n', "unknown preset 'nope'"),
    ('presets = ["fast-cifar10"]\n[grid.scrub]\nalpha = [0.1]\n', "grid.scrub names a method preset fast-cifar10"),
    ('presets = ["fast-cifar10"]\nmethods = ["ft"]\n[grid.ft]\nlr = [0.1, -1.0]\n', "lr=-1.0"),
    (GOOD.replace('"ft"', '"zz"'), "unknown method 'zz'"),
    (GOOD.replace('["class:3"]', '["class:99"]'), "class 99"),
    (GOOD.replace('["class:3"]', "[]"), "forget is empty"),
    (GOOD + "seeds = []\n", "seeds is empty"),
    (GOOD + 'seeds = ["a"]\n', "seeds holds 'a'"),
    (GOOD + "seeds = [0, -1]\n", "seeds holds -1"),
    (GOOD + f"seeds = [0, {2**32}]\n", f"seeds holds {2**32}"),
    (GOOD + "[grid.ft]\nlr = []\n", "grid.ft.lr is empty"),
    (GOOD + "[grid.ft]\n", "grid.ft is empty"),
    (GOOD + "[grid.ft]\nnope = [1]\n", "unknown hyper-parameter ft.nope"),
    (GOOD + "[grid.ft]\nlr = [0.1, -1.0]\n", "lr=-1.0"),
    (GOOD + "[grid.ga]\nlr = [0.1]\n", "grid.ga names a method not among methods"),
    (GOOD + "[train]\nepochs = 0\n", "train.epochs=0"),
    (GOOD + "[train]\nepoch = 1\n", "unknown training option train.epoch"),
    (GOOD + 'poison = "badnets:1.5"\n', "poison rate '1.5'"),
    (GOOD + 'poison = "nope:0.1"\n', "nope"),
    (GOOD + 'poison = "badnets:0.1,target=12"\n', "target 12"),
    (GOOD + 'poison = ["badnets:0.1", "badnets:10%"]\n', "poison repeats 'badnets:10%'"),
    (GOOD + "poison = []\n", "poison is empty"),
    (GOOD + "poison = 3\n", "poison must be a string"),
    (GOOD.replace('["class:3"]', '["poison"]'), "needs poisoned training data"),
    (GOOD.replace('["class:3"]', '["poison:1.5"]') + 'poison = "badnets:0.1"\n', "'1.5'"),
    (GOOD.replace('["class:3"]', '["group:1"]'), "needs a data set with groups"),
])
def test_a_bad_plan_is_one_line_exit_2_and_nothing_written(tmp_path, text, needle):
    plan = tmp_path / "plan.toml"
    plan.write_text('store = "from_plan"\n' + text)  # the plan's own store must not be created either
    result = runner.invoke(app, ["sweep", str(plan), "--store", str(tmp_path / "st")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], result.output
    assert not (tmp_path / "st").exists() and not (tmp_path / "from_plan").exists()


def test_poisons_are_crossed_with_requests_and_seeds_and_a_poisoned_plan_runs(tmp_path):
    plan = parse_plan({"datasets": ["digits"], "model": "mlp", "forget": ["poison", "class:3"],
                       "poison": ["badnets:0.1", "badnets:5%,target=3"], "seeds": [0, 1], "methods": ["ft"]})
    canonical = ("badnets:0.1,target=0", "badnets:0.05,target=3")
    assert plan.cells == [Cell("digits", False, f, s, (), p) for f in ("poison", "class:3") for p in canonical
                          for s in (0, 1)]
    assert plan.cells[0].label == "digits [badnets:0.1,target=0] poison seed 0"
    assert parse_plan({**GOOD_PLAN, "poison": "badnets:0.1"}).cells[0].poison == canonical[0]  # one value: a string

    summary = ul.sweep({**GOOD_PLAN, "forget": ["poison", "poison:0.5"], "poison": "badnets:0.1",
                        "train": {"epochs": 2}}, store=tmp_path / "st")
    assert summary["cells"] == 2 and summary["done"] == 2 and summary["failed"] == 0
    specs = [Store(tmp_path / "st").scenario(sid) for sid in summary["scenarios"]]
    assert [sp["forget"] for sp in specs] == ["poison", "poison:0.5"]
    assert all(sp["poison"]["spec"] == canonical[0] for sp in specs)
    runs = [r for r in Store(tmp_path / "st").runs() if r.method in ("ft", "original")]
    assert len(runs) == 4 and all(r.metrics.get("asr") is not None for r in runs)


def test_group_requests_in_a_plan_are_checked_and_run(tmp_path):
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(12), 10)
    y = rng.integers(0, 3, size=len(ids))
    np.savez(tmp_path / "faces.npz", X=rng.normal(size=(3, 8))[y] + rng.normal(size=(len(ids), 8)), y=y, groups=ids)
    data = f"arrays:{tmp_path / 'faces.npz'},unseen=3"
    bad = tmp_path / "bad.toml"
    bad.write_text(f'datasets = ["{data}"]\nmodel = "mlp"\nforget = ["group:1,99"]\nmethods = ["ft"]\n')
    result = runner.invoke(app, ["sweep", str(bad), "--store", str(tmp_path / "st")])
    assert result.exit_code == 2 and "group '99' is not in" in result.output and len(result.output.splitlines()) == 1
    assert not (tmp_path / "st").exists()
    summary = ul.sweep({"datasets": [data], "model": "mlp", "forget": ["group:1"], "seeds": [0, 1],
                        "methods": ["ft"], "train": {"epochs": 2}}, store=tmp_path / "st")
    assert summary["cells"] == 2 and summary["failed"] == 0
    assert [Store(tmp_path / "st").scenario(sid)["forget"] for sid in summary["scenarios"]] == ["group:1"] * 2
    runs = [r for r in Store(tmp_path / "st").runs() if r.method == "ft"]
    assert len(runs) == 2 and all(r.metrics.get("nomus") is not None for r in runs)


class _Boom(Method):
    """A method that always fails."""

    name = "boom_sweep"

    def unlearn(self, model, task):
        raise RuntimeError("boom")


def test_a_failing_method_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(METHODS, "_items", dict(METHODS._items))
    METHODS.add("boom_sweep", _Boom)
    lines: list[str] = []
    summary = ul.sweep({"datasets": ["digits"], "model": "mlp", "forget": ["class:3"], "seeds": [0, 1],
                        "methods": ["boom_sweep", "ga"], "train": {"epochs": 1}},
                       store=tmp_path / "st", echo=lines.append)
    assert summary["cells"] == 2 and summary["failed"] == 2 and summary["done"] == 2 and summary["cached"] == 0
    assert len(summary["scenarios"]) == 2
    assert lines[0] == "cell 1/2: digits class:3 seed 0" and "cell 2/2: digits class:3 seed 1" in lines
    runs = Store(tmp_path / "st").runs()
    assert sorted(r.status for r in runs if r.method == "boom_sweep") == ["failed", "failed"]
    assert sorted(r.status for r in runs if r.method == "ga") == ["done", "done"]


def test_a_plans_store_is_relative_to_the_plan_and_store_overrides_it(tmp_path):
    plan = tmp_path / "plans" / "p.toml"
    plan.parent.mkdir()
    plan.write_text(GOOD + 'store = "here"\nseeds = [3]\n[train]\nepochs = 1\n')
    result = runner.invoke(app, ["sweep", str(plan)])
    assert result.exit_code == 0, result.output
    assert "sweep: 1 cells; runs: 1 done, 0 cached, 0 failed" in result.output
    assert (tmp_path / "plans" / "here" / "unlearnlab.db").exists()
    (sid,) = {s["id"] for s in Store(tmp_path / "plans" / "here").scenarios()}
    assert f"unlearnlab report {sid} --over-seeds" in result.output


PLAN = """
datasets = ["digits"]
model = "mlp"
forget = ["class:3"]
seeds = [0, 1]
methods = ["ft", "ga"]
[train]
epochs = 1
[grid.ft]
epochs = [1, 150]
"""


def _rows(db: Path) -> list[dict]:
    """The method runs in the store's database (none while the sweep has not made its tables yet)."""
    if not db.exists():
        return []
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute("SELECT id, scenario_id, method, hparams, seed, status FROM runs "
                                                  "WHERE method NOT IN ('original', 'retrain')")]
        except sqlite3.OperationalError:  # the schema is being created
            return []


def _sweep(plan: Path, *extra: str, **kw) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from unlearnlab.cli import main; main()", "sweep", str(plan), *extra]
    return subprocess.Popen(cmd, cwd=plan.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


@pytest.mark.parametrize("executor", ["serial", "process"])
def test_a_sweep_killed_and_started_again_reruns_nothing_finished_and_duplicates_nothing(tmp_path, executor):
    plan = tmp_path / "plan.toml"
    plan.write_text('store = "st"\n' + PLAN)
    db = tmp_path / "st" / "unlearnlab.db"
    on = ["--executor", executor, "--workers", "2"]  # process: both cells at once, in workers the kill takes too
    proc = _sweep(plan, *on)
    try:
        # kill it while ft's slow grid point (epochs=150) runs, after ft's first point finished
        deadline = time.time() + 300
        while True:
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.time() < deadline, "no method run finished and none ran"
            rows = _rows(db)
            if any(r["status"] == "done" for r in rows) and any(r["status"] == "running" for r in rows):
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.communicate()
    before = {r["id"]: r for r in _rows(db)}
    finished = {i for i, r in before.items() if r["status"] == "done"}
    killed = {i for i, r in before.items() if r["status"] == "running"}
    assert finished and 1 <= len(killed) <= (1 if executor == "serial" else 2)
    time.sleep(1)  # a worker dies with its fork server, which exits when the driver is gone
    assert [r["status"] for r in _rows(db) if r["id"] in killed] == ["running"] * len(killed)  # none finished

    again = subprocess.run([sys.executable, "-c", "from unlearnlab.cli import main; main()", "sweep", str(plan), *on],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    after = _rows(db)
    by_id = {r["id"]: r for r in after}
    # the killed run was reaped (failed), and each configuration has exactly one finished run
    assert all(by_id[i]["status"] == "failed" for i in killed)
    done = [(r["scenario_id"], r["method"], r["hparams"], r["seed"]) for r in after if r["status"] == "done"]
    assert len(done) == len(set(done)) == 2 * 3  # 2 seeds x (ft at 2 grid points + ga)
    assert finished <= {r["id"] for r in after if r["status"] == "done"}  # kept their ids
    assert {json.loads(r["hparams"])["epochs"] for r in after if r["method"] == "ft" and r["status"] == "done"} \
        == {1, 150}
    # only what did not finish ran: the runs done before the kill came back cached
    assert f"{len(finished)} cached" in again.stdout, again.stdout

    third = subprocess.run([sys.executable, "-c", "from unlearnlab.cli import main; main()", "sweep", str(plan), *on],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stderr[-2000:]
    assert "runs: 0 done, 6 cached, 0 failed" in third.stdout, third.stdout
    assert sorted(map(str, _rows(db))) == sorted(map(str, after))  # nothing new written


def test_the_example_plan_in_the_readme_is_a_valid_plan():
    from unlearnlab.sweeps import load_plan

    plan = load_plan(ROOT / "examples" / "sweep" / "plan.toml")
    assert len(plan.cells) == 5 and [m for m, _ in plan.points] == ["ft", "ft", "ga", "rl", "scrub"]
    assert plan.store == ROOT / "examples" / "sweep" / "sweep_store"


def test_the_poisoned_example_plan_in_docs_sweeps_is_a_valid_plan_of_12_cells():
    import re
    import tomllib

    blocks = re.findall(r"```toml\n(.*?)```", (ROOT / "docs" / "sweeps.md").read_text(), re.S)
    (text,) = [b for b in blocks if "poison = [" in b]
    plan = parse_plan(tomllib.loads(text))
    assert len(plan.cells) == 12 and {c.poison for c in plan.cells} == {"badnets:0.1,target=0",
                                                                        "badnets:0.05,target=3"}
