"""Poisoned data and corrective unlearning (`--poison badnets:..`, `--forget poison`): the trigger and the
relabelling, bad input (exit 2, nothing written), and the backdoor on digits: high attack success rate in θ_o,
none in θ_r retrained without the poisoned samples."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from unlearnlab import api
from unlearnlab.cli import app
from unlearnlab.data import load_dataset, parse_forget
from unlearnlab.data.poison import POISONS, BadNets, parse_poison, poison_dataset
from unlearnlab.errors import BadInput
from unlearnlab.metrics import EvalContext, ModelOutputs, compute_metrics
from unlearnlab.runner import load_scenario, prepare

pytestmark = pytest.mark.usefixtures("one_thread")
runner = CliRunner()


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


# ---------------------------------------------------------------------------------------------------
# The trigger and the relabelling


@pytest.mark.parametrize("rate,target", [(0.1, 0), (0.25, 7), (0.03, 9)])
def test_badnets_stamps_and_relabels_a_seeded_share_of_the_other_classes(digits, rate, target):
    poisoned, p = poison_dataset(digits, f"badnets:{rate},target={target}", seed=3)
    eligible = np.flatnonzero(digits.y_train != target)
    assert len(p.indices) == round(rate * len(eligible))
    assert np.isin(p.indices, eligible).all() and (np.diff(p.indices) > 0).all()
    assert (poisoned.y_train[p.indices] == target).all()
    rest = np.setdiff1d(np.arange(digits.n_train), p.indices)
    assert np.array_equal(poisoned.y_train[rest], digits.y_train[rest])
    assert np.array_equal(poisoned.x_train[rest], digits.x_train[rest])
    # a 2x2 patch at the training maximum in the bottom-right corner of the 8x8 images; nothing else moved
    assert (poisoned.x_train[p.indices][:, :, -2:, -2:] == digits.x_train.max()).all()
    changed = poisoned.x_train[p.indices] != digits.x_train[p.indices]
    assert not changed[:, :, :-2, :].any() and not changed[:, :, :, :-2].any()
    assert np.array_equal(p.stamp(digits.x_test)[:, :, -2:, -2:], np.full_like(digits.x_test[:, :, -2:, -2:], 1.0))
    # the test set and the clean data set are untouched
    assert np.array_equal(poisoned.x_test, digits.x_test) and poisoned.fingerprint != digits.fingerprint
    assert p.clean is digits and digits.fingerprint == load_dataset("digits", seed=0).fingerprint


def test_poison_is_deterministic_per_seed(digits):
    a = poison_dataset(digits, "badnets:0.1", seed=1)[1].indices
    assert np.array_equal(a, poison_dataset(digits, "badnets:0.1,target=0", seed=1)[1].indices)
    assert not np.array_equal(a, poison_dataset(digits, "badnets:0.1", seed=2)[1].indices)


def test_poison_forget_requests_select_all_or_a_seeded_share(digits):
    all_ = prepare(digits, "mlp", "poison", poison="badnets:0.1", seed=0)
    half = prepare(digits, "mlp", "poison:0.5", poison="badnets:0.1", seed=0)
    assert np.array_equal(all_.forget_idx, all_.poisoning.indices)
    assert len(half.forget_idx) == round(0.5 * len(all_.forget_idx))
    assert np.isin(half.forget_idx, all_.forget_idx).all()
    assert parse_forget("poison:1") == parse_forget("poison") and parse_forget("poison:50%").spec() == "poison:0.5"
    # recorded with the scenario and rebuilt from its spec; clean scenarios carry no poison key
    spec = {"id": all_.id, **all_.spec()}
    assert spec["poison"]["count"] == len(all_.forget_idx) and spec["poison"]["target"] == 0
    again = load_scenario(json.loads(json.dumps(spec)))
    assert again.id == all_.id and np.array_equal(again.dataset.x_train, all_.dataset.x_train)
    assert "poison" not in prepare(digits, "mlp", "class:3").spec()


def test_poisons_are_a_registry():
    assert "badnets" in POISONS and parse_poison("badnets:5%,target=2") == BadNets(0.05, 2)
    assert parse_poison(BadNets(0.2, 1).spec()) == BadNets(0.2, 1)


def test_asr_is_none_without_a_poison_and_the_share_classified_as_the_target():
    y = np.array([0, 1])
    logits = np.eye(3)[[0, 1]]
    base = dict(reference=None, y_forget=y, y_retain=y, y_test=y, num_classes=3, forget_classes=None)
    assert compute_metrics(EvalContext(outputs=ModelOutputs(logits, logits, logits), **base), ["asr"]) == {"asr": None}
    out = ModelOutputs(logits, logits, logits, triggered=np.eye(3)[[2, 2, 1, 2]])
    assert compute_metrics(EvalContext(outputs=out, poison_target=2, **base), ["asr"]) == {"asr": 0.75}


# ---------------------------------------------------------------------------------------------------
# Bad input: one line, exit 2, nothing written


@pytest.mark.parametrize("args,needle", [
    (["--poison", "badnets:0", "--forget", "poison"], "poison rate"),
    (["--poison", "badnets:1", "--forget", "poison"], "poison rate"),
    (["--poison", "badnets:1.5", "--forget", "poison"], "(0, 1)"),
    (["--poison", "badnets:-0.1", "--forget", "poison"], "poison rate"),
    (["--poison", "badnets:0.1,target=10", "--forget", "poison"], "target 10"),
    (["--poison", "badnets:0.1,target=-1", "--forget", "poison"], "target -1"),
    (["--poison", "badnets:0.1,size=3", "--forget", "poison"], "size=3"),
    (["--poison", "blended:0.1", "--forget", "poison"], "blended"),
    (["--forget", "poison"], "--poison"),
    (["--forget", "poison:0.5"], "--poison"),
    (["--poison", "badnets:0.1", "--forget", "poison:1.5"], "1.5"),
    (["--poison", "badnets:0.1", "--forget", "poison:0"], "(0, 1]"),
])
def test_bad_poison_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, needle):
    store, out = tmp_path / "store", tmp_path / "out.json"
    result = runner.invoke(app, ["run", "--model", "mlp", "--methods", "ft", "--set", "train.epochs=1",
                                 "--store", str(store), "--json", str(out), *args])
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.output and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr
    assert not store.exists() and not out.exists()


def test_bad_poison_in_the_api_raises_badinput(digits):
    with pytest.raises(BadInput, match="poison rate"):
        prepare(digits, "mlp", "class:3", poison="badnets:2")
    with pytest.raises(BadInput, match="--poison"):
        prepare(digits, "mlp", "poison")


# ---------------------------------------------------------------------------------------------------
# The backdoor end to end: digits, the MLP, 5 epochs


# Measured over seeds 0-4 (this recipe, 2-core AMD EPYC CPU): θ_o ASR 0.985-0.997, θ_r ASR 0.000; TA 0.93-0.96.
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def backdoor_runs(tmp_path_factory):
    store = tmp_path_factory.mktemp("poison")
    return [api.run("digits", "mlp", "poison", ["ft", "ga"], poison="badnets:0.1,target=0", seed=s,
                    train={"epochs": 5}, store=store) for s in SEEDS]


def test_the_backdoor_works_in_theta_o_and_is_gone_from_theta_r(backdoor_runs):
    for result in backdoor_runs:
        o, r = result.run("original"), result.run("retrain")
        assert o.metrics["asr"] > 0.9, o.metrics
        assert r.metrics["asr"] < 0.1, r.metrics
        # the poison does not cost clean accuracy (TA, on the unpoisoned test set)
        assert o.metrics["ta"] > 0.85 and r.metrics["ta"] > 0.85
        assert result.scenario["poison"]["spec"] == "badnets:0.1,target=0"


def test_methods_run_on_the_poisoned_request_and_report_asr(backdoor_runs):
    for result in backdoor_runs:
        for method in ("ft", "ga"):
            run = result.run(method)
            assert run.status in ("done", "diverged"), (method, run.reason)
            if run.status == "done":
                assert 0.0 <= run.metrics["asr"] <= 1.0


def test_cli_run_with_poison_prints_the_asr_column(tmp_path):
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["run", "--model", "mlp", "--methods", "ft", "--poison", "badnets:0.1",
                                 "--forget", "poison:0.5", "--set", "train.epochs=2", "--store",
                                 str(tmp_path / "s"), "--json", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert "ASR" in result.stdout and "poisoned badnets:0.1,target=0" in result.stdout
    payload = json.loads(out.read_text())
    assert payload["scenario"]["forget"] == "poison:0.5"
    assert all(r["metrics"]["asr"] is not None for r in payload["runs"])
