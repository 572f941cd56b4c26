"""Auditing the user's own model end to end: by reference and in memory, with a given θ_o / θ_r, and the
one-line refusals (CLI exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import unlearnlab as ul
from unlearnlab.errors import BadInput
from unlearnlab.models import Adapter
from unlearnlab.runner import load_run_model, load_scenario, prepare

from .models.test_adapter import TorchvisionStyle, sequential
from .test_cli import _check_bad, _tiny_npz, cli, ok

pytestmark = pytest.mark.usefixtures("one_thread")

REF = "tests.models.test_adapter:sequential"  # nn.Sequential(Flatten, Linear, ReLU, Linear): two linear layers
FAST = {"epochs": 2, "batch_size": 16}


def four_features(num_classes: int) -> nn.Module:
    """For the 4-feature tiny arrays of the CLI tests."""
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, num_classes))


@pytest.fixture(scope="module")
def data(tiny_data, tmp_path_factory):
    """conftest's tiny images (1x4x4, 3 classes) from a file, so stored scenarios reload."""
    path = tmp_path_factory.mktemp("own-data") / "tiny.npz"
    np.savez(path, X=tiny_data.x_train, y=tiny_data.y_train)
    return f"arrays:{path},standardize=false"


def _tensors(spec: str):
    with np.load(spec.split(":", 1)[1].split(",")[0]) as f:
        return torch.as_tensor(f["X"]), torch.as_tensor(f["y"])


@pytest.fixture(scope="module")
def by_reference(data, tmp_path_factory):
    store = tmp_path_factory.mktemp("own-store")
    return store, ul.run(data, REF, "class:1", ["ft", "boundary_expand", "salun", "laf"], train=FAST, store=store,
                         overrides={"laf": {"epochs": 1, "vae_steps": 5}})


def test_a_model_by_reference_runs_is_recorded_by_name_and_reloads(by_reference, data):
    store, result = by_reference
    assert [r.status for r in result.runs] == ["done"] * 6, [(r.method, r.reason) for r in result.runs]
    spec = result.scenario
    assert spec["model"]["name"] == REF and spec["model"]["source"] == "reference"
    assert len(spec["model"]["architecture"]) == 64
    st = ul.Store(store)
    scenario = load_scenario(st.scenario(spec["id"]))
    assert scenario.id == spec["id"]
    _, model = load_run_model(st, result.run("ft").run_id, scenario)
    assert isinstance(model, Adapter) and model.head_path == "3"
    # stored weights carry the user's own keys: they load into the plain model
    plain = sequential(3, 16)
    plain.load_state_dict(st.load_weights(result.run("ft").run_id))
    x = _tensors(data)[0]
    assert torch.equal(plain.eval()(x), model(x))


def test_compare_reads_blocks_and_features_of_an_adapted_model(by_reference):
    store, result = by_reference
    res = ul.compare(result.run("salun").run_id, result.run("retrain").run_id, store=store, n_per_class=5)
    assert res["cka"]["blocks"] == ["1", "3"]
    emb = res["embedding"]  # from the penultimate features, caught at the head's input
    assert len(emb["xy_a"]) == len(emb["xy_b"]) == len(emb["indices"]) > 0


def test_a_stored_reference_that_no_longer_imports_is_one_line(by_reference):
    store, result = by_reference
    spec = dict(ul.Store(store).scenario(result.scenario["id"]))
    spec["model"] = {**spec["model"], "name": "gone_pkg_xyz.models:net"}
    with pytest.raises(BadInput, match=r"^model reference 'gone_pkg_xyz.models:net' does not import: "
                                       r"ModuleNotFoundError"):
        load_scenario(spec)
    spec["model"] = {**spec["model"], "name": REF, "architecture": "0" * 64}
    with pytest.raises(BadInput, match=r"no longer builds the stored architecture"):
        load_scenario(spec)


def test_an_in_memory_module_is_copied_for_each_model_and_cannot_be_reloaded(data, tmp_path):
    net = sequential(3, 16)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    result = ul.run(data, net, "class:1", ["ft"], train=FAST, store=tmp_path)
    assert [r.status for r in result.runs] == ["done"] * 3
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())  # never trained in place
    assert result.scenario["model"]["source"] == "in memory"
    with pytest.raises(BadInput, match=r"in-memory model \(Sequential\), which cannot be rebuilt by name; "
                                       r"its runs' weights still load"):
        load_scenario(ul.Store(tmp_path).scenario(result.scenario["id"]))
    weights = ul.Store(tmp_path).load_weights(result.run("original").run_id)
    assert set(weights) == set(before) and not torch.equal(weights["3.weight"], before["3.weight"])


