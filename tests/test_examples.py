"""The example plugin package works the two ways a user would use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from unlearnlab.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "custom_method"


def test_entry_point_registers_the_example_like_an_installed_package(tmp_path):
    # What `pip install` writes for the entry point: a dist-info folder with entry_points.txt on sys.path.
    dist = tmp_path / "unlearnlab_example_method-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: unlearnlab-example-method\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(
        "[unlearnlab.methods]\nbounded_forget = unlearnlab_example:BoundedForget\n"
        "broken_plugin = unlearnlab_example_missing:Nothing\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(EXAMPLE / "src")])}
    out = subprocess.run([sys.executable, "-m", "unlearnlab.cli", "methods", "--json"], capture_output=True,
                         text=True, env=env, check=True).stdout
    listed = {m["name"]: m for m in json.loads(out)}
    assert listed["bounded_forget"]["params"] == {"lr": 0.01, "epochs": 3, "batch_size": 64, "weight": 1.0}
    assert "ft" in listed  # the built-ins still load beside a broken plugin
    table = subprocess.run([sys.executable, "-m", "unlearnlab.cli", "methods"], capture_output=True, text=True,
                           env={**env, "COLUMNS": "200"})
    assert table.returncode == 0
    assert "plugin 'broken_plugin' failed to load: ModuleNotFoundError" in table.stderr


def test_method_file_runs_the_example_through_the_cli(tmp_path):
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, [
        "run", "--model", "mlp", "--forget", "class:3", "--methods", "bounded_forget",
        "--method-file", str(EXAMPLE / "src" / "unlearnlab_example" / "__init__.py"),
        "--set", "train.epochs=2", "--store", str(tmp_path / "store"), "--json", str(out)])
    assert result.exit_code == 0, result.output
    runs = {r["method"]: r for r in json.loads(out.read_text())["runs"]}
    assert runs["bounded_forget"]["status"] == "done"
    assert runs["bounded_forget"]["hparams"] == {"lr": 0.01, "epochs": 3, "batch_size": 64, "weight": 1.0}
