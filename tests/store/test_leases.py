"""Leases: a `running` run whose process is gone is reaped by any process, on any host."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from unlearnlab.errors import Cancelled
from unlearnlab.store import Store
from unlearnlab.store.sqlite import LEASE_S, SCHEMA

SPEC = {"dataset": {"name": "digits"}, "model": {"name": "cnn"}, "forget": "class:3", "seed": 0}
ROOT = Path(__file__).resolve().parents[2]


def _set(root: Path, run_id: str, **cols) -> None:
    db = sqlite3.connect(root / "unlearnlab.db", isolation_level=None)
    db.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in cols)} WHERE id = ?", (*cols.values(), run_id))
    db.close()


def _killed_run(root: Path) -> str:
    """A run started by a process that was then killed (no chance to record anything)."""
    code = ("import os; from unlearnlab.store import Store;"
            f"st = Store({str(root)!r}); sid = st.upsert_scenario('abc', {SPEC!r});"
            "print(st.start_run(sid, 'ft', {}, 0), flush=True); os._exit(9)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip()


def test_a_run_of_another_host_is_reaped_once_its_lease_expires(tmp_path):
    run_id = _killed_run(tmp_path)
    # Another container wrote it: its PID means nothing here. The old reaper never touched it.
    _set(tmp_path, run_id, host="another-container")
    st = Store(tmp_path)
    assert st.reap_stale() == 0 and st.run(run_id).status == "running"  # lease still fresh: cannot judge yet
    _set(tmp_path, run_id, heartbeat=time.time() - LEASE_S - 1)
    assert st.reap_stale() == 1
    rec = st.run(run_id)
    assert rec.status == "failed" and "lease" in rec.reason and "another-container" in rec.reason


def test_a_reused_pid_does_not_keep_a_dead_run_alive(tmp_path):
    run_id = _killed_run(tmp_path)
    # Its PID now belongs to a live, unrelated process (here: pytest's parent).
    _set(tmp_path, run_id, pid=os.getppid(), heartbeat=time.time() - LEASE_S - 1)
    st = Store(tmp_path)
    assert st.reap_stale() == 1 and st.run(run_id).status == "failed"


def test_a_dead_local_process_is_reaped_without_waiting_for_the_lease(tmp_path):
    run_id = _killed_run(tmp_path)
    st = Store(tmp_path)
    assert st.reap_stale() == 1 and "process running it ended" in st.run(run_id).reason


def test_a_live_run_renews_its_lease_and_is_never_reaped(tmp_path):
    owner = Store(tmp_path, heartbeat_s=0.05)
    sid = owner.upsert_scenario("abc", SPEC)
    run_id = owner.start_run(sid, "ft", {}, 0)
    stale = time.time() - LEASE_S - 1
    _set(tmp_path, run_id, heartbeat=stale)  # as if the owner had stalled: its next beat renews the lease
    other = Store(tmp_path)
    deadline = time.time() + 30
    while other.run(run_id).status == "running":
        row = other._db.execute("SELECT heartbeat FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row["heartbeat"] > stale + LEASE_S / 2:
            break
        assert time.time() < deadline, "the heartbeat thread never renewed the lease"
        time.sleep(0.02)
    assert other.reap_stale() == 0 and other.run(run_id).status == "running"
    owner.finish_run(run_id, metrics={}, run_time_s=1.0, steps=1, samples=1)
    assert other.run(run_id).status == "done"


def test_a_closed_store_stops_renewing_so_its_unfinished_runs_expire(tmp_path):
    owner = Store(tmp_path, heartbeat_s=0.05)
    sid = owner.upsert_scenario("abc", SPEC)
    run_id = owner.start_run(sid, "ft", {}, 0)
    owner.close()
    _set(tmp_path, run_id, heartbeat=time.time() - LEASE_S - 1)
    time.sleep(0.2)  # several heartbeat intervals: a thread still running would have renewed it
    assert Store(tmp_path).reap_stale() == 1


def test_a_store_made_before_leases_gains_the_column(tmp_path):
    db = sqlite3.connect(tmp_path / "unlearnlab.db", isolation_level=None)
    old_schema = SCHEMA.replace(",\n    heartbeat REAL", "")
    assert old_schema != SCHEMA
    db.executescript(old_schema)
    db.execute("INSERT INTO scenarios VALUES ('abc', 'digits', 'cnn', 'class:3', 0, '{}', 0)")
    db.execute("INSERT INTO runs (id, scenario_id, method, hparams, seed, status, created, host, pid) "
               "VALUES ('r1', 'abc', 'ft', '{}', 0, 'running', ?, 'elsewhere', 1)", (time.time() - LEASE_S - 5,))
    db.close()
    st = Store(tmp_path)
    assert "heartbeat" in {r["name"] for r in st._db.execute("PRAGMA table_info(runs)")}
    assert st.reap_stale() == 1  # no heartbeat ever: judged by its start time


def test_lease_settings_are_validated(tmp_path):
    with pytest.raises(ValueError, match="heartbeat_s"):
        Store(tmp_path, lease_s=1.0, heartbeat_s=2.0)


def test_a_store_lock_excludes_other_holders_and_can_be_cancelled(tmp_path):
    st, other = Store(tmp_path), Store(tmp_path)
    waited, cancel = [], threading.Event()
    with st.lock("scenario-abc"):
        def contend():
            try:
                with other.lock("scenario-abc", cancel=cancel, on_wait=lambda: (waited.append(1), cancel.set())):
                    waited.append("acquired")
            except Cancelled:
                waited.append("cancelled")

        t = threading.Thread(target=contend)
        t.start()
        t.join(30)
    assert waited == [1, "cancelled"]
    with other.lock("scenario-abc"):  # released: free again
        pass
    with pytest.raises(ValueError, match="lock name"):
        st.lock("../escape")
