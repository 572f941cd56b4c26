"""Checksums of stored files, their verification on read, and the sweep for what a crash left behind.

Each artifact's sha256 is written in the same atomic step that makes the artifact visible, so a
file and its checksum can never disagree except by damage:

    runs/<id>/checksums.json   written into the run's temporary folder before it is renamed into place
    cache/<key>.json           the θ_o/θ_r cache entry's meta, replaced last: it marks the entry complete
    cache/<kind>/<key>.json    likewise for content-addressed arrays
    audits.sha256              the audit's row, inserted only after its .npz is in place

Stores written before checksums existed have none; their files are parsed but not verified
("unverified"), and they keep working.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load as load_safetensors

from ..errors import CorruptArtifact

if TYPE_CHECKING:
    from .sqlite import Store

SUMS = "checksums.json"
#: The reserved key of a cache entry's meta that holds its data file's checksum.
INTEGRITY = "_integrity"
#: Temporary files younger than this may belong to a writer that is still at work in another process.
SAFE_AGE_S = 3600.0
#: Statuses whose artifact folders are leftovers: the run never finished, its files are not used.
ENDED = ("failed", "diverged", "cancelled")


#: Bookkeeping for cleaning up after deleted runs: a tombstone per deleted run until its folder is
#: gone, and the runs each cached analysis was computed from.
INTEGRITY_SCHEMA = """
CREATE TABLE IF NOT EXISTS deleted_runs (id TEXT PRIMARY KEY, deleted REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cache_runs (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (kind, key, run_id)
);
CREATE INDEX IF NOT EXISTS cache_runs_by_run ON cache_runs(run_id);
"""


def _database_damaged(conn: sqlite3.Connection, err: sqlite3.DatabaseError) -> CorruptArtifact:
    return CorruptArtifact(f"store database {getattr(conn, 'path', 'unlearnlab.db')} is damaged: {err}; restore it "
                           "from a backup or move it away (a new, empty store is made in its place)")


def _guard(conn: sqlite3.Connection, call: Callable[..., Any], *args: Any) -> Any:
    try:
        return call(*args)
    except sqlite3.DatabaseError as err:
        # exactly DatabaseError: SQLITE_CORRUPT / SQLITE_NOTADB. Its subclasses (a locked database,
        # a constraint) are ordinary errors of a healthy file and pass through.
        if type(err) is sqlite3.DatabaseError:
            raise _database_damaged(conn, err) from None
        raise


class GuardedCursor(sqlite3.Cursor):
    def execute(self, *args: Any) -> GuardedCursor:
        return _guard(self.connection, super().execute, *args)

    def executemany(self, *args: Any) -> GuardedCursor:
        return _guard(self.connection, super().executemany, *args)

    def executescript(self, *args: Any) -> GuardedCursor:
        return _guard(self.connection, super().executescript, *args)

    def fetchone(self) -> Any:
        return _guard(self.connection, super().fetchone)

    def fetchmany(self, *args: Any) -> list[Any]:
        return _guard(self.connection, super().fetchmany, *args)

    def fetchall(self) -> list[Any]:
        return _guard(self.connection, super().fetchall)

    def __next__(self) -> Any:
        return _guard(self.connection, super().__next__)


class GuardedConnection(sqlite3.Connection):
    """A connection whose queries turn a damaged database file into one CorruptArtifact line
    instead of a traceback (`sqlite3.connect(..., factory=GuardedConnection)`)."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any):
        super().__init__(database, *args, **kwargs)
        self.path = str(database)

    def cursor(self, factory: Any = GuardedCursor) -> Any:
        return super().cursor(factory)

    def execute(self, *args: Any) -> GuardedCursor:
        return self.cursor().execute(*args)

    def executemany(self, *args: Any) -> GuardedCursor:
        return self.cursor().executemany(*args)

    def executescript(self, *args: Any) -> GuardedCursor:
        return self.cursor().executescript(*args)


class Damage(Exception):
    """Internal: a file failed its checksum or does not parse; the message says how."""


def digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def file_digest(path: Path) -> dict[str, Any]:
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return {"sha256": h.hexdigest(), "size": size}


def parse_safetensors(data: bytes) -> dict[str, torch.Tensor]:
    return load_safetensors(data)


def parse_npz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def read_checked(path: Path, expected: Mapping[str, Any] | None, parse: Callable[[bytes], Any]) -> Any:
    """`parse` of the file's bytes after checking them against `expected` (None: nothing recorded).

    Raises Damage when the file is missing, differs from its checksum or does not parse; the bytes
    are read once, so what is verified is what is used."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise Damage("missing") from None
    except OSError as err:
        raise Damage(f"unreadable ({err.strerror or err})") from None
    if expected is not None:
        if len(data) != expected.get("size"):
            raise Damage(f"checksum mismatch: {len(data)} bytes, {expected.get('size')} recorded")
        if hashlib.sha256(data).hexdigest() != expected.get("sha256"):
            raise Damage("checksum mismatch")
    try:
        return parse(data)
    except Exception as err:  # safetensors, zipfile, zlib and numpy each raise their own kinds
        first = str(err).strip().splitlines()[0][:120] if str(err).strip() else ""
        raise Damage(f"unreadable: {type(err).__name__}{': ' + first if first else ''}") from None


def read_sums(folder: Path) -> dict[str, Any] | None:
    """A run folder's recorded checksums, None for a folder written before they existed."""
    path = folder / SUMS
    try:
        sums = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise Damage(f"its {SUMS} is unreadable ({type(err).__name__})") from None
    if not isinstance(sums, dict):
        raise Damage(f"its {SUMS} is not a mapping")
    return sums


def write_sums(folder: Path, names: list[str]) -> None:
    (folder / SUMS).write_text(json.dumps({n: file_digest(folder / n) for n in names}, sort_keys=True))


def _old(path: Path, now: float, min_age: float) -> bool:
    try:
        return now - path.lstat().st_mtime >= min_age
    except FileNotFoundError:
        return False


def leftovers(store: Store, min_age: float = SAFE_AGE_S) -> Iterator[tuple[Path, str]]:
    """(path, why) of everything a crash or an interrupted delete left behind, without hashing.

    Never a `running` run's folder, and temporary files only once older than `min_age`: another
    process may be writing them right now."""
    now = time.time()
    status = store._run_statuses()
    deleted = store._deleted_runs()
    if store.runs_dir.is_dir():
        for entry in sorted(store.runs_dir.iterdir()):
            name = entry.name
            if name.startswith(".") and name.endswith(".tmp") and entry.is_dir():
                run_id = name[1:-4]
                if status.get(run_id) != "running" or _old(entry, now, min_age):
                    yield entry, "unfinished artifact folder"
            elif entry.is_dir() and not name.startswith("."):
                if status.get(name) in ENDED:
                    yield entry, f"artifacts of a {status[name]} run"
                elif name not in status and name in deleted:
                    yield entry, "artifacts of a deleted run"
    for run_id in store._audited_runs():
        folder = store.runs_dir / run_id / "audits"
        if folder.is_dir():
            yield from ((p, "unfinished audit file") for p in sorted(folder.glob(".*")) if _old(p, now, min_age))
    if store.cache_dir.is_dir():
        for folder in [store.cache_dir, *sorted(p for p in store.cache_dir.iterdir() if p.is_dir())]:
            for p in sorted(folder.iterdir()):
                if p.is_dir():
                    continue
                if p.name.startswith("."):
                    if _old(p, now, min_age):
                        yield p, "unfinished cache file"
                elif p.suffix != ".json" and not p.with_suffix(".json").exists() and _old(p, now, min_age):
                    yield p, "cache file without its meta (an interrupted write)"
    for kind, key in store._cache_of_deleted_runs():
        for p in (store.cache_dir / kind / f"{key}.json", store.cache_dir / kind / f"{key}.npz"):
            if p.exists():
                yield p, "cached analysis of a deleted run"


@dataclass
class StoreCheck:
    """What `check_store` found and, with repair, did. `problems` are lines; healthy when empty."""

    root: str
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    verified: int = 0
    unverified: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "healthy": self.healthy, "problems": self.problems, "repaired": self.repaired,
                "verified": self.verified, "unverified": self.unverified}


