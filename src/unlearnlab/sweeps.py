"""Sweeps: a TOML plan of data sets (or presets) x forget requests x poisons x seeds x methods x hyper-parameter
grids, run cell by cell through `api.run` (docs/sweeps.md).

A cell is one (data set or preset, forget request, poison, seed); each runs every method at every point of its grid,
one `api.run` per point; `api.sweep` (`ul.sweep`, `unlearnlab sweep`) is the entry point. Nothing here keeps
its own state: the store keys every run by its resolved configuration, so a sweep started again reuses every
run that finished (`cached`), and a run whose process was killed is reaped (marked failed) by the store
before the next one starts.
"""

from __future__ import annotations

import itertools
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data.poison import parse_poison
from .errors import BadInput, UnlearnlabError
from .presets import get_preset
from .presets import resolve as resolve_preset
from .errors import WorkerLost
from .executors import Executor, SerialExecutor, run_each
from .runner import GOLD, SEED_STREAMS, prepare, resolve_methods
from .store import Store
from .training import TrainConfig

#: numpy's legacy seeding and sklearn's random_state, which the data loaders use, take uint32 seeds only.
MAX_SEED = 2**32 - 1

#: The keys a plan may have; anything else is a typo and refused.
PLAN_KEYS = ("store", "datasets", "presets", "model", "forget", "poison", "seeds", "methods", "train", "grid")


#: The seed streams a plan's `[seeds]` table may name: `data` (the split and the forget set: the scenario
#: seed) and the streams `runner.SEED_STREAMS` set apart from it.
SEED_KEYS = ("data", *SEED_STREAMS)


@dataclass(frozen=True)
class Cell:
    """One data set (or preset) x forget request x poison x seed (and the seeds of streams set apart from it)."""

    source: str  # a data set spec, or a preset name when `preset` is true
    preset: bool
    forget: str | None  # None: a preset's first request
    seed: int
    streams: tuple[tuple[str, int], ...] = ()  # (stream, seed) for `runner.SEED_STREAMS` set apart
    poison: str | None = None  # canonical spec (`data.poison`), stamped before θ_o is trained

    @property
    def label(self) -> str:
        more = "".join(f" {k} {v}" for k, v in self.streams)
        poisoned = f" [{self.poison}]" if self.poison else ""
        return f"{'preset ' if self.preset else ''}{self.source}{poisoned} {self.forget} seed {self.seed}{more}"


@dataclass
class Plan:
    cells: list[Cell]
    methods: list[str] | None  # None: each preset's own methods (presets only)
    grid: dict[str, list[dict[str, Any]]]  # method -> its grid points ([{}] without a grid)
    model: str | None
    train: dict[str, Any]
    store: Path | None
    points: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _list(data: Mapping[str, Any], key: str, kind: type, where: str = "") -> list[Any] | None:
    if key not in data:
        return None
    value = data[key]
    name = f"{where}{key}"
    if not isinstance(value, list):
        raise BadInput(f"plan: {name} must be a list, got {value!r}")
    if not value:
        raise BadInput(f"plan: {name} is empty; give at least one value")
    for v in value:  # kind `object`: a grid's values, which the method's constructor checks
        if kind is not object and (not isinstance(v, kind) or isinstance(v, bool)):
            what = "an integer" if kind is int else "a string"
            raise BadInput(f"plan: {name} holds {v!r}; each value must be {what}")
    if len(set(map(repr, value))) != len(value):
        raise BadInput(f"plan: {name} repeats a value; give each value once")
    return list(value)


def _poisons(data: Mapping[str, Any]) -> list[str | None]:
    """The plan's poisons, canonical (`poison = "badnets:0.1"` or a list of them, each crossed with every other
    key; BadNets, Gu et al. 2017, for corrective unlearning, Goel et al. 2024); [None] without the key."""
    if "poison" not in data:
        return [None]
    raw = data["poison"]
    if not isinstance(raw, (str, list)):
        raise BadInput(f"plan: poison must be a string (badnets:RATE[,target=C]) or a list of them, got {raw!r}")
    specs = [raw] if isinstance(raw, str) else _list(data, "poison", str)
    out = []
    for spec in specs:
        try:
            canonical = parse_poison(spec).spec()
        except BadInput as e:
            raise BadInput(f"plan: poison: {e}") from None
        if canonical in out:
            raise BadInput(f"plan: poison repeats {spec!r} (as {canonical!r}); give each poison once")
        out.append(canonical)
    return out