def _trained_state(data, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    net = sequential(3, 16)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = _tensors(data)
    for _ in range(30):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_a_given_original_is_loaded_not_trained_and_its_hash_is_recorded(data, tmp_path):
    state = _trained_state(data)
    path = tmp_path / "theta_o.safetensors"
    save_file(state, path)
    result = ul.run(data, REF, "class:1", ["ft"], train=FAST, store=tmp_path / "store", original=path)
    original, retrain, ft = (result.run(m) for m in ("original", "retrain", "ft"))
    assert all(r.status == "done" for r in (original, retrain, ft))
    stored = ul.Store(tmp_path / "store").load_weights(original.run_id)
    assert all(torch.equal(stored[k], v) for k, v in state.items())  # θ_o is the file, not a training run
    import hashlib
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.scenario["original"] == {"sha256": sha} and "retrained" not in result.scenario
    assert original.metrics["run_time_s"] is None and original.metrics["steps"] == 0
    assert original.hparams == {"weights": "given", "sha256": sha}
    note = original.details["metric_notes"]["run_time_s"]
    assert note.startswith("not applicable: θ_o was given (theta_o.safetensors")
    assert retrain.metrics["run_time_s"] > 0 and retrain.metrics["steps"] > 0  # θ_r still trained from scratch
    assert ft.metrics["speedup_vs_retrain"] is not None
    # another file is another scenario; the same file at another path (a .pt state dict) the same one
    other = tmp_path / "other.safetensors"
    save_file(_trained_state(data, seed=1), other)
    assert prepare(data, REF, "class:1", train=FAST, original=other).id != result.scenario["id"]
    torch.save(state, tmp_path / "theta_o.pt")
    pt = prepare(data, REF, "class:1", train=FAST, original=tmp_path / "theta_o.pt")
    assert pt.original.sha256 != sha and all(torch.equal(pt.original.state[k], v) for k, v in state.items())
    # reloading the stored scenario does not need the file
    path.unlink()
    assert load_scenario(ul.Store(tmp_path / "store").scenario(result.scenario["id"])).id == result.scenario["id"]


def test_a_given_retrained_model_has_no_speedup_and_says_why(data, tmp_path):
    path = tmp_path / "theta_r.pt"
    torch.save({"state_dict": _trained_state(data, seed=2), "epoch": 30}, path)  # a SalUn-style checkpoint
    result = ul.run(data, REF, "class:1", ["ft"], train=FAST, store=tmp_path / "store", retrained=path)
    retrain, ft = result.run("retrain"), result.run("ft")
    assert retrain.metrics["run_time_s"] is None and retrain.metrics["speedup_vs_retrain"] is None
    assert ft.metrics["speedup_vs_retrain"] is None and ft.metrics["run_time_s"] > 0
    assert ft.details["metric_notes"]["speedup_vs_retrain"].startswith("not meaningful: θ_r was given (theta_r.pt")
    assert result.run("original").metrics["run_time_s"] > 0
    table = ul.report(result.scenario["id"], store=tmp_path / "store")
    assert "Speed-up withheld for retrain, ft" in table and "not meaningful" in table


def test_given_weights_refuse_prune_and_a_shared_retrain_seed(data, tmp_path):
    path = tmp_path / "w.safetensors"
    save_file(_trained_state(data), path)
    with pytest.raises(BadInput, match=r"--prune retrains θ_o and θ_r under the pruning mask"):
        prepare(data, REF, "class:1", original=path, prune=0.5)
    with pytest.raises(BadInput, match=r"--retrain-seed shared .* use --retrain-seed independent"):
        prepare(data, REF, "class:1", original=path, retrain_seed="shared")


# ---------------------------------------------------------------------------------------------------
# The CLI: bad input is one line, exit 2, nothing written.

HERE = "tests.test_own_model"


def returns_a_number(num_classes):
    return 3


def _weights(d: Path, name: str, state) -> Path:
    path = d / name
    if name.endswith(".safetensors"):
        save_file(state, path)
    else:
        torch.save(state, path)
    return path


def _good_state(**changes) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    state = dict(four_features(3).state_dict())
    for key, value in changes.items():
        if value is None:
            state.pop(key)
        else:
            state[key] = value
    return state


def _args(d: Path, model: str = f"{HERE}:four_features", *extra) -> list:
    return ["--dataset", f"arrays:{_tiny_npz(d)}", "--model", model, "--forget", "class:1", "--methods", "ft",
            "--set", "train.epochs=1", *extra]


BAD = {
    "does not import": (lambda d: _args(d, "no_such_pkg_xyz.models:net"),
                        ["no_such_pkg_xyz.models:net", "does not import", "ModuleNotFoundError"]),
    "no attribute": (lambda d: _args(d, f"{HERE}:nothing_here"), ["has no attribute 'nothing_here'"]),
    "not a module": (lambda d: _args(d, f"{HERE}:returns_a_number"), ["returned a int, not a torch.nn.Module"]),
    "wrong outputs": (lambda d: _args(d, "tests.models.test_adapter:TorchvisionStyle"),
                      ["fails on inputs shaped (4,)"]),
    "bad option": (lambda d: _args(d, f"{HERE}:four_features,width=3"), ["model option 'width=3'", "allowed: head="]),
    "pickled module": (lambda d: _args(d, f"{HERE}:four_features", "--original",
                                       _weights(d, "full.pt", four_features(3))),
                       ["full.pt", "pickled object, not a state dict", "state_dict()"]),
    "wrong shape": (lambda d: _args(d, f"{HERE}:four_features", "--original",
                                    _weights(d, "w.safetensors", _good_state(**{"2.weight": torch.zeros(5, 16)}))),
                    ["w.safetensors", "does not fit model", "key '2.weight' has shape (5, 16) in the file",
                     "expects (3, 16)"]),
    "missing key": (lambda d: _args(d, f"{HERE}:four_features", "--retrained",
                                    _weights(d, "r.pt", _good_state(**{"0.bias": None}))),
                    ["retrained weights", "key '0.bias' is missing from the file"]),
    "unexpected key": (lambda d: _args(d, f"{HERE}:four_features", "--original",
                                       _weights(d, "u.pt", _good_state(extra=torch.zeros(1)))),
                       ["key 'extra' in the file is not in the model"]),
    "truncated": (lambda d: _args(d, f"{HERE}:four_features", "--original", _truncated(d)),
                  ["t.safetensors", "cannot be read as .safetensors weights"]),
    "unknown format": (lambda d: _args(d, f"{HERE}:four_features", "--original", _weights(d, "w.ckpt", {})),
                       ["unknown weights format '.ckpt'", "allowed: .safetensors, .pt"]),
    "not a file": (lambda d: _args(d, f"{HERE}:four_features", "--original", d), ["is not a regular file"]),
}


def _truncated(d: Path) -> Path:
    path = _weights(d, "t.safetensors", _good_state())
    path.write_bytes(path.read_bytes()[:100])
    return path


@pytest.mark.parametrize("case", list(BAD))
def test_cli_refuses_bad_models_and_weights_with_one_line_and_writes_nothing(case, tmp_path, monkeypatch):
    make_args, needles = BAD[case]
    _check_bad(tmp_path, monkeypatch, make_args, needles)


def test_cli_runs_a_reference_with_given_original(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = _weights(tmp_path, "w.safetensors", _good_state())
    out = tmp_path / "out.json"
    stdout = ok(cli("run", *_args(tmp_path, f"{HERE}:four_features,head=2", "--original", w),
                    "--store", tmp_path / "store", "--json", out))
    payload = json.loads(out.read_text())
    assert payload["scenario"]["model"]["name"] == f"{HERE}:four_features,head=2"
    assert payload["scenario"]["original"]["sha256"] == __import__("hashlib").sha256(w.read_bytes()).hexdigest()
    runs = {r["method"]: r for r in payload["runs"]}
    assert runs["original"]["metrics"]["run_time_s"] is None and runs["retrain"]["metrics"]["run_time_s"] > 0
    assert "θ_o was given (w.safetensors" in stdout
    assert np.isfinite(runs["ft"]["metrics"]["ua"])


def test_real_process_refuses_a_reference_that_does_not_import(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "unlearnlab.cli", "run", "--model", "no_such_pkg_xyz:net",
                           "--store", str(tmp_path / "store")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "model reference 'no_such_pkg_xyz:net' does not import" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_server_answers_a_reference_it_cannot_import_with_one_line(data, tmp_path, monkeypatch):
    """The model's package was importable when the runs were made, not where the server runs."""
    import sys

    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "gone_models_xyz.py").write_text("from torch import nn\n\ndef net(num_classes):\n"
                                            "    return nn.Sequential(nn.Flatten(), nn.Linear(16, num_classes))\n")
    monkeypatch.syspath_prepend(str(pkg))
    result = ul.run(data, "gone_models_xyz:net", "class:1", ["ft"], train=FAST, store=tmp_path / "store")
    (pkg / "gone_models_xyz.py").unlink()
    monkeypatch.delitem(sys.modules, "gone_models_xyz")
    sys.path.remove(str(pkg))
    with TestClient(create_app(tmp_path / "store")) as client:
        answer = client.get("/api/compare", params={"a": result.run("ft").run_id, "b": result.run("retrain").run_id,
                                                    "n_per_class": 5})
    assert answer.status_code == 422, answer.text
    detail = json.dumps(answer.json())
    assert "model reference 'gone_models_xyz:net' does not import: ModuleNotFoundError" in detail
    assert "\\n" not in detail
