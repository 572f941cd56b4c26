"""Presets: what each one pins, how explicit values override it, and a preset run end to end on tiny images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import unlearnlab as ul
from unlearnlab.cli import app
from unlearnlab.data import DATASETS, from_arrays, parse_dataset_spec, parse_forget
from unlearnlab.errors import BadInput
from unlearnlab.methods import METHODS, build_method, ensure_loaded
from unlearnlab.models import create_model
from unlearnlab.presets import PRESETS, SALUN_TABLE_METHODS, Preset, get_preset, register_preset, resolve
from unlearnlab.store import Store
from unlearnlab.training import TrainConfig


@pytest.mark.parametrize("name", PRESETS.names())
def test_every_preset_resolves_to_buildable_parts(name):
    p = get_preset(name)
    assert p.name == name and p.paper and p.forget and p.recipe()
    assert parse_dataset_spec(p.dataset)[0] in DATASETS
    create_model(p.model, (3, 32, 32), 10)
    for request in p.forget:
        parse_forget(request)
    ensure_loaded()
    for method in p.methods or METHODS.names():
        build_method(method, p.method_params.get(method))  # BadInput if a pinned hyper-parameter is not valid
    assert set(p.method_params) <= set(p.methods or METHODS.names())
    assert json.loads(json.dumps(p.to_dict()))["name"] == name


def test_salun_cifar10_is_the_optml_recipe():
    p = get_preset("salun-cifar10")
    t = p.train
    assert (p.dataset, p.model) == ("cifar10", "resnet18")
    assert (t.epochs, t.lr, t.batch_size, t.momentum, t.weight_decay, t.nesterov) == (182, 0.1, 256, 0.9, 5e-4, False)
    # arg_parser.py: --decreasing_lr 91,136 (MultiStepLR, gamma 0.1)
    assert t.schedule == "multistep" and [int(f * t.epochs) for f in t.milestones] == [91, 136] and t.lr_decay == 0.1
    assert (t.augment, t.crop_padding) == ("crop_flip", 4)
    assert p.forget == ("class:0", "random:4500")
    assert p.methods == SALUN_TABLE_METHODS
    ensure_loaded()
    assert {m: dict(METHODS.get(m).reference_defaults) for m in p.methods} == p.method_params


def test_comparator_cifar10_is_its_setting():
    p = get_preset("comparator-cifar10")
    t = p.train
    assert (p.dataset, p.model) == ("cifar10", "resnet18")
    assert (t.epochs, t.lr, t.batch_size, t.nesterov, t.weight_decay, t.schedule) == (200, 0.1, 128, True, 5e-4,
                                                                                      "cosine")
    assert t.augment == "crop_flip"
    assert p.forget == tuple(f"class:{c}" for c in range(10))
    assert p.methods == ("ft", "rl", "ga", "scrub", "salun")
    assert p.method_params["ga"] == {"epochs": 7, "lr": 0.0001, "batch_size": 256}


def test_fast_cifar10_trains_fastnet_with_a_one_cycle_recipe():
    p = get_preset("fast-cifar10")
    assert (p.dataset, p.model, p.train.schedule, p.train.epochs) == ("cifar10", "fastnet", "onecycle", 10)
    assert p.train.label_smoothing == 0.2 and p.train.augment == "crop_flip"


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(BadInput, match=r"unknown preset 'cifar10'.*allowed: salun-cifar10, comparator-cifar10, "
                                       r"fast-cifar10"):
        get_preset("cifar10")


def test_explicit_values_override_one_field_at_a_time():
    r = resolve("salun-cifar10", model="cnn", train={"epochs": 2, "batch_size": 256}, methods=["ft", "salun"],
                overrides={"ft": {"lr": 0.1}})
    assert r.model == "cnn" and r.dataset == "cifar10" and r.forget == ("class:0", "random:4500")
    assert r.train["epochs"] == 2 and r.train["milestones"] == [0.5, 0.75] and r.train["augment"] == "crop_flip"
    assert r.methods == ["ft", "salun"]
    assert r.overrides == {"ft": {"lr": 0.1, "epochs": 10, "batch_size": 256},
                           "salun": {"ratio": 0.5, "lr": 0.013, "epochs": 10, "batch_size": 256}}
    # batch_size=256 is the preset's own value: not an override
    assert r.overridden == ["model=cnn", "train.epochs=2", "methods=ft,salun", "ft.lr=0.1"]
    assert resolve("salun-cifar10", forget="class:3").forget == ("class:3",)
    assert resolve("fast-cifar10").overridden == []


def _tiny_images(n=72, k=3, side=12):
    rng = np.random.default_rng(0)
    y = np.arange(n) % k
    x = rng.normal(0, 1, size=(n, 3, side, side)) + 2 * y[:, None, None, None]
    return x.astype(np.float32), y


@pytest.mark.parametrize("name", PRESETS.names())
def test_every_preset_runs_end_to_end_on_the_cpu_with_its_data_set_swapped_for_tiny_images(name, tmp_path):
    preset = get_preset(name)
    method = preset.methods[0]
    x, y = _tiny_images()
    data = from_arrays(x, y, test_size=0.25, seed=0, standardize=False)
    result = ul.run(data, preset=name, methods=[method], train={"epochs": 1}, overrides={method: {"epochs": 1}},
                    store=tmp_path, device="cpu")
    sc = result.scenario
    assert sc["model"]["name"] == preset.model and sc["forget"] == preset.forget[0]
    assert sc["preset"]["name"] == name
    assert sc["preset"]["overridden"] == ["dataset=Dataset", "train.epochs=1", f"methods={method}",
                                          f"{method}.epochs=1"]
    stored = Store(tmp_path, create=False).scenario(sc["id"])
    assert stored["train"] == json.loads(json.dumps({**preset.train.to_dict(), "epochs": 1}))
    run = result.run(method)
    assert run.status == "done"
    assert run.hparams == {**run.hparams, **preset.method_params[method], "epochs": 1}
    assert {r.method for r in result.runs} == {"original", "retrain", method}


def test_salun_cifar10_reads_cifar10_from_the_data_root(tmp_path, monkeypatch):
    """`run --preset salun-cifar10 --data-root DIR` on CIFAR-10's own file format (tiny files written here)."""
    from tests.data.formats import tiny

    raw = tiny("cifar10", tmp_path / "data", monkeypatch)
    out = tmp_path / "out.json"
    res = CliRunner().invoke(app, ["run", "--preset", "salun-cifar10", "--data-root", str(tmp_path / "data"),
                                   "--forget", "class:0", "--set", "train.epochs=1", "--methods", "ft",
                                   "--set", "ft.epochs=1", "--store", str(tmp_path / "store"), "--json", str(out)])
    assert res.exit_code == 0, res.output
    (sc,) = [r["scenario"] for r in json.loads(out.read_text())]
    assert sc["dataset"]["name"] == "cifar10" and sc["dataset"]["input_shape"] == [3, 32, 32]
    assert sc["model"]["name"] == "resnet18" and sc["train"]["augment"] == "crop_flip"
    assert sc["forget_size"] == int((raw["y_train"] == 0).sum()) > 0


