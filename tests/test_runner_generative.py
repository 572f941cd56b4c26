"""Generative runs end to end (runner_generative, api.run and `unlearnlab run --model ddpm`): θ_o, θ_r, the judge
and methods scored, stored, reloaded and reused; bad input one line, exit 2, nothing written.

Everything trains the reduced configuration of tests/training/test_diffusion.py (width 128, depth 2, 800 steps
at lr 3e-3; 40 samples per class, 10 DDIM steps), whose θ_o / θ_r forget rates were measured over seeds 0-2
(docs/generative.md). Methods are tiny fakes registered under `isolated_methods`: the real ones are G1's.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.test_cli import _check_bad, cli, ok
from unlearnlab import api
from unlearnlab.data import load_dataset
from unlearnlab.data.datasets import Dataset
from unlearnlab.errors import BadInput, Cancelled
from unlearnlab.methods import METHODS, Method, register_method
from unlearnlab.models.diffusion import sample
from unlearnlab.runner_generative import load_generation_model
from unlearnlab.store import Store
from unlearnlab.training.diffusion import diffusion_loss

pytestmark = pytest.mark.usefixtures("one_thread")

TRAIN = {"steps": 800, "lr": 3e-3}
GEN = {"width": 128, "depth": 2, "n_per_class": 40, "sample_steps": 10}
SETS = ["--set", "train.steps=800", "--set", "train.lr=3e-3", "--set", "gen.width=128", "--set", "gen.depth=2",
        "--set", "gen.n_per_class=40", "--set", "gen.sample_steps=10"]


@pytest.fixture(autouse=True)
def no_store_env(monkeypatch):
    monkeypatch.delenv("UNLEARNLAB_STORE", raising=False)


def _register_fakes() -> None:
    """Three generation methods: fine-tuning on the kept classes (a real, if short, unlearner), one that raises
    and one whose weights blow up."""
    if "fake_gen" in METHODS:
        return

    @register_method("fake_gen", paper="test double: fine-tuning on the kept classes (no paper)")
    class FakeGen(Method):
        tasks = ("generation",)

        def __init__(self, steps: int = 20):
            self.steps = steps

        def unlearn(self, model, task):
            gen = task.ctx.generator(7)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
            task.fit(model, task.retain_loader(64), lambda m, b: diffusion_loss(m, b[0], b[1], gen), opt,
                     epochs=1, max_steps=self.steps, description=self.name)
            return model.eval()

    @register_method("fake_fail", paper="test double: raises")
    class FakeFail(Method):
        tasks = ("generation",)

        def unlearn(self, model, task):
            raise RuntimeError("fake failure")

    @register_method("fake_cancel", paper="test double: cancelled while running")
    class FakeCancel(Method):
        tasks = ("generation",)

        def unlearn(self, model, task):
            raise Cancelled("cancelled by request")

    @register_method("fake_nan", paper="test double: non-finite weights")
    class FakeNan(Method):
        tasks = ("generation",)

        def unlearn(self, model, task):
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))
            return model


def _run(store, methods, **kw):
    return api.run(model="ddpm", forget="class:3", methods=methods, train=TRAIN, overrides={"gen": dict(GEN)},
                   store=store, **kw)


def test_generative_run_end_to_end_stores_reloads_and_reuses(tmp_path, isolated_methods):
    _register_fakes()
    store_path = tmp_path / "store"
    result = _run(store_path, ["fake_gen", "fake_fail", "fake_nan", "fake_cancel"])
    runs = {r.method: r for r in result.runs}
    assert [r.method for r in result.runs] == ["original", "retrain", "fake_gen", "fake_fail", "fake_nan",
                                               "fake_cancel"]
    o, r = runs["original"].metrics, runs["retrain"].metrics
    # the reduced configuration's measured spread (seeds 0-2): θ_o 0.85-0.95, θ_r 0.025-0.10
    assert o["forget_rate"] >= 0.6 and r["forget_rate"] <= 0.3
    assert r["forget_rate"] < o["forget_rate"] - 0.3
    assert r["avg_gap"] == 0.0 and runs["retrain"].metrics["speedup_vs_retrain"] is not None
    done = runs["fake_gen"]
    assert done.status == "done" and done.metrics["forget_rate"] is not None
    assert done.details["retrain_metrics"]["forget_rate"] == r["forget_rate"]
    assert done.details["avg_gap_keys"] == ["forget_rate", "kept_accuracy"]
    assert runs["fake_fail"].status == "failed" and "RuntimeError: fake failure" in runs["fake_fail"].reason
    assert runs["fake_nan"].status == "diverged" and "not finite" in runs["fake_nan"].reason
    assert runs["fake_cancel"].status == "cancelled" and runs["fake_cancel"].reason == "cancelled by request"
    contract = result.to_json()
    assert contract["scenario"]["task"] == "generation" and contract["scenario"]["model"]["kwargs"]["width"] == 128
    for key in ("forget_rate", "kept_accuracy", "fd_kept", "avg_gap", "run_time_s", "speedup_vs_retrain"):
        assert key in contract["runs"][2]["metrics"]

    with Store(store_path, create=False) as st:
        sid = result.scenario["id"]
        stored = {x.method: x for x in st.runs(sid)}
        assert {m: x.status for m, x in stored.items()} == {
            "original": "done", "retrain": "done", "fake_gen": "done", "fake_fail": "failed", "fake_nan": "diverged",
            "fake_cancel": "cancelled"}
        assert st.scenario(sid)["generation"]["guidance"] == 2.0
        k = 10
        out = st.load_outputs(done.run_id)
        assert out["gallery"].shape[0] == k * 8 and np.isfinite(out["gallery"]).all()
        assert (out["gallery_labels"] == np.repeat(np.arange(k), 8)).all()
        # the stored weights reload into the model that drew the gallery: the same samples from the same seed
        scenario, model = load_generation_model(st, done.run_id)
        again, _ = sample(model, list(range(k)), 8, scenario.stream_seed("eval"), config=scenario.gen.sampling())
        assert np.array_equal(again.numpy(), out["gallery"])
        n_runs, n_cache = len(st.runs()), len(list((store_path / "cache").rglob("*.safetensors")))
        # classifier-only commands refuse a generative run in one line
        for call in (lambda: api.audit(done.run_id, store=st), lambda: api.compare(done.run_id, runs["retrain"].run_id,
                                                                                   store=st)):
            with pytest.raises(BadInput, match="generative run"):
                call()

    # the second request (from the command line) reuses everything: θ_o, θ_r and the method's run
    out = tmp_path / "run.json"
    text = ok(cli("run", "--model", "ddpm", "--forget", "class:3", "--methods", "fake_gen", *SETS,
                  "--store", store_path, "--json", out))
    assert "Forget rate" in text and "Kept acc." in text and "fake_gen (cached)" in text
    payload = json.loads(out.read_text())
    assert [(x["method"], x["cached"]) for x in payload["runs"]] == [
        ("original", True), ("retrain", True), ("fake_gen", True)]
    assert payload["runs"][2]["metrics"]["forget_rate"] == done.metrics["forget_rate"]
    # --rerun runs the method again, on θ_o / θ_r (and the judge) from the store's cache: nothing retrained
    rerun = _run(store_path, ["fake_gen"], rerun=True)
    assert rerun.run("fake_gen").run_id != done.run_id and not rerun.run("fake_gen").cached
    assert rerun.run("fake_gen").metrics["forget_rate"] == done.metrics["forget_rate"]  # same seed, same bits
    with Store(store_path, create=False) as st:
        assert len(st.runs()) == n_runs + 1
        assert len(list((store_path / "cache").rglob("*.safetensors"))) == n_cache

    # the server's threshold attack reads logits, which a generative run does not store: one line, 422
    from fastapi.testclient import TestClient

    from unlearnlab.server import create_app
    from tests.server.helpers import assert_one_line_error

    with TestClient(create_app(store_path)) as client:
        assert_one_line_error(client.get(f"/api/runs/{done.run_id}/attack"), 422, "is a generation run")

    report = cli("report", result.scenario["id"], "--store", store_path)
    text = ok(report)
    assert "Forget rate" in text and "FD kept" in text and "fake_gen" in text


BAD = {
    "unknown-class": (["--forget", "class:12"], ["12", "0..9"]),
    "guidance": (["--set", "gen.guidance=25"], ["guidance", "25", "[0, 20]"]),
    "sample-steps": (["--set", "gen.sample_steps=0"], ["sampling steps", "[1, 200]"]),
    "sample-steps-above-T": (["--set", "gen.sample_steps=500"], ["500", "[1, 200]"]),
    "not-a-class-request": (["--forget", "random:0.1"], ["random", "class:C"]),
    "classifier-method": (["--methods", "ft"], ["'ft'", "generation"]),
    "unknown-gen-option": (["--set", "gen.colour=3"], ["gen.colour", "guidance"]),
    "classifier-train-option": (["--set", "train.epochs=3"], ["train.epochs", "steps"]),
    "prune": (["--prune", "0.5"], ["prune", "ddpm"]),
    "regression-data": (["--dataset", "diabetes"], ["diabetes", "classification"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_generative_bad_input_is_one_line_and_writes_nothing(case, tmp_path, monkeypatch):
    args, needles = BAD[case]
    _check_bad(tmp_path, monkeypatch, lambda d: ["--model", "ddpm", *args], needles)


def test_generation_method_on_a_classifier_and_gen_options_on_a_classifier(tmp_path, monkeypatch, isolated_methods):
    _register_fakes()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _check_bad(tmp_path / "a", monkeypatch, lambda d: ["--model", "mlp", "--methods", "fake_gen"],
               ["fake_gen", "generation"])
    _check_bad(tmp_path / "b", monkeypatch, lambda d: ["--model", "mlp", "--set", "gen.guidance=2"],
               ["gen.", "generative"])


def test_a_dataset_cannot_carry_the_generation_task():
    ds = load_dataset("digits", seed=0)
    with pytest.raises(BadInput, match="follows from the model"):
        Dataset(ds.name, ds.x_train, ds.y_train, ds.x_test, ds.y_test, ds.num_classes, task="generation")


def test_mnist_files_run_through_the_generative_runner(tmp_path, monkeypatch):
    """`--dataset mnist` with files in the real format (tiny): the request runs end to end; with 2 samples a class
    the distances cannot be read and say why instead of giving a number."""
    from .data.formats import tiny

    tiny("mnist", tmp_path / "data", monkeypatch)
    result = api.run("mnist", "ddpm", "class:7", ["ft_retain"], data_root=tmp_path / "data",
                     train={"steps": 3, "batch_size": 8},
                     overrides={"gen": {"width": 16, "depth": 1, "timesteps": 20, "n_per_class": 2, "sample_steps": 2,
                                        "gallery": 1}, "ft_retain": {"steps": 2}}, store=tmp_path / "store")
    assert [r.status for r in result.runs] == ["done", "done", "done"]
    retrain = result.run("retrain")
    assert retrain.metrics["fd_kept"] is None and "too few samples" in retrain.details["metric_notes"]["fd_kept"]
    with Store(tmp_path / "store", create=False) as st:
        assert st.load_outputs(retrain.run_id)["gallery"].shape[1:] == (1, 28, 28)