def check_store(store: Store, repair: bool = False) -> StoreCheck:
    """Verify a whole store: SQLite's integrity check, every artifact's checksum, done runs whose
    artifacts are missing, audits whose arrays are missing, leftovers.

    `repair`: damaged cache entries and leftovers are removed; a done run with damaged or missing
    artifacts is marked failed with the reason (its row kept, its artifacts removed); an audit
    with damaged arrays is removed. What remains (a damaged database) stays in `problems`."""
    out = StoreCheck(str(store.root))
    try:
        bad = [r[0] for r in store._db.execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
        if not bad:
            _check_files(store, out, repair)
    except CorruptArtifact as err:  # a query hit a damaged page the integrity check did not report
        out.problems.append(str(err))
        return out
    if bad:  # everything else is judged against the database: nothing more to trust, nothing to repair
        out.problems.append(f"database {store.root / 'unlearnlab.db'} is damaged: {'; '.join(bad[:5])}; "
                            "restore it from a backup or move it away (--repair does not rewrite it)")
    return out


def _check_files(store: Store, out: StoreCheck, repair: bool) -> None:
    def fix(problem: str, action: Callable[[], None], done: str) -> None:
        if not repair:
            out.problems.append(problem)
            return
        try:
            action()
        except OSError as err:  # e.g. a read-only file: the problem stays, with why it could not be fixed
            out.problems.append(f"{problem} (not repaired: {err.strerror or err})")
            return
        out.repaired.append(done)

    for run_id, status in store._run_statuses().items():
        if status != "done":
            continue
        folder = store.runs_dir / run_id
        try:
            reason = _check_run_folder(folder, out)
        except Damage as err:
            reason = str(err)
        if reason is None:
            continue
        fix(f"run {run_id}: {reason}",
            lambda r=run_id, why=reason: store.mark_damaged(r, f"{why}; marked failed by `unlearnlab store check "
                                                                 "--repair`, run it again"),
            f"run {run_id}: {reason}; marked failed, artifacts removed")

    for audit in store._audit_rows():
        path = store._audit_path(audit["run_id"], audit["id"])
        expected = json.loads(audit["sha256"]) if audit["sha256"] else None
        try:
            read_checked(path, expected, parse_npz)
        except Damage as err:
            fix(f"audit {audit['id']} of run {audit['run_id']}: arrays {err}",
                lambda a=audit: store.drop_audit(a["id"]), f"audit {audit['id']}: arrays {err}; audit removed")
            continue
        _count(out, expected, str(path))

    for kind, key, data in _cache_entries(store):
        meta_path = data.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text())
            expected = meta.get(INTEGRITY) if isinstance(meta, dict) else None
            read_checked(data, expected, parse_npz if kind else parse_safetensors)
        except (Damage, OSError, ValueError) as err:
            label = f"cache entry {kind + '/' if kind else ''}{key}"
            fix(f"{label}: {err}", lambda d=data: _unlink(d, d.with_suffix(".json")),
                f"{label}: {err}; removed (recomputed when next needed)")
            continue
        _count(out, expected, str(data))

    found = list(leftovers(store))
    known = set(store._run_statuses()) | store._deleted_runs()
    if store.runs_dir.is_dir():  # not removed at open: the database may have been replaced by an older copy
        found += [(p, "a run folder the database does not know") for p in sorted(store.runs_dir.iterdir())
                  if p.is_dir() and not p.name.startswith(".") and p.name not in known]
    for path, why in found:
        fix(f"leftover {path}: {why} (--repair removes it)", lambda p=path: _remove(p),
            f"leftover {path}: {why}; removed")
    if repair:
        store._forget_deleted_runs()


