"""Every comparison analysis of two runs of the default class-wise scenario (forget class 3).

The runs come from the session's default store (`default_classwise`); the expensive comparison
(original vs rl, with its UMAP fit) is computed once for the whole module.
"""

import importlib
import json
from collections import Counter

import numpy as np
import pytest

import unlearnlab as ul
from unlearnlab.analysis.compare import PAIRS, VERSION, cache_key, compare, resolve_runs, sample_indices
from unlearnlab.analysis.instances import CATEGORIES
from unlearnlab.errors import BadInput
from unlearnlab.store import Store

compare_mod = importlib.import_module("unlearnlab.analysis.compare")
K = 10
BLOCKS = ["conv1", "conv2", "conv3", "head"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def store(default_store, default_classwise):
    st = Store(default_store, create=False)
    yield st
    st.close()


@pytest.fixture(scope="module")
def ids(default_classwise):
    return {r.method: r.run_id for r in default_classwise.runs}


@pytest.fixture(scope="module")
def result(store, ids):
    return compare(store, ids["original"], ids["rl"])


def test_structure_and_sizes(result, ids, default_classwise):
    assert set(result) == {"version", "params", "scenario", "models", "per_class", "prediction_matrices", "cka",
                           "embedding", "instances"}
    sc = result["scenario"]
    assert sc["id"] == default_classwise.scenario["id"] and sc["forget"] == "class:3"
    assert sc["num_classes"] == K and sc["class_names"] == [str(c) for c in range(K)] and sc["forget_classes"] == [3]
    assert {role: m["run_id"] for role, m in result["models"].items()} == {
        "A": ids["original"], "B": ids["rl"], "original": ids["original"], "retrain": ids["retrain"]}
    assert result["models"]["B"]["method"] == "rl" and result["models"]["B"]["hparams"]["lr"] > 0
    for split in ("train", "test"):
        pc = result["per_class"][split]
        assert all(len(pc[k]) == K for k in ("A", "B", "diff", "n"))
        for role in ("A", "B"):
            for name in ("confusion", "mean_softmax"):
                m = np.array(result["prediction_matrices"][split][role][name], dtype=float)
                assert m.shape == (K, K)
                np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-3)  # rows rounded to 4 decimals
    # every class is present in both splits here; rl forgets class 3 entirely, θ_o does not
    assert result["per_class"]["train"]["n"][3] == 146
    assert result["per_class"]["train"]["B"][3] == 0.0 < result["per_class"]["train"]["A"][3]


def test_per_class_accuracies_match_the_stored_run_details(result, default_classwise):
    for role, method in (("A", "original"), ("B", "rl")):
        details = default_classwise.run(method).details
        assert result["per_class"]["test"][role] == pytest.approx(details["per_class_test"])
        assert result["per_class"]["train"][role] == pytest.approx(details["per_class_train"])
    pc = result["per_class"]["test"]
    assert pc["diff"] == pytest.approx([b - a for a, b in zip(pc["A"], pc["B"])])


def test_cka(result):
    cka = result["cka"]
    assert cka["blocks"] == BLOCKS and cka["seed"] == 0
    assert cka["n"] == {"forget": 50, "retain": 9 * 50}  # class 3 only in D_f; the other nine in D_r
    for split in ("forget", "retain"):
        assert set(cka[split]) == {f"{a}~{b}" for a, b in PAIRS}
        for values in cka[split].values():
            assert len(values) == len(BLOCKS) and all(0.0 <= v <= 1.0 + 1e-9 for v in values)
        # A is θ_o here: A~original is a model with itself
        assert cka[split]["A~original"] == pytest.approx([1.0] * 4)
        assert cka[split]["A~B"] == pytest.approx(cka[split]["B~original"])
    # unlearning class 3 changes the head's view of the forget set more than of the retain set
    assert cka["forget"]["A~B"][-1] < cka["retain"]["A~B"][-1]


def test_embedding_sample_is_seeded_class_balanced_and_holds_the_forget_set(result, default_classwise, store):
    emb = result["embedding"]
    n = len(emb["indices"])
    assert n == 10 * 50
    assert emb["indices"] == sorted(set(emb["indices"]))
    assert all(len(emb[k]) == n for k in ("labels", "is_forget", "xy_a", "xy_b"))
    assert all(len(p) == 2 and all(isinstance(v, float) for v in p) for p in emb["xy_a"] + emb["xy_b"])
    counts = Counter(emb["labels"])
    assert set(counts.values()) == {50}
    assert emb["is_forget"] == [y == 3 for y in emb["labels"]]
    spec = store.scenario(result["scenario"]["id"])
    y_train = ul.load_dataset("digits", seed=spec["seed"]).y_train
    assert [int(y_train[i]) for i in emb["indices"]] == emb["labels"]
    # the two models are far apart after class-3 unlearning, yet in one map: both cover the same area
    xy_a, xy_b = np.array(emb["xy_a"]), np.array(emb["xy_b"])
    span = np.ptp(np.concatenate([xy_a, xy_b]), axis=0)
    assert np.all(np.abs(xy_a.mean(0) - xy_b.mean(0)) < span)


