"""The run store: one SQLite database (WAL) plus an artifact folder.

    ROOT/unlearnlab.db                 scenarios, runs, metrics
    ROOT/runs/<run id>/weights.safetensors, outputs.npz
    ROOT/runs/<run id>/audits/<audit id>.npz   per-sample audit arrays (aggregates in the audits table)
    ROOT/cache/<key>.safetensors|.json content-addressed trained models (θ_o, θ_r)
    ROOT/cache/<kind>/<key>.npz|.json  content-addressed arrays (ensemble outputs, analyses, audits)

A run is inserted as `running` when it starts. Finishing writes its artifacts into a temporary
folder that is renamed into place, then sets `done` and inserts its metrics in one transaction:
a killed process leaves a `running` row (reaped as failed later), never `done` without metrics.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..errors import BadInput

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
    pid INTEGER
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

    def __init__(self, root: str | os.PathLike, create: bool = True):
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
        self._db = sqlite3.connect(self.root / "unlearnlab.db", isolation_level=None, check_same_thread=False,
                                   timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
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
        run_id = uuid.uuid4().hex[:12]
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, scenario_id, method, hparams, seed, status, created, host, pid) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                (run_id, scenario_id, method, _json(hparams), seed, time.time(), socket.gethostname(), os.getpid()),
            )
        return run_id

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

    def reap_stale(self) -> int:
        """Mark `running` runs of this host whose process has ended as failed; returns how many."""
        host = socket.gethostname()
        rows = self._db.execute("SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", (host,)).fetchall()
        dead = [r["id"] for r in rows if r["pid"] is not None and r["pid"] != os.getpid() and not _pid_alive(r["pid"])]
        for run_id in dead:
            self.fail_run(run_id, "failed", "interrupted: the process running it ended")
        return len(dead)

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
        shutil.rmtree(self.runs_dir / run_id, ignore_errors=True)

    # artifacts ------------------------------------------------------------------------------
    def _write_artifacts(self, run_id: str, weights, outputs) -> None:
        if weights is None and outputs is None:
            return
        final = self.runs_dir / run_id
        tmp = self.runs_dir / f".{run_id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if weights is not None:
            save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, str(tmp / "weights.safetensors"))
        if outputs is not None:
            np.savez_compressed(tmp / "outputs.npz", **outputs)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)

    def weights_path(self, run_id: str) -> Path:
        return self.runs_dir / run_id / "weights.safetensors"

    def load_weights(self, run_id: str) -> dict[str, torch.Tensor]:
        path = self.weights_path(run_id)
        if not path.is_file():
            raise BadInput(f"run {run_id!r} has no stored weights")
        return load_file(str(path))

    def load_outputs(self, run_id: str) -> dict[str, np.ndarray]:
        path = self.runs_dir / run_id / "outputs.npz"
        if not path.is_file():
            raise BadInput(f"run {run_id!r} has no stored outputs")
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    # content-addressed model cache --------------------------------------------------------------
    def cache_get(self, key: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        w, meta = self.cache_dir / f"{key}.safetensors", self.cache_dir / f"{key}.json"
        if not (w.is_file() and meta.is_file()):
            return None
        return load_file(str(w)), json.loads(meta.read_text())

    def cache_put(self, key: str, state: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex
        tmp_w, tmp_m = self.cache_dir / f".{key}.{tag}.safetensors", self.cache_dir / f".{key}.{tag}.json"
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(tmp_w))
        tmp_m.write_text(_json(meta))
        # weights first: the .json is what marks a cache entry as complete
        os.replace(tmp_w, self.cache_dir / f"{key}.safetensors")
        os.replace(tmp_m, self.cache_dir / f"{key}.json")

    # audits ---------------------------------------------------------------------------------------
    def _audit_path(self, run_id: str, audit_id: str) -> Path:
        return self.runs_dir / run_id / "audits" / f"{audit_id}.npz"

    def add_audit(self, audit_id: str, run_id: str, against: str, refs: int, summary: Mapping[str, Any],
                  arrays: Mapping[str, np.ndarray]) -> None:
        """Store an audit of a done run: per-sample arrays first, then the row (replacing an older one)."""
        if self.run(run_id).status != "done":
            raise BadInput(f"run {run_id!r} is not done; only finished runs can be audited")
        path = self._audit_path(run_id, audit_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{audit_id}.{uuid.uuid4().hex}.npz")
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **{k: np.asarray(v) for k, v in arrays.items()})
        os.replace(tmp, path)
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO audits (id, run_id, against, refs, created, summary) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (audit_id, run_id, against, int(refs), time.time(), _json(summary)))

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
        path = self._audit_path(self.audit(audit_id)["run_id"], audit_id)
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    # content-addressed arrays (ensemble member outputs, analyses, audits) ---------------------------
    def _arrays_paths(self, kind: str, key: str) -> tuple[Path, Path]:
        if not (kind.isidentifier() and key.replace("-", "_").replace("_", "").isalnum()):
            raise BadInput(f"array cache kind {kind!r} / key {key!r} must be plain identifiers")
        folder = self.cache_dir / kind
        return folder / f"{key}.npz", folder / f"{key}.json"

    def get_arrays(self, kind: str, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """(arrays, meta) stored under (kind, key) by `put_arrays`, or None."""
        data, meta = self._arrays_paths(kind, key)
        if not (data.is_file() and meta.is_file()):
            return None
        with np.load(data, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        return arrays, json.loads(meta.read_text())

    def put_arrays(self, kind: str, key: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Store arrays and JSON meta atomically (the .json, written last, marks the entry complete)."""
        data, meta_path = self._arrays_paths(kind, key)
        data.parent.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex
        tmp_d, tmp_m = data.with_name(f".{key}.{tag}.npz"), meta_path.with_name(f".{key}.{tag}.json")
        with open(tmp_d, "wb") as fh:
            np.savez_compressed(fh, **{k: np.asarray(v) for k, v in arrays.items()})
        tmp_m.write_text(_json(meta))
        os.replace(tmp_d, data)
        os.replace(tmp_m, meta_path)
