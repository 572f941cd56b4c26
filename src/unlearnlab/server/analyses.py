"""Routes for the Contrast and Attack views: comparisons of two runs, stored audits, model inputs.

A comparison that is not cached yet runs in a separate worker process: UMAP's numba compilation
(about 20 s, once per process) and model construction stay off the server's threads, and the
global random generators that a running job trains with are never touched by a request.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Query
from starlette.exceptions import HTTPException

from ..analysis.compare import CACHE_KIND, cache_key, resolve_runs
from ..errors import BadInput, CorruptArtifact
from ..executors import ProcessExecutor
from ..store import Store
from ..runner import load_stored_dataset
from .jobs import clean, reads_files, stored_data_missing

log = logging.getLogger(__name__)
AUDIT_ID_LEN = 16
MAX_INPUTS = 256
DIGITS = re.compile(r"[0-9]+")


def compare_job(args: tuple[str, str, str, int, int]) -> dict[str, Any]:
    """Worker-process side of /api/compare: compute and cache one comparison."""
    from ..analysis.compare import compare

    root, a, b, n_per_class, seed = args
    with Store(root, create=False) as store:
        return compare(store, a, b, n_per_class=n_per_class, seed=seed)


def groups_job(args: tuple[str, dict[str, Any], int, str | None]) -> list[dict[str, Any]]:
    """Worker-process side of /api/datasets/groups: build the data set (a generator may reseed the
    global random generators, which a training job uses) and count each group's training and test samples,
    in `group:` token order. Empty for data without groups."""
    from ..data import load_dataset
    from ..data.forget import group_names

    name, params, seed, data_root = args
    data = load_dataset(name, seed=seed, data_root=data_root, **params)
    if data.groups_train is None:
        return []
    test = data.groups_test if data.groups_test is not None else data.groups_train[:0]
    every = np.unique(np.concatenate([data.groups_train, test]))
    tokens = group_names(every)
    if len(tokens) != len(every):  # two stored values reading as one token: count by token instead
        raise BadInput(f"dataset {name!r}: its groups {every[:5].tolist()} do not read as distinct group: tokens")
    return [{"group": t, "train": int(np.count_nonzero(data.groups_train == v)),
             "test": int(np.count_nonzero(test == v))} for t, v in zip(tokens, every)]


def warm_job(_: Any) -> bool:
    """Compile UMAP's numba kernels in the analysis worker before the first Contrast request needs them."""
    from ..analysis.embedding import joint_umap

    rng = np.random.default_rng(0)
    joint_umap(rng.normal(size=(40, 4)), rng.normal(size=(40, 4)), seed=0)
    return True


class AnalysisWorker:
    """One spawned process that computes comparisons, one at a time, in submission order."""

    def __init__(self) -> None:
        self._executor = ProcessExecutor(1)
        self._lock = threading.Lock()

    def call(self, fn, arg):
        with self._lock:  # one job at a time: the pool's process is single-threaded anyway
            return next(iter(self._executor.run(fn, [arg])))[1]

    def warm(self) -> None:
        def run() -> None:
            try:
                self.call(warm_job, None)
            except Exception:  # the server stopped during the warm-up, or UMAP is broken: the request will say
                log.debug("analysis warm-up failed", exc_info=True)

        threading.Thread(target=run, daemon=True, name="umap-warm-up").start()

    def close(self) -> None:
        self._executor.close(kill=True)  # a comparison in flight is lost; its result was not stored yet


