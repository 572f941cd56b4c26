"""The JSON API behind the web workbench (Build, Screen, Contrast, Attack) and its job queue.

`create_app(store)` builds the app and binds nothing: `unlearnlab serve` runs it with uvicorn on
127.0.0.1 unless told otherwise. Every bad input is a 4xx whose `detail` is one line naming the
bad value. Ids are checked against their fixed pattern before the store is touched; no endpoint
runs user code or reads a path a client gave (data sets that read files and `indices:` forget
requests are refused), and downloads are resolved inside the store's run folder. The standard data
sets are read from the server's data root (`data_root=`, else `data.roots`' resolution), and a stored
scenario's from the root it was read from; the server never downloads them (jobs.py says why).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import os
import re
import threading
from collections import Counter
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.routing import APIRoute
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from safetensors import safe_open
from starlette.exceptions import HTTPException
from starlette.datastructures import Headers
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..analysis.seeds import request_key
from ..api import list_methods
from ..api import presets as list_presets
from ..data import DATASETS, STANDARD, available, parse_forget, resolve_data_root, select_forget
from ..data.datasets import declared_classes
from ..data.poison import POISONS
from ..errors import BadInput, CorruptArtifact
from ..methods import method_names
from ..models import MODELS, ensure_loaded
from ..models import reference as model_sources
from ..models.diffusion import GENERATIVE_MODELS, DiffusionConfig
from ..report import BETTER, check_rank_by
from ..runner import GOLD, load_stored_dataset
from ..runner_generative import GenerationConfig, is_generative
from ..store import Store
from ..training import TrainConfig
from ..training.diffusion import DiffusionTrainConfig
from . import schemas as S
from .analyses import add_analysis_routes, groups_job
from .attack import FEATURES, attack_payload
from .jobs import (MAX_CONFIGS, MAX_GRID_VALUES, AttackPlan, AuditPlan, JobManager, QueueFull, check_dataset, clean,
                   missing_files, official_split, plan_job, reads_files, stored_data_missing, web_params)
from .seeds import over_seeds

#: The built web UI (the Vite build of frontend/) goes here; see "Web UI mount point" below.
STATIC_DIR = Path(__file__).parent / "static"
#: Swagger UI's files for /docs, shipped in the package (FastAPI's default page loads them from a CDN).
DOCS_DIR = Path(__file__).parent / "docs_static"
DOCS_ASSETS = "/docs-assets"
#: Hosts a request may name by default: the loopback names (DNS-rebinding guard) and TestClient's.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "testserver")
KEEPALIVE_S = 15.0
#: Largest request body accepted (a job request is a few kB; a 300 MB JSON was parsed before its 422).
MAX_BODY_BYTES = 1024 * 1024

RUN_ID = re.compile(r"[0-9a-f]{12}")
JOB_ID = re.compile(r"[0-9a-f]{12}")
SCENARIO_ID = re.compile(r"[0-9a-f]{16}")
#: An event id or a Content-Length: ASCII digits of bounded length (int() of them cannot blow up)
UINT = re.compile(r"[0-9]{1,9}")

TAGS = [
    {"name": "meta", "description": "Health and what the server can run: methods, data sets, models, options."},
    {"name": "scenarios", "description": "Stored forget requests and their runs (the Screen view)."},
    {"name": "runs", "description": "One run: its record, weights, JSON, deletion and privacy attack."},
    {"name": "jobs", "description": "Submit, list and cancel server-side jobs; stream their progress (SSE)."},
]
ERRORS = {400: {"model": S.Error}, 404: {"model": S.Error}, 409: {"model": S.Error}, 422: {"model": S.Error}}
#: What a submission may answer besides 202 (a run that cannot be audited: 409; no room in the queue: 429).
SUBMIT_ERRORS = {**ERRORS, 429: {"model": S.Error, "description": "Too many jobs are queued or running"},
                 503: {"model": S.Error, "description": "The server is shutting down"}}


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_id(kind: str, value: str, pattern: re.Pattern, what: str) -> str:
    if not pattern.fullmatch(value):
        raise HTTPException(400, f"{kind} id {_short(value)} is malformed; a {kind} id is {what}")
    return value


def _params(fn, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out = []
    for name, p in inspect.signature(fn).parameters.items():
        if name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = None if p.default is p.empty else p.default
        kind = {bool: "bool", int: "int", float: "float", str: "str", tuple: "tuple"}.get(type(default), "any")
        out.append({"name": name, "default": clean(default), "type": kind})
    return out


def _doc(obj) -> str:
    return (obj.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")


def _usable(runs: list) -> bool:
    """False when any run flagged its forget request unusable (details.request_usable)."""
    return not any((r.details or {}).get("request_usable") is False for r in runs)


def _scenario_summary(spec: dict[str, Any], runs: int = 0, usable: bool = True) -> dict[str, Any]:
    ds = spec.get("dataset", {})
    return {"id": spec["id"], "dataset": ds.get("name", "?"), "dataset_params": clean(ds.get("params", {})),
            "model": spec.get("model", {}).get("name", "?"), "forget": spec.get("forget", ""),
            "forget_size": spec.get("forget_size", 0), "forget_classes": spec.get("forget_classes"),
            "num_classes": ds.get("num_classes"), "n_train": ds.get("n_train"), "n_test": ds.get("n_test"),
            "seed": spec.get("seed", 0), "train": spec.get("train", {}), "prune": spec.get("prune"),
            "poison": spec.get("poison"), "task": _task(spec), "created": spec.get("created", 0.0), "runs": runs,
            "request_usable": usable}


def _task(spec: dict[str, Any]) -> str:
    return spec.get("task") or spec.get("dataset", {}).get("task", "classification")


def gallery_payload(record, spec: dict[str, Any], outputs: dict[str, np.ndarray],
                    data_range: tuple[float, float] = (0.0, 1.0)) -> dict[str, Any]:
    """A generative run's stored gallery grouped by class, mapped from the data's range `data_range` (the model's
    `lo`, `hi`) to [0, 1]; values rounded to 1/1000 (far below a pixel's 1/255)."""
    lo, hi = data_range
    images = np.clip((np.asarray(outputs["gallery"], dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)
    labels = np.asarray(outputs["gallery_labels"], dtype=np.int64)
    shape = list(images.shape[1:]) if images.ndim == 4 else [1, *images.shape[1:]]
    ds = spec.get("dataset", {})
    k = int(ds.get("num_classes") or (labels.max() + 1 if labels.size else 0))
    names = [str(n) for n in ds.get("class_names") or []]
    names = names if len(names) == k else [str(c) for c in range(k)]
    forgotten = set(spec.get("forget_classes") or [])
    flat = np.round(images.reshape(len(images), -1), 3)
    return {"run_id": record.id, "scenario_id": record.scenario_id, "method": record.method, "shape": shape,
            "classes": [{"label": c, "name": names[c], "forgotten": c in forgotten,
                         "images": flat[labels == c].tolist()} for c in range(k)]}


#: Bins of the selection histogram (`GET /api/scenarios/{id}/selection`).
SELECTION_BINS = 30


def selection_payload(spec: dict[str, Any], arrays: dict[str, np.ndarray], meta: dict[str, Any],
                      layout: tuple[np.ndarray, np.ndarray] | None) -> dict[str, Any]:
    """A stored selection for the web UI: the chosen samples with their scores, and a histogram of all scores."""
    scores = np.asarray(arrays["scores"], dtype=np.float64)
    idx = np.asarray(arrays["indices"], dtype=np.int64)
    ranked = np.isfinite(scores)
    highest = meta.get("chosen") == "highest"
    order = idx[np.argsort(-scores[idx] if highest else scores[idx], kind="stable")]
    labels = dict(zip(layout[0].tolist(), layout[1].tolist())) if layout is not None else {}
    n_in, n_out = arrays.get("models_in"), arrays.get("models_out")
    samples = [{"index": int(i), "label": labels.get(int(i)), "score": clean(float(scores[i])),
                "models_in": None if n_in is None else int(n_in[i]),
                "models_out": None if n_out is None else int(n_out[i])} for i in order]
    finite = scores[ranked]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, SELECTION_BINS + 1)
    chosen_scores = scores[idx][np.isfinite(scores[idx])]
    details = {k: clean(v) for k, v in meta.items() if k not in ("kind", "score", "chosen", "cutoff", "key")
               and not k.startswith("_") and k != "upper_loss"}
    return {"scenario_id": spec["id"], "forget": spec.get("forget", ""), "kind": meta.get("kind", "?"),
            "score": meta.get("score", "?"), "chosen": meta.get("chosen", "highest"),
            "cutoff": clean(meta.get("cutoff")),
            "size": int(idx.size), "ranked": int(ranked.sum()), "unranked": int((~ranked).sum()), "details": details,
            "samples": samples,
            "histogram": {"edges": edges.tolist(), "counts": np.histogram(finite, edges)[0].tolist(),
                          "chosen": np.histogram(chosen_scores, edges)[0].tolist()}}


def _environment_id(env: Any) -> str | None:
    """A short content key of an environment manifest (the Screen payload sends each one once)."""
    if not isinstance(env, dict):
        return None
    return hashlib.sha256(json.dumps(clean(env), sort_keys=True).encode()).hexdigest()[:12]


def _run_row(r, details: bool = False, environments: dict[str, Any] | None = None) -> dict[str, Any]:
    """A run for the API; `environments` collects the manifests its ids refer to."""
    d = r.details or {}
    row = {"id": r.id, "scenario_id": r.scenario_id, "method": r.method, "hparams": clean(r.hparams),
           "seed": r.seed, "status": r.status, "reason": r.reason, "cached": r.cached, "created": r.created,
           "finished": r.finished, "run_time_s": clean(r.run_time_s), "steps": r.steps, "samples": r.samples,
           "metrics": clean(r.metrics), "metric_notes": clean(d.get("metric_notes") or {}),
           "avg_gap_keys": d.get("avg_gap_keys"), "warnings": list(d.get("warnings") or []),
           "request_usable": d.get("request_usable") is not False}
    for key in ("environment", "trained_environment"):
        row[f"{key}_id"] = env_id = _environment_id(d.get(key))
        if env_id is not None and environments is not None:
            environments.setdefault(env_id, clean(d[key]))
    if details:
        row["details"] = clean(r.details)
    return row


def _order(runs: list) -> list:
    return sorted(runs, key=lambda r: ({"original": 0, GOLD: 1}.get(r.method, 2), r.created))


class LocalHostsOnly:
    """Refuse requests whose Host header is not an allowed name (guards a loopback server against DNS
    rebinding: a web page whose domain resolves to 127.0.0.1 cannot drive the API)."""

    def __init__(self, app, allowed_hosts):
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            raw = Headers(scope=scope).get("host", "").strip().lower()
            host = raw[1:raw.find("]")] if raw.startswith("[") and "]" in raw else \
                raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw
            if host not in self.allowed:
                response = JSONResponse({"detail": f"host {_short(raw)} is not allowed; open the server as "
                                                   f"{' or '.join(sorted(self.allowed - {'testserver'}))}"},
                                        status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse a request body over `max_bytes` with 413 before anything parses it: by its Content-Length,
    or, for a chunked body without one, while reading it. The body is read here (at most `max_bytes`)
    and handed on whole, so no handler ever sees part of a refused body."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope, receive, send, what: str) -> None:
        response = JSONResponse({"detail": f"the request body is too large ({what}); at most {self.max_bytes} "
                                           "bytes are accepted"}, status_code=413, headers={"Connection": "close"})
        await response(scope, receive, send)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = (Headers(scope=scope).get("content-length") or "").strip()
        if length and (not UINT.fullmatch(length) or int(length) > self.max_bytes):
            await self._refuse(scope, receive, send, f"Content-Length {_short(length)}")
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, f"more than {self.max_bytes} bytes sent")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


#: Patterns of the ids in paths and queries, as JSON Schema gives them (anchored: a schema pattern searches).
ID_PATTERNS = {"run_id": RUN_ID, "job_id": JOB_ID, "scenario_id": SCENARIO_ID, "a": RUN_ID, "b": RUN_ID,
               "compare": RUN_ID, "audit_id": re.compile(r"[0-9a-f]{16}")}


def _document(spec: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the server sends: every error is `Error` (one line, also for
    422, where FastAPI documents its list of errors), every route may answer 400 (the Host check, a
    malformed id or header), routes with inputs 422, routes with ids 404, routes that take a body 413;
    ids carry their patterns."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    reasons = {"400": "Bad request: a malformed id or header, or a Host that is not allowed",
               "404": "Not found", "413": "The request body is too large",
               "422": "An input is not allowed (one line naming it)"}
    for ops in spec.get("paths", {}).values():
        for method, op in ops.items():
            params = op.get("parameters", [])
            for p in params:
                if p["name"] in ID_PATTERNS:
                    target = p["schema"]
                    target = next((t for t in target.get("anyOf", []) if t.get("type") == "string"), target)
                    target["pattern"] = f"^{ID_PATTERNS[p['name']].pattern}$"
            wanted = {"400"}
            if params or "requestBody" in op:
                wanted.add("422")
            if any(p["in"] == "path" for p in params):
                wanted.add("404")
            if method in ("post", "put", "patch", "delete"):
                wanted.add("413")
            responses = op.setdefault("responses", {})
            for code in wanted:
                responses.setdefault(code, {"description": reasons[code]})
            for code, response in responses.items():
                if code[0] in "45":
                    response.update(error)
                    if code in reasons:
                        response["description"] = reasons[code]
    schemas = spec.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec


def _one_line(exc: RequestValidationError) -> str:
    from .schemas import JobRequest

    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
    where = ".".join(loc)
    kind = err.get("type", "")
    if kind == "json_invalid":
        return f"the request body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})"
    if kind == "extra_forbidden":
        return f"unknown field {where!r}; allowed: {', '.join(JobRequest.model_fields)}"
    if kind == "missing":
        return f"{where or 'the request body'} is required"
    msg = err.get("msg", "is not allowed").replace("\n", " ")
    return f"{where or 'request'}: {msg}; got {_short(err.get('input'))}"


def create_app(store_path: str | os.PathLike, *, static_dir: str | os.PathLike | None = None,
               allowed_hosts: list[str] | tuple[str, ...] | None = LOCAL_HOSTS,
               warm_analyses: bool = False, data_root: str | os.PathLike | None = None) -> FastAPI:
    """The API over the store at `store_path` (created if absent). Binds no socket and starts no
    thread: the job worker starts with the first job and stops when the app shuts down.
    `data_root`: the folder jobs read the standard data sets from (default: `$UNLEARNLAB_DATA`, else the
    user cache, as `data.roots` resolves it); one given must exist (BadInput otherwise).
    `allowed_hosts=None` accepts any Host header (for a deliberate non-loopback bind).
    `warm_analyses=True` (`unlearnlab serve`) starts the analysis worker and compiles UMAP at start-up,
    so the first Contrast view does not wait for it."""
    dataroot = resolve_data_root(data_root)
    if data_root is not None:  # a folder the user named must exist: a typo is an error, before the store is made
        dataroot.check()
    with Store(store_path) as probe:  # BadInput here if it cannot be created or written
        root = probe.root
    jobs = JobManager(root)
    local = threading.local()
    layouts: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}

    def store() -> Store:
        # one connection per thread: sqlite connections are not shared across handler threads
        st = getattr(local, "store", None)
        if st is None:
            st = local.store = Store(root, create=False)
        return st

    def reap() -> None:
        with Store(root, create=False) as st:
            st.reap_stale()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # runs left `running` by a process that died (a killed `unlearnlab run`, a previous server)
        await asyncio.to_thread(reap)
        if warm_analyses:
            _app.state.analyses.warm()
        yield
        await asyncio.to_thread(jobs.shutdown)
        await asyncio.to_thread(_app.state.analyses.close)

    app = FastAPI(
        title="unlearnlab", version=__version__, openapi_tags=TAGS, lifespan=lifespan, docs_url=None, redoc_url=None,
        summary="Machine-unlearning workbench: run methods on forget requests, audit them against retraining.",
        description=("JSON API of the unlearnlab web workbench. Errors answer `{\"detail\": \"one line\"}`. "
                     "Jobs run on the server, in order, one at a time; their progress streams as "
                     "server-sent events from `/api/jobs/{id}/events`."),
    )
    app.state.jobs = jobs
    app.state.store_root = root
    app.state.data_root = dataroot.path
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(generate_openapi())
        return app.openapi_schema

    app.openapi = openapi
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    if allowed_hosts is not None:  # added last: outermost, so a foreign Host is refused before its body is read
        app.add_middleware(LocalHostsOnly, allowed_hosts=list(allowed_hosts))

    # errors: one line, never a traceback ----------------------------------------------------------------
    @app.exception_handler(BadInput)
    async def bad_input(_request: Request, exc: BadInput):
        return JSONResponse({"detail": str(exc).replace("\n", " ")}, status_code=422)

    @app.exception_handler(CorruptArtifact)
    async def corrupt(_request: Request, exc: CorruptArtifact):
        # 409: the stored state, not the request, is at fault; the message names the file and the remedy
        return JSONResponse({"detail": str(exc).replace("\n", " ")}, status_code=409)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": _one_line(exc)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint at {request.url.path!r}; the API is documented at /docs"
        elif exc.status_code == 405:
            detail = f"method {request.method} is not allowed on {request.url.path!r}; see /docs"
        return JSONResponse({"detail": str(detail)}, status_code=exc.status_code, headers=exc.headers)

    # lookups ------------------------------------------------------------------------------------------
    def get_run(run_id: str):
        _check_id("run", run_id, RUN_ID, "12 lowercase hexadecimal characters")
        try:
            return store().run(run_id)
        except BadInput:
            raise HTTPException(404, f"unknown run {run_id!r}") from None

    def get_scenario(scenario_id: str) -> dict[str, Any]:
        _check_id("scenario", scenario_id, SCENARIO_ID, "16 lowercase hexadecimal characters")
        try:
            return store().scenario(scenario_id)
        except BadInput:
            raise HTTPException(404, f"unknown scenario {scenario_id!r}") from None

    def get_job(job_id: str):
        _check_id("job", job_id, JOB_ID, "12 lowercase hexadecimal characters")
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"unknown job {job_id!r}; jobs live in memory until the server stops")
        return job

    def job_out(job) -> dict[str, Any]:
        return {"id": job.id, "status": job.status, "created": job.created, "started": job.started,
                "finished": job.finished, "request": clean(job.request), "scenario_id": job.scenario_id,
                "configs": clean(job.configs), "run_ids": list(job.run_ids), "current": clean(job.current),
                "error": job.error, "cancel_requested": job.cancel.is_set(),
                "queue_position": jobs.queue_position(job), "events": job.event_count}

    def enqueue(plan):
        try:
            return jobs.submit(plan)
        except QueueFull as err:
            raise HTTPException(429, str(err)) from None
        except RuntimeError as err:  # shutting down
            raise HTTPException(503, str(err)) from None

    def artifact(run_id: str, name: str) -> Path:
        runs_dir = (root / "runs").resolve()
        path = (runs_dir / run_id / name).resolve()
        if not path.is_relative_to(runs_dir):  # a symlinked run folder pointing elsewhere
            raise HTTPException(400, f"run {run_id!r}: its artifact lies outside the store")
        return path

    def forget_layout(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        """D_f's training indices and labels, where the data set loads without reading a file."""
        if spec["id"] in layouts:
            return layouts[spec["id"]]
        out = None
        try:
            # a standard data set only where its files still are: the server never downloads
            if not reads_files(spec["dataset"]["name"]) and stored_data_missing(spec) is None:
                dataset = load_stored_dataset(spec)  # BadInput if the data changed
                idx = (np.asarray(spec["forget_indices"], dtype=np.int64) if spec.get("forget_indices") is not None
                       else select_forget(parse_forget(spec["forget"]), dataset, seed=spec["seed"]))
                out = (idx, dataset.y_train[idx])
        except Exception:  # a plugin data set that is gone, a changed generator: samples lose index/label
            out = None
        if len(layouts) > 32:
            layouts.clear()
        layouts[spec["id"]] = out
        return out

    # meta ---------------------------------------------------------------------------------------------
    @app.get("/api/health", tags=["meta"], response_model=S.Health, summary="Server status")
    def health():
        return {"status": "ok", "version": __version__, "store": str(root), "jobs": jobs.counts(),
                "data_root": str(dataroot.path), "data_root_source": dataroot.source}

    @app.get("/api/options", tags=["meta"], response_model=S.Options,
             summary="Training defaults, accepted forget forms and job limits")
    def options():
        return {"train_defaults": TrainConfig().to_dict(),
                "forget_forms": ["class:C[,C...]", "random:F (0 < F < 1, or P%)", "random:N (a count)",
                                 "poison or poison:F (0 < F <= 1; needs `poison`)",
                                 "group:G[,G...] (every sample of a group, on a data set with groups: olivetti)",
                                 "worst:N or worst:F[,by=bilevel|loss][,method=ft|ga][,rounds=R] (the forget set "
                                 "hardest to unlearn, Challenging Forgets)",
                                 "memorised:N[,k=K][,subset=S] (the most memorised points, Feldman & Zhang)"],
                "max_configs_per_job": MAX_CONFIGS, "max_grid_values": MAX_GRID_VALUES,
                "poisons": [poison_info(n) for n in POISONS.names()],
                "generative_models": [n for n in GENERATIVE_MODELS.names() if is_generative(n)],
                "generation_train_defaults": DiffusionTrainConfig().to_dict(),
                "gen_defaults": {**GenerationConfig().to_dict(), **DiffusionConfig().to_dict()},
                "task_methods": task_methods()}

    def task_methods() -> dict[str, list[str]]:
        from ..methods import METHODS

        names = [n for n in method_names() if n != GOLD]
        return {task: [n for n in names if METHODS.get(n).unsupported(task) is None]
                for task in ("classification", "regression", "generation")}

    def poison_info(name: str) -> dict[str, Any]:
        cls = POISONS.get(name).__self__  # the registry holds each poison class's `parse`
        return {"name": name, "form": cls.form, "params": _params(cls), "paper": cls.paper, "doc": _doc(cls)}

    @app.get("/api/methods", tags=["meta"], response_model=list[S.MethodInfo],
             summary="Registered methods with hyper-parameters and defaults")
    def methods():
        from ..methods import METHODS

        out = []
        for m in list_methods():
            cls = METHODS.get(m["name"])
            params = [{"name": k, "default": clean(v), "type": {bool: "bool", int: "int", float: "float",
                                                                 str: "str", tuple: "tuple"}.get(type(v), "any")}
                      for k, v in m["params"].items()]
            out.append({"name": m["name"], "params": params, "reference_defaults": clean(m["reference_defaults"]),
                        "paper": m["paper"], "doc": _doc(cls), "uses_labels": m["uses_labels"],
                        "needs_retrain": m["needs_retrain"], "tasks": m["tasks"], "gridable": m["name"] != GOLD})
        return out

    def data_status(name: str) -> tuple[bool, str | None]:
        """Whether data set `name`'s files are in the data root (stat calls only), and if not, the line
        saying which files to put where."""
        if name not in STANDARD:
            return True, None
        if name in available(dataroot.path):
            return True, None
        return False, missing_files(name, dataroot.path)

    @app.get("/api/datasets", tags=["meta"], response_model=list[S.DatasetInfo],
             summary="Registered data sets, and whether the standard ones' files are in the server's data root")
    def datasets():
        out = []
        for n in DATASETS.names():
            loader = DATASETS.get(n)
            web = not reads_files(n)
            # a web data set lists what a job may set; one that reads files lists its loader's parameters
            skip = tuple(p for p in inspect.signature(loader).parameters if p not in web_params(n)) if web \
                else ("seed",)
            present, missing = data_status(n)
            out.append({"name": n, "params": _params(loader, skip=skip), "doc": _doc(loader), "web": web,
                        "standard": n in STANDARD, "present": present, "missing": missing,
                        "num_classes": declared_classes(n)})
        return out

    group_cache: dict[tuple, list[dict[str, Any]]] = {}

    @app.get("/api/datasets/groups", tags=["meta"], response_model=S.DatasetGroups, responses=ERRORS,
             summary="A data set's groups (persons) with their training and test sample counts")
    async def dataset_groups(dataset: str = Query(..., max_length=200, description="NAME[:key=value,...], as a "
                                                  "job's dataset field, e.g. olivetti:unseen=8"),
                             seed: int = Query(0, ge=0, le=2**31 - 1, description="The job's seed: it draws the "
                                               "split and the unseen groups")):
        """What `group:G[,G...]` may forget on this data set with this seed (the Build view's group picker):
        every group with its training and test sample counts, the unseen ones (in the test split only) with
        0 training samples. Data without groups answers an empty list and a note. A generated data set is built
        in the server's analysis worker (seconds the first time); a standard one is read from the data root,
        never downloaded: one whose files are missing is a 422 with one line saying which."""
        name, params = check_dataset(dataset, {})
        if official_split(name):  # CIFAR, MNIST, SVHN: no group column, and nothing worth reading to say so
            found: list[dict[str, Any]] = []
        else:
            root = None
            if name in STANDARD:
                missing = missing_files(name, dataroot.path)
                if missing is not None:
                    raise BadInput(missing)
                root = str(dataroot.path)
            key = (name, tuple(sorted(params.items())), seed, root)
            if key not in group_cache:
                if len(group_cache) > 64:
                    group_cache.clear()
                args = (name, params, seed, root)
                # a file reader (olivetti) draws from seeded generators of its own, so it is read here; a
                # generator or a plugin's loader may reseed the global ones a training job uses: the worker
                group_cache[key] = await asyncio.to_thread(groups_job, args) if root is not None else \
                    await asyncio.to_thread(app.state.analyses.call, groups_job, args)
            found = group_cache[key]
        note = None if found else (f"dataset {name!r} has no groups: forget group:G needs one with a group "
                                   "column (olivetti, or arrays:PATH.npz with 'groups' on the command line)")
        return {"dataset": dataset, "seed": seed, "groups": found, "note": note}

    @app.get("/api/presets", tags=["meta"], response_model=list[S.PresetInfo],
             summary="Presets (published protocols) and whether each one's data is present")
    def presets():
        out = []
        for p in list_presets():
            present, missing = data_status(p["dataset"])
            out.append({**clean(p), "data_present": present, "data_missing": missing})
        return out

    @app.get("/api/models", tags=["meta"], response_model=list[S.ModelInfo],
             summary="Registered models, those of installed unlearnlab.models entry points included")
    def models():
        ensure_loaded()
        classifiers = [{"name": n, "params": _params(MODELS.get(n), skip=("input_shape", "num_classes")),
                        "doc": _doc(MODELS.get(n)),
                        "source": "entry point" if n in model_sources.PLUGIN_MODELS else "built-in"}
                       for n in MODELS.names()]
        # a generative model's parameters are its job's gen.* model options (DiffusionConfig)
        generative = [{"name": n, "params": _params(DiffusionConfig), "doc": _doc(GENERATIVE_MODELS.get(n)),
                       "task": "generation"} for n in GENERATIVE_MODELS.names() if is_generative(n)]
        return classifiers + generative

    # scenarios ----------------------------------------------------------------------------------------
    @app.get("/api/scenarios", tags=["scenarios"], response_model=list[S.ScenarioSummary],
             summary="Stored forget requests, oldest first")
    def scenarios():
        st = store()
        runs = st.runs()
        counts = Counter(r.scenario_id for r in runs)
        unusable = {r.scenario_id for r in runs if (r.details or {}).get("request_usable") is False}
        return [_scenario_summary(s, counts.get(s["id"], 0), s["id"] not in unusable) for s in st.scenarios()]

    @app.get("/api/scenarios/{scenario_id}", tags=["scenarios"], response_model=S.ScenarioSummary,
             responses=ERRORS, summary="One stored forget request")
    def scenario(scenario_id: str):
        spec = get_scenario(scenario_id)
        runs = store().runs(scenario_id)
        return _scenario_summary(spec, len(runs), _usable(runs))

    @app.get("/api/scenarios/{scenario_id}/runs", tags=["scenarios"], response_model=S.ScreenPayload,
             responses=ERRORS, summary="A scenario's runs with every metric (the Screen table)")
    def scenario_runs(scenario_id: str, status: str | None = Query(None, description="Only runs in this status.")):
        spec = get_scenario(scenario_id)
        if status is not None and status not in ("running", "done", "failed", "diverged", "cancelled"):
            raise BadInput(f"status {_short(status)} is not allowed; choose running, done, failed, diverged "
                           "or cancelled")
        runs = _order(store().runs(scenario_id, status=status))
        environments: dict[str, Any] = {}
        rows = [_run_row(r, environments=environments) for r in runs]
        return {"scenario": _scenario_summary(spec, len(runs), _usable(runs)), "runs": rows,
                "environments": environments}

    @app.get("/api/scenarios/{scenario_id}/selection", tags=["scenarios"], response_model=S.Selection,
             responses=ERRORS, summary="How a worst: or memorised: request chose its forget set: scores and cut-off")
    def scenario_selection(scenario_id: str):
        spec = get_scenario(scenario_id)
        hit = store().get_arrays("selections", scenario_id)
        if hit is None:
            raise HTTPException(404, f"scenario {scenario_id!r} ({spec.get('forget', '?')}) has no stored selection; "
                                "only worst: and memorised: requests have one")
        return selection_payload(spec, *hit, forget_layout(spec))

    @app.get("/api/scenarios/{scenario_id}/seeds", tags=["scenarios"], response_model=S.SeedsPayload,
             responses=ERRORS, summary="The scenario's request over every stored seed: means, 95 % intervals, ranking")
    def scenario_seeds(scenario_id: str, rank_by: str = Query(
            "avg_gap", max_length=64, description=f"The metric that ranks the methods; one of {', '.join(BETTER)} "
                                                  "(a metric with a better direction).")):
        spec = get_scenario(scenario_id)
        check_rank_by(rank_by)  # before reading every scenario's runs
        st = store()
        key = request_key(spec)
        same = [s for s in st.scenarios() if request_key(s) == key]
        runs = [r.to_dict() for s in same for r in st.runs(s["id"])]
        return over_seeds(same, runs, rank_by=rank_by)

    # runs ---------------------------------------------------------------------------------------------
    @app.get("/api/runs/{run_id}", tags=["runs"], response_model=S.RunDetail, responses=ERRORS,
             summary="One run with its metrics and per-class accuracies")
    def run(run_id: str):
        return _run_row(get_run(run_id), details=True)

    @app.get("/api/runs/{run_id}/weights", tags=["runs"], responses={
        **ERRORS, 200: {"content": {"application/octet-stream": {}}, "description": "safetensors state dict"}},
        response_class=FileResponse, summary="Download a run's weights (safetensors)")
    def weights(run_id: str):
        record = get_run(run_id)
        path = artifact(run_id, "weights.safetensors")
        if not path.is_file():
            raise HTTPException(404, f"run {run_id!r} ({record.status}) has no stored weights")
        store().verify_artifact(run_id, "weights.safetensors")  # CorruptArtifact: a damaged file is never sent
        return FileResponse(path, media_type="application/octet-stream",
                            filename=f"{record.method}-{run_id}.safetensors")

    @app.get("/api/runs/{run_id}/json", tags=["runs"], responses=ERRORS,
             summary="Download a run's record and its scenario as JSON")
    def run_json(run_id: str):
        record = get_run(run_id)
        payload = {"scenario": clean(store().scenario(record.scenario_id)), "run": clean(record.to_dict())}
        return JSONResponse(payload, headers={
            "Content-Disposition": f'attachment; filename="{record.method}-{run_id}.json"'})

    @app.get("/api/runs/{run_id}/gallery", tags=["runs"], response_model=S.Gallery, responses=ERRORS,
             summary="A generative run's fixed-seed samples, per class (the gallery panel)")
    def gallery(run_id: str):
        record = get_run(run_id)
        st = store()
        spec = st.scenario(record.scenario_id)
        task = _task(spec)
        if task != "generation":
            raise HTTPException(404, f"run {run_id!r} is a {task} run; only generation runs store a gallery")
        if record.status != "done":
            raise HTTPException(409, f"run {run_id!r} is {record.status}; only finished runs have a gallery")
        try:
            outputs = st.load_outputs(run_id)
            outputs["gallery"], outputs["gallery_labels"]
        except (BadInput, KeyError) as err:
            raise HTTPException(404, f"run {run_id!r}: no stored gallery ({err})") from None
        return gallery_payload(record, spec, outputs, data_range(run_id))

    def generative_run(run_id: str, what: str):
        """A finished run of a generative scenario (404 for another task, 409 while not done), and its spec."""
        record = get_run(run_id)
        spec = store().scenario(record.scenario_id)
        task = _task(spec)
        if task != "generation":
            raise HTTPException(404, f"run {run_id!r} is a {task} run; {what} apply to generation runs only")
        return record, spec

    @app.get("/api/runs/{run_id}/attacks", tags=["runs"], responses=ERRORS,
             summary="A generative run's stored attacks (embedding, relearning), each read against θ_r's")
    def generative_attacks(run_id: str):
        from ..audits.generative_audit import attacks_of

        record, _ = generative_run(run_id, "the generative attacks")
        return clean(attacks_of(store(), record.id))

    @app.get("/api/attacks/{audit_id}/gallery", tags=["runs"], response_model=S.AttackGallery, responses=ERRORS,
             summary="A stored generative attack's samples of the class, before and after (same initial noise)")
    def attack_gallery(audit_id: str):
        from ..audits.generative_audit import KIND

        _check_id("attack", audit_id, SCENARIO_ID, "16 lowercase hexadecimal characters")
        st = store()
        try:
            audit = st.audit(audit_id)
        except BadInput:
            raise HTTPException(404, f"unknown attack {audit_id!r}") from None
        if audit.get("kind") != KIND:
            raise HTTPException(404, f"audit {audit_id!r} is not a generative attack")
        arrays = st.audit_arrays(audit_id)  # CorruptArtifact (409) when damaged
        lo, hi = data_range(audit["run_id"])

        def unit(name: str) -> np.ndarray:
            x = np.clip((np.asarray(arrays[name], dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)
            return np.round(x.reshape(len(x), -1), 3)

        before, after = unit("before_images"), unit("after_images")
        shape = list(np.asarray(arrays["before_images"]).shape[1:])
        shape = shape if len(shape) == 3 else [1, *shape]

        def preds(name: str, n: int):
            return np.asarray(arrays[name])[:n].tolist() if name in arrays else None

        return {"audit_id": audit_id, "run_id": audit["run_id"], "attack": audit["attack"],
                "forget_class": audit["forget_class"], "shape": shape, "before": before.tolist(),
                "after": after.tolist(), "before_pred": preds("before_pred", len(before)),
                "after_pred": preds("after_pred", len(after))}

    @app.post("/api/runs/{run_id}/attacks", tags=["jobs"], response_model=S.Job, status_code=202,
              responses=SUBMIT_ERRORS, summary="Queue a generative attack of a run (and of θ_r, same settings) as a job")
    def submit_attack(run_id: str, req: S.AttackRequest):
        from ..audits.generative_audit import attack_config

        record, spec = generative_run(run_id, "the generative attacks")
        if record.status != "done":
            raise HTTPException(409, f"run {run_id!r} is {record.status}; only finished runs can be attacked")
        budget = req.budget()
        attack_config(req.kind, budget)  # 422 with one line before anything is queued
        if len(spec.get("forget_classes") or []) != 1:
            raise BadInput(f"run {run_id!r} forgot classes {spec.get('forget_classes')}; the web attack reads a "
                           "single forgotten class (use `unlearnlab attack --class C`)")
        if record.method != GOLD and not any(r.method == GOLD for r in store().runs(record.scenario_id, "done")):
            raise HTTPException(409, f"scenario {record.scenario_id!r} has no finished retrain run to read the "
                                     "attack against")
        missing = stored_data_missing(spec)
        if missing is not None:  # rebuilding its data would download it
            raise HTTPException(409, missing)
        hparams = {} if record.method in ("original", GOLD) else clean(record.hparams)
        plan = AttackPlan({"run_id": run_id, **req.model_dump()}, run_id, record.scenario_id, record.method,
                          hparams, req.kind, budget, req.n_samples, req.seed)
        return job_out(enqueue(plan))

    def data_range(run_id: str) -> tuple[float, float]:
        """The samples' value range: the `lo`/`hi` buffers saved with a run's diffusion model (read from the
        training split, so not always [0, 1])."""
        path = artifact(run_id, "weights.safetensors")
        if not path.is_file():
            return 0.0, 1.0
        store().verify_artifact(run_id, "weights.safetensors")  # CorruptArtifact (409): no range from a damaged file
        with safe_open(str(path), framework="np") as f:
            keys = set(f.keys())
            if not {"lo", "hi"} <= keys:
                return 0.0, 1.0
            lo, hi = float(f.get_tensor("lo")), float(f.get_tensor("hi"))
        return (lo, hi) if hi > lo else (0.0, 1.0)

    @app.delete("/api/runs/{run_id}", tags=["runs"], response_model=S.Deleted, responses=ERRORS,
                summary="Delete a run and its artifacts")
    def delete_run(run_id: str):
        get_run(run_id)  # 400/404 before the store is written
        store().reap_stale()  # a run whose process died is not running, whatever its row still says
        record = get_run(run_id)
        if record.status == "running":
            raise HTTPException(409, f"run {run_id!r} is running; cancel its job first")
        store().delete_run(run_id)
        return {"deleted": run_id}

    @app.get("/api/runs/{run_id}/attack", tags=["runs"], response_model=S.AttackResult, responses=ERRORS,
             summary="Threshold attack of a run against its scenario's retrained model (the Attack view)")
    def attack(run_id: str,
               feature: str = Query("entropy", description="entropy or confidence"),
               compare: str | None = Query(None, description="Another done run of the same scenario: adds "
                                                             "the common-threshold strategy.")):
        if feature not in FEATURES:
            raise BadInput(f"feature {_short(feature)} is not allowed; choose {' or '.join(FEATURES)}")
        record = get_run(run_id)
        if record.status != "done":
            raise HTTPException(409, f"run {run_id!r} is {record.status}; only finished runs can be attacked")
        st = store()
        spec = st.scenario(record.scenario_id)
        # a generative request's data is a classification set, but its runs store galleries, not logits
        task = _task(spec)
        if task != "classification":  # its features are class probabilities (entropy, confidence)
            raise BadInput(f"run {run_id!r} is a {task} run; the threshold attack reads class probabilities, so "
                           "it applies to classification runs only (a regression run's loss MIA is its loss_mia)")
        gold = [r for r in st.runs(record.scenario_id, status="done") if r.method == GOLD]
        if not gold:
            raise HTTPException(409, f"scenario {record.scenario_id!r} has no finished retrain run to attack against")
        other = None
        if compare is not None:
            other = get_run(compare)
            if other.scenario_id != record.scenario_id:
                raise BadInput(f"compare run {compare!r} belongs to scenario {other.scenario_id!r}, not "
                               f"{record.scenario_id!r}")
            if other.status != "done":
                raise HTTPException(409, f"compare run {compare!r} is {other.status}; it must be done")
        try:
            logits = st.load_outputs(run_id)["forget"]
            reference = st.load_outputs(gold[-1].id)["forget"]
            other_logits = None if other is None else st.load_outputs(other.id)["forget"]
        except (BadInput, KeyError) as err:
            raise HTTPException(409, f"run {run_id!r}: stored outputs are missing ({err})") from None
        layout = forget_layout(st.scenario(record.scenario_id))
        index, labels = layout if layout is not None and len(layout[0]) == len(logits) else (None, None)
        payload = attack_payload(logits, reference, feature, compare=other_logits, index=index, labels=labels)
        return {"run_id": run_id, "retrain_run_id": gold[-1].id, "compare_run_id": compare, **payload}

    @app.post("/api/runs/{run_id}/audit", tags=["jobs"], response_model=S.Job, status_code=202, responses=SUBMIT_ERRORS,
              summary="Queue an audit of a run (U-LiRA, F, KLoM, LiRA, relearning) as a job")
    def submit_audit(run_id: str, req: S.AuditRequest):
        record = get_run(run_id)
        if record.status != "done":
            raise HTTPException(409, f"run {run_id!r} is {record.status}; only finished runs can be audited")
        if req.against == run_id:
            raise HTTPException(400, f"against run {run_id!r} is the audited run itself; give retrain or another "
                                     "finished run of its scenario")
        if req.against != GOLD:
            other = get_run(req.against)
            if other.scenario_id != record.scenario_id:
                raise BadInput(f"against run {req.against!r} belongs to another scenario than {run_id!r}")
            if other.status != "done":
                raise HTTPException(409, f"against run {req.against!r} is {other.status}; it must be done")
        missing = stored_data_missing(get_scenario(record.scenario_id))
        if missing is not None:  # rebuilding its data would download it
            raise HTTPException(409, missing)
        hparams = {} if record.method in ("original", GOLD) else clean(record.hparams)
        plan = AuditPlan({"run_id": run_id, **req.model_dump()}, run_id, record.scenario_id, record.method,
                         hparams, req.against, req.refs)
        return job_out(enqueue(plan))

    # jobs ---------------------------------------------------------------------------------------------
    @app.post("/api/jobs", tags=["jobs"], response_model=S.Job, status_code=202,
              responses={k: v for k, v in SUBMIT_ERRORS.items() if k not in (404, 409)},
              summary="Validate a job and queue it")
    def submit(req: S.JobRequest):
        plan = plan_job(req, dataroot.path)  # BadInput -> 422 before anything is queued
        return job_out(enqueue(plan))

    @app.get("/api/jobs", tags=["jobs"], response_model=list[S.Job], summary="Jobs held in memory, oldest first")
    def list_jobs():
        return [job_out(j) for j in jobs.all()]

    @app.get("/api/jobs/{job_id}", tags=["jobs"], response_model=S.Job, responses=ERRORS, summary="One job")
    def get_job_route(job_id: str):
        return job_out(get_job(job_id))

    @app.post("/api/jobs/{job_id}/cancel", tags=["jobs"], response_model=S.Job, responses=ERRORS,
              summary="Cancel a queued job, or stop a running one at its next step")
    def cancel_job(job_id: str):
        job = get_job(job_id)
        if not jobs.cancel(job):
            raise HTTPException(409, f"job {job_id!r} has already finished ({job.status})")
        return job_out(job)

    @app.get("/api/jobs/{job_id}/events", tags=["jobs"], responses={
        **ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"},
        204: {"description": "The job has finished and every event up to its last was sent: nothing to stream"}},
        response_class=StreamingResponse, summary="Stream a job's events (past ones replayed first)")
    async def job_events(job_id: str, after: int = Query(-1, ge=-1, description="Replay events with id > after."),
                         last_event_id: str | None = Header(None)):
        """Server-sent events, one JSON object per `data:` line, `event:` naming the type: job_queued,
        job_started, references_started, method_started, progress, epoch, cancel_requested,
        run_finished, and one terminal job_done, job_failed or job_cancelled, after which the stream
        ends. Reconnecting with Last-Event-ID (or `after`) resumes after that event."""
        job = get_job(job_id)
        start = after
        if last_event_id is not None:
            # ASCII digits of bounded length: str.isdigit accepts '¹', which int() refuses
            if not UINT.fullmatch(last_event_id.strip()):
                raise HTTPException(400, f"Last-Event-ID {_short(last_event_id)} is malformed; it must be an "
                                         "event id (an integer of at most 9 digits)")
            start = max(start, int(last_event_id))
        if job.done and start >= job.event_count - 1:
            # An EventSource reconnects whenever a stream ends; 204 is what makes it stop.
            return Response(status_code=204)

        async def stream():
            loop = asyncio.get_running_loop()
            flag = job.subscribe(loop)
            seen = start
            try:
                yield "retry: 2000\n\n"
                while True:
                    flag.clear()
                    batch, finished = job.events_since(seen)
                    for event in batch:
                        seen = event["id"]
                        yield f"id: {seen}\nevent: {event['type']}\ndata: {json.dumps(event, allow_nan=False)}\n\n"
                    if finished:  # read with the events: the terminal one was in this batch
                        return
                    if batch:
                        continue
                    try:
                        await asyncio.wait_for(flag.wait(), KEEPALIVE_S)
                    except asyncio.TimeoutError:
                        yield ": keep-alive\n\n"
            finally:
                job.unsubscribe(loop, flag)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    analyses = add_analysis_routes(
        app, root, store, get_run, get_scenario,
        lambda kind, value, n: _check_id(kind, value, re.compile(f"[0-9a-f]{{{n}}}"),
                                         f"{n} lowercase hexadecimal characters"))
    app.state.analyses = analyses

    @app.api_route("/api/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                   include_in_schema=False)
    def unknown_api(request: Request, rest: str):
        """Unknown API paths answer JSON here, not from the UI mount below (which said 405, Allow: GET)."""
        path = request.url.path
        allowed = sorted({m for r in app.router.routes if isinstance(r, APIRoute) and r.endpoint is not unknown_api
                          and r.path_regex.match(path) for m in r.methods})
        if allowed:
            raise HTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise HTTPException(404)

    # API documentation, self-hosted (FastAPI's recipe): /docs works offline; ReDoc (CDN only) is not served
    app.mount(DOCS_ASSETS, StaticFiles(directory=DOCS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title="unlearnlab API", swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css", swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None})  # its default validator is an outside host

    # ---- Web UI mount point ---------------------------------------------------------------------------
    # The Vite build of frontend/ is copied into src/unlearnlab/server/static/ (index.html + assets/)
    # and ships in the Python package. When index.html exists it is served at /; the API stays under
    # /api and its documentation at /docs. Mounted last, so every /api route wins over a file.
    ui = Path(static_dir) if static_dir is not None else STATIC_DIR
    if (ui / "index.html").is_file():
        app.mount("/", StaticFiles(directory=ui, html=True), name="ui")
    else:
        @app.get("/", tags=["meta"], summary="Where to go: the web UI is not built in this install")
        def index():
            return {"name": "unlearnlab", "version": __version__, "docs": "/docs", "api": "/api/health",
                    "ui": "not built: build frontend/ into src/unlearnlab/server/static/ to serve it here"}

    return app