def test_cli_lists_presets_and_runs_each_request_of_one(tmp_path, monkeypatch):
    runner = CliRunner()
    listed = runner.invoke(app, ["presets", "--json"])
    assert listed.exit_code == 0
    assert [p["name"] for p in json.loads(listed.stdout)] == PRESETS.names()
    table = runner.invoke(app, ["presets"], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "salun-cifar10" in table.stdout and "random:4500" in table.stdout

    x, y = _tiny_images()
    np.savez(tmp_path / "tiny.npz", X=x, y=y)
    out = tmp_path / "out.json"
    res = runner.invoke(app, ["run", "--preset", "fast-cifar10", "--dataset", f"arrays:{tmp_path / 'tiny.npz'}",
                              "--set", "train.epochs=1", "--methods", "ga", "--forget", "class:1",
                              "--store", str(tmp_path / "store"), "--json", str(out)])
    assert res.exit_code == 0, res.output
    runs = json.loads(out.read_text())
    assert [r["scenario"]["forget"] for r in runs] == ["class:1"]
    assert runs[0]["scenario"]["train"]["schedule"] == "onecycle"
    assert "preset fast-cifar10: overridden by the command line" in res.stderr

    # without --forget, every request of the preset runs, in order
    monkeypatch.setattr(PRESETS, "_items", dict(PRESETS._items))

    @register_preset("two-requests", paper="a test preset")
    def two_requests():
        return Preset(dataset=f"arrays:{tmp_path / 'tiny.npz'}", model="cnn", train=TrainConfig(epochs=1),
                      forget=("class:2", "random:0.1"), methods=("ga",), method_params={"ga": {"epochs": 1}})

    res = runner.invoke(app, ["run", "--preset", "two-requests", "--store", str(tmp_path / "store"),
                              "--json", str(out)])
    assert res.exit_code == 0, res.output
    runs = json.loads(out.read_text())
    assert [r["scenario"]["forget"] for r in runs] == ["class:2", "random:0.1"]
    assert [r["scenario"]["preset"]["overridden"] for r in runs] == [[], []]
    assert "overridden" not in res.stderr


def test_cli_unknown_preset_is_one_line_exit_2(tmp_path):
    res = CliRunner().invoke(app, ["run", "--preset", "salun", "--store", str(tmp_path / "s")])
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [
        "error: unknown preset 'salun'; allowed: salun-cifar10, comparator-cifar10, fast-cifar10"]
    assert not (tmp_path / "s").exists()
