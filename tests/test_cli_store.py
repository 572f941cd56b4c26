"""`unlearnlab store check [--repair] [--json]`, and one line (exit 1) for a damaged store or artifact."""

from __future__ import annotations

import json

import numpy as np
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
