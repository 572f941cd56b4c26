from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from unlearnlab.errors import BadInput
from unlearnlab.store import Store

SPEC = {"dataset": {"name": "digits"}, "model": {"name": "cnn"}, "forget": "class:3", "seed": 0}


def test_run_lifecycle_with_artifacts(tmp_path):
    st = Store(tmp_path / "s")
    sid = st.upsert_scenario("abc", SPEC)
    assert st.upsert_scenario("abc", SPEC) == sid and len(st.scenarios()) == 1
    rid = st.start_run(sid, "ft", {"lr": 0.01}, 0)
    assert st.run(rid).status == "running"
    w = {"w": torch.arange(6.0).reshape(2, 3)}
    st.finish_run(rid, metrics={"ua": 0.5, "tua": None}, run_time_s=1.5, steps=3, samples=30,
                  details={"per_class_test": [1.0, None]}, weights=w, outputs={"forget": np.ones((2, 3))})
    rec = st.run(rid)
    assert rec.status == "done" and rec.metrics == {"ua": 0.5, "tua": None} and rec.hparams == {"lr": 0.01}
    assert rec.details["per_class_test"] == [1.0, None]
    assert torch.equal(st.load_weights(rid)["w"], w["w"])
    assert st.load_outputs(rid)["forget"].shape == (2, 3)
    assert [r.id for r in st.runs(sid)] == [rid]
    st.delete_run(rid)
    assert st.runs() == [] and not (tmp_path / "s" / "runs" / rid).exists()


def test_a_failed_finish_leaves_no_done_run_and_no_metrics(tmp_path):
    st = Store(tmp_path)
    sid = st.upsert_scenario("abc", SPEC)
    rid = st.start_run(sid, "ft", {}, 0)
    with pytest.raises(Exception):
        # a non-tensor weight fails while artifacts are written, before the transaction
        st.finish_run(rid, metrics={"ua": 1.0}, run_time_s=1, steps=1, samples=1, weights={"w": "not a tensor"})
    rec = st.run(rid)
    assert rec.status == "running" and rec.metrics == {}
    st.fail_run(rid, "diverged", "loss became nan")
    assert st.run(rid).status == "diverged" and st.run(rid).reason == "loss became nan"


def test_killed_process_leaves_running_row_that_is_reaped(tmp_path):
    code = (
        "import os, sys; sys.path.insert(0, 'src'); from unlearnlab.store import Store;"
        f"st = Store({str(tmp_path)!r}); sid = st.upsert_scenario('abc', {SPEC!r});"
        "st.start_run(sid, 'ft', {}, 0); os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    st = Store(tmp_path)
    (rec,) = st.runs()
    assert rec.status == "running" and rec.metrics == {}
    assert st.reap_stale() == 1
    rec = st.run(rec.id)
    assert rec.status == "failed" and "interrupted" in rec.reason


def test_cache_roundtrip_and_partial_entries_are_misses(tmp_path):
    st = Store(tmp_path)
    assert st.cache_get("k") is None
    st.cache_put("k", {"a": torch.ones(2)}, {"seconds": 1.0})
    state, meta = st.cache_get("k")
    assert torch.equal(state["a"], torch.ones(2)) and meta == {"seconds": 1.0}
    (tmp_path / "cache" / "k.json").unlink()
    assert st.cache_get("k") is None


def test_unwritable_or_missing_store_is_bad_input(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BadInput, match="cannot be written"):
        Store(blocker / "store")
    with pytest.raises(BadInput, match="no store at"):
        Store(tmp_path / "nothing", create=False)
    st = Store(tmp_path / "s")
    with pytest.raises(BadInput, match="unknown run 'zzz'"):
        st.run("zzz")


def test_array_cache_round_trip_and_rejects_path_like_keys(tmp_path):
    store = Store(tmp_path)
    assert store.get_arrays("members", "k1") is None
    store.put_arrays("members", "k1", {"a": np.arange(3)}, {"n": 3})
    arrays, meta = store.get_arrays("members", "k1")
    assert arrays["a"].tolist() == [0, 1, 2] and meta == {"n": 3}
    assert not [p for p in (tmp_path / "cache" / "members").iterdir() if p.name.startswith(".")]
    for kind, key in (("../x", "k"), ("members", "../k"), ("members", "a/b"), ("members", "")):
        with pytest.raises(BadInput):
            store.get_arrays(kind, key)


def test_many_threads_open_one_fresh_store_at_once(tmp_path) -> None:
    """Switching a new database to WAL takes a lock SQLite does not wait for, so two openers of one fresh store
    used to fail with "database is locked" at once (seen in a full run under load). Eight threads, twenty fresh
    stores: every open succeeds and every store reads back (on the old code, about one run in four failed here)."""
    import threading

    for k in range(20):
        root = tmp_path / f"s{k}"
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def open_it():
            try:
                barrier.wait()
                with Store(root) as st:
                    st.runs()
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
