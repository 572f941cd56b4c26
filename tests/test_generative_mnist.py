"""The generative path on MNIST / Fashion-MNIST (issue 14), offline: tiny files in the real IDX format (28x28, ten
learnable classes: `formats.write_idx_patterns`) read from a data root, then `api.run` and `unlearnlab run --model
ddpm --data-root DIR` end to end, the data sets' recipe (training.diffusion.RECIPES) and the 28x28 judge.

The real files cannot be had on the build machines; these tests check the path and its shapes, not the recipe's
quality (docs/generative.md, "MNIST / Fashion-MNIST", says what was and was not measured).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_cli import cli, ok
from unlearnlab import api
from unlearnlab.data import load_dataset
from unlearnlab.errors import BadInput
from unlearnlab.metrics.generative import train_judge
from unlearnlab.models.diffusion import DiffusionConfig
from unlearnlab.runner_generative import prepare_generation
from unlearnlab.store import Store
from unlearnlab.training import TrainConfig
from unlearnlab.training.diffusion import (DEFAULT_RECIPE, RECIPES, DiffusionRecipe, DiffusionTrainConfig, recipe_for,
                                           register_recipe)

from .data.formats import trust, write_idx_patterns

pytestmark = pytest.mark.usefixtures("one_thread")

FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
#: A tiny request: a 32-wide denoiser for 30 steps, 40 samples a class (>= 33: the judge's 32 features + 1, so
#: every distance can be read), 2 DDIM steps. Checks the path, not the quality.
TRAIN = {"steps": 30, "batch_size": 32}
GEN = {"width": 32, "depth": 1, "timesteps": 20, "n_per_class": 40, "sample_steps": 2, "gallery": 2}
SETS = [a for k, v in {**{f"train.{k}": v for k, v in TRAIN.items()}, **{f"gen.{k}": v for k, v in GEN.items()}}.items()
        for a in ("--set", f"{k}={v}")]


@pytest.fixture(autouse=True)
def no_store_env(monkeypatch):
    monkeypatch.delenv("UNLEARNLAB_STORE", raising=False)


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """MNIST and Fashion-MNIST, 600 training and 400 test images each (60 and 40 a class), trusted by md5."""
    root = tmp_path / "data"
    for seed, folder in enumerate(FOLDERS.values()):
        write_idx_patterns(root, folder, n_train=600, n_test=400, seed=seed)
    trust(monkeypatch, root)
    return root


def _check_generative_run(store_path: Path, result: dict) -> None:
    """Every run done, a 1x28x28 gallery of every class, each metric a finite number or None with its reason."""
    assert result["scenario"]["task"] == "generation"
    assert [r["status"] for r in result["runs"]] == ["done"] * len(result["runs"])
    with Store(store_path, create=False) as st:
        for run in result["runs"]:
            out = st.load_outputs(run["run_id"])
            assert out["gallery"].shape == (10 * GEN["gallery"], 1, 28, 28) and np.isfinite(out["gallery"]).all()
            assert (out["gallery_labels"] == np.repeat(np.arange(10), GEN["gallery"])).all()
            notes = st.run(run["run_id"]).details.get("metric_notes", {})
            for key in ("forget_rate", "kept_accuracy", "fd_kept", "fd_class_mean", "judge_accuracy", "run_time_s"):
                value = run["metrics"][key]
                assert (value is not None and math.isfinite(value)) or key in notes, (run["method"], key, value)


@pytest.mark.parametrize("name", list(FOLDERS))
def test_the_judge_reads_28x28_images(name, data_root):
    """The recipe's judge on 1x28x28 inputs: fastnet (the cnn cannot read digits that size), 32 features, well
    above chance on the learnable classes."""
    ds = load_dataset(name, seed=0, data_root=data_root)
    assert ds.input_shape == (1, 28, 28)
    judge = train_judge(ds, 0)
    assert judge.meta["model"] == recipe_for(name).judge_model == "fastnet"
    assert judge.meta["train"]["epochs"] == 3
    pred, feats = judge.read(ds.x_test[:50])
    assert feats.shape == (50, 32) and np.isfinite(feats).all() and pred.shape == (50,)
    assert judge.usable.value is not None and judge.test_accuracy > 0.5, judge.check.describe()


def test_api_run_on_mnist_files_stores_28x28_galleries_and_readable_metrics(tmp_path, data_root):
    store = tmp_path / "store"
    result = api.run("mnist", "ddpm", "class:1", ["ft_retain"], data_root=data_root, train=TRAIN,
                     overrides={"gen": dict(GEN), "ft_retain": {"steps": 2}}, store=store).to_json()
    assert [r["method"] for r in result["runs"]] == ["original", "retrain", "ft_retain"]
    _check_generative_run(store, result)
    spec = result["scenario"]
    assert spec["dataset"]["name"] == "mnist" and spec["forget_classes"] == [1]
    # the options override single fields of MNIST's recipe; the others are the recipe's
    assert spec["model"]["kwargs"] == {**recipe_for("mnist").model.to_dict(), **{k: GEN[k] for k in
                                                                                 ("width", "depth", "timesteps")}}
    assert spec["train"] == {**recipe_for("mnist").train.to_dict(), **TRAIN}
    retrain = result["runs"][1]["metrics"]
    assert retrain["judge_accuracy"] > 0.5 and retrain["avg_gap"] == 0.0


def test_cli_run_on_fashion_mnist_files(tmp_path, data_root):
    store, out = tmp_path / "store", tmp_path / "run.json"
    text = ok(cli("run", "--model", "ddpm", "--dataset", "fashion_mnist", "--data-root", data_root, "--forget",
                  "class:1", "--methods", "ft_retain", "--set", "ft_retain.steps=2", *SETS, "--store", store,
                  "--json", out))
    assert "Forget rate" in text and "ft_retain" in text
    payload = json.loads(out.read_text())
    assert payload["scenario"]["dataset"]["name"] == "fashion_mnist"
    _check_generative_run(store, payload)


def test_each_data_set_gets_its_recipe_and_options_override_single_fields(tmp_path, data_root):
    mnist = load_dataset("mnist", seed=0, data_root=data_root)
    plain = prepare_generation(mnist, "ddpm", "class:1")
    assert plain.config == recipe_for("mnist").model and plain.train == recipe_for("mnist").train
    assert plain.config.width > DiffusionConfig().width  # a 784-d ε needs a wider residual stream than 64-d digits'
    tuned = prepare_generation(mnist, "ddpm", "class:1", train={"lr": "3e-4"}, gen={"depth": 2})
    assert (tuned.config.width, tuned.config.depth) == (recipe_for("mnist").model.width, 2)
    assert (tuned.train.steps, tuned.train.lr) == (recipe_for("mnist").train.steps, 3e-4)
    # digits (and any data set without a recipe) keep the defaults, so their scenarios and caches are unchanged
    digits = prepare_generation("digits", "ddpm", "class:3")
    assert digits.config == DiffusionConfig() and digits.train == DiffusionTrainConfig()
    assert recipe_for("digits") is DEFAULT_RECIPE and recipe_for("no_such_set") is DEFAULT_RECIPE
    assert recipe_for("fashion_mnist") == recipe_for("mnist")
    with pytest.raises(BadInput, match=r"diffusion.width=4 .*integer"):
        prepare_generation(mnist, "ddpm", "class:1", gen={"width": 4})


def test_a_recipe_is_validated(monkeypatch):
    with pytest.raises(BadInput, match="judge_model='nope' is not allowed; it must be a registered classifier"):
        DiffusionRecipe(judge_model="nope")
    with pytest.raises(BadInput, match="DiffusionRecipe.judge=.* must be a TrainConfig"):
        DiffusionRecipe(judge={"epochs": 3})
    with pytest.raises(BadInput, match="register a DiffusionRecipe"):
        register_recipe("mine", {"model": {}})
    with pytest.raises(ValueError, match="registered twice"):
        register_recipe("mnist", DiffusionRecipe())
    monkeypatch.setattr(RECIPES, "_items", dict(RECIPES._items))  # registered for this test only
    mine = register_recipe("digits_small", DiffusionRecipe(model=DiffusionConfig(width=64), judge=TrainConfig(epochs=2)))
    assert recipe_for("digits_small") is mine and mine.to_dict()["judge"]["epochs"] == 2


def test_bench_generative_methods_prints_na_for_distances_it_cannot_read(tmp_path, monkeypatch, capsys):
    """`--n 5` (< 33 samples a class: no covariance) gave statistics.mean of an empty list; now n/a."""
    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(bench))
    import bench_generative_methods

    monkeypatch.setattr(sys, "argv", ["bench", "--seeds", "0", "--methods", "ft_retain", "--steps", "20",
                                      "--width", "16", "--depth", "1", "--n", "5", "--sample-steps", "2"])
    bench_generative_methods.main()
    out = capsys.readouterr().out
    assert "n/a" in out and "mean over seeds" in out
    assert "ft_retain" in out.split("mean over seeds")[1]
