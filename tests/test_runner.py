"""End-to-end behaviour on the embedded default (digits, small CNN, default recipe)."""

from __future__ import annotations

import numpy as np
import pytest

import unlearnlab as ul
from unlearnlab.errors import BadInput
from unlearnlab.models import create_model
from unlearnlab.store import Store


def test_default_classwise_request_behaves_as_the_field_expects(default_classwise):
    runs = {r.method: r for r in default_classwise.runs}
    assert all(r.status == "done" for r in runs.values()), {m: r.reason for m, r in runs.items()}
    o, r = runs["original"].metrics, runs["retrain"].metrics
    assert r["ua"] == 1.0 and r["tua"] == 1.0
    # the SVC attacker on digits is at chance (held-out accuracy about 0.51): then MIA-Eff. is withheld
    if r["mia_efficacy"] is None:
        assert "attacker at chance" in runs["retrain"].details["metric_notes"]["mia_efficacy"]
    else:
        assert r["mia_efficacy"] >= 0.9
    # One seed, but each bound holds in every run measured by benchmarks/method_spread.py (seeds 0-9,
    # four kernel settings): θ_o's UA <= 0.014; |TA θ_r - TA θ_o| <= 0.062 where θ_r trained (seed 7: θ_r,
    # from its own seed, is 3-6 points below θ_o; θ_r fails to train on seed 3 in all four settings);
    # ft / ga / rl beat θ_o's UA by >= 0.021 / 0.082 / 0.986; θ_o's privacy score <= 0.34.
    assert o["ua"] <= 0.05
    assert abs(r["ta"] - o["ta"]) <= 0.08
    for name in ("ft", "ga", "rl"):
        assert runs[name].metrics["ua"] > o["ua"], name
    assert r["avg_gap"] == 0.0 and r["privacy_score"] == 1.0 and r["speedup_vs_retrain"] == 1.0
    assert o["speedup_vs_retrain"] is None and o["privacy_score"] < 0.5


def test_default_random_request_reports_avg_gap_for_every_method(default_random):
    runs = {r.method: r for r in default_random.runs}
    assert set(runs) >= {"original", "retrain", "ft", "ga", "rl"}
    for name, run in runs.items():
        assert run.status == "done", (name, run.reason)
        assert run.metrics["avg_gap"] is not None and run.metrics["avg_gap"] >= 0
        assert run.metrics["tua"] is None and run.metrics["tra"] is None
    # random forgetting: θ_r's forget accuracy is close to its test accuracy, not 0
    assert runs["retrain"].metrics["ua"] < 0.1