def _check_run_folder(folder: Path, out: StoreCheck) -> str | None:
    """Why a done run's artifacts are unusable, or None; counts what was verified."""
    if not folder.is_dir():
        return "its artifacts are missing"
    sums = read_sums(folder)
    names = sorted(sums) if sums is not None else [n for n in ("weights.safetensors", "outputs.npz")
                                                     if (folder / n).exists()]
    if not names:
        return "its artifacts are missing"
    for name in names:
        parse = parse_safetensors if name.endswith(".safetensors") else parse_npz
        try:
            read_checked(folder / name, None if sums is None else sums[name], parse)
        except Damage as err:
            return f"{name} {err}"
        _count(out, None if sums is None else sums[name], str(folder / name))
    return None


def _count(out: StoreCheck, expected: Any, path: str) -> None:
    if expected is None:
        out.unverified.append(path)
    else:
        out.verified += 1


def _cache_entries(store: Store) -> Iterator[tuple[str, str, Path]]:
    """(kind, key, data file) of every complete cache entry; kind "" for θ_o/θ_r models."""
    if not store.cache_dir.is_dir():
        return
    for meta in sorted(store.cache_dir.glob("[!.]*.json")):
        yield "", meta.stem, meta.with_suffix(".safetensors")
    for folder in sorted(p for p in store.cache_dir.iterdir() if p.is_dir()):
        for meta in sorted(folder.glob("[!.]*.json")):
            yield folder.name, meta.stem, meta.with_suffix(".npz")


def _unlink(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def clean_leftovers(store: Store, min_age: float = SAFE_AGE_S) -> list[tuple[Path, str]]:
    """Remove what `leftovers` finds; returns it. Errors (another process removed it first, a
    read-only file) leave that item for the next open."""
    removed = []
    for path, why in list(leftovers(store, min_age)):
        try:
            _remove(path)
        except OSError:
            continue
        removed.append((path, why))
    store._forget_deleted_runs()
    return removed

