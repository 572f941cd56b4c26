"""The command line as a user drives it: bad input, the --json contract, runs/report, demo, method files.

Most tests call the Typer app in-process (CliRunner); one runs the real process. Everything that
trains uses `--set train.epochs=2` and a tmp store; the class-wise and random requests share one
store, so θ_o and θ_r are trained once and then come from the store's cache.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from unlearnlab.cli import app
from unlearnlab.methods import METHODS

CONTRACT_KEYS = ("ua", "ra", "ta", "tua", "tra", "mia_efficacy", "privacy_score", "avg_gap", "run_time_s",
                 "speedup_vs_retrain")
FRACTIONS = ("ua", "ra", "ta", "tua", "tra", "mia_efficacy", "privacy_score")
FAST = ("--set", "train.epochs=2")

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def no_store_env(monkeypatch):
    monkeypatch.delenv("UNLEARNLAB_STORE", raising=False)


def cli(*args: str | os.PathLike):
    return runner.invoke(app, [str(a) for a in args])


def ok(result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result.stdout


def assert_one_line_error(result, *needles: str) -> str:
    """Exit 2, nothing on stdout, exactly one line on stderr naming every needle, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, repr(result.exception))
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def load_json(path: Path) -> dict:
    return json.loads(path.read_text())


def by_method(payload: dict) -> dict[str, dict]:
    runs = {}
    for r in payload["runs"]:
        assert r["method"] not in runs, f"{r['method']} appears twice"
        runs[r["method"]] = r
    return runs


# ---------------------------------------------------------------------------------------------------
# Shared runs (module scope): one class-wise and one random request, in one store


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared") / "store"