def test_costs_are_counted_and_include_every_pass(default_classwise):
    scenario = default_classwise.scenario
    n_r = scenario["dataset"]["n_train"] - scenario["forget_size"]
    ft = default_classwise.run("ft")
    params = ft.hparams
    assert ft.metrics["steps"] == params["epochs"] * -(-n_r // params["batch_size"])
    assert ft.metrics["samples"] == params["epochs"] * n_r
    assert ft.metrics["run_time_s"] > 0
    retrain = default_classwise.run("retrain").metrics
    assert ft.metrics["speedup_vs_retrain"] == pytest.approx(retrain["run_time_s"] / ft.metrics["run_time_s"])


def test_runs_and_artifacts_are_stored(default_classwise, default_store):
    st = Store(default_store, create=False)
    stored = {r.id: r for r in st.runs(default_classwise.scenario["id"])}
    for run in default_classwise.runs:
        rec = stored[run.run_id]
        assert rec.status == "done" and rec.metrics["ua"] == run.metrics["ua"]
        assert rec.hparams == run.hparams
        out = st.load_outputs(run.run_id)
        assert out["forget"].shape == (default_classwise.scenario["forget_size"], 10)
        model = create_model("cnn", (1, 8, 8), 10)
        model.load_state_dict(st.load_weights(run.run_id), strict=True)  # every tensor stored, none extra
        assert len(rec.details["per_class_test"]) == 10
    spec = st.scenario(default_classwise.scenario["id"])
    assert spec["train"] == ul.TrainConfig().to_dict() and spec["forget"] == "class:3"


def test_second_run_reuses_cached_models_and_reproduces_metrics(default_classwise, default_store):
    again = ul.run(forget="class:3", methods=["ga"], store=default_store)
    first = {r.method: r for r in default_classwise.runs}
    runs = {r.method: r for r in again.runs}
    assert runs["original"].cached and runs["retrain"].cached
    assert runs["original"].run_id == first["original"].run_id  # one stored θ_o run per scenario
    for key in ("ua", "ra", "ta", "mia_efficacy", "privacy_score", "avg_gap"):
        assert runs["ga"].metrics[key] == first["ga"].metrics[key], key


def test_same_seed_same_numbers_in_a_fresh_store(tmp_path):
    kw = dict(model="mlp", forget="random:0.1", methods=["ga", "rl"], train={"epochs": 3})
    a, b = (ul.run(store=tmp_path / name, **kw) for name in ("a", "b"))
    for ra, rb in zip(a.runs, b.runs):
        assert ra.method == rb.method
        for key, value in ra.metrics.items():
            if key not in ("run_time_s", "speedup_vs_retrain"):
                assert rb.metrics[key] == value, (ra.method, key)
    c = ul.run(store=tmp_path / "c", seed=1, **kw)
    assert c.scenario["forget_indices_sha256"] != a.scenario["forget_indices_sha256"]


def test_bad_input_writes_nothing(tmp_path):
    store = tmp_path / "never"
    for kwargs in (dict(forget="class:11"), dict(methods=["nope"]), dict(model="vgg"),
                   dict(overrides={"ft": {"lr": -1.0}}, methods=["ft"]), dict(train={"epochs": 0})):
        with pytest.raises(BadInput):
            ul.run(store=store, **kwargs)
    assert not store.exists()


def test_python_api_on_user_arrays(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int) + 2 * (x[:, 2] > 0.5)
    data = ul.from_arrays(x, y, seed=0)
    result = ul.run(dataset=data, model="mlp", forget="random:20", methods=["ft"], train={"epochs": 3},
                    store=tmp_path)
    assert result.scenario["forget_size"] == 20 and result.scenario["dataset"]["num_classes"] == 4
    assert [r.status for r in result.runs] == ["done"] * 3


def test_diverging_reference_training_ends_the_request_with_a_recorded_reason(tmp_path):
    from unlearnlab.errors import Diverged

    with pytest.raises(Diverged, match="training original diverged"):
        ul.run(model="mlp", methods=["ga"], train={"lr": 1e6, "epochs": 2}, store=tmp_path)
    (rec,) = Store(tmp_path).runs()
    assert rec.method == "original" and rec.status == "diverged" and "nan" in rec.reason


# Bounds for the default class-wise request, from `python benchmarks/method_spread.py`
# (docs/method_spread.md): seeds 0-9 under four kernel settings on a 2-core AMD EPYC, torch 2.13.0 CPU:
# portable (the default), UNLEARNLAB_NUMERICS=native (AVX-512, 2 threads), ATEN_CPU_CAPABILITY=default
# (as isa-check runs it) and ATen AVX2 with native oneDNN/MKL. Another CPU's kernels re-draw a seed's
# outcome, so a bound sits below the worst mean over ANY three seeds of any setting, not below what
# seeds 0-2 happened to give here; where possible below the worst single run, so that even three
# worst-case runs pass.
STRONG_UA = 0.90  # strong methods: worst 3-seed mean UA 0.973, worst run 0.959 (boundary_shrink; UA sd 0.011)
STRONG_TA_DROP = 0.10  # strong methods: worst 3-seed mean TA drop 0.078, worst run 0.090 (boundary_shrink; sd 0.021)
FRAGILE_UA_GAIN = 0.05  # fragile methods: worst 3-seed mean UA gain over θ_o 0.103 (ga, whose every run gains >= 0.082;
#                         the next worst is laf at 0.146). θ_o's UA is <= 0.014 in every run
MIN_TA = 0.60  # any method: worst 3-seed mean TA 0.718, worst run 0.675 (boundary_expand, declared weak)


def test_every_method_forgets_the_default_class_unless_declared_weak_or_fragile(default_classwise, default_store):
    """Over seeds 0-2 (as docs/methods_table.md): a method with no declaration forgets the class (mean UA
    >= STRONG_UA) and keeps TA (mean drop <= STRONG_TA_DROP); a `fragile_at_default_scale` one, whose
    outcome flips with seed and CPU kernels, still moves UA clearly above θ_o's; every method moves UA
    above θ_o's and keeps mean TA >= MIN_TA. Holds under every kernel setting measured (see above)."""
    from unlearnlab.methods import METHODS

    results = [default_classwise] + [ul.run(forget="class:3", seed=seed, store=default_store) for seed in (1, 2)]
    by_method: dict[str, list] = {}
    for comparison in results:
        for run in comparison.runs:
            assert run.status == "done", (run.method, run.reason)
            by_method.setdefault(run.method, []).append(run.metrics)
    original, retrain = by_method.pop("original"), by_method.pop("retrain")
    # θ_r failed to train (RA at chance) on seed 3 in two settings; seeds 0-2 train in all four
    assert min(m["ra"] for m in retrain) >= 0.9, [m["ra"] for m in retrain]
    ua_o = np.mean([m["ua"] for m in original])
    ta_o = np.mean([m["ta"] for m in original])

    def mean(runs, key):
        return float(np.mean([m[key] for m in runs]))

    declared = {name: METHODS.get(name) for name in by_method}
    strong = [n for n, cls in declared.items() if not cls.weak_at_default_scale and not cls.fragile_at_default_scale]
    fragile = [n for n, cls in declared.items() if cls.fragile_at_default_scale]
    assert len(strong) >= 4, strong  # boundary_shrink, oracle_matching, rl, salun
    for name, runs in by_method.items():
        ua, ta = [m["ua"] for m in runs], [m["ta"] for m in runs]
        assert mean(runs, "ua") > ua_o, (name, ua)
        assert mean(runs, "ta") >= MIN_TA, (name, ta)
        if name in strong:
            assert mean(runs, "ua") >= STRONG_UA, (name, ua)
            assert ta_o - mean(runs, "ta") <= STRONG_TA_DROP, (name, ta, ta_o)
        if name in fragile:
            assert mean(runs, "ua") >= ua_o + FRAGILE_UA_GAIN, (name, ua, ua_o)


def test_every_run_stores_its_environment_and_theta_r_has_its_own_seed(default_classwise, default_store):
    from unlearnlab import numerics

    st = Store(default_store, create=False)
    fingerprint = default_classwise.scenario["dataset"]["fingerprint"]
    for run in default_classwise.runs:
        env = st.run(run.run_id).details["environment"]
        assert env["data_fingerprint"] == fingerprint
        assert env["versions"]["torch"] and env["numerics"]["mode"] in numerics.MODES
        if numerics.portable():
            assert env["threads"]["torch"] == 1 and env["numerics"]["portable"]
    seeds = {r.method: r.details["seed"] for r in default_classwise.runs if r.method in ("original", "retrain")}
    assert seeds["original"] == 0 and seeds["retrain"] != 0
    assert default_classwise.scenario["retrain_seed"] == "independent"


def test_retrain_seed_is_a_stated_choice(tmp_path):
    kw = dict(model="mlp", forget="class:3", methods=[], train={"epochs": 2})
    shared = ul.run(store=tmp_path, retrain_seed="shared", **kw)
    assert shared.run("retrain").details["seed"] == 0 and shared.scenario["retrain_seed"] == "shared"
    independent = ul.run(store=tmp_path, **kw)
    assert independent.scenario["id"] != shared.scenario["id"]
    assert independent.run("retrain").metrics != shared.run("retrain").metrics
    with pytest.raises(BadInput, match="retrain_seed"):
        ul.run(store=tmp_path / "never", retrain_seed="same", **kw)


def test_a_retrained_model_at_chance_marks_the_request_unusable(tmp_path):
    """Classes 0 and 1 are drawn from one distribution, class 2 is far away: θ_o beats the majority rate
    (it finds class 2), θ_r trained without class 2 can only guess between 0 and 1."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 200)
    x = rng.normal(size=(600, 4)) + 6.0 * (y == 2)[:, None]
    data = ul.from_arrays(x.astype(np.float32), y, seed=0)
    result = ul.run(dataset=data, model="mlp", forget="class:2", methods=["ft"], train={"epochs": 5},
                    store=tmp_path)
    for run in result.runs:
        assert run.details["request_usable"] is False, run.method
        (warning,) = run.details["warnings"]
        assert "retrained model θ_r is at chance on the retained classes" in warning
