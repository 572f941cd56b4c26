"""Sweeps on executors (cells as jobs of `process` and `ray`: the bits of a serial sweep; a worker that dies
fails its cell and the sweep goes on) and separate seeds for training, unlearning and evaluation."""

from __future__ import annotations

import os

import pytest
import torch
from typer.testing import CliRunner

import unlearnlab as ul
from unlearnlab.analysis.seeds import request_key
from unlearnlab.cli import app
from unlearnlab.methods.plugins import load_method_file
from unlearnlab.store import Store
from unlearnlab.sweeps import Cell, parse_plan

runner = CliRunner()
PLAN = {"datasets": ["digits"], "model": "mlp", "forget": ["random:0.1"], "seeds": [0, 1], "methods": ["ft", "ga"],
        "train": {"epochs": 1}}


def _bits(root) -> dict[tuple, dict[str, torch.Tensor]]:
    st = Store(root, create=False)
    return {(r.method, r.seed): st.load_weights(r.id) for r in st.runs() if r.status == "done"}


@pytest.mark.parametrize("executor", ["process", "ray"])
def test_a_sweep_on_an_executor_gives_the_bits_of_a_serial_sweep(tmp_path, executor):
    serial = ul.sweep(PLAN, store=tmp_path / "serial")
    cells: list[tuple[int, int]] = []
    other = ul.sweep(PLAN, store=tmp_path / executor, executor=executor, workers=2,
                     on_cell=lambda done, total, label: cells.append((done, total)))
    assert other == {**serial, "scenarios": other["scenarios"], "lost_cells": 0} and other["done"] == 4
    assert sorted(other["scenarios"]) == sorted(serial["scenarios"])
    assert cells == [(0, 2), (1, 2), (2, 2)]  # a progress tick per finished cell
    a, b = _bits(tmp_path / "serial"), _bits(tmp_path / executor)
    assert set(a) == set(b) and len(a) == 8  # θ_o, θ_r, ft, ga on 2 seeds
    for key in a:
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    again = ul.sweep(PLAN, store=tmp_path / executor, executor=executor, workers=2)
    assert again["done"] == 0 and again["cached"] == 4  # content keys: a finished sweep does nothing


CRASH = '''
import os
import unlearnlab


@unlearnlab.register_method("die_{tag}", paper="test")
class Die(unlearnlab.Method):
    """Kills its process on seed 1 only, as an out-of-memory kill would."""

    def unlearn(self, model, task):
        if task.ctx.seed == 1:
            os._exit(9)
        return model
'''


def test_a_worker_that_dies_fails_its_cell_and_the_sweep_goes_on(tmp_path, isolated_methods):
    tag = os.urandom(4).hex()
    path = tmp_path / "die.py"
    path.write_text(CRASH.format(tag=tag))
    load_method_file(path)
    lines: list[str] = []
    plan = {**PLAN, "seeds": [0, 1, 2], "methods": ["ft", f"die_{tag}"]}
    summary = ul.sweep(plan, store=tmp_path / "st", executor="process", workers=2, echo=lines.append)
    assert summary["cells"] == 3 and summary["done"] + summary["cached"] == 4 and summary["lost_cells"] == 1  # a cell in flight with it reran alone
    assert any("cell lost" in line and "worker process died" in line for line in lines), lines
    st = Store(tmp_path / "st")
    assert not [r for r in st.runs() if r.status == "running"]
    done = {(r.method, r.seed) for r in st.runs() if r.status == "done"}
    assert {("ft", 0), ("ft", 1), ("ft", 2), (f"die_{tag}", 0), (f"die_{tag}", 2)} <= done  # ft ran before it died
    died = [r for r in st.runs() if r.method == f"die_{tag}" and r.seed == 1]
    assert died and all(r.status == "failed" and "interrupted" in r.reason for r in died)


def test_a_plan_sets_seed_streams_apart_and_refuses_bad_ones(tmp_path):
    plan = parse_plan({**PLAN, "seeds": {"data": [0], "train": [0, 1], "unlearn": [5]}})
    assert plan.cells == [Cell("digits", False, "random:0.1", 0, (("train", t), ("unlearn", 5))) for t in (0, 1)]
    assert plan.cells[1].label == "digits random:0.1 seed 0 train 1 unlearn 5"
    for seeds, needle in [({"nope": [1]}, "unknown seed stream seeds.nope"), ({"train": []}, "seeds.train is empty"),
                          ({"eval": [-1]}, "seeds.eval holds -1")]:
        with pytest.raises(ul.BadInput, match=needle):
            parse_plan({**PLAN, "seeds": seeds})
    result = runner.invoke(app, ["run", "--model", "mlp", "--train-seed", "-3", "--store", str(tmp_path / "x")])
    assert result.exit_code == 2 and "train seed -3" in result.output and not (tmp_path / "x").exists()


def test_each_seed_stream_moves_only_what_it_seeds(tmp_path):
    args = dict(model="mlp", forget="random:0.1", methods=["ft"], train={"epochs": 1}, store=tmp_path / "st")
    base = ul.run(**args)
    same = ul.run(**args, seeds={"train": 0, "unlearn": 0, "eval": 0})  # naming the scenario seed changes nothing
    assert same.scenario["id"] == base.scenario["id"] and all(r.cached for r in same.runs)
    unlearn = ul.run(**args, seeds={"unlearn": 7})
    train = ul.run(**args, seeds={"train": 7})
    st = Store(tmp_path / "st")
    w = lambda res, m: st.load_weights(res.run(m).run_id)  # noqa: E731
    eq = lambda a, b: all(torch.equal(a[k], b[k]) for k in a)  # noqa: E731
    # the same split and forget set in all three; θ_o and θ_r move with the training seed only
    assert base.scenario["forget_indices_sha256"] == unlearn.scenario["forget_indices_sha256"] \
        == train.scenario["forget_indices_sha256"]
    assert eq(w(base, "original"), w(unlearn, "original")) and eq(w(base, "retrain"), w(unlearn, "retrain"))
    assert not eq(w(base, "original"), w(train, "original")) and not eq(w(base, "retrain"), w(train, "retrain"))
    assert not eq(w(base, "ft"), w(unlearn, "ft"))  # ft shuffles its batches from the unlearning seed
    # one request, three draws: aggregated over seeds as three
    specs = [st.scenario(r.scenario["id"]) for r in (base, unlearn, train)]
    assert len({request_key(s) for s in specs}) == 1 and len({s["id"] for s in specs}) == 3
    text = ul.report(base.scenario["id"], store=tmp_path / "st", over_seeds=True)
    assert "| 3/3 |" in text.replace(" ", "").replace("|3/3|", "| 3/3 |")


@pytest.mark.parametrize("extra,needle", [
    (["--executor", "ray", "--address", "127.0.0.1:1"], "cannot be reached"),
    (["--executor", "nope"], "unknown executor 'nope'"),
    (["--executor", "process", "--workers", "0"], "--workers"),
])
def test_a_bad_executor_is_one_line_exit_2_and_nothing_written(tmp_path, extra, needle):
    plan = tmp_path / "plan.toml"
    plan.write_text('datasets = ["digits"]\nmodel = "mlp"\nforget = ["class:3"]\nmethods = ["ft"]\n')
    result = runner.invoke(app, ["sweep", str(plan), "--store", str(tmp_path / "st"), *extra])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], result.output
    assert not (tmp_path / "st").exists()
