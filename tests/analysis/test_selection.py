"""Selected forget sets (`worst:`, `memorised:`): the estimator, the search, determinism, caching and reuse."""

from __future__ import annotations

import numpy as np
import pytest

import unlearnlab as ul
from unlearnlab.analysis import selection as sel
from unlearnlab.data import from_arrays, load_dataset
from unlearnlab.errors import BadInput, UnlearnlabError
from unlearnlab.runner import execute, load_scenario, prepare, resolve_methods, resolve_selection
from unlearnlab.store import Store

FAST = {"epochs": 6}


def test_memorisation_estimator_known_answer():
    # 4 points, 4 models: point 0 is right only when trained on (mem 1), point 1 always right (0),
    # point 2 right only when held out (-1), point 3 is in every subset (no OUT model: not ranked).
    inside = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1], [0, 0, 0, 1]], dtype=bool)
    correct = np.array([[1, 1, 1, 1], [1, 1, 0, 1], [0, 1, 0, 1], [0, 1, 1, 1]], dtype=bool)
    mem, n_in, n_out = sel.memorisation(correct, inside)
    assert mem[:3].tolist() == [1.0, 0.0, -1.0]
    assert np.isnan(mem[3])
    assert n_in.tolist() == [2, 2, 2, 4] and n_out.tolist() == [2, 2, 2, 0]


def test_capped_simplex_projection():
    rng = np.random.default_rng(0)
    for m in (1, 7, 30):
        w = sel.project_capped_simplex(rng.normal(size=50) * 3, m)
        assert w.min() >= 0 and w.max() <= 1
        assert abs(w.sum() - m) < 1e-6


def test_top_breaks_ties_by_index_and_skips_unranked():
    scores = np.array([0.5, np.nan, 0.5, 0.9, 0.1])
    assert sel.top(scores, 2).tolist() == [0, 3]
    assert sel.top(scores, 2, highest=False).tolist() == [0, 4]


def _mislabelled(n: int = 600, flip: int = 12):
    """The first `n` digits training samples with `flip` of them given a wrong label."""
    ds = load_dataset("digits", seed=0)
    y = ds.y_train[:n].copy()
    idx = np.random.default_rng(1).choice(n, size=flip, replace=False)
    y[idx] = (y[idx] + 1 + np.random.default_rng(2).integers(0, 9, size=flip)) % 10
    data = from_arrays(ds.x_train[:n].reshape(n, -1), y, X_test=ds.x_test.reshape(len(ds.y_test), -1),
                       y_test=ds.y_test, standardize=False)
    return data, np.sort(idx)


def test_mislabelled_points_are_the_most_memorised():
    data, flipped = _mislabelled()
    # Long enough without weight decay for the MLP to fit the wrong labels it trains on (20 epochs do not).
    sc = resolve_selection(prepare(data, "mlp", "memorised:12,k=8,subset=0.5",
                                   train={"epochs": 80, "weight_decay": 0.0}))
    mem = sc.selection.scores
    others = np.setdiff1d(np.arange(data.n_train), flipped)
    # Measured: every flipped point scores 1.0 (fitted when IN, its true class predicted when OUT); the rest
    # average 0.10. With 8 models the score is coarse, so other points tie at 1.0 and the chosen 12 mix both.
    assert np.nanmin(mem[flipped]) >= 0.75
    assert np.nanmean(mem[others]) < 0.3
    assert np.mean(mem[others] >= np.nanmin(mem[flipped])) < 0.1  # flipped points rank in the top decile
    assert np.all(mem[sc.forget_idx] >= np.nanmin(mem[flipped]))
    assert sc.selection.extra["models_in"].sum() + sc.selection.extra["models_out"].sum() == 8 * data.n_train


@pytest.mark.parametrize("spec", ["worst:20,by=loss", "worst:20,rounds=2", "worst:20,method=ga,rounds=2",
                                  "memorised:20,k=4,subset=0.5"])
def test_selection_is_deterministic(spec):
    a = resolve_selection(prepare("digits", "mlp", spec, train=FAST))
    b = resolve_selection(prepare("digits", "mlp", spec, train=FAST))
    assert a.forget_idx.tolist() == b.forget_idx.tolist()
    assert len(a.forget_idx) == 20 and len(set(a.forget_idx.tolist())) == 20
    assert a.id == b.id
    other = resolve_selection(prepare("digits", "mlp", spec, train=FAST, seed=1))
    assert other.forget_idx.tolist() != a.forget_idx.tolist()