def _seeds(data: Mapping[str, Any]) -> tuple[list[int], list[tuple[tuple[str, int], ...]]]:
    """The plan's data seeds and the combinations of the other streams' seeds. `seeds = [0, 1]`: one seed per
    cell draws everything; a `[seeds]` table gives `data` (split and forget set; default [0]) and, each on
    its own, `train` (θ_o and θ_r), `unlearn` (the methods) and `eval` (the metrics) seeds."""
    raw = data.get("seeds")
    table = raw if isinstance(raw, dict) else None
    if table is not None:
        for key in table:
            if key not in SEED_KEYS:
                raise BadInput(f"plan: unknown seed stream seeds.{key}; allowed: {', '.join(SEED_KEYS)}")
    lists = {key: _list(table, key, int, where="seeds.") for key in SEED_KEYS} if table is not None else \
        {"data": _list(data, "seeds", int)}
    for key, values in lists.items():  # each cell's scenario is built with the first seeds only below
        name = "seeds" if table is None else f"seeds.{key}"
        for s in values or []:
            if not 0 <= s <= MAX_SEED:
                raise BadInput(f"plan: {name} holds {s!r}; each seed must be an integer in [0, {MAX_SEED}]")
    named = [(k, lists[k]) for k in SEED_STREAMS if lists.get(k)]
    combos = [tuple(zip([k for k, _ in named], combo)) for combo in itertools.product(*(v for _, v in named))]
    return lists["data"] or [0], combos


