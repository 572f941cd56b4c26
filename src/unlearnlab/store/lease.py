"""Leases on `running` runs, renewed by a heartbeat thread, so any process can tell a dead run;
and inter-process locks, so one process trains a reference model while the others wait for it.

A process that starts a run writes `runs.heartbeat` (wall-clock seconds) and renews it every
`interval` seconds from a daemon thread until the run finishes or fails. A run whose heartbeat is
older than the lease belongs to a process that was killed, hung or lost its host: `Store.reap_stale`
in any process, on any host sharing the store, marks it failed. A PID check cannot do this: PIDs
are only meaningful on their own host and are reused.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import Cancelled


class Heartbeat:
    """Renews the leases of one store's running runs started by this process."""

    def __init__(self, db_path: Path, interval: float):
        self.db_path, self.interval = db_path, float(interval)
        self._ids: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def __contains__(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._ids

    def add(self, run_id: str) -> None:
        with self._lock:
            self._ids.add(run_id)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._loop, name="unlearnlab-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, run_id: str) -> None:
        with self._lock:
            self._ids.discard(run_id)

    def close(self) -> None:
        """Stop renewing: the leases of still-running runs then expire and they can be reaped."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        self._wake.set()
        if thread is not None:
            thread.join(timeout=5)

    def _loop(self) -> None:
        # Its own connection: the store's is shared by request threads behind a lock that a long
        # read can hold, and a renewal must not wait behind it.
        db = sqlite3.connect(self.db_path, isolation_level=None, timeout=30)
        try:
            while not self._wake.wait(self.interval):
                with self._lock:
                    ids = list(self._ids)
                if not ids:
                    continue
                try:
                    db.execute(f"UPDATE runs SET heartbeat = ? WHERE status = 'running' AND id IN "
                               f"({','.join('?' * len(ids))})", (time.time(), *ids))
                except sqlite3.Error:
                    # A busy or briefly unavailable database: the next beat tries again, well within
                    # the lease.
                    continue
        finally:
            db.close()


@contextmanager
def exclusive(path: Path, *, cancel: threading.Event | None = None,
              on_wait: Callable[[], None] | None = None, poll_s: float = 0.5) -> Iterator[None]:
    """Hold an inter-process lock on `path` (created if missing) for the block.

    Waits as long as another holder needs (training a reference can take hours), calling `on_wait`
    once when it has to wait, and raises Cancelled if `cancel` is set meanwhile. The OS drops the
    lock when its holder dies, so a killed trainer never blocks the next one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    waited = False
    while True:
        try:
            lock.acquire(timeout=poll_s)
            break
        except Timeout:
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled while waiting for another process") from None
            if not waited and on_wait is not None:
                on_wait()
            waited = True
    try:
        yield
    finally:
        lock.release()
