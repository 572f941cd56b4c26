"""Checksums written with every artifact and verified on read, damaged cache entries dropped,
a damaged database reported in one line, `check_store`, and leftovers cleaned when a store opens."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import time

import numpy as np
import pytest
import torch

import unlearnlab as ul
from unlearnlab.errors import CorruptArtifact
from unlearnlab.store import Store, check_store
from unlearnlab.store.integrity import SAFE_AGE_S

SPEC = {"dataset": {"name": "digits"}, "model": {"name": "cnn"}, "forget": "class:3", "seed": 0}
W = {"w": torch.arange(600.0).reshape(20, 30)}


def flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def done_run(st: Store, method="ft", weights=W, outputs=None) -> str:
    sid = st.upsert_scenario("abc", SPEC)
    rid = st.start_run(sid, method, {}, 0)
    st.finish_run(rid, metrics={"ua": 0.5}, run_time_s=1.0, steps=1, samples=1, weights=weights,
                  outputs={"forget": np.ones((4, 3))} if outputs is None else outputs)
    return rid


def age(path, seconds=2 * SAFE_AGE_S):
    t = time.time() - seconds
    os.utime(path, (t, t))


# run artifacts ------------------------------------------------------------------------------------
def test_damaged_weights_data_with_an_intact_header_are_detected(tmp_path):
    st = Store(tmp_path)
    rid = done_run(st)
    path = st.weights_path(rid)
    flip(path, path.stat().st_size - 5)  # inside the tensor data: safetensors alone loads it silently
    with pytest.raises(CorruptArtifact) as err:
        st.load_weights(rid)
    msg = str(err.value)
    assert "\n" not in msg and rid in msg and "weights.safetensors" in msg and "checksum mismatch" in msg
    assert "store check --repair" in msg
    with pytest.raises(CorruptArtifact):
        st.verify_artifact(rid, "weights.safetensors")


def test_damaged_weights_header_and_outputs_give_one_line_naming_the_run(tmp_path):
    st = Store(tmp_path)
    rid = done_run(st)
    flip(st.weights_path(rid), 20)
    (st.runs_dir / rid / "outputs.npz").write_bytes(b"not a zip file")
    with pytest.raises(CorruptArtifact, match=f"run {rid}'s weights.safetensors is damaged"):
        st.load_weights(rid)
    with pytest.raises(CorruptArtifact, match=f"run {rid}'s outputs.npz is damaged"):
        st.load_outputs(rid)


def test_runs_stored_before_checksums_still_load_and_a_broken_one_is_still_reported(tmp_path):
    st = Store(tmp_path)
    rid = done_run(st)
    (st.runs_dir / rid / "checksums.json").unlink()  # as written by unlearnlab before checksums
    assert torch.equal(st.load_weights(rid)["w"], W["w"])
    result = check_store(st)
    assert result.healthy and len(result.unverified) == 2 and result.verified == 0
    (st.runs_dir / rid / "outputs.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CorruptArtifact, match="unreadable"):
        st.load_outputs(rid)


# caches -------------------------------------------------------------------------------------------
def test_damaged_model_cache_entry_is_dropped_and_reported_as_a_miss(tmp_path, caplog):
    st = Store(tmp_path)
    st.cache_put("k1", W, {"seconds": 1.0})
    state, meta = st.cache_get("k1")
    assert torch.equal(state["w"], W["w"]) and meta == {"seconds": 1.0}  # the checksum is not part of the meta
    flip(st.cache_dir / "k1.safetensors", 20)
    with caplog.at_level(logging.WARNING, logger="unlearnlab.store.sqlite"):
        assert st.cache_get("k1") is None
    assert "k1" in caplog.text and "recomputed" in caplog.text
    assert not (st.cache_dir / "k1.safetensors").exists() and not (st.cache_dir / "k1.json").exists()


def test_damaged_array_cache_entry_is_dropped(tmp_path):
    st = Store(tmp_path)
    st.put_arrays("members", "k2", {"a": np.arange(1000.0)}, {"seconds": 2.0})
    arrays, meta = st.get_arrays("members", "k2")
    assert meta == {"seconds": 2.0} and arrays["a"].shape == (1000,)
    flip(st.cache_dir / "members" / "k2.npz", 200)
    assert st.get_arrays("members", "k2") is None
    assert not (st.cache_dir / "members" / "k2.npz").exists()


def test_a_damaged_cached_original_and_stored_retrain_outputs_are_recomputed(tmp_path, one_thread):
    """The issue's reproductions: flip byte 20 of a cached θ_o and garble θ_r's outputs.npz (which
    the next request reuses as its reference); the same request runs again and succeeds."""
    first = ul.run(forget="class:3", methods=["ft"], train={"epochs": 1}, store=tmp_path)
    metas = {p: json.loads(p.read_text()) for p in (tmp_path / "cache").glob("*.json")}
    original = max(metas, key=lambda p: metas[p]["samples"]).with_suffix(".safetensors")  # θ_o sees all of D
    flip(original, 20)
    old_retrain = first.run("retrain").run_id
    (tmp_path / "runs" / old_retrain / "outputs.npz").write_text("not a zip file")
    comparison = ul.run(forget="class:3", methods=["ft"], train={"epochs": 1}, store=tmp_path)
    assert comparison.run("ft").status == "done" and comparison.run("retrain").run_id != old_retrain
    with Store(tmp_path) as st:
        assert st.cache_get(original.stem) is not None
        assert st.run(old_retrain).status == "failed" and "damaged" in st.run(old_retrain).reason
        assert check_store(st).healthy


# audits -------------------------------------------------------------------------------------------
def test_damaged_audit_arrays_give_one_line(tmp_path):
    st = Store(tmp_path)
    rid = done_run(st)
    st.add_audit("a" * 16, rid, "retrain", 6, {"x": 1}, {"phi": np.arange(500.0)})
    assert st.audit_arrays("a" * 16)["phi"].shape == (500,)
    flip(st._audit_path(rid, "a" * 16), 100)
    with pytest.raises(CorruptArtifact, match=f"audit a{{16}} of run {rid}"):
        st.audit_arrays("a" * 16)


# the database -------------------------------------------------------------------------------------
def test_a_text_file_as_database_gives_one_line(tmp_path):
    (tmp_path / "unlearnlab.db").write_text("these are my notes\n" * 50)
    with pytest.raises(CorruptArtifact, match="store database .* is damaged: file is not a database; restore it"):
        Store(tmp_path)


def test_a_database_with_an_overwritten_header_gives_one_line(tmp_path):
    with Store(tmp_path) as st:
        st.upsert_scenario("abc", SPEC)
    flip_path = tmp_path / "unlearnlab.db"
    data = bytearray(flip_path.read_bytes())
    data[:100] = b"x" * 100
    flip_path.write_bytes(bytes(data))
    with pytest.raises(CorruptArtifact, match="is damaged"):
        Store(tmp_path)


def test_a_damaged_page_found_by_a_later_query_gives_one_line(tmp_path):
    with Store(tmp_path) as st:
        done_run(st)
    db = tmp_path / "unlearnlab.db"
    with sqlite3.connect(db) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    data[(root - 1) * size:root * size] = b"\xff" * size
    db.write_bytes(bytes(data))
    st = Store(tmp_path, clean=False)  # opens: the schema page is intact
    with pytest.raises(CorruptArtifact, match="database disk image is malformed"):
        st.runs()
    result = check_store(st)
    assert not result.healthy and "unlearnlab.db" in result.problems[0]


# check_store ----------------------------------------------------------------------------------------
def test_check_store_finds_and_repairs_damaged_artifacts(tmp_path):
    st = Store(tmp_path)
    good, bad, gone = done_run(st), done_run(st), done_run(st)
    st.cache_put("k1", W, {"seconds": 1.0})
    st.put_arrays("members", "k2", {"a": np.arange(10.0)}, {"seconds": 1.0})
    assert check_store(st).healthy and check_store(st).verified == 8
    flip(st.weights_path(bad), st.weights_path(bad).stat().st_size - 5)
    shutil.rmtree(st.runs_dir / gone)
    flip(st.cache_dir / "k1.safetensors", 20)
    result = check_store(st)
    assert not result.healthy and len(result.problems) == 3
    assert any(bad in p and "checksum mismatch" in p for p in result.problems)
    assert any(gone in p and "missing" in p for p in result.problems)
    assert (st.cache_dir / "k1.json").exists()  # checking alone changes nothing
    repaired = check_store(st, repair=True)
    assert repaired.healthy and len(repaired.repaired) == 3
    for rid in (bad, gone):
        rec = st.run(rid)
        assert rec.status == "failed" and "store check --repair" in rec.reason
    assert not (st.runs_dir / bad).exists() and st.run(good).status == "done"
    assert not (st.cache_dir / "k1.json").exists()
    assert check_store(st).healthy


# leftovers ------------------------------------------------------------------------------------------
def test_crash_leftovers_are_cleaned_when_the_store_opens(tmp_path):
    st = Store(tmp_path)
    sid = st.upsert_scenario("abc", SPEC)
    kept, failed, running = done_run(st), done_run(st), st.start_run(sid, "ft", {}, 0)
    deleted = done_run(st)
    st.fail_run(failed, "failed", "boom")  # its artifacts were written before the failure
    st.put_arrays("compare", "c1", {}, {"x": 1}, runs=[kept, deleted])
    st.put_arrays("compare", "c2", {}, {"x": 2}, runs=[kept])
    with st._tx() as db:  # delete_run's transaction, then a crash before its files go
        db.execute("DELETE FROM runs WHERE id = ?", (deleted,))
        db.execute("INSERT INTO deleted_runs (id, deleted) VALUES (?, ?)", (deleted, time.time()))
    runs, cache = st.runs_dir, st.cache_dir
    (runs / f".{failed}.tmp").mkdir()
    (runs / f".{running}.tmp").mkdir()  # the running run's writer may be at work right now
    (runs / running).mkdir()
    (runs / "0123456789ab").mkdir()  # unknown to this database (maybe restored from a backup): kept
    (runs / kept / "audits").mkdir()
    st.add_audit("b" * 16, kept, "retrain", 6, {}, {"a": np.zeros(2)})
    old_audit_tmp = runs / kept / "audits" / f".{'c' * 16}.x.npz"
    old_cache_tmp, new_cache_tmp = cache / ".k.tag.safetensors", cache / ".k2.tag.json"
    old_members_tmp = cache / "compare" / ".c3.tag.npz"
    for p in (old_audit_tmp, old_cache_tmp, new_cache_tmp, old_members_tmp):
        p.write_bytes(b"partial")
    for p in (old_audit_tmp, old_cache_tmp, old_members_tmp):
        age(p)
    st.close()

    st = Store(tmp_path)
    assert not (runs / f".{failed}.tmp").exists() and not (runs / failed).exists()
    assert (runs / f".{running}.tmp").exists() and (runs / running).exists() and (runs / kept).exists()
    assert not (runs / deleted).exists() and (runs / "0123456789ab").exists()
    assert not old_audit_tmp.exists() and not old_cache_tmp.exists() and not old_members_tmp.exists()
    assert new_cache_tmp.exists()
    assert st.get_arrays("compare", "c1") is None and st.get_arrays("compare", "c2") is not None
    assert st.audit_arrays("b" * 16)["a"].shape == (2,)
    assert st._deleted_runs() == set() and st._cache_of_deleted_runs() == []
    st.close()

    age(runs / f".{running}.tmp")  # an hour-old temporary folder has no writer left
    st = Store(tmp_path)
    assert not (runs / f".{running}.tmp").exists() and (runs / running).exists()
    result = check_store(st)  # the unknown folder is reported, not removed at open
    assert [p for p in result.problems if "0123456789ab" in p and "does not know" in p]


def test_deleting_a_run_removes_its_cached_comparisons(tmp_path):
    st = Store(tmp_path)
    a, b = done_run(st), done_run(st)
    st.put_arrays("compare", "ab", {}, {"x": 1}, runs=[a, b])
    st.delete_run(b)
    assert st.get_arrays("compare", "ab") is None and not (st.cache_dir / "compare" / "ab.json").exists()