@pytest.fixture(scope="module")
def classwise(shared_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("classwise") / "out.json"
    result = cli("run", "--forget", "class:3", "--methods", "ga", *FAST, "--store", shared_store, "--json", out)
    stdout = ok(result)
    return load_json(out), stdout


@pytest.fixture(scope="module")
def random_request(shared_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("random") / "out.json"
    ok(cli("run", "--forget", "random:0.1", "--methods", "ga", *FAST, "--store", shared_store, "--json", out))
    return load_json(out)


# ---------------------------------------------------------------------------------------------------
# 1. Bad input: exit 2, one line, nothing written


def _write_text_npz(d: Path) -> Path:
    p = d / "x.npz"
    p.write_text("this is not a numpy archive\n")
    return p


def _write_npz_without_y(d: Path) -> Path:
    p = d / "no_y.npz"
    np.savez(p, X=np.zeros((20, 4), dtype=np.float32))
    return p


def _write_empty_indices(d: Path) -> Path:
    p = d / "empty.txt"
    p.write_text("")
    return p


def _regular_file(d: Path) -> Path:
    p = d / "plain.txt"
    p.write_text("a regular file\n")
    return p


# Each case: (arguments after `run` as a function of a folder for input files, needles the one error line
# must contain). The test adds --store and --json (unless the case gives them) and checks neither appears.
RUN_CASES = {
    "unknown-dataset": (lambda d: ["--dataset", "cifar99"], ["'cifar99'", "allowed", "digits", "mnist1d", "arrays"]),
    "unknown-model": (lambda d: ["--model", "vgg99"], ["'vgg99'", "allowed", "cnn", "mlp"]),
    "unknown-method": (lambda d: ["--methods", "ft,nope"], ["'nope'", "allowed", "ft", "ga", "rl"]),
    "unknown-hparam": (lambda d: ["--set", "ft.lrr=1"], ["ft.lrr", "allowed", "lr"]),
    "malformed-set": (lambda d: ["--set", "ftlr"], ["'ftlr'", "METHOD.PARAM=VALUE"]),
    "negative-lr": (lambda d: ["--set", "ft.lr=-1"], ["lr=-1", "> 0"]),
    "non-numeric-lr": (lambda d: ["--set", "ft.lr=abc"], ["ft.lr='abc'", "float"]),
    "non-integer-epochs": (lambda d: ["--set", "ga.epochs=2.5"], ["ga.epochs='2.5'", "int"]),
    "unknown-train-option": (lambda d: ["--set", "train.foo=1"], ["train.foo", "allowed", "epochs", "lr"]),
    "bad-train-value": (lambda d: ["--set", "train.epochs=abc"], ["train.epochs='abc'", "int"]),
    "zero-train-epochs": (lambda d: ["--set", "train.epochs=0"], ["train.epochs=0", ">= 1"]),
    "set-for-method-not-run": (lambda d: ["--methods", "ga", "--set", "ft.lr=0.1"], ["'ft'", "not among", "ga"]),
    "method-listed-twice": (lambda d: ["--methods", "ga,ga"], ["twice", "ga,ga"]),
    "empty-method-name": (lambda d: ["--methods", "ga,"], ["'ga,'", "comma-separated"]),
    "empty-methods": (lambda d: ["--methods", ""], ["--methods ''", "comma-separated"]),  # not "every method"
    "device-as-indices": (lambda d: ["--forget", "indices:/dev/urandom"], ["/dev/urandom", "not a regular file"]),
    "negative-seed": (lambda d: ["--seed", "-1"], ["seed=-1", ">= 0"]),
    "class-out-of-range": (lambda d: ["--forget", "class:10"], ["class 10", "[0, 9]"]),
    "malformed-forget": (lambda d: ["--forget", "klass:3"], ["'klass'", "class:C", "random:F", "indices:PATH"]),
    "empty-random-forget": (lambda d: ["--forget", "random:0.0001"], ["random:0.0001", "selects 0", "between 1 and"]),
    "empty-indices-file": (lambda d: ["--forget", f"indices:{_write_empty_indices(d)}"],
                           ["empty.txt", "selects no training samples", "at least 1"]),
    "missing-indices-file": (lambda d: ["--forget", f"indices:{d / 'nope.txt'}"], ["nope.txt", "does not exist"]),
    "forget-everything": (lambda d: ["--forget", "class:0,1,2,3,4,5,6,7,8,9"],
                          ["class:0,1,2,3,4,5,6,7,8,9", "selects all", "at least 1"]),
    "fraction-above-1": (lambda d: ["--forget", "random:1.5"], ["'1.5'", "(0, 1)"]),
    "worst-zero": (lambda d: ["--forget", "worst:0"], ["count=0", ">= 1"]),
    "memorised-zero": (lambda d: ["--forget", "memorised:0"], ["count=0", ">= 1"]),
    "memorised-everything": (lambda d: ["--forget", "memorised:1437"], ["memorised:1437", "between 1 and 1436"]),
    "worst-fraction-above-1": (lambda d: ["--forget", "worst:100%"], ["'100%'", "(0, 1)"]),
    "worst-unknown-option": (lambda d: ["--forget", "worst:10,steps=2"], ["'steps'", "by=bilevel|loss"]),
    "memorised-bad-k": (lambda d: ["--forget", "memorised:10,k=1"], ["k='1'", "[4, 1024]"]),
    "missing-arrays-file": (lambda d: ["--dataset", "arrays:/nonexistent.npz"],
                            ["'/nonexistent.npz'", "does not exist", "X and y"]),
    "text-file-as-npz": (lambda d: ["--dataset", f"arrays:{_write_text_npz(d)}"], ["x.npz", "not a readable .npz"]),
    "npz-without-y": (lambda d: ["--dataset", f"arrays:{_write_npz_without_y(d)}"], ["no_y.npz", "'y'", "X and y"]),
    "store-under-a-file": (lambda d: ["--store", _regular_file(d) / "store"], ["plain.txt", "cannot be written"]),
    "json-into-missing-folder": (lambda d: ["--json", d / "missing" / "out.json"],
                                 ["out.json", "missing", "does not exist"]),
}

# Defects found by these tests and fixed; kept as regression cases (the third item says what broke).
DEFECTS = {
    # Rich markup: the message is printed as markup, so a value holding [...] crashes or vanishes.
    "markup-closing-tag": (lambda d: ["--dataset", "[/oops]"], ["'[/oops]'", "allowed", "digits"],
                           "cli._user_errors prints BadInput as Rich markup: `--dataset '[/oops]'` raises "
                           "rich MarkupError (traceback, exit 1)"),
    "markup-style-tag": (lambda d: ["--dataset", "[bold]x"], ["'[bold]x'", "allowed"],
                         "cli._user_errors prints BadInput as Rich markup: `--dataset '[bold]x'` reports "
                         "unknown dataset 'x', not the value given"),
    "unknown-device": (lambda d: ["--device", "tpu9"], ["tpu9", "cpu"],
                       "`--device tpu9` is not validated: torch RuntimeError traceback, exit 1, store created"),
}


def _run_bad(tmp_path: Path, monkeypatch, make_args) -> tuple:
    inputs, cwd, out = tmp_path / "in", tmp_path / "cwd", tmp_path / "out"
    for d in (inputs, cwd, out):
        d.mkdir()
    monkeypatch.chdir(cwd)
    args = [str(a) for a in make_args(inputs)]
    store, json_out = out / "store", out / "run.json"
    if "--store" not in args:
        args += ["--store", str(store)]
    if "--json" not in args:
        args += ["--json", str(json_out)]
    before = sorted(p.name for p in inputs.iterdir())
    result = cli("run", *args)
    written = {
        "out": sorted(p.name for p in out.iterdir()),
        "cwd": sorted(p.name for p in cwd.iterdir()),
        "in": sorted(p.name for p in inputs.iterdir()),
    }
    return result, written, before


def _check_bad(tmp_path, monkeypatch, make_args, needles):
    result, written, before = _run_bad(tmp_path, monkeypatch, make_args)
    assert_one_line_error(result, *needles)
    assert written == {"out": [], "cwd": [], "in": before}, written


@pytest.mark.parametrize("case", list(RUN_CASES))
def test_run_rejects_bad_input_with_one_line_and_writes_nothing(case, tmp_path, monkeypatch):
    make_args, needles = RUN_CASES[case]
    _check_bad(tmp_path, monkeypatch, make_args, needles)


@pytest.mark.parametrize("case", list(DEFECTS))
def test_run_rejects_bad_input_fixed_defects(case, tmp_path, monkeypatch):
    make_args, needles, _ = DEFECTS[case]
    _check_bad(tmp_path, monkeypatch, make_args, needles)


def _tiny_npz(d: Path) -> Path:
    """60 samples, 3 well-separated classes, 4 features: an mlp trains on it in milliseconds."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = (rng.normal(0, 3, size=(3, 4))[y] + rng.normal(0, 1, size=(60, 4))).astype(np.float32)
    p = d / "tiny.npz"
    np.savez(p, X=x, y=y)
    return p


def _tiny(d: Path) -> list:
    return ["--dataset", f"arrays:{_tiny_npz(d)}", "--model", "mlp", "--forget", "class:1", "--set", "train.epochs=1"]


def test_run_rejects_negative_momentum(tmp_path, monkeypatch):
    _check_bad(tmp_path, monkeypatch, lambda d: [*_tiny(d), "--methods", "ft", "--set", "ft.momentum=-1"],
               ["momentum", "-1"])


def test_run_rejects_non_boolean_train_amp(tmp_path, monkeypatch):
    _check_bad(tmp_path, monkeypatch, lambda d: [*_tiny(d), "--methods", "ga", "--set", "train.amp=maybe"],
               ["train.amp='maybe'", "bool"])


def test_run_json_onto_a_directory_writes_nothing(tmp_path, monkeypatch):
    def args(d):
        (d / "a_dir").mkdir()
        return [*_tiny(d), "--methods", "ga", "--json", d / "a_dir"]

    result, written, before = _run_bad(tmp_path, monkeypatch, args)
    assert written == {"out": [], "cwd": [], "in": before}, written
    assert_one_line_error(result, "a_dir", "cannot be written")


def test_runs_and_report_on_a_missing_store_write_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nowhere"
    for args in (["runs", "--store", missing], ["runs", "--json", "--store", missing],
                 ["report", "0123456789abcdef", "--store", missing],
                 ["report", "0123456789abcdef", "--format", "csv", "--store", missing]):
        assert_one_line_error(cli(*args), "no store", "nowhere", "--store")
    # and the default store, from the working directory
    assert_one_line_error(cli("runs"), "no store", "unlearnlab_store")
    assert_one_line_error(cli("report", "0123456789abcdef"), "no store", "unlearnlab_store")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_report_and_runs_reject_unknown_scenario_and_format(classwise, shared_store):
    payload, _ = classwise
    sid = payload["scenario"]["id"]
    before = json.loads(ok(cli("runs", "--json", "--store", shared_store)))
    assert_one_line_error(cli("report", "feedfacefeedface", "--store", shared_store),
                          "unknown scenario 'feedfacefeedface'", "unlearnlab runs")
    assert_one_line_error(cli("runs", "--scenario", "feedfacefeedface", "--store", shared_store),
                          "unknown scenario 'feedfacefeedface'")
    assert_one_line_error(cli("report", sid, "--format", "docx", "--store", shared_store),
                          "'docx'", "markdown", "csv", "latex")
    after = json.loads(ok(cli("runs", "--json", "--store", shared_store)))
    assert [r["id"] for r in after] == [r["id"] for r in before]


def test_real_process_exits_2_with_one_stderr_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "UNLEARNLAB_STORE"}
    env["OMP_NUM_THREADS"] = "1"
    store, out = tmp_path / "store", tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-m", "unlearnlab.cli", "run", "--dataset", "cifar99",
                           "--store", str(store), "--json", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: unknown dataset 'cifar99'") and "allowed: " in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------------
# 2. Divergence is recorded, the other methods go on


def test_diverging_method_is_recorded_and_others_go_on(shared_store, tmp_path):
    out = tmp_path / "out.json"
    stdout = ok(cli("run", "--methods", "ga,ft", "--set", "ga.lr=1e30", *FAST, "--store", shared_store,
                    "--json", out))
    runs = by_method(load_json(out))
    assert list(runs) == ["original", "retrain", "ga", "ft"]
    ga, ft = runs["ga"], runs["ft"]
    assert ga["status"] == "diverged"
    assert "loss" in ga["reason"] and ("nan" in ga["reason"] or "inf" in ga["reason"]), ga["reason"]
    assert ga["hparams"]["lr"] == 1e30
    assert all(ga["metrics"][k] is None for k in CONTRACT_KEYS)
    assert ft["status"] == "done" and ft["reason"] is None
    assert 0.0 <= ft["metrics"]["ua"] <= 1.0 and ft["metrics"]["run_time_s"] > 0
    assert f"ga: diverged: {ga['reason']}" in stdout
    stored = {r["id"]: r for r in json.loads(ok(cli("runs", "--json", "--store", shared_store)))}
    assert stored[ga["run_id"]]["status"] == "diverged" and stored[ga["run_id"]]["reason"] == ga["reason"]
    assert stored[ft["run_id"]]["status"] == "done"


# ---------------------------------------------------------------------------------------------------
# 3. The --json contract


def _check_contract(payload: dict, requested: list[str]) -> dict[str, dict]:
    assert {"scenario", "runs"} <= set(payload)
    runs = by_method(payload)
    assert set(runs) == {"original", "retrain", *requested}
    for name, run in runs.items():
        assert {"method", "hparams", "status", "metrics"} <= set(run), name
        assert run["status"] == "done", (name, run.get("reason"))
        assert isinstance(run["hparams"], dict)
        assert set(CONTRACT_KEYS) <= set(run["metrics"]), (name, sorted(run["metrics"]))
        for key in FRACTIONS:
            value = run["metrics"][key]
            assert value is None or 0.0 <= value <= 1.0, (name, key, value)
        for key in ("ua", "ra", "ta", "privacy_score", "avg_gap", "run_time_s"):
            assert run["metrics"][key] is not None, (name, key)
        # MIA-Efficacy is withheld, with its reason, when its attacker cannot tell members from non-members
        if run["metrics"]["mia_efficacy"] is None:
            assert "attacker at chance" in run["details"]["metric_notes"]["mia_efficacy"], name
        assert run["metrics"]["avg_gap"] >= 0
    retrain = runs["retrain"]["metrics"]
    assert retrain["avg_gap"] == 0.0
    assert retrain["privacy_score"] == pytest.approx(1.0)
    assert retrain["speedup_vs_retrain"] == pytest.approx(1.0)
    assert runs["original"]["metrics"]["speedup_vs_retrain"] is None
    assert runs["retrain"]["hparams"]["epochs"] == 2  # θ_r's hyper-parameters are the training recipe
    return runs


def test_json_contract_classwise(classwise):
    payload, stdout = classwise
    runs = _check_contract(payload, ["ga"])
    sc = payload["scenario"]
    assert sc["forget"] == "class:3" and sc["forget_classes"] == [3] and sc["train"]["epochs"] == 2
    assert sc["dataset"]["name"] == "digits" and sc["model"]["name"] == "cnn"
    assert 0 < sc["forget_size"] < sc["dataset"]["n_train"]
    for name, run in runs.items():
        assert run["metrics"]["tua"] is not None and run["metrics"]["tra"] is not None, name
    assert runs["ga"]["metrics"]["speedup_vs_retrain"] > 0
    assert sc["id"] in stdout and f"Store: {payload['store']}" in stdout


def test_json_contract_random(random_request):
    runs = _check_contract(random_request, ["ga"])
    sc = random_request["scenario"]
    assert sc["forget"] == "random:0.1" and sc["forget_classes"] is None
    assert sc["forget_size"] == round(0.1 * sc["dataset"]["n_train"])
    for name, run in runs.items():
        assert run["metrics"]["tua"] is None and run["metrics"]["tra"] is None, name


# ---------------------------------------------------------------------------------------------------
# 4. methods --json


def test_methods_json_lists_every_method_with_defaults(classwise):
    listing = json.loads(ok(cli("methods", "--json")))
    assert isinstance(listing, list)
    by_name = {m["name"]: m for m in listing}
    assert {"retrain", "ft", "ga", "rl"} <= set(by_name)
    for m in listing:
        assert {"name", "params", "paper"} <= set(m)
        assert isinstance(m["params"], dict) and isinstance(m["paper"], str) and m["paper"]
    assert by_name["retrain"]["params"] == {}
    assert {"lr", "epochs", "batch_size"} <= set(by_name["ft"]["params"])
    assert isinstance(by_name["ft"]["params"]["lr"], float) and by_name["ft"]["params"]["lr"] > 0
    # the defaults advertised are the ones a run records
    ga_run = by_method(classwise[0])["ga"]
    assert ga_run["hparams"] == by_name["ga"]["params"]
    table = ok(cli("methods"))
    for name in ("retrain", "ft", "ga", "rl"):
        assert name in table


# ---------------------------------------------------------------------------------------------------
# 5. runs and report


def test_runs_lists_stored_runs(classwise, shared_store):
    payload, _ = classwise
    ids = {r["run_id"] for r in payload["runs"]}
    assert None not in ids
    listing = ok(cli("runs", "--store", shared_store))
    for run_id in ids:
        assert run_id in listing
    assert payload["scenario"]["id"] in listing
    stored = json.loads(ok(cli("runs", "--json", "--scenario", payload["scenario"]["id"], "--store", shared_store)))
    assert ids <= {r["id"] for r in stored}
    assert {r["scenario_id"] for r in stored} == {payload["scenario"]["id"]}
    assert {"original", "retrain", "ga"} <= {r["method"] for r in stored}


def _first_cells(text: str, fmt: str) -> list[str]:
    if fmt == "csv":
        return [row[0] for row in csv.reader(io.StringIO(text))]
    if fmt == "markdown":
        return [line.split("|")[1].strip() for line in text.splitlines()
                if line.startswith("|") and not line.startswith("|-")]
    return [line.split("&")[0].strip() for line in text.splitlines() if "&" in line]


@pytest.mark.parametrize("fmt", ["markdown", "csv", "latex"])
def test_report_prints_the_scenario_table(classwise, shared_store, fmt):
    payload, _ = classwise
    text = ok(cli("report", payload["scenario"]["id"], "--format", fmt, "--store", shared_store))
    cells = _first_cells(text, fmt)
    assert cells[0] == "Method", cells
    methods = [c.replace(" (cached)", "") for c in cells[1:]]
    assert methods[:2] == ["original", "retrain"], methods
    assert "ga" in methods
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0][:2] == ["Method", "Status"] and "UA" in rows[0]
        assert all(len(r) == len(rows[0]) for r in rows)
        ua = rows[0].index("UA")
        ga = by_method(payload)["ga"]["metrics"]["ua"]
        assert f"{100 * ga:.2f}" in [r[ua] for r in rows[1:] if r[0] == "ga"]
    if fmt == "latex":
        assert text.startswith(r"\begin{tabular}") and text.rstrip().endswith(r"\end{tabular}")


def test_report_leaves_out_columns_that_do_not_apply(classwise, random_request, shared_store):
    header = {}
    for name, payload in (("class", classwise[0]), ("random", random_request)):
        text = ok(cli("report", payload["scenario"]["id"], "--format", "csv", "--store", shared_store))
        header[name] = next(csv.reader(io.StringIO(text)))
    assert {"TUA", "TRA"} <= set(header["class"])
    assert not {"TUA", "TRA"} & set(header["random"]), header["random"]
    assert {"UA", "RA", "TA", "MIA-Eff.", "Privacy", "Avg. Gap"} <= set(header["random"])


# ---------------------------------------------------------------------------------------------------
# 6. demo


def test_demo_runs_both_requests_at_reduced_size(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store, out = tmp_path / "demo_store", tmp_path / "demo.json"
    stdout = ok(cli("demo", "--store", store, *FAST, "--json", out))
    assert "forget class:3" in stdout and "forget random:0.1" in stdout
    headers = [line for line in stdout.splitlines() if re.search(r"\bMethod\b.*\bStatus\b.*\bUA\b", line)]
    assert len(headers) == 2, stdout  # two tables
    assert f"Store: {store.resolve()}" in stdout
    comparisons = load_json(out)
    assert [c["scenario"]["forget"] for c in comparisons] == ["class:3", "random:0.1"]
    for c in comparisons:
        runs = by_method(c)
        assert {"original", "retrain", "ft", "ga", "rl"} <= set(runs)
        assert c["scenario"]["id"] in stdout
        assert c["scenario"]["train"]["epochs"] == 2
    assert (store / "unlearnlab.db").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json", "demo_store"]


def test_demo_rejects_method_hyperparameters(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "demo_store"
    assert_one_line_error(cli("demo", "--store", store, "--set", "ft.lr=1"), "ft", "train.", "unlearnlab run")
    assert_one_line_error(cli("demo", "--store", store, "--set", "train.foo=1"), "train.foo", "allowed")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------------
# 7. --method-file

METHOD_FILE = '''
import torch
import torch.nn.functional as F

import unlearnlab


@unlearnlab.register_method("{name}", paper="test")
class TmpNoop(unlearnlab.Method):
    """One epoch of cross-entropy on the retain set."""

    def unlearn(self, model, task):
        def loss(m, batch):
            return F.cross_entropy(m(batch[0]), batch[1])

        task.fit(model, task.retain_loader(64), loss, torch.optim.SGD(model.parameters(), lr=0.01), epochs=1)
        return model
'''


@pytest.fixture
def isolated_registry(monkeypatch):
    # A method file registers into the process-wide registry; keep later tests (which run "every
    # registered method") from seeing it.
    monkeypatch.setattr(METHODS, "_items", dict(METHODS._items))


def test_method_file_registers_and_runs(tmp_path, shared_store, isolated_registry):
    name = f"tmp_noop_{uuid.uuid4().hex[:8]}"
    path = tmp_path / "my_method.py"
    path.write_text(METHOD_FILE.format(name=name))
    out = tmp_path / "out.json"
    stdout = ok(cli("run", "--method-file", path, "--methods", name, *FAST, "--store", shared_store, "--json", out))
    runs = by_method(load_json(out))
    assert set(runs) == {"original", "retrain", name}
    run = runs[name]
    assert run["status"] == "done" and run["hparams"] == {}
    assert 0.0 <= run["metrics"]["ua"] <= 1.0 and run["metrics"]["steps"] > 0
    assert name in stdout


def test_method_file_that_fails_to_import_is_rejected(tmp_path, monkeypatch, isolated_registry):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "broken_method.py"
    path.write_text("raise RuntimeError('boom at import')\n")
    store, out = tmp_path / "store", tmp_path / "out.json"
    result = cli("run", "--method-file", path, "--methods", "ga", *FAST, "--store", store, "--json", out)
    assert_one_line_error(result, str(path), "failed to import", "boom at import")
    missing = tmp_path / "absent.py"
    assert_one_line_error(cli("run", "--method-file", missing, "--store", store), "absent.py", "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken_method.py"]


def test_env_names_the_kernels_and_whether_numbers_are_portable():
    from unlearnlab import numerics

    text = ok(cli("env"))
    assert "kernels" in text and "portable numerics:" in text
    manifest = json.loads(ok(cli("env", "--json")))
    assert manifest["numerics"]["mode"] in numerics.MODES and manifest["versions"]["torch"]
    if numerics.portable():
        assert "in force" in text and manifest["threads"]["torch"] == 1


# ---------------------------------------------------------------------------------------------------
# 8. The terminal: usage errors, narrow consoles, progress in pipes, telling runs and scenarios apart


@pytest.mark.parametrize("args, needles", [
    (["frobnicate"], ["'frobnicate'", "commands: demo, run", "report", "audit"]),
    (["run", "--frob", "1"], ["'--frob'", "`unlearnlab run`", "options:", "--dataset", "--methods", "--seed"]),
    (["compare", "0123456789ab"], ["missing argument RUN_B", "usage: unlearnlab compare [OPTIONS] RUN_A RUN_B"]),
    (["run", "--seed", "abc"], ["'--seed'", "'abc'", "integer"]),
    (["runs", "extra"], ["extra", "usage: unlearnlab runs [OPTIONS]"]),
])
def test_usage_errors_are_one_line_naming_the_value_and_what_is_allowed(args, needles, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = assert_one_line_error(cli(*args), *needles)
    assert "Usage:" not in line and "Try '" not in line  # not Click's box squeezed into a line
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _wide_comparison():
    """Every registered method with the widest values the table prints (100.00 %, 12345.67 s, cached labels)."""
    from unlearnlab.runner import Comparison, RunResult

    keys = ("ua", "ra", "ta", "tua", "tra", "mia_efficacy", "privacy_score", "avg_gap")
    names = ["original", *METHODS]
    runs = [RunResult(name, {}, "diverged" if name == "ga" else "done",
                      {**{k: (1.0 if i % 2 else 0.01 * i + 0.001 * j) for j, k in enumerate(keys)},
                       "run_time_s": 12345.67 - i, "speedup_vs_retrain": 123.4 + i},
                      run_id=f"{i:012x}", cached=name in ("original", "retrain"))
            for i, name in enumerate(names)]
    scenario = {"dataset": {"name": "digits"}, "model": {"name": "cnn"}, "prune": 0.5, "forget": "class:3",
                "forget_size": 180, "seed": 0, "id": "0123456789abcdef"}
    return Comparison(scenario, runs, "/tmp/store")


@pytest.mark.parametrize("width", [80, 100, 160])
def test_results_table_fits_the_console_with_every_number_whole(width, monkeypatch):
    from rich.console import Console

    from unlearnlab import cli as cli_module
    from unlearnlab.report import table_rows

    result = _wide_comparison()
    console = Console(file=io.StringIO(), width=width, color_system=None)
    monkeypatch.setattr(cli_module, "out", console)
    cli_module._print_comparison(result)
    text = console.file.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    header, rows = table_rows([r.to_contract() for r in result.runs])
    shown_headers = {cell.strip() for line in text.splitlines() if line.startswith("┃") for cell in line.split("┃")}
    assert set(header) <= shown_headers, (header, shown_headers)
    for row in rows:  # each run's cells, over however many tables, hold every value of its row whole
        cells = [c.strip() for line in text.splitlines() if line.startswith(f"│ {row[0]} ") for c in line.split("│")]
        assert set(row) <= set(cells), (row, cells)
    assert "0123456789abcdef" in text and "forget class:3" in text  # the heading, wrapped between words


def test_piped_run_prints_plain_progress_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("run", *_tiny(tmp_path), "--methods", "ga", "--store", tmp_path / "store")
    ok(result)
    lines = result.stderr.splitlines()
    assert any(line.endswith("original: started") or "original: started, " in line for line in lines), lines
    assert any(re.search(r"ga: ended after \d+\.\d s", line) for line in lines), lines
    assert not any("\x1b" in line or "\r" in line for line in lines)  # no bar, no cursor movement


def test_runs_and_report_tell_apart_scenarios_and_repeated_runs(tmp_path, monkeypatch):
    from unlearnlab.store import Store

    monkeypatch.chdir(tmp_path)
    store, out = tmp_path / "store", tmp_path / "out.json"
    ok(cli("run", *_tiny(tmp_path), "--methods", "ga", "--store", store, "--json", out))
    dense = load_json(out)
    ok(cli("run", *_tiny(tmp_path), "--methods", "ga", "--prune", "0.5", "--store", store))
    listing = ok(cli("runs", "--store", store))
    # same request text, one pruned: each says what differs
    assert re.search(r"class:1 · prune=none", listing) and re.search(r"class:1 · prune=0\.5", listing), listing
    assert "Started" not in listing  # no run repeats yet
    # a second ga run of the dense scenario with the same hyper-parameters (as after --rerun)
    ga = by_method(dense)["ga"]
    st = Store(store)
    again = st.start_run(dense["scenario"]["id"], "ga", ga["hparams"], dense["scenario"]["seed"])
    st.fail_run(again, "failed", "killed")
    st.close()
    listing = ok(cli("runs", "--store", store))
    assert "Started" in listing and again in listing and ga["run_id"] in listing
    table = ok(cli("report", dense["scenario"]["id"], "--format", "csv", "--store", store))
    rows = list(csv.reader(io.StringIO(table)))
    assert rows[0][:4] == ["Method", "Status", "Run", "Started"]
    ga_rows = [r for r in rows if r[0] == "ga"]
    assert {r[2] for r in ga_rows} == {ga["run_id"], again}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r[3]) for r in ga_rows), ga_rows


def test_piped_output_is_as_wide_as_columns_says_else_160(monkeypatch):
    from unlearnlab import cli as cli_module

    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    monkeypatch.setenv("COLUMNS", "90")
    assert cli_module._stdout_width() == 90
    for unusable in ("", "wide", "0"):
        monkeypatch.setenv("COLUMNS", unusable)
        assert cli_module._stdout_width() == 160, unusable
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli_module._stdout_width() is None  # a terminal: Rich follows it (and COLUMNS) itself
