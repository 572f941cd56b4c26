"""The run store: one SQLite database (WAL) plus an artifact folder.

    ROOT/unlearnlab.db                 scenarios, runs, metrics
    ROOT/runs/<run id>/weights.safetensors, outputs.npz, checksums.json (their sha256)
    ROOT/runs/<run id>/audits/<audit id>.npz   per-sample audit arrays (aggregates in the audits table)
    ROOT/cache/<key>.safetensors|.json content-addressed trained models (θ_o, θ_r)
    ROOT/cache/<kind>/<key>.npz|.json  content-addressed arrays (ensemble outputs, analyses, audits)
    ROOT/locks/<name>.lock             inter-process locks (one process trains a scenario's θ_o/θ_r)

A run is inserted as `running` when it starts. Finishing writes its artifacts into a temporary
folder that is renamed into place, then sets `done` and inserts its metrics in one transaction:
a killed process leaves a `running` row, never `done` without metrics. The process renews the
row's lease (a heartbeat) while it runs; once the lease expires any process may reap it as failed.
Every artifact is verified against its checksum when read (see `integrity`); opening a store
removes what a crash left behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from ..errors import BadInput, CorruptArtifact
from .integrity import (INTEGRITY, INTEGRITY_SCHEMA, SUMS, Damage, GuardedConnection, clean_leftovers, file_digest,
                        parse_npz, parse_safetensors, read_checked, read_sums, write_sums)
from .lease import Heartbeat, exclusive

SCHEMA = """
CREATE TABLE IF NOT EXISTS scenarios (
    id TEXT PRIMARY KEY,
    dataset TEXT NOT NULL,
    model TEXT NOT NULL,
    forget TEXT NOT NULL,
    seed INTEGER NOT NULL,
    spec TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    scenario_id TEXT NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    hparams TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'diverged', 'cancelled')),
    reason TEXT,
    created REAL NOT NULL,
    finished REAL,
    run_time_s REAL,
    steps INTEGER,
    samples INTEGER,
    cached INTEGER NOT NULL DEFAULT 0,
    details TEXT,
    host TEXT,
    pid INTEGER,
    heartbeat REAL
);
CREATE INDEX IF NOT EXISTS runs_by_scenario ON runs(scenario_id, created);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS audits (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    against TEXT NOT NULL,
    refs INTEGER NOT NULL,
    created REAL NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audits_by_run ON audits(run_id, created);
"""

STATUSES = ("running", "done", "failed", "diverged", "cancelled")
log = logging.getLogger(__name__)

#: A `running` run's process renews its lease (the `heartbeat` column, wall-clock seconds) every
#: HEARTBEAT_S; any process, on any host sharing the store, may mark it failed once the lease is
#: older than LEASE_S. Generous against clock skew between hosts and a busy machine's stalls.
HEARTBEAT_S = 10.0
LEASE_S = 120.0


@dataclass
class RunRecord:
    id: str
    scenario_id: str
    method: str
    hparams: dict[str, Any]
    seed: int
    status: str
    reason: str | None
    created: float
    finished: float | None
    run_time_s: float | None
    steps: int | None
    samples: int | None
    cached: bool
    details: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "scenario_id": self.scenario_id, "method": self.method, "hparams": self.hparams,
            "seed": self.seed, "status": self.status, "reason": self.reason, "created": self.created,
            "finished": self.finished, "run_time_s": self.run_time_s, "steps": self.steps,
            "samples": self.samples, "cached": self.cached, "metrics": self.metrics, "details": self.details,
        }


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=_jsonable)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, (np.ndarray, tuple)):
        return list(obj.tolist() if isinstance(obj, np.ndarray) else obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    """Open (and, if `create`, make) a store at `root`. Raises BadInput if it cannot be written."""

    def __init__(self, root: str | os.PathLike, create: bool = True, *, lease_s: float = LEASE_S,
                 heartbeat_s: float = HEARTBEAT_S, clean: bool = True):
        if not 0 < heartbeat_s < lease_s:
            raise ValueError(f"heartbeat_s={heartbeat_s} must be positive and below lease_s={lease_s}")
        self.lease_s = float(lease_s)
        self.root = Path(root).expanduser().resolve()
        if not create and not (self.root / "unlearnlab.db").is_file():
            raise BadInput(f"no store at {str(root)!r}; run `unlearnlab demo` or `unlearnlab run` first, or pass --store")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{uuid.uuid4().hex}"
            probe.touch()
            probe.unlink()
        except OSError as err:
            raise BadInput(f"store path {str(root)!r} cannot be written: {err.strerror or err}") from None
        self.runs_dir = self.root / "runs"
        self.cache_dir = self.root / "cache"
        self._lock = threading.RLock()
        # GuardedConnection: a damaged database file answers any query with one CorruptArtifact line
        self._db = sqlite3.connect(self.root / "unlearnlab.db", isolation_level=None, check_same_thread=False,
                                   timeout=30, factory=GuardedConnection)
        self._db.row_factory = sqlite3.Row
        # Switching a new database to WAL takes a lock that SQLite does not wait for (busy at once, whatever the
        # timeout): two processes or threads opening one fresh store would fail. One opens it at a time.
        with exclusive(self.root / "locks" / "store-open.lock"):
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            self._migrate()
            self._open_integrity(clean)  # `clean`: remove what a crash left behind (no hashing)
        self._heartbeat = Heartbeat(self.root / "unlearnlab.db", heartbeat_s)

    def _migrate(self) -> None:
        """Columns added since a store was made (SQLite's CREATE TABLE IF NOT EXISTS keeps old tables)."""
        columns = {r["name"] for r in self._db.execute("PRAGMA table_info(runs)")}
        if "heartbeat" not in columns:  # stores made before leases (0.x): their running rows get none
            with self._tx() as db:
                db.execute("ALTER TABLE runs ADD COLUMN heartbeat REAL")

    def close(self) -> None:
        self._heartbeat.close()
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # scenarios ------------------------------------------------------------------------------
    def upsert_scenario(self, scenario_id: str, spec: Mapping[str, Any]) -> str:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO scenarios (id, dataset, model, forget, seed, spec, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (scenario_id, spec["dataset"]["name"], spec["model"]["name"], spec["forget"], spec["seed"],
                 _json(spec), time.time()),
            )
        return scenario_id

    def scenario(self, scenario_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT * FROM scenarios WHERE id = ?", (scenario_id,)).fetchone()
        if row is None:
            raise BadInput(f"unknown scenario {scenario_id!r}; see `unlearnlab runs` for stored ones")
        return {"id": row["id"], "created": row["created"], **json.loads(row["spec"])}

    def scenarios(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT id FROM scenarios ORDER BY created").fetchall()
        return [self.scenario(r["id"]) for r in rows]

    # runs -----------------------------------------------------------------------------------
    def start_run(self, scenario_id: str, method: str, hparams: Mapping[str, Any], seed: int) -> str:
        """Insert a `running` run whose lease this process renews until it finishes or fails."""
        run_id = uuid.uuid4().hex[:12]
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, scenario_id, method, hparams, seed, status, created, host, pid, heartbeat) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                (run_id, scenario_id, method, _json(hparams), seed, now, socket.gethostname(), os.getpid(), now),
            )
        self._heartbeat.add(run_id)
        return run_id

    def lock(self, name: str, *, cancel: threading.Event | None = None,
             on_wait: Callable[[], None] | None = None):
        """An inter-process lock (context manager) named `name` in this store: ROOT/locks/<name>.lock."""
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"lock name {name!r} must be letters, digits, '-' and '_'")
        return exclusive(self.root / "locks" / f"{name}.lock", cancel=cancel, on_wait=on_wait)

    def finish_run(self, run_id: str, *, metrics: Mapping[str, float | None], run_time_s: float | None,
                   steps: int | None, samples: int | None, cached: bool = False,
                   details: Mapping[str, Any] | None = None,
                   weights: Mapping[str, torch.Tensor] | None = None,
                   outputs: Mapping[str, np.ndarray] | None = None) -> None:
        """Write artifacts, then mark the run done with its metrics in one transaction."""
        self._write_artifacts(run_id, weights, outputs)
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO metrics (run_id, name, value) VALUES (?, ?, ?)",
                           [(run_id, k, None if v is None else float(v)) for k, v in metrics.items()])
            cur = db.execute(
                "UPDATE runs SET status = 'done', reason = NULL, finished = ?, run_time_s = ?, steps = ?, "
                "samples = ?, cached = ?, details = ? WHERE id = ? AND status = 'running'",
                (time.time(), run_time_s, steps, samples, int(cached), _json(details or {}), run_id),
            )
            if cur.rowcount != 1:
                raise RuntimeError(f"run {run_id} is not running; cannot finish it")
        self._heartbeat.discard(run_id)

    def fail_run(self, run_id: str, status: str, reason: str, **stats: Any) -> None:
        if status not in ("failed", "diverged", "cancelled"):
            raise ValueError(f"not a failure status: {status}")
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status = ?, reason = ?, finished = ?, run_time_s = ?, steps = ?, samples = ? "
                "WHERE id = ?",
                (status, reason, time.time(), stats.get("run_time_s"), stats.get("steps"), stats.get("samples"),
                 run_id),
            )
        self._heartbeat.discard(run_id)

    def reap_stale(self) -> int:
        """Mark failed the `running` runs whose process is gone; returns how many.

        Gone means its lease expired (no heartbeat for `lease_s`: killed, hung, or its host lost),
        judged the same from any process on any host, or, sooner, that it ran on this host under a
        PID that no longer exists."""
        now, host, me = time.time(), socket.gethostname(), os.getpid()
        rows = self._db.execute("SELECT id, host, pid, heartbeat, created FROM runs WHERE status = 'running'").fetchall()
        reaped = 0
        for r in rows:
            if r["id"] in self._heartbeat:
                continue
            last = r["heartbeat"] if r["heartbeat"] is not None else r["created"]
            if now - last > self.lease_s:
                reason = (f"interrupted: its process (pid {r['pid']} on {r['host']}) stopped renewing the run's "
                          f"lease {now - last:.0f} s ago")
            elif r["host"] == host and r["pid"] not in (None, me) and not _pid_alive(r["pid"]):
                reason = "interrupted: the process running it ended"
            else:
                continue
            with self._tx() as db:  # the status guard: it may have finished since the SELECT
                cur = db.execute("UPDATE runs SET status = 'failed', reason = ?, finished = ? "
                                 "WHERE id = ? AND status = 'running'", (reason, now, r["id"]))
            reaped += cur.rowcount
        return reaped

    def _record(self, row: sqlite3.Row, metrics: dict[str, float | None]) -> RunRecord:
        return RunRecord(
            id=row["id"], scenario_id=row["scenario_id"], method=row["method"], hparams=json.loads(row["hparams"]),
            seed=row["seed"], status=row["status"], reason=row["reason"], created=row["created"],
            finished=row["finished"], run_time_s=row["run_time_s"], steps=row["steps"], samples=row["samples"],
            cached=bool(row["cached"]), details=json.loads(row["details"]) if row["details"] else {},
            metrics=metrics,
        )

    def runs(self, scenario_id: str | None = None, status: str | None = None) -> list[RunRecord]:
        where, args = [], []
        if scenario_id is not None:
            where.append("scenario_id = ?")
            args.append(scenario_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY created"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
            ids = [r["id"] for r in rows]
            metrics: dict[str, dict[str, float | None]] = {i: {} for i in ids}
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                q = f"SELECT run_id, name, value FROM metrics WHERE run_id IN ({','.join('?' * len(chunk))})"
                for m in self._db.execute(q, chunk):
                    metrics[m["run_id"]][m["name"]] = m["value"]
        return [self._record(r, metrics[r["id"]]) for r in rows]

    def run(self, run_id: str) -> RunRecord:
        row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise BadInput(f"unknown run {run_id!r}; see `unlearnlab runs` for stored ones")
        metrics = {m["name"]: m["value"] for m in self._db.execute("SELECT name, value FROM metrics WHERE run_id = ?",
                                                                     (run_id,))}
        return self._record(row, metrics)

    def delete_run(self, run_id: str) -> None:
        self.run(run_id)
        with self._tx() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            # a tombstone: if the process dies before the folder and cached analyses are gone, the next open removes them
            db.execute("INSERT OR REPLACE INTO deleted_runs (id, deleted) VALUES (?, ?)", (run_id, time.time()))
        shutil.rmtree(self.runs_dir / run_id, ignore_errors=True)
        clean_leftovers(self, min_age=float("inf"))

    # artifacts ------------------------------------------------------------------------------
    def _write_artifacts(self, run_id: str, weights, outputs) -> None:
        if weights is None and outputs is None:
            return
        final = self.runs_dir / run_id
        tmp = self.runs_dir / f".{run_id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        names = []
        if weights is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, str(tmp / "weights.safetensors"))
            names.append("weights.safetensors")
        if outputs is not None:
            np.savez_compressed(tmp / "outputs.npz", **outputs)
            names.append("outputs.npz")
        write_sums(tmp, names)  # inside the folder before its rename: artifacts and checksums appear together
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)

    def weights_path(self, run_id: str) -> Path:
        return self.runs_dir / run_id / "weights.safetensors"

    def _damaged(self, run_id: str, name: str, why: str) -> CorruptArtifact:
        return CorruptArtifact(
            f"run {run_id}'s {name} is damaged ({why}); delete the run (`DELETE /api/runs/{run_id}` or the web "
            f"UI) and run it again, or run `unlearnlab store check --repair --store {self.root}`")

    def _read_artifact(self, run_id: str, name: str, parse) -> Any:
        """A run artifact's parsed content, verified against the checksum written with it.

        BadInput when the run has no such file; CorruptArtifact when it is damaged."""
        folder = self.runs_dir / run_id
        if not (folder / name).is_file():
            raise BadInput(f"run {run_id!r} has no stored {'weights' if name.startswith('weights') else 'outputs'}")
        try:
            sums = read_sums(folder)
            if sums is not None and name not in sums:
                raise Damage(f"no checksum recorded for it in {SUMS}")
            return read_checked(folder / name, None if sums is None else sums[name], parse)
        except Damage as err:
            raise self._damaged(run_id, name, str(err)) from None

    def verify_artifact(self, run_id: str, name: str) -> Path:
        """The path of a run artifact after checking it (for serving the file as it is)."""
        self._read_artifact(run_id, name, lambda data: None)
        return self.runs_dir / run_id / name

    def load_weights(self, run_id: str) -> dict[str, torch.Tensor]:
        return self._read_artifact(run_id, "weights.safetensors", parse_safetensors)

    def load_outputs(self, run_id: str) -> dict[str, np.ndarray]:
        return self._read_artifact(run_id, "outputs.npz", parse_npz)

    def mark_damaged(self, run_id: str, reason: str) -> None:
        """A done run whose artifacts are damaged becomes failed with `reason`; its row (metrics,
        details) stays as a record, its artifacts go, so nothing reuses them."""
        with self._tx() as db:
            db.execute("UPDATE runs SET status = 'failed', reason = ? WHERE id = ?", (reason, run_id))
        shutil.rmtree(self.runs_dir / run_id, ignore_errors=True)

    # integrity bookkeeping (see store.integrity) -------------------------------------------------
    def _open_integrity(self, clean: bool) -> None:
        self._db.executescript(INTEGRITY_SCHEMA)
        if "sha256" not in {r["name"] for r in self._db.execute("PRAGMA table_info(audits)")}:
            with self._tx() as db:  # looked at again inside the lock: another process may have just added it
                if "sha256" not in {r["name"] for r in db.execute("PRAGMA table_info(audits)")}:
                    db.execute("ALTER TABLE audits ADD COLUMN sha256 TEXT")  # older audits stay unverified
        if clean:
            for path, why in clean_leftovers(self):
                log.info("store %s: removed %s (%s)", self.root, path, why)

    def _run_statuses(self) -> dict[str, str]:
        return {r["id"]: r["status"] for r in self._db.execute("SELECT id, status FROM runs").fetchall()}

    def _deleted_runs(self) -> set[str]:
        return {r["id"] for r in self._db.execute("SELECT id FROM deleted_runs").fetchall()}

    def _audited_runs(self) -> list[str]:
        return [r["run_id"] for r in self._db.execute("SELECT DISTINCT run_id FROM audits").fetchall()]

    def _audit_rows(self) -> list[sqlite3.Row]:
        return self._db.execute("SELECT id, run_id, sha256 FROM audits ORDER BY created").fetchall()

    def _cache_of_deleted_runs(self) -> list[tuple[str, str]]:
        rows = self._db.execute("SELECT DISTINCT kind, key FROM cache_runs "
                                "WHERE run_id NOT IN (SELECT id FROM runs)").fetchall()
        return [(r["kind"], r["key"]) for r in rows]

    def _forget_deleted_runs(self) -> None:
        """Drop the bookkeeping of deleted runs once their files are gone (kept while any remain)."""
        gone_runs = [i for i in self._deleted_runs() if not (self.runs_dir / i).exists()]
        gone_cache = [(k, key) for k, key in self._cache_of_deleted_runs()
                      if not any((self.cache_dir / k / f"{key}{ext}").exists() for ext in (".json", ".npz"))]
        with self._tx() as db:
            db.executemany("DELETE FROM deleted_runs WHERE id = ?", [(i,) for i in gone_runs])
            db.executemany("DELETE FROM cache_runs WHERE kind = ? AND key = ?", gone_cache)

    # content-addressed model cache --------------------------------------------------------------
    def _drop_damaged(self, label: str, why: str, *paths: Path) -> None:
        log.warning("store %s: cache entry %s is damaged (%s); dropped, it will be recomputed", self.root, label, why)
        for p in paths:
            p.unlink(missing_ok=True)

    def _read_entry(self, data: Path, meta_path: Path, parse) -> tuple[Any, dict[str, Any]] | None:
        """(parsed data, meta) of a complete cache entry, or None; a damaged entry is removed.

        A damaged-looking entry is read twice before it is dropped: another process may have
        replaced the data file between our reads of the two files."""
        why = ""
        for _ in range(2):
            if not (data.is_file() and meta_path.is_file()):
                return None
            try:
                meta = json.loads(meta_path.read_text())
                if not isinstance(meta, dict):
                    raise Damage("its meta is not a mapping")
                value = read_checked(data, meta.pop(INTEGRITY, None), parse)
                return value, meta
            except (Damage, OSError, ValueError) as err:
                why = str(err) if isinstance(err, Damage) else f"unreadable meta ({type(err).__name__})"
        self._drop_damaged(data.stem if data.parent == self.cache_dir else f"{data.parent.name}/{data.stem}", why,
                           data, meta_path)
        return None

    def cache_get(self, key: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        return self._read_entry(self.cache_dir / f"{key}.safetensors", self.cache_dir / f"{key}.json",
                                parse_safetensors)

    def cache_put(self, key: str, state: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex
        tmp_w, tmp_m = self.cache_dir / f".{key}.{tag}.safetensors", self.cache_dir / f".{key}.{tag}.json"
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(tmp_w))
        tmp_m.write_text(_json({**meta, INTEGRITY: file_digest(tmp_w)}))
        # weights first: the .json, which carries their checksum, is what marks a cache entry as complete
        os.replace(tmp_w, self.cache_dir / f"{key}.safetensors")
        os.replace(tmp_m, self.cache_dir / f"{key}.json")

    # audits ---------------------------------------------------------------------------------------
    def _audit_path(self, run_id: str, audit_id: str) -> Path:
        return self.runs_dir / run_id / "audits" / f"{audit_id}.npz"

    def add_audit(self, audit_id: str, run_id: str, against: str, refs: int, summary: Mapping[str, Any],
                  arrays: Mapping[str, np.ndarray]) -> None:
        """Store an audit of a done run: per-sample arrays first, then the row (replacing an older one)
        with the arrays' checksum."""
        if self.run(run_id).status != "done":
            raise BadInput(f"run {run_id!r} is not done; only finished runs can be audited")
        path = self._audit_path(run_id, audit_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{audit_id}.{uuid.uuid4().hex}.npz")
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **{k: np.asarray(v) for k, v in arrays.items()})
        checksum = _json(file_digest(tmp))
        os.replace(tmp, path)
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO audits (id, run_id, against, refs, created, summary, sha256) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (audit_id, run_id, against, int(refs), time.time(), _json(summary), checksum))

    def audits(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Stored audits (newest last), of one run or of all."""
        query, args = "SELECT * FROM audits", ()
        if run_id is not None:
            query, args = query + " WHERE run_id = ?", (run_id,)
        rows = self._db.execute(query + " ORDER BY created", args).fetchall()
        return [{"id": r["id"], "run_id": r["run_id"], "against": r["against"], "refs": r["refs"],
                 "created": r["created"], **json.loads(r["summary"])} for r in rows]

    def audit(self, audit_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT run_id FROM audits WHERE id = ?", (audit_id,)).fetchone()
        if row is None:
            raise BadInput(f"unknown audit {audit_id!r}; see `unlearnlab audit RUN_ID` to make one")
        return next(a for a in self.audits(row["run_id"]) if a["id"] == audit_id)

    def audit_arrays(self, audit_id: str) -> dict[str, np.ndarray]:
        """An audit's per-sample arrays, verified; CorruptArtifact when they are damaged or missing."""
        row = self._db.execute("SELECT run_id, sha256 FROM audits WHERE id = ?", (audit_id,)).fetchone()
        if row is None:
            self.audit(audit_id)  # raises BadInput naming the audit
        try:
            return read_checked(self._audit_path(row["run_id"], audit_id),
                                json.loads(row["sha256"]) if row["sha256"] else None, parse_npz)
        except Damage as err:
            raise CorruptArtifact(
                f"audit {audit_id} of run {row['run_id']}: its arrays are damaged ({err}); audit the run again "
                f"with --force, or run `unlearnlab store check --repair --store {self.root}`") from None

    def drop_audit(self, audit_id: str) -> None:
        row = self._db.execute("SELECT run_id FROM audits WHERE id = ?", (audit_id,)).fetchone()
        with self._tx() as db:
            db.execute("DELETE FROM audits WHERE id = ?", (audit_id,))
        if row is not None:
            self._audit_path(row["run_id"], audit_id).unlink(missing_ok=True)

    # content-addressed arrays (ensemble member outputs, analyses, audits) ---------------------------
    def _arrays_paths(self, kind: str, key: str) -> tuple[Path, Path]:
        if not (kind.isidentifier() and key.replace("-", "_").replace("_", "").isalnum()):
            raise BadInput(f"array cache kind {kind!r} / key {key!r} must be plain identifiers")
        folder = self.cache_dir / kind
        return folder / f"{key}.npz", folder / f"{key}.json"

    def get_arrays(self, kind: str, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """(arrays, meta) stored under (kind, key) by `put_arrays`, or None (a damaged entry is dropped)."""
        return self._read_entry(*self._arrays_paths(kind, key), parse_npz)

    def put_arrays(self, kind: str, key: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any],
                   runs: tuple[str, ...] | list[str] = ()) -> None:
        """Store arrays and JSON meta atomically (the .json, written last, marks the entry complete).

        `runs`: the runs the entry was computed from; it is removed when one of them is deleted."""
        data, meta_path = self._arrays_paths(kind, key)
        if runs:  # recorded before the files exist: a crash in between leaves only a harmless row
            with self._tx() as db:
                db.executemany("INSERT OR IGNORE INTO cache_runs (kind, key, run_id) VALUES (?, ?, ?)",
                               [(kind, key, r) for r in runs])
        data.parent.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex
        tmp_d, tmp_m = data.with_name(f".{key}.{tag}.npz"), meta_path.with_name(f".{key}.{tag}.json")
        with open(tmp_d, "wb") as fh:
            np.savez_compressed(fh, **{k: np.asarray(v) for k, v in arrays.items()})
        tmp_m.write_text(_json({**meta, INTEGRITY: file_digest(tmp_d)}))
        os.replace(tmp_d, data)
        os.replace(tmp_m, meta_path)
