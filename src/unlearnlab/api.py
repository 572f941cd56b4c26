"""The Python API, mirroring the CLI.

    import unlearnlab as ul
    result = ul.run(forget="class:3", methods=["ft", "ga", "rl"])
    print(ul.render(result.to_json()["runs"]))
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .analysis.compare import compare as compare_runs
from .data import Dataset, ForgetRequest
from .methods import METHODS, ensure_loaded
from .progress import reporting
from .report import render
from .runner import Comparison, execute, prepare, resolve_methods
from .store import Store
from .training import TrainConfig, pick_device

DEMO_REQUESTS = ("class:3", "random:0.1")


def default_store() -> Path:
    return Path(os.environ.get("UNLEARNLAB_STORE", "unlearnlab_store"))


def _open(store: str | os.PathLike | Store | None, create: bool = True) -> Store:
    return store if isinstance(store, Store) else Store(store or default_store(), create=create)


def run(dataset: str | Dataset = "digits", model: str | Any = "cnn", forget: str | ForgetRequest = "class:3",
        methods: Sequence[str] | None = None, *, overrides: Mapping[str, Mapping[str, Any]] | None = None,
        train: TrainConfig | Mapping[str, Any] | None = None, seed: int = 0, prune: float | None = None,
        retrain_seed: str = "independent", store: str | os.PathLike | Store | None = None,
        device: str | None = None, progress=None, cancel: threading.Event | None = None,
        rerun: bool = False, original: str | os.PathLike | None = None,
        retrained: str | os.PathLike | None = None) -> Comparison:
    """Run θ_o, θ_r and `methods` (default: every registered one) on one forget request.

    `model`: a registered name, 'package.module:factory[,head=NAME]', an nn.Module (copied and
    re-initialised for each model trained) or a callable returning one (docs/own_model.md).
    `original` / `retrained`: a weights file (.safetensors or a PyTorch state dict) of an already trained
    θ_o / θ_r, loaded instead of trained; its sha256 is part of the scenario.

    `overrides` maps a method to hyper-parameters, e.g. {"ft": {"lr": 0.01}}. `prune=S` prunes
    θ_o globally by magnitude to sparsity S first; θ_r and every method keep the mask. `retrain_seed`:
    "independent" trains θ_r from its own seed, "shared" from θ_o's initialisation and batch order. Every input
    is validated before anything is written; bad input raises BadInput. A method whose finished run
    with the same resolved configuration is stored is not run again (its run is returned, `cached`);
    `rerun=True` runs it again.

    `progress`: True shows it (a Rich bar where stderr is a terminal or a notebook, plain lines in logs
    and pipes), None or False (the default) shows none, since a library should not write to stderr
    unasked (servers, notebooks, test suites); any other value is a ProgressCallback
    (`unlearnlab.progress`; its optional `stage` and `close` are called too).
    """
    scenario = prepare(dataset, model, forget, seed=seed, train=train, prune=prune, retrain_seed=retrain_seed,
                       original=original, retrained=retrained)
    resolved = resolve_methods(methods, overrides)
    pick_device(device)  # validated before the store is opened
    st = _open(store)
    with reporting(progress) as reporter:
        return execute(scenario, resolved, st, device=device, progress=reporter, cancel=cancel, rerun=rerun)


def demo(store: str | os.PathLike | Store | None = None, *, seed: int = 0,
         train: Mapping[str, Any] | None = None, methods: Sequence[str] | None = None,
         progress=None, rerun: bool = False) -> list[Comparison]:
    """The default comparison: digits, the small CNN, forget class 3 and forget a random 10 %.

    `progress` and `rerun` as in `run`; a callback's optional `request(index, total, label)` is called before each
    request."""
    scenarios = [prepare("digits", "cnn", req, seed=seed, train=train) for req in DEMO_REQUESTS]
    resolved = resolve_methods(methods, None)
    st = _open(store)
    results = []
    with reporting(progress) as reporter:
        for i, (req, s) in enumerate(zip(DEMO_REQUESTS, scenarios), 1):
            if hasattr(reporter, "request"):
                reporter.request(i, len(scenarios), f"forget {req}")
            results.append(execute(s, resolved, st, progress=reporter, rerun=rerun))
    return results


def list_methods() -> list[dict[str, Any]]:
    """Every registered method: name, hyper-parameters with defaults, paper and declared facts."""
    ensure_loaded()
    out = []
    for name in METHODS:
        cls = METHODS.get(name)
        out.append({"name": name, "params": cls.param_defaults(), "reference_defaults": cls.reference_defaults,
                    "paper": cls.paper, "uses_labels": cls.uses_labels, "needs_retrain": cls.needs_retrain,
                    "doc": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""})
    return out


def report(scenario_id: str, fmt: str = "markdown", store: str | os.PathLike | Store | None = None) -> str:
    """A stored request's runs as a markdown, csv or LaTeX table."""
    st = _open(store, create=False)
    st.scenario(scenario_id)
    runs = st.runs(scenario_id)
    # the reference rows first, then the methods in the order they ran
    runs.sort(key=lambda r: {"original": 0, "retrain": 1}.get(r.method, 2))
    return render([r.to_dict() for r in runs], fmt)


def compare(run_a: str, run_b: str, *, store: str | os.PathLike | Store | None = None, n_per_class: int = 50,
            seed: int = 0, device: str | None = None) -> dict[str, Any]:
    """Every comparison analysis of two finished runs of one scenario (class-wise accuracy, prediction
    matrices, layer-wise CKA, a joint UMAP embedding, instance categories) as a JSON-ready dict;
    cached in the store, so a second call is instant. Runs of different scenarios raise BadInput."""
    return compare_runs(_open(store, create=False), run_a, run_b, n_per_class=n_per_class, seed=seed, device=device)


def audit(run_id: str, *, against: str = "retrain", refs: int = 16, store: str | os.PathLike | Store | None = None,
          executor: str = "process", workers: int | None = None, device: str | None = None, progress=None,
          cancel: threading.Event | None = None, force: bool = False, **options: Any) -> dict[str, Any]:
    """Audit a stored run against θ_r's ensemble (or another run's): U-LiRA, F, KLoM, LiRA, relearning.

    Trains the missing members of `refs`-member ensembles with `executor` ("process": one worker per
    core; "serial") and stores the audit with its per-sample arrays. `options` go to
    `audit.audit_run` (partitions, permutations, n_boot, level, relearn_steps, relearn_share, relearn_lr, seed).
    `progress` as in `run`.
    """
    from .audits import audit_run
    from .executors import make_executor

    st = _open(store, create=False)
    st.run(run_id)  # unknown run: BadInput before any worker starts
    pool = make_executor(executor, workers)
    try:
        with reporting(progress) as reporter:
            return audit_run(st, run_id, against=against, refs=refs, executor=pool, device=device,
                             progress=reporter, cancel=cancel, force=force, **options)
    finally:
        pool.close()
