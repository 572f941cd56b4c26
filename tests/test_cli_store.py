"""`unlearnlab store check [--repair] [--json]`, and one line (exit 1) for a damaged store or artifact."""

from __future__ import annotations

import gc
import json
import os

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import unlearnlab as ul
from unlearnlab.cli import app
from unlearnlab.store import Store

runner = CliRunner()
SPEC = {"dataset": {"name": "digits"}, "model": {"name": "cnn"}, "forget": "class:3", "seed": 0}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def store_with_runs(root, n=2) -> list[str]:
    with Store(root) as st:
        sid = st.upsert_scenario("abc", SPEC)
        ids = []
        for _ in range(n):
            rid = st.start_run(sid, "ft", {}, 0)
            st.finish_run(rid, metrics={"ua": 0.5}, run_time_s=1.0, steps=1, samples=1,
                          weights={"w": torch.arange(600.0)}, outputs={"forget": np.ones((4, 3))})
            ids.append(rid)
    return ids


def flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_healthy_store_checks_clean(tmp_path):
    store_with_runs(tmp_path)
    result = invoke("store", "check", "--store", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == [f"store {tmp_path.resolve()}: 4 artifact(s) verified; healthy"]


def test_check_reports_then_repair_fixes_a_damaged_run(tmp_path):
    good, bad = store_with_runs(tmp_path)
    weights = tmp_path / "runs" / bad / "weights.safetensors"
    flip(weights, weights.stat().st_size - 5)
    result = invoke("store", "check", "--store", tmp_path)
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"problem: run {bad}: weights.safetensors checksum mismatch"
    assert "1 problem(s)" in lines[-1] and "--repair" in lines[-1]

    result = invoke("store", "check", "--repair", "--store", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["healthy"] and payload["problems"] == [] and len(payload["repaired"]) == 1
    with Store(tmp_path) as st:
        assert st.run(bad).status == "failed" and st.run(good).status == "done"
    assert invoke("store", "check", "--store", tmp_path).exit_code == 0


def test_a_damaged_artifact_or_database_is_one_line_exit_1(tmp_path, one_thread):
    """The issue's reproductions: a corrupt weights header made `compare` print a traceback."""
    comparison = ul.run("digits", "mlp", "class:3", ["ft"], train={"epochs": 1}, store=tmp_path)
    ft = comparison.run("ft").run_id
    flip(tmp_path / "runs" / ft / "weights.safetensors", 20)
    result = invoke("compare", ft, comparison.run("retrain").run_id, "--store", tmp_path)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"run {ft}'s weights.safetensors is damaged" in result.stderr and "--repair" in result.stderr

    for suffix in ("-wal", "-shm"):  # replaced by a file that is no database at all, as a user might
        (tmp_path / f"unlearnlab.db{suffix}").unlink(missing_ok=True)
    (tmp_path / "unlearnlab.db").write_text("a text file, not a database\n")
    for args in (("runs",), ("store", "check")):
        result = invoke(*args, "--store", tmp_path)
        assert result.exit_code == 1, (args, result.output)
        assert "store database" in result.stderr and "is damaged" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def _open_db_files(root) -> list[str]:
    """Files of the store's database this process holds open (Linux: /proc/self/fd)."""
    db = str((root / "unlearnlab.db").resolve())
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed between listing and reading
            continue
        if target.startswith(db):
            held.append(target)
    return held


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc/self/fd (Linux)")
def test_api_calls_and_commands_given_a_path_leave_no_connection_open(tmp_path, one_thread):
    """A connection left open lends SQLite's shared WAL index to the next one in this process, so a database
    replaced on disk read as the old one (the damaged-database test above failed that way in a long run)."""
    comparison = ul.run("digits", "mlp", "class:3", ["ft"], train={"epochs": 1}, store=tmp_path)
    ft, gold = comparison.run("ft").run_id, comparison.run("retrain").run_id
    ul.report(comparison.scenario["id"], store=tmp_path)
    ul.sweep_report([comparison.scenario["id"]], store=tmp_path)
    assert invoke("runs", "--store", tmp_path).exit_code == 0
    assert invoke("report", comparison.scenario["id"], "--store", tmp_path).exit_code == 0
    flip(tmp_path / "runs" / ft / "weights.safetensors", 20)
    assert invoke("compare", ft, gold, "--store", tmp_path).exit_code == 1
    gc.collect()  # what only a cycle still holds is not "left open"
    assert _open_db_files(tmp_path) == []