def expand_grid(methods: list[str], grid: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Each method's grid points, in the order given: one per combination of its parameters' values."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in methods:
        params = grid.get(name, {})
        out[name] = [dict(zip(params, combo)) for combo in itertools.product(*params.values())]
    return out


def parse_plan(data: Mapping[str, Any], base: Path | None = None) -> Plan:
    """A plan (parsed TOML) checked whole, every cell's scenario and every grid point's method built once, so
    that bad input raises BadInput before anything runs or is written. `base`: the folder `store` is relative to."""
    for key in data:
        if key not in PLAN_KEYS:
            raise BadInput(f"plan: unknown key {key!r}; allowed: {', '.join(PLAN_KEYS)}")
    datasets, presets = _list(data, "datasets", str), _list(data, "presets", str)
    if (datasets is None) == (presets is None):
        raise BadInput("plan: give exactly one of datasets = [...] or presets = [...]")
    for name in presets or []:
        get_preset(name)  # unknown preset: BadInput naming the known ones
    forget = _list(data, "forget", str)
    if datasets is not None and forget is None:
        raise BadInput("plan: forget = [...] is required with datasets (e.g. forget = [\"class:3\"])")
    seeds, streams = _seeds(data)
    poisons = _poisons(data)
    methods = _list(data, "methods", str)
    if datasets is not None and methods is None:
        raise BadInput("plan: methods = [...] is required with datasets (e.g. methods = [\"ft\", \"ga\"])")
    if methods is not None and GOLD in methods:
        raise BadInput(f"plan: {GOLD!r} is run in every cell already; list only unlearning methods")
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise BadInput(f"plan: model must be a string, got {model!r}")
    train = data.get("train", {})
    if not isinstance(train, dict):
        raise BadInput(f"plan: train must be a table ([train]), got {train!r}")
    known = TrainConfig().to_dict()
    for key in train:
        if key not in known:
            raise BadInput(f"plan: unknown training option train.{key}; allowed: {', '.join(known)}")
    grid_raw = data.get("grid", {})
    if not isinstance(grid_raw, dict):
        raise BadInput("plan: grid must be tables of lists ([grid.METHOD] with PARAM = [values])")
    grid: dict[str, dict[str, list[Any]]] = {}
    for method, params in grid_raw.items():
        if methods is not None and method not in methods:
            raise BadInput(f"plan: grid.{method} names a method not among methods ({', '.join(methods)})")
        if not isinstance(params, dict) or not params:
            raise BadInput(f"plan: grid.{method} is empty; give PARAM = [values]")
        grid[method] = {}
        for param in params:
            grid[method][param] = _list(params, param, object, where=f"grid.{method}.")
    store = data.get("store")
    if store is not None and not isinstance(store, str):
        raise BadInput(f"plan: store must be a string (a folder), got {store!r}")

    sources = [(d, False) for d in datasets] if datasets is not None else [(p, True) for p in presets]
    cells: list[Cell] = []
    for source, is_preset in sources:
        requests: list[str | None] = list(forget) if forget is not None else list(get_preset(source).forget)
        for request in requests:
            for poison in poisons:
                # one scenario per (source, request, poison) built here: every value (data set, model, forget
                # request, poison, training option) is checked before anything runs; the seed changes none
                _check_cell(source, is_preset, request, model, train, methods, grid, seeds[0], poison)
                cells.extend(Cell(source, is_preset, request, s, st, poison) for s in seeds for st in streams)
    names = methods if methods is not None else sorted({m for m in grid})
    expanded = expand_grid(list(names), grid)
    points = [(m, p) for m in names for p in expanded[m]]
    return Plan(cells, methods, expanded, model, dict(train),
                None if store is None else (base or Path(".")) / store, points)


def _check_cell(source: str, is_preset: bool, request: str | None, model: str | None, train: dict[str, Any],
                methods: list[str] | None, grid: Mapping[str, Mapping[str, list[Any]]], seed: int,
                poison: str | None = None) -> None:
    names = list(methods) if methods is not None else None
    if is_preset and names is None:
        own = get_preset(source).methods
        for method in grid:
            if own and method not in own:
                raise BadInput(f"plan: grid.{method} names a method preset {source} does not run "
                               f"({', '.join(own)}); list methods = [...] to choose them")
    for combo in _points(grid):
        if is_preset:
            chosen = resolve_preset(source, model=model, forget=request, methods=names, overrides=combo,
                                    train=train)
            resolve_methods(chosen.methods, chosen.overrides)
        else:
            resolve_methods(names, combo)
    if is_preset:
        chosen = resolve_preset(source, model=model, forget=request, methods=names, train=train)
        prepare(chosen.dataset, chosen.model, chosen.forget[0] if request is None else request, seed=seed,
                train=chosen.train, poison=poison)
    else:
        prepare(source, model or "cnn", request, seed=seed, train=train, poison=poison)


def _points(grid: Mapping[str, Mapping[str, list[Any]]]) -> list[dict[str, dict]]:
    """Overrides that together reach every grid value of every method (each value checked once)."""
    out = [{}]
    for method, params in grid.items():
        for param, values in params.items():
            out.extend({method: {param: v}} for v in values)
    return out


def load_plan(path: str | os.PathLike) -> Plan:
    """Read and check a TOML plan file; a file that is missing or does not parse raises BadInput."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"plan {str(path)!r} cannot be read: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # its message names the line and column
        raise BadInput(f"plan {str(path)!r} is not valid TOML: {e}") from None
    return parse_plan(data, base=path.parent)


@dataclass(frozen=True)
class CellJob:
    """One cell for a worker: every grid point of every method, one `run` each, into the store `store`."""

    cell: Cell
    points: tuple[tuple[str, dict[str, Any]], ...]
    model: str | None
    train: dict[str, Any]
    store: str | None
    device: str | None
    rerun: bool
    run: Callable[..., Any]  # api.run: pickled by name, so a worker imports it


def run_cell(job: CellJob, say: Callable[[str], None] | None = None, progress=None) -> dict[str, Any]:
    """Run one cell's points one after another; a method that fails is counted (with its reason) and the
    others go on. Returns the counts, the scenario ids and the lines worth showing."""
    counts: dict[str, Any] = {"done": 0, "cached": 0, "failed": 0, "scenarios": [], "lines": []}

    def note(line: str) -> None:
        counts["lines"].append(line)
        if say is not None:
            say(line)
    cell = job.cell
    for method, point in job.points:
        try:
            result = job.run(None if cell.preset else cell.source, job.model, cell.forget, [method],
                             preset=cell.source if cell.preset else None,
                             overrides={method: point} if point else None, train=job.train or None,
                             seed=cell.seed, seeds=dict(cell.streams) or None, store=job.store, device=job.device,
                             progress=progress, rerun=job.rerun, poison=cell.poison)
        except BadInput:  # the plan was checked; what is left (an unusable store) would fail every cell
            raise
        except UnlearnlabError as e:  # e.g. θ_o diverged: nothing to compare in this cell for now
            counts["failed"] += 1
            note(f"  {method} {point or ''} failed: {e}")
            continue
        if result.scenario["id"] not in counts["scenarios"]:
            counts["scenarios"].append(result.scenario["id"])
        for r in result.runs:
            if r.method != method:
                continue
            kind = "cached" if r.cached else ("done" if r.status == "done" else "failed")
            counts[kind] += 1
            if kind == "failed":
                note(f"  {method} {point or ''} {r.status}: {r.reason}")
    return counts


def run_plan(plan: Plan, run: Callable[..., Any], *, store=None, device: str | None = None, rerun: bool = False,
             echo: Callable[[str], None] | None = None, progress=None, executor: Executor | None = None,
             on_cell: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """Run every cell through `run` (`api.run`, handed down so that this module sits below the API): one after
    another here, or as parallel jobs of `executor` ("process", "ray": each cell one job, its runs written to
    the store by the worker, so on a Ray cluster the store must be on a folder every node shares). A method
    that fails is recorded and the sweep goes on; so does a cell whose worker died (counted failed, with the
    reason; `lost_cells` counts them). `on_cell(finished, total, label)` after each cell (a progress bar). Returns the counts (cells,
    done, cached, failed) and the scenario ids, in the plan's order."""
    say = echo or (lambda line: None)
    tick = on_cell or (lambda finished, total, label: None)
    target = store if store is not None else plan.store
    counts = {"done": 0, "cached": 0, "failed": 0}
    found: dict[int, list[str]] = {}
    jobs = [CellJob(cell, tuple(plan.points if plan.methods is not None else _preset_points(cell.source, plan.grid)),
                    plan.model, dict(plan.train), None if target is None else str(target), device, rerun, run)
            for cell in plan.cells]
    total = len(jobs)
    tick(0, total, "")

    def add(i: int, res: dict[str, Any]) -> None:
        for key in counts:
            counts[key] += res[key]
        found[i] = res["scenarios"]

    if executor is None or isinstance(executor, SerialExecutor):
        for i, job in enumerate(jobs):
            say(f"cell {i + 1}/{total}: {job.cell.label}")
            add(i, run_cell(job, say, progress))
            tick(i + 1, total, job.cell.label)
    else:
        say(f"{total} cells on {type(executor).__name__} with {executor.workers} workers")
        finished = lost = 0
        for i, res in run_each(executor, run_cell, jobs):
            finished += 1
            label = jobs[i].cell.label
            if isinstance(res, WorkerLost):
                # twice, the second time alone: the runs it finished are stored, and the one it was running is
                # marked failed ("interrupted": its process is gone) here
                lost += 1
                if target is not None:
                    with Store(target, clean=False) as st:
                        st.reap_stale()
                res = {"done": 0, "cached": 0, "failed": 0, "scenarios": [],
                       "lines": [f"  cell lost: {res}; the runs it finished are stored, the one in progress is "
                                 "marked failed"]}
            say(f"cell {finished}/{total} finished: {label}")
            for line in res["lines"]:
                say(line)
            add(i, res)
            tick(finished, total, label)
    scenarios = list(dict.fromkeys(sid for i in sorted(found) for sid in found[i]))
    summary = {"cells": total, **counts, "scenarios": scenarios}
    if executor is not None and not isinstance(executor, SerialExecutor):
        summary["lost_cells"] = lost
    return summary


def _preset_points(preset: str, grid: Mapping[str, list[dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """A preset's own methods (every registered one when it names none), each at its grid's points."""
    from .methods import method_names

    names = list(get_preset(preset).methods or [m for m in method_names() if m != GOLD])
    return [(m, p) for m in names for p in grid.get(m, [{}])]