def test_members_and_search_are_reused_from_the_store(tmp_path):
    st = Store(tmp_path)
    first = resolve_selection(prepare("digits", "mlp", "memorised:20,k=4,subset=0.5", train=FAST), st)
    assert first.selection.meta["members_trained"] == 4 and not first.selection.meta["cached"]
    other_size = resolve_selection(prepare("digits", "mlp", "memorised:40,k=4,subset=0.5", train=FAST), st)
    assert other_size.selection.meta["members_trained"] == 0  # every member reused; only the ranking is new
    assert set(first.forget_idx.tolist()) <= set(other_size.forget_idx.tolist())
    larger = resolve_selection(prepare("digits", "mlp", "memorised:20,k=6,subset=0.5", train=FAST), st)
    assert larger.selection.meta["members_trained"] == 2 and larger.selection.meta["members_reused"] == 4
    again = resolve_selection(prepare("digits", "mlp", "memorised:20,k=4,subset=0.5", train=FAST), st)
    assert again.selection.meta["cached"] and again.forget_idx.tolist() == first.forget_idx.tolist()


def test_worst_search_shares_theta_o_with_execute_and_loads_without_searching(tmp_path, monkeypatch):
    st = Store(tmp_path)
    sc = prepare("digits", "mlp", "worst:20,rounds=2", train=FAST)
    with pytest.raises(UnlearnlabError, match="not resolved"):
        sc.spec()
    result = execute(sc, resolve_methods(["ft"], None), st)
    assert result.run("original").cached  # trained by the search, loaded by execute
    stored = st.scenario(result.scenario["id"])
    assert stored["forget_indices"] == sc.forget_idx.tolist()
    assert st.get_arrays("selections", stored["id"]) is not None

    def boom(*a, **k):
        raise AssertionError("loading a stored scenario must not select again")
    monkeypatch.setitem(sel.SELECTORS, "worst", boom)
    loaded = load_scenario(stored)
    assert loaded.forget_idx.tolist() == sc.forget_idx.tolist() and loaded.id == stored["id"]


def test_bad_selected_requests_fail_before_anything_is_written(tmp_path):
    for spec, needle in [("worst:1437", "between 1 and 1436"), ("memorised:5000", "between 1 and 1436"),
                         ("worst:0", ">= 1"), ("memorised:0", ">= 1"), ("worst:1.0", "(0, 1)"),
                         ("worst:10,steps=3", "unknown option 'steps'"), ("memorised:10,k=1", "[4, 1024]")]:
        with pytest.raises(BadInput, match=None) as info:
            ul.run("digits", "mlp", spec, ["ft"], store=tmp_path / "st", train=FAST)
        assert needle in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(BadInput, match="--prune"):
        prepare("digits", "mlp", "worst:10", prune=0.5)
    assert not (tmp_path / "st").exists()


def test_subset_members_in_worker_processes_are_the_same_bits(tmp_path):
    from unlearnlab.executors import make_executor

    spec = "memorised:20,k=4,subset=0.5"
    serial = resolve_selection(prepare("digits", "mlp", spec, train=FAST))
    pool = make_executor("process", 2)
    try:
        parallel = resolve_selection(prepare("digits", "mlp", spec, train=FAST), Store(tmp_path), executor=pool)
    finally:
        pool.close()
    assert parallel.forget_idx.tolist() == serial.forget_idx.tolist()
    assert np.array_equal(parallel.selection.scores, serial.selection.scores, equal_nan=True)


def test_a_cancelled_selection_leaves_only_whole_members(tmp_path):
    import threading

    from unlearnlab.errors import Cancelled

    cancel = threading.Event()

    class CancelAfterFirst:
        def start(self, description, total):
            pass

        def advance(self, n):
            cancel.set()

        def stop(self):
            pass

    st = Store(tmp_path)
    sc = prepare("digits", "mlp", "memorised:20,k=4,subset=0.5", train=FAST)
    with pytest.raises(Cancelled):
        resolve_selection(sc, st, cancel=cancel, progress=CancelAfterFirst())
    assert sc.forget_idx is None
    assert not (st.cache_dir / "selections").exists() or not any((st.cache_dir / "selections").iterdir())
    assert len(list((st.cache_dir / "members").glob("*.json"))) == 1  # the one member that finished, whole
    done = resolve_selection(prepare("digits", "mlp", "memorised:20,k=4,subset=0.5", train=FAST), st)
    assert done.selection.meta["members_trained"] == 3 and done.selection.meta["members_reused"] == 1