def test_instances_agree_with_predictions_and_categories(result):
    inst, emb = result["instances"], result["embedding"]
    assert [r["index"] for r in inst] == emb["indices"]
    assert [r["label"] for r in inst] == emb["labels"] and [r["is_forget"] for r in inst] == emb["is_forget"]
    for r in inst:
        for m in ("a", "b"):
            probs = r[f"prob_{m}"]
            assert len(probs) == K and sum(probs) == pytest.approx(1.0, abs=1e-3)
            assert probs[r[f"pred_{m}"]] == max(probs)
            assert r[f"category_{m}"] in CATEGORIES
        # A is θ_o, so the categories against θ_o follow from the predictions alone
        ok_o, ok_b = r["pred_a"] == r["label"], r["pred_b"] == r["label"]
        assert r["category_a"] == ("not forgotten" if r["is_forget"] else "correctly kept") if ok_o else \
            r["category_a"] == "already wrong"
        if ok_b:
            expected = "not forgotten" if r["is_forget"] else "correctly kept"
        elif not ok_o:
            expected = "already wrong"
        else:
            expected = "target forgotten" if r["is_forget"] else "over-forgotten"
        assert r["category_b"] == expected
    cats_b = Counter(r["category_b"] for r in inst)
    assert cats_b["target forgotten"] >= 45 and cats_b["correctly kept"] >= 400


def test_payload_is_strict_json_under_one_megabyte(result):
    payload = json.dumps(result, allow_nan=False).encode()
    assert len(payload) < 1_000_000, len(payload)
    assert json.loads(payload) == result


def test_cache_hit_returns_the_identical_result_without_recomputing(result, store, ids, monkeypatch):
    records = resolve_runs(store, ids["original"], ids["rl"])
    assert store.get_arrays("compare", cache_key(records, 50, 0)) is not None

    def boom(*args, **kwargs):
        raise AssertionError("recomputed despite a cached result")

    monkeypatch.setattr(compare_mod, "compute", boom)
    monkeypatch.setattr(compare_mod, "load_run_model", boom)
    assert compare(store, ids["original"], ids["rl"]) == result
    assert ul.compare(ids["original"], ids["rl"], store=store.root) == result
    assert result["version"] == VERSION


def test_a_model_against_itself(store, ids):
    res = compare(store, ids["rl"], ids["rl"], n_per_class=10, seed=1)
    assert res["cka"]["n"] == {"forget": 10, "retain": 90} and len(res["instances"]) == 100
    for split in ("forget", "retain"):
        assert res["cka"][split]["A~B"] == pytest.approx([1.0] * 4)
        assert res["cka"][split]["A~original"] == res["cka"][split]["B~original"]
    for split in ("train", "test"):
        assert res["per_class"][split]["diff"] == [0.0] * K
        mats = res["prediction_matrices"][split]
        assert mats["A"] == mats["B"]
    for r in res["instances"]:
        assert r["prob_a"] == r["prob_b"] and r["category_a"] == r["category_b"]


def test_bad_input(store, ids, tmp_path):
    with pytest.raises(BadInput, match="'nope'"):
        compare(store, ids["rl"], "nope")
    with pytest.raises(BadInput, match="n_per_class"):
        compare(store, ids["rl"], ids["ga"], n_per_class=0)
    # two finished runs of two scenarios (records only: the check comes before any model is loaded)
    other = Store(tmp_path / "store")
    a, b = (done_run(other, sid) for sid in ("scenario1", "scenario2"))
    with pytest.raises(BadInput, match="different scenarios") as err:
        compare(other, a, b)
    assert all(s in str(err.value) for s in (a, b, "scenario1", "scenario2"))
    running = other.start_run("scenario1", "ga", {}, 0)
    with pytest.raises(BadInput, match=f"'{running}' is running, not done"):
        compare(other, a, running)
    with pytest.raises(BadInput, match="no finished original run"):
        compare(other, a, a)
    assert not (other.cache_dir / "compare").exists()


def done_run(store: Store, scenario_id: str, method: str = "ft") -> str:
    spec = {"dataset": {"name": "digits"}, "model": {"name": "cnn"}, "forget": "class:3", "seed": 0}
    store.upsert_scenario(scenario_id, spec)
    run_id = store.start_run(scenario_id, method, {}, 0)
    store.finish_run(run_id, metrics={}, run_time_s=0.0, steps=0, samples=0)
    return run_id


def test_samples_for_random_forgetting_take_every_forget_sample_that_fits():
    labels = np.repeat(np.arange(3), 20)
    forget = np.array([0, 1, 2, 25, 41, 42, 43, 44, 45, 46])  # class 0: 3, class 1: 1, class 2: 6
    retain = np.setdiff1d(np.arange(60), forget)
    s = sample_indices(labels, forget, retain, 3, n_per_class=5, seed=0)
    assert set(s["forget"]) <= set(forget) and set(s["retain"]) <= set(retain)
    assert np.bincount(labels[s["forget"]], minlength=3).tolist() == [3, 1, 5]
    assert np.bincount(labels[s["retain"]], minlength=3).tolist() == [5, 5, 5]
    emb = s["embedding"]
    assert np.bincount(labels[emb], minlength=3).tolist() == [5, 5, 5]
    assert set(forget[[0, 1, 2, 3]]) <= set(emb)  # the small classes' forget samples, all of them
    assert np.isin(emb, forget).sum() == 3 + 1 + 5
    assert set(emb) <= set(s["forget"]) | set(s["retain"])
    assert all(np.all(np.diff(v) > 0) for v in s.values())
    again, other = sample_indices(labels, forget, retain, 3, 5, 0), sample_indices(labels, forget, retain, 3, 5, 1)
    assert all(np.array_equal(s[k], again[k]) for k in s)
    assert not np.array_equal(s["retain"], other["retain"])
