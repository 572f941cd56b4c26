"""The Python API, mirroring the CLI.

    import unlearnlab as ul
    result = ul.run(forget="class:3", methods=["ft", "ga", "rl"])
    print(ul.render(result.to_json()["runs"]))
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .analysis.compare import compare as compare_runs
from .analysis.seeds import SEED_DERIVED, request_key
from .executors import Executor, ProcessExecutor, SerialExecutor, make_executor
from .data import Dataset, ForgetRequest, load_from_spec
from .errors import BadInput
from .methods import METHODS, ensure_loaded
from .presets import list_presets
from .presets import resolve as resolve_preset
from .progress import reporting
from .report import BETTER, REPORT_FORMATS, check_rank_by, render, render_over_seeds, request_labels
from .report_html import render_html
from .runner import Comparison, execute, prepare, resolve_methods, skipped_methods
from .runner_generative import execute_generation, is_generative, prepare_generation
from .store import Store
from .sweeps import load_plan, parse_plan, run_plan
from .training import TrainConfig, pick_device
from .training.diffusion import DiffusionTrainConfig
from .tuning import tune as tune_method

DEMO_REQUESTS = ("class:3", "random:0.1")


def default_store() -> Path:
    return Path(os.environ.get("UNLEARNLAB_STORE", "unlearnlab_store"))


@contextlib.contextmanager
def _opened(store: str | os.PathLike | Store | None, create: bool = True) -> Iterator[Store]:
    """The store to use: a Store given is used as it is; a path is opened here and closed on leaving. No
    connection may outlive the call: one left open in this process lends SQLite's shared WAL index to the next
    connection to that file, so a database replaced on disk would still read as the old one."""
    if isinstance(store, Store):
        yield store
        return
    with Store(store or default_store(), create=create) as st:
        yield st


def run(dataset: str | Dataset | None = None, model: str | Any = None, forget: str | ForgetRequest | None = None,
        methods: Sequence[str] | None = None, *, preset: str | None = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        train: TrainConfig | Mapping[str, Any] | None = None, seed: int = 0, prune: float | None = None,
        retrain_seed: str = "independent", store: str | os.PathLike | Store | None = None,
        device: str | None = None, progress=None, cancel: threading.Event | None = None,
        rerun: bool = False, original: str | os.PathLike | None = None,
        retrained: str | os.PathLike | None = None, data_root: str | os.PathLike | None = None,
        seeds: Mapping[str, int] | None = None, executor: str | Executor | None = None,
        workers: int | None = None, poison: str | None = None) -> Comparison:
    """Run θ_o, θ_r and `methods` (default: every registered one that applies to the data's task) on one
    forget request; without a preset the defaults are dataset "digits", model "cnn", forget "class:3".
    A regression data set (diabetes, friedman1, arrays with task=regression) runs the methods that declare
    regression (`Method.tasks`) and names the others in `result.skipped` with why; naming one is BadInput.

    `preset`: a published protocol's data set, model, recipe, methods and their hyper-parameters
    (`unlearnlab.presets`, docs/presets.md). Every other argument given explicitly overrides the preset's
    value (one training option or method hyper-parameter at a time); the overridden fields are listed in
    `result.scenario["preset"]`. `forget` defaults to the preset's first request; its others are
    `ul.get_preset(NAME).forget`.

    `model`: a registered name, 'package.module:factory[,head=NAME]', an nn.Module (copied and
    re-initialised for each model trained) or a callable returning one (docs/own_model.md).
    `original` / `retrained`: a weights file (.safetensors or a PyTorch state dict) of an already trained
    θ_o / θ_r, loaded instead of trained; its sha256 is part of the scenario.
    `data_root`: the folder of the standard data sets (cifar10, mnist, ...; docs/data.md); default
    $UNLEARNLAB_DATA, else the user cache.

    `seed` draws the split and the forget set, and seeds every other stream unless `seeds` gives one its own:
    {"train": T, "unlearn": U, "eval": E} for training θ_o and θ_r, for the methods and for the metrics
    (docs/sweeps.md). `executor` ("serial", "process", "ray" or an executor object; `workers` of them) runs
    the methods in parallel after θ_o and θ_r, with the same bits as one after another (docs/executors.md);
    default: in this process.

    `poison`: e.g. "badnets:0.1,target=0" stamps a trigger patch on a seeded 10 % of the training samples not of
    class 0 and relabels them 0 before θ_o is trained (BadNets, Gu et al. 2017); forget "poison" (or "poison:F",
    the share F of them found) then unlearns them, as in corrective unlearning (Goel et al. 2024), and every run
    gets the trigger's attack success rate `asr` beside TA (docs/scenarios.md).

    `forget` "worst:N" / "memorised:N" choose the forget set by training models (Challenging Forgets' bi-level
    search; Feldman & Zhang's memorisation over `k` subset models), cached in the store, before θ_o and θ_r; their
    subset models run in `executor`'s workers where one is given (docs/scenarios.md).

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

    A generative `model` (`ddpm`, a `GENERATIVE_MODELS` entry) runs a class-erasure request instead
    (`runner_generative`, docs/generative.md): `overrides["gen"]` holds the `gen.*` options (guidance,
    sample_steps, eta, n_per_class, gallery, width, depth, timesteps, schedule, p_uncond, prediction), `train` the
    diffusion recipe (`DiffusionTrainConfig`: steps, batch_size, lr, ...), `methods` the generation methods; the
    defaults of both are the data set's recipe (`training.diffusion.recipe_for`: digits', or MNIST's).
    """
    if is_generative(model):  # the one place where the model picks the runner
        return _run_generation(dataset, model, forget, methods, preset=preset, overrides=overrides, train=train,
                               seed=seed, prune=prune, retrain_seed=retrain_seed, store=store, device=device,
                               progress=progress, cancel=cancel, rerun=rerun, original=original,
                               retrained=retrained, data_root=data_root, seeds=seeds, executor=executor,
                               workers=workers, poison=poison)
    if overrides and "gen" in overrides:
        raise BadInput("gen.* options apply to generative models (--model ddpm); this request's model is a classifier")
    chosen = None
    if preset is not None:  # first: a preset names its data set, which the data root below then reaches
        chosen = resolve_preset(preset, dataset=dataset, model=model, forget=forget, methods=methods,
                                overrides=overrides, train=train)
        dataset, model, forget = chosen.dataset, chosen.model, chosen.forget[0]
        methods, overrides, train = chosen.methods, chosen.overrides, chosen.train
    if isinstance(dataset, str) and data_root is not None:  # reaches the loaders that read a data root
        dataset = load_from_spec(dataset, seed=seed, data_root=data_root)
    scenario = prepare("digits" if dataset is None else dataset, "cnn" if model is None else model,
                       "class:3" if forget is None else forget, seed=seed, train=train, prune=prune,
                       retrain_seed=retrain_seed, original=original, retrained=retrained, seeds=seeds,
                       poison=poison)
    task = scenario.dataset.task
    resolved = resolve_methods(methods, overrides, task)
    pick_device(device)  # validated before the store is opened
    with _executor(executor, workers) as pool:  # an unknown executor or unreachable address: before the store
        with _opened(store) as st, reporting(progress) as reporter:
            result = execute(scenario, resolved, st, device=device, progress=reporter, cancel=cancel, rerun=rerun,
                             executor=pool, skipped=skipped_methods(methods, task))
    if chosen is not None:
        result.scenario["preset"] = {"name": chosen.preset.name, "paper": chosen.preset.paper,
                                     "overridden": chosen.overridden}
    return result


def _run_generation(dataset, model, forget, methods, *, preset, overrides, train, seed, prune, retrain_seed, store,
                    device, progress, cancel, rerun, original, retrained, data_root, seeds, executor, workers,
                    poison) -> Comparison:
    """`run` on a generative model: options of the classifier runner only are refused in one line."""
    unsupported = {"preset": preset, "prune": prune, "original": original, "retrained": retrained, "poison": poison,
                   "workers": workers}
    given = [k for k, v in unsupported.items() if v is not None]
    if retrain_seed != "independent":
        given.append("retrain_seed")
    if executor not in (None, "serial") and not isinstance(executor, SerialExecutor):
        given.append("executor")
    if given:
        raise BadInput(f"{given[0]} is not supported on generative model {model!r}; it runs θ_o, θ_r and the methods "
                       "here, with --set gen.*/train.* options only (docs/generative.md)")
    overrides = {k: dict(v) for k, v in (overrides or {}).items()}
    gen = overrides.pop("gen", None)
    if isinstance(dataset, str) and data_root is not None:
        dataset = load_from_spec(dataset, seed=seed, data_root=data_root)
    scenario = prepare_generation("digits" if dataset is None else dataset, model,
                                  "class:3" if forget is None else forget, seed=seed, train=train, gen=gen, seeds=seeds)
    resolved = resolve_methods(methods, overrides, "generation")
    pick_device(device)
    with _opened(store) as st, reporting(progress) as reporter:
        return execute_generation(scenario, resolved, st, device=device, progress=reporter, cancel=cancel,
                                  rerun=rerun, skipped=skipped_methods(methods, "generation"))


def train_defaults(model: Any = None) -> dict[str, Any]:
    """The training options (`--set train.NAME=VALUE`) of `model`'s runner, with their defaults."""
    return (DiffusionTrainConfig() if is_generative(model) else TrainConfig()).to_dict()


def _classifier_run(st: Store, run_id: str, command: str) -> None:
    """A generative run asked of a command that reads classifiers (logits, ensembles): one line, BadInput."""
    spec = st.scenario(st.run(run_id).scenario_id)
    if spec.get("task") == "generation":
        raise BadInput(f"run {run_id!r} is a generative run (model {spec['model']['name']!r}); {command} reads "
                       "classifier runs only (a generative run's metrics are in `unlearnlab report`, its attacks in "
                       "`unlearnlab attack`)")


def demo(store: str | os.PathLike | Store | None = None, *, seed: int = 0,
         train: Mapping[str, Any] | None = None, methods: Sequence[str] | None = None,
         progress=None, rerun: bool = False, executor: str | Executor | None = "process",
         workers: int | None = None) -> list[Comparison]:
    """The default comparison: digits, the small CNN, forget class 3 and forget a random 10 %.

    The methods run in parallel through `executor` (default: a pool of one worker process per core, started
    while θ_o and θ_r are trained or loaded), with the same numbers as `executor="serial"`.
    `progress` and `rerun` as in `run`; a callback's optional `request(index, total, label)` is called before each
    request."""
    scenarios = [prepare("digits", "cnn", req, seed=seed, train=train) for req in DEMO_REQUESTS]
    resolved = resolve_methods(methods, None)
    with _opened(store) as st:
        return _demo(st, scenarios, resolved, methods, progress, rerun, executor, workers)


def _demo(st: Store, scenarios, resolved, methods, progress, rerun: bool, executor, workers) -> list[Comparison]:
    # a pool is started (in the background) only when some method has no finished run to reuse
    names = {m.name for m in resolved}
    stored = [{r.method for r in st.runs(s.id, status="done")} for s in scenarios]
    needed = rerun or any(not names <= have for have in stored)
    with _executor(executor if needed else None, workers) as pool:
        results = []
        with reporting(progress) as reporter:
            for i, (req, s) in enumerate(zip(DEMO_REQUESTS, scenarios), 1):
                if hasattr(reporter, "request"):
                    reporter.request(i, len(scenarios), f"forget {req}")
                results.append(execute(s, resolved, st, progress=reporter, rerun=rerun, executor=pool,
                                       skipped=skipped_methods(methods, s.dataset.task)))
    return results


@contextlib.contextmanager
def _executor(executor: str | Executor | None, workers: int | None,
              address: str | None = None) -> Iterator[Executor | None]:
    """The executor named (closed on exit), one given (left open: the caller's), or None. A process pool is
    started at once, in the background, so its workers import torch while this process prepares θ_o and θ_r."""
    if executor is None or not isinstance(executor, str):
        yield executor
        return
    pool = make_executor(executor, workers, **({"address": address} if address else {}))
    if isinstance(pool, ProcessExecutor):
        pool.warm()
    try:
        yield pool
    finally:
        pool.close()


def sweep(plan: str | os.PathLike | Mapping[str, Any], *, store: str | os.PathLike | Store | None = None,
          device: str | None = None, rerun: bool = False, echo=None, progress=None,
          executor: str | Executor | None = None, workers: int | None = None, address: str | None = None,
          on_cell=None) -> dict[str, Any]:
    """Run a sweep plan (a TOML file, or its parsed dict): data sets or presets x forget requests x seeds x
    methods x hyper-parameter grids (docs/sweeps.md). The whole plan is checked first (bad input raises
    BadInput, nothing written); finished runs are reused, so a killed sweep started again re-runs only what did
    not finish. `executor` ("serial": cell after cell here, the default; "process" or "ray", with `workers` and
    Ray's `address`): cells as parallel jobs, with the same bits. `store` overrides the plan's; `echo(line)` gets
    one line per cell, `on_cell(finished, total, label)` is called after each. Returns the counts (cells, done,
    cached, failed) and the scenario ids."""
    checked = parse_plan(plan) if isinstance(plan, Mapping) else load_plan(plan)
    pick_device(device)
    target = store if store is not None else checked.store
    if isinstance(target, Store):
        target = target.root
    with _executor(executor, workers, address) as pool:
        if pool is not None and not isinstance(pool, SerialExecutor):
            with _opened(target):  # created (and cleaned) once here, before the workers open it
                pass
            target = Path(target or default_store()).resolve()  # workers may not share this working folder
        return run_plan(checked, run, store=target, device=device, rerun=rerun, echo=echo, progress=progress,
                        executor=pool, on_cell=on_cell)


def tune(method: str, *, dataset: str | Dataset | None = None, model: str | Any = None,
         forget: str | ForgetRequest | None = None, train: Mapping[str, Any] | None = None, trials: int,
         objective: str = "avg_gap", search_seeds: int | str | Sequence[int] = 3,
         eval_seeds: int | str | Sequence[int] = 3, budget: float | None = None,
         space: str | Sequence[str] | None = None, sampler_seed: int = 0,
         store: str | os.PathLike | Store | None = None, device: str | None = None, echo=None) -> dict[str, Any]:
    """Search `method`'s hyper-parameters with Optuna on search seeds, then run the best feasible trial's on
    fresh evaluation seeds (docs/tune.md); defaults as in `run` (digits, cnn, class:3). Everything is checked
    before the store is touched (bad input raises BadInput, nothing written); the study (STORE/optuna.db)
    resumes, so a second call runs only the missing trials. Render the result with `unlearnlab.tuning.render_tune`."""
    if is_generative(model):
        raise BadInput(f"tune searches classifier methods' hyper-parameters; model {model!r} is generative (run it "
                       "with `unlearnlab run --model ddpm --set METHOD.PARAM=VALUE`)")
    return tune_method(method, dataset="digits" if dataset is None else dataset, model="cnn" if model is None
                       else model, forget="class:3" if forget is None else forget, train=train, trials=trials,
                       objective=objective, search_seeds=search_seeds, eval_seeds=eval_seeds, budget=budget,
                       space=space, sampler_seed=sampler_seed, device=device, echo=echo,
                       store=store if isinstance(store, Store) else (store or default_store()), run=run)


def presets() -> list[dict[str, Any]]:
    """Every registered preset: name, paper, data set, model, recipe, forget requests, methods and notes."""
    return [p.to_dict() for p in list_presets()]


def list_methods() -> list[dict[str, Any]]:
    """Every registered method: name, hyper-parameters with defaults, paper and declared facts."""
    ensure_loaded()
    out = []
    for name in METHODS:
        cls = METHODS.get(name)
        out.append({"name": name, "params": cls.param_defaults(), "reference_defaults": cls.reference_defaults,
                    "paper": cls.paper, "uses_labels": cls.uses_labels, "needs_retrain": cls.needs_retrain,
                    "tasks": list(cls.tasks), "doc": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""})
    return out


def report(scenario_id: str, fmt: str = "markdown", store: str | os.PathLike | Store | None = None, *,
           over_seeds: bool = False, rank_by: str = "avg_gap") -> str:
    """A stored request's runs as a markdown, csv or LaTeX table, or a self-contained HTML page. `over_seeds`:
    with the runs of every stored scenario that is the same request but the seed (`analysis.seeds.request_key`),
    each metric's mean over seeds with a 95 % interval and a ranking by `rank_by` (docs/seeds.md). "html" is
    always over every stored seed of the request, with plots (docs/report.md)."""
    if fmt not in REPORT_FORMATS:
        raise BadInput(f"unknown report format {fmt!r}; allowed: {', '.join(REPORT_FORMATS)}")
    check_rank_by(rank_by)
    with _opened(store, create=False) as st:
        return _report(st, scenario_id, fmt, over_seeds, rank_by)


def _report(st: Store, scenario_id: str, fmt: str, over_seeds: bool, rank_by: str) -> str:
    spec = st.scenario(scenario_id)
    ids = [scenario_id]
    if over_seeds or fmt == "html":
        ids = [s["id"] for s in st.scenarios() if request_key(s) == request_key(spec)]
    if fmt == "html":
        return _html(st, [ids], None, rank_by)
    runs = [r for sid in ids for r in st.runs(sid)]
    # the reference rows first, then the methods in the order they ran
    runs.sort(key=lambda r: {"original": 0, "retrain": 1}.get(r.method, 2))
    if over_seeds:
        return render_over_seeds([r.to_dict() for r in runs], fmt, rank_by=rank_by)
    return render([r.to_dict() for r in runs], fmt)


def sweep_report(scenarios: Sequence[str] | Mapping[str, Any], *, store: str | os.PathLike | Store | None = None,
                 title: str | None = None, rank_by: str = "avg_gap") -> str:
    """A sweep's results as one self-contained HTML page (`report_html.render_html`): one section per distinct
    request (`analysis.seeds.request_key`) over the seeds the sweep ran. `scenarios`: the scenario ids, or the
    dict `sweep` returns. An unknown id raises BadInput."""
    check_rank_by(rank_by)
    ids = scenarios.get("scenarios") if isinstance(scenarios, Mapping) else scenarios
    if ids is None or isinstance(ids, (str, bytes)) or not all(isinstance(i, str) for i in ids):
        raise BadInput(f"scenarios {scenarios!r} is not a list of scenario ids or a sweep summary")
    with _opened(store, create=False) as st:
        groups: dict[str, list[str]] = {}
        for sid in dict.fromkeys(ids):
            groups.setdefault(request_key(st.scenario(sid)), []).append(sid)
        plural = "" if len(groups) == 1 else "s"
        return _html(st, list(groups.values()), title or f"unlearnlab sweep: {len(groups)} request{plural}", rank_by)


def tune_report(result: Mapping[str, Any], *, store: str | os.PathLike | Store | None = None,
                rank_by: str | None = None) -> str:
    """A `tune` result as one self-contained HTML page: the objective against the trials and the trials table
    (labelled search: not for reporting), then the chosen setting's runs on the fresh evaluation seeds (with
    θ_o and θ_r, over those seeds) as the numbers to report."""
    with _opened(store if store is not None else result.get("store"), create=False) as st:
        return _tune_report(st, result, rank_by)


def _tune_report(st: Store, result: Mapping[str, Any], rank_by: str | None) -> str:
    objective = result.get("objective", "avg_gap")
    rank = rank_by or (objective if objective in BETTER else "avg_gap")
    check_rank_by(rank)
    evaluation = result.get("evaluation") or {}
    ids = list(dict.fromkeys(evaluation.get("scenarios") or []))
    requests = []
    if ids:
        specs = [st.scenario(sid) for sid in ids]
        label = request_labels([_without_seed(specs[0])])[specs[0]["id"]]
        runs = [r.to_dict() for s in specs for r in st.runs(s["id"])
                if r.method in ("original", "retrain") or r.id in set(evaluation.get("runs") or [])]
        requests.append({"scenario": specs[0], "label": f"{label} — evaluation seeds "
                         f"{', '.join(map(str, evaluation.get('seeds', [])))}", "runs": runs})
    summary = {k: result.get(k) for k in ("method", "objective", "direction", "best_params", "search", "evaluation")
               if result.get(k) is not None}
    return render_html(requests, title=f"unlearnlab tune: {result.get('method', '?')}", rank_by=rank,
                       trials=list(result.get("trials") or []), tune=summary)


def _without_seed(spec: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The spec less what the seed decides (the id kept): requests are labelled by what tells them apart."""
    out = {}
    for key, value in spec.items():
        name = f"{prefix}.{key}" if prefix else key
        if name in SEED_DERIVED and name != "id":
            continue
        out[key] = _without_seed(value, name) if isinstance(value, Mapping) else value
    return out


def _html(st: Store, requests: list[list[str]], title: str | None, rank_by: str) -> str:
    """Each list of scenario ids (one request, its seeds) as a request of `render_html`."""
    specs = [[st.scenario(sid) for sid in ids] for ids in requests]
    labels = request_labels([_without_seed(group[0]) for group in specs])
    items = []
    for group in specs:
        runs = [r.to_dict() for s in group for r in st.runs(s["id"])]
        items.append({"scenario": group[0], "label": labels[group[0]["id"]], "runs": runs})
    return render_html(items, title=title or f"unlearnlab report: {items[0]['label']}", rank_by=rank_by)


def compare(run_a: str, run_b: str, *, store: str | os.PathLike | Store | None = None, n_per_class: int = 50,
            seed: int = 0, device: str | None = None) -> dict[str, Any]:
    """Every comparison analysis of two finished runs of one scenario (class-wise accuracy, prediction
    matrices, layer-wise CKA, a joint UMAP embedding, instance categories) as a JSON-ready dict;
    cached in the store, so a second call is instant. Runs of different scenarios raise BadInput."""
    with _opened(store, create=False) as st:
        for run_id in (run_a, run_b):
            _classifier_run(st, run_id, "compare")
        return compare_runs(st, run_a, run_b, n_per_class=n_per_class, seed=seed, device=device)


def audit(run_id: str, *, against: str = "retrain", refs: int = 16, store: str | os.PathLike | Store | None = None,
          executor: str = "process", workers: int | None = None, device: str | None = None, progress=None,
          cancel: threading.Event | None = None, force: bool = False, address: str | None = None,
          **options: Any) -> dict[str, Any]:
    """Audit a stored run against θ_r's ensemble (or another run's): U-LiRA, F, KLoM, LiRA, relearning.

    Trains the missing members of `refs`-member ensembles with `executor` ("process": one worker per
    core; "serial"; "ray": a local Ray, or the cluster at `address` / $RAY_ADDRESS) and stores the
    audit with its per-sample arrays. `options` go to
    `audit.audit_run` (partitions, permutations, n_boot, level, relearn_steps, relearn_share, relearn_lr, seed).
    `progress` as in `run`.
    """
    from .audits import audit_run
    with _opened(store, create=False) as st:
        _classifier_run(st, run_id, "audit")  # unknown run: BadInput before any worker starts
        with _executor(executor, workers, address) as pool, reporting(progress) as reporter:
            return audit_run(st, run_id, against=against, refs=refs, executor=pool, device=device,
                             progress=reporter, cancel=cancel, force=force, **options)


def attack(run_id: str, kind: str = "embedding", *, store: str | os.PathLike | Store | None = None,
           n_samples: int = 100, seed: int = 0, forget_class: int | None = None, force: bool = False,
           device: str | None = None, cancel: threading.Event | None = None, **budget: Any) -> dict[str, Any]:
    """Attack a stored generative run's forgotten class and store the result beside the run.

    `kind`: `embedding` (UnlearnDiffAtk-style: the class embedding optimised within a budget; `budget` keys
    steps, radius, norm, lr, init, n_targets, batch_size) or `relearn` (fine-tuning on a few images of the class;
    steps, samples, lr, batch_size). θ_r's run is attacked with the same settings too, and the result carries
    `versus_retrain` (paired exact McNemar test: is the run easier to attack than θ_r?). Cached: the same request
    reads the stored audit unless `force`. docs/generative_attacks.md."""
    from .audits.generative_audit import attack_run
    with _opened(store, create=False) as st:
        return attack_run(st, run_id, kind, budget, n_samples=n_samples, seed=seed, forget_class=forget_class,
                          force=force, device=device, cancel=cancel)


def attack_scenario(scenario_id: str, kind: str = "embedding", *, store: str | os.PathLike | Store | None = None,
                    **options: Any) -> list[dict[str, Any]]:
    """`attack` on every finished run of a generative scenario (θ_r first, then θ_o, then the methods in the
    order they were run): the table of docs/generative.md."""
    from .audits.generative_audit import attack_config
    from .runner import GOLD
    budget = {k: options.pop(k) for k in list(options) if k not in ("n_samples", "seed", "forget_class", "force",
                                                                    "device", "cancel")}
    attack_config(kind, budget)  # a bad budget is one line before any model is loaded
    with _opened(store, create=False) as st:
        spec = st.scenario(scenario_id)
        if spec.get("task") != "generation":
            raise BadInput(f"scenario {scenario_id!r} is a {spec.get('task', 'classification')} request; the "
                           "generative attacks apply to generative scenarios")
        runs = st.runs(spec["id"], status="done")
        order = {GOLD: 0, "original": 1}
        runs = sorted(runs, key=lambda r: (order.get(r.method, 2), r.created))
        return [attack(r.id, kind, store=st, **options, **budget) for r in runs]