def add_analysis_routes(app: FastAPI, root: Path, store, get_run, get_scenario, check_id) -> AnalysisWorker:
    """Register /api/compare, /api/runs/{id}/audits, /api/audits/{id}/samples, /api/scenarios/{id}/inputs."""
    worker = AnalysisWorker()

    @app.get("/api/compare", tags=["runs"], summary="Compare two runs of one scenario (the Contrast view)",
             responses={404: {"description": "Unknown run"}, 409: {"description": "A run is not done or its "
                                                                     "stored artifacts are damaged"}})
    async def compare(a: str = Query(..., description="Run id of model A"),
                      b: str = Query(..., description="Run id of model B"),
                      n_per_class: int = Query(50, ge=1, le=200, description="Samples per class"),
                      seed: int = Query(0, ge=0, le=2**31 - 1, description="Seed of the samples and the UMAP fit")):
        """Per-class accuracy, prediction matrices, layer-wise CKA, a joint UMAP embedding and instance
        records. The first request for a pair computes them (seconds; about 20 s more the first time
        the server's analysis worker runs UMAP); later ones read the store's cache."""
        ra, rb = get_run(a), get_run(b)
        for record in (ra, rb):
            if record.status != "done":
                raise HTTPException(409, f"run {record.id!r} is {record.status}; only finished runs can be compared")
        st = store()
        records = resolve_runs(st, a, b)  # BadInput (422) for runs of different scenarios
        spec = get_scenario(ra.scenario_id)
        task = spec.get("task") or spec.get("dataset", {}).get("task", "classification")
        if task == "generation":  # its runs store galleries, not the logits and activations compared here
            raise BadInput(f"runs {a!r} and {b!r} are generation runs; the comparison reads class predictions and "
                           "activations, so it applies to classifiers only (GET /api/runs/{id}/gallery shows samples)")
        hit = st.get_arrays(CACHE_KIND, cache_key(records, n_per_class, seed))
        if hit is not None:
            return hit[1]
        missing = stored_data_missing(spec)
        if missing is not None:  # rebuilding the data would download it
            raise HTTPException(409, missing)
        try:
            return await asyncio.to_thread(worker.call, compare_job, (str(root), a, b, n_per_class, seed))
        except (BadInput, CorruptArtifact):  # 422 / 409 with their one line, from the app's handlers
            raise
        except Exception as err:  # the worker died or the models could not be rebuilt
            raise HTTPException(500 if not isinstance(err, ValueError) else 422,
                                f"comparison of {a!r} and {b!r} failed: {type(err).__name__}: {err}") from None

    @app.get("/api/runs/{run_id}/audits", tags=["runs"], summary="Stored audits of a run (U-LiRA, F, KLoM, ...)",
             responses={409: {"description": "A stored audit is damaged"}})
    def audits(run_id: str):
        get_run(run_id)
        return clean(store().audits(run_id))

    @app.get("/api/audits/{audit_id}/samples", tags=["runs"], summary="Per-forget-sample audit statistics",
             responses={409: {"description": "The stored audit is damaged"}})
    def audit_samples(audit_id: str):
        check_id("audit", audit_id, AUDIT_ID_LEN)
        st = store()
        try:
            arrays = st.audit_arrays(audit_id)
        except BadInput:
            raise HTTPException(404, f"unknown audit {audit_id!r}") from None
        keys = ("forget_index", "ulira_auc", "challenge_eps", "klom_forget")
        return clean({k: arrays[k].tolist() for k in keys if k in arrays})

    @app.get("/api/scenarios/{scenario_id}/inputs", tags=["scenarios"],
             summary="Training inputs by index, for the instance panel")
    def inputs(scenario_id: str, indices: str = Query(..., max_length=MAX_INPUTS * 8,
                                                      description="Comma-separated training indices")):
        spec = get_scenario(scenario_id)
        parts = [p.strip() for p in indices.split(",") if p.strip()]
        # ASCII digits only: str.isdigit accepts '¹' and other digits that int() refuses
        bad = next((p for p in parts if not DIGITS.fullmatch(p)), None)
        if not parts or bad is not None:
            raise BadInput(f"indices {indices[:60]!r} are malformed"
                           f"{'' if bad is None else f' at {bad[:20]!r}'}; give comma-separated training "
                           "indices (ASCII digits)")
        if len(parts) > MAX_INPUTS:
            raise BadInput(f"{len(parts)} indices requested; at most {MAX_INPUTS} per request")
        data = _dataset(spec)
        # compared as text first: an index of thousands of digits is refused before int() parses it
        top = max(parts, key=lambda p: (len(p.lstrip("0")), p.lstrip("0")))
        if len(top.lstrip("0")) > len(str(data.n_train)) or int(top) >= data.n_train:
            raise BadInput(f"index {top[:20] + ('...' if len(top) > 20 else '')} is out of range; the training set "
                           f"has {data.n_train} samples (indices 0 to {data.n_train - 1})")
        idx = np.array([int(p) for p in parts])
        shape = list(data.input_shape)
        kind = "image" if len(shape) >= 2 else "signal"
        if kind == "image" and len(shape) == 3 and shape[0] == 1:
            shape = shape[1:]
        return {"shape": shape, "kind": kind, "inputs": np.round(data.x_train[idx].reshape(len(idx), -1), 4).tolist(),
                "labels": data.y_train[idx].tolist()}

    datasets: dict[str, Any] = {}

    def _dataset(spec: dict[str, Any]):
        ds = spec["dataset"]
        if reads_files(ds["name"]):
            raise BadInput(f"data set {ds['name']!r} reads files; the web API does not serve its inputs")
        missing = stored_data_missing(spec)
        if missing is not None:
            raise BadInput(missing)
        key = ds.get("fingerprint") or spec["id"]  # scenarios of one data set share it (CIFAR-10: 600 MB)
        if key not in datasets:
            if len(datasets) > 8:
                datasets.clear()
            datasets[key] = load_stored_dataset(spec)
        return datasets[key]

    return worker
