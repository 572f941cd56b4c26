"""Server-side jobs: validated plans, one worker thread that runs them in order, and their events.

A job is a forget request plus the method configurations a grid expands to, optionally starting from
a named preset (`presets.resolve`, as `unlearnlab run --preset` and `ul.run(preset=...)` resolve it:
the request's explicit fields override the preset's, one at a time). `plan_job` validates
what it can without building the data set (names, types, ranges, size caps) before anything is
queued, without touching the global random generators: the worker thread may be training at that
moment, and seeding or initialising a model from a request thread would change its run (LAF's VAE
draws from the global generator for its whole fit). For the same reason no request handler may use
the global generators while a job runs. The data set is built by the worker (`JobPlan.build`): a
large one no longer holds a request thread, and what depends on the data (forget classes in range,
a model that fits its shape) fails the job with one line.

Standard data sets (cifar10, mnist, ...) are read from the server's data root (`serve --data-root`,
else `$UNLEARNLAB_DATA`, else the user cache: `data.roots`); a client never sends a path. The server
never downloads them: a multi-hundred-MB download cannot be stopped at a step boundary the way a
job's training can, and would hold the one worker that every other job waits for. A request for a
data set whose files are missing is refused before queueing with one line saying which files to put
where, and a job whose files vanished after it was queued fails with the same line.

The worker calls the runner's `execute` once for θ_o and θ_r and then once per configuration
(each method seeds itself, so the runs equal those of one `unlearnlab run`), which gives every
configuration its own `method_started` and `run_finished` events. Cancellation goes through the
`cancel` event that `execute` honours: a running method is stopped at its next step and recorded
as cancelled. Jobs, their run ids and their events live in memory; finished runs live in the store.

A generative model (`ddpm`: `runner_generative.is_generative`) makes a `GenerativePlan` instead: a class
erasure checked with the CLI's own functions and messages (`gen` options, the diffusion recipe in `train`,
generation methods only), which the worker runs through `runner_generative.execute_generation` with the same
events and cancellation.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import DATASETS, STANDARD, ForgetRequest, load_dataset, parse_dataset_spec, parse_forget, resolve_data_root
from ..data.datasets import MAX_GENERATED_SAMPLES, declared_classes
from ..data.poison import parse_poison
from ..errors import BadInput, Cancelled, UnlearnlabError
from ..methods import METHODS, Method, build_method, method_names
from ..models import MODELS, Classifier, ensure_loaded
from ..models.diffusion import DiffusionConfig
from ..presets import resolve as resolve_preset
from ..runner import GOLD, RunResult, Scenario, execute, prepare, resolve_selection, skipped_methods
from ..runner_generative import (TASK as GENERATION, GenerationConfig, GenerativeScenario, execute_generation,
                                 is_generative, prepare_generation, split_gen_options, train_options)
from ..tasks import get_task
from ..store import Store
from ..training import TrainConfig, pick_device
from ..training.diffusion import DiffusionTrainConfig
from ..training.train import MAX_EPOCHS
from ..validation import check_range
from .schemas import MAX_GRID_VALUES

log = logging.getLogger(__name__)

#: At most this many method configurations per job (the product of every grid, summed over methods).
MAX_CONFIGS = 64
#: Forget accuracy during training is measured on at most this many forget samples.
FORGET_MONITOR_SAMPLES = 512
#: Finished jobs kept in memory (oldest dropped first); their runs stay in the store.
MAX_FINISHED_JOBS = 200
#: Jobs queued or running at once; the next submission is refused (each holds its plan in memory).
MAX_PENDING_JOBS = 32
#: Largest value of a method's epoch or step count in a grid (train.epochs has TrainConfig's cap).
MAX_STEPS_PARAM = MAX_EPOCHS
INT_LIMIT = 2**31 - 1
#: Step-level progress events are sent at most this often (epoch ends and lifecycle events always).
PROGRESS_EVERY_S = 0.25
#: A generative job's denoiser size and batch in the web API (the CLI takes any): a typo of a few zeros would
#: allocate tens of GB in the one worker every other job waits for.
MAX_GEN_WIDTH = 4096
MAX_GEN_DEPTH = 64
MAX_GEN_BATCH = 65_536
FINISHED = ("done", "failed", "cancelled")
_PATH_WORDS = ("path", "file", "dir", "root", "url")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ---------------------------------------------------------------------------------------------------
# Validation: a request becomes a plan or a BadInput naming the bad value


def _is_path(param: str) -> bool:
    return any(w in param.lower() for w in _PATH_WORDS)


def reads_files(dataset: str) -> bool:
    """Whether a registered loader needs a path from the client (the web API refuses those). The
    standard data sets do not: they read the server's own data root."""
    import inspect

    if dataset == "arrays":
        return True
    if dataset in STANDARD:
        return False
    return any(_is_path(p) for p in inspect.signature(DATASETS.get(dataset)).parameters)


def official_split(dataset: str) -> bool:
    """A standard data set read with its official train/test split (CIFAR, MNIST, SVHN): no parameters and
    no groups. A standard set with a loader of its own (olivetti: split per person) is not one."""
    return dataset in STANDARD and STANDARD.get(dataset).read is not None


def web_params(dataset: str) -> dict[str, Any]:
    """The loader parameters a client may set, with their defaults: not the seed (the job's), no path (a
    standard data set reads the server's data root), and none of an official-split set's."""
    if official_split(dataset):
        return {}
    return {k: v for k, v in _loader_defaults(dataset).items() if k != "seed" and not _is_path(k)}


def missing_files(dataset: str, root: Path) -> str | None:
    """None if standard data set `dataset` has all its files under `root` (nothing is read); else one
    line saying which files are missing where and how to get them. The server never downloads them."""
    spec = STANDARD.get(dataset)
    if not root.is_dir():
        return (f"dataset {dataset!r}: the data root {root} does not exist; create it, then "
                f"{spec.instructions(root)} (the server does not download)")
    missing = spec.missing(root)
    if not missing:
        return None
    shown = ", ".join(missing[:2]) + (f" and {len(missing) - 2} more" if len(missing) > 2 else "")
    return (f"dataset {dataset!r}: {shown} missing under {root}; the server does not download: "
            f"{spec.instructions(root)}")


def stored_data_missing(spec: Mapping[str, Any]) -> str | None:
    """For a stored scenario of a standard data set: one line if its files are gone from the data root it
    was read from (recorded in the scenario), so that rebuilding it (a comparison, an audit) is refused
    instead of downloading them; None otherwise."""
    ds = spec.get("dataset", {})
    if ds.get("name") not in STANDARD:
        return None
    recorded = (ds.get("params") or {}).get("data_root")
    root = Path(recorded) if isinstance(recorded, str) and recorded else resolve_data_root().path
    return missing_files(ds["name"], root)


def _type_name(default: Any) -> str:
    if default is None:
        return "any"
    # a sequence default (train.milestones: a tuple, a list in TrainConfig.to_dict) is not settable here
    return {bool: "bool", int: "int", float: "float", str: "str", tuple: "tuple", list: "tuple"}.get(type(default),
                                                                                                  "any")


def check_value(name: str, value: Any, default: Any, *, cap_steps: bool = True) -> Any:
    """A JSON value for a parameter whose default is `default`: same kind, ints widened to floats.
    `cap_steps=False` leaves a step count's range to its owner's check (gen.sample_steps: [1, T])."""
    kind = _type_name(default)
    ok = {"bool": isinstance(value, bool),
          "int": isinstance(value, int) and not isinstance(value, bool),
          "float": isinstance(value, (int, float)) and not isinstance(value, bool),
          "str": isinstance(value, str),
          "tuple": False,
          "any": True}[kind]
    if not ok:
        what = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string",
                "tuple": "a list, which the web API cannot set"}[kind]
        raise BadInput(f"{name}={_short(value)} is not allowed; it must be {what}")
    if kind == "float":
        if not math.isfinite(value):
            raise BadInput(f"{name}={_short(value)} is not allowed; it must be a finite number")
        return float(value)
    if kind == "int" and not -INT_LIMIT <= value <= INT_LIMIT:  # torch and numpy take 64-bit ints at most
        raise BadInput(f"{name}={_short(value)} is not allowed; it must be an integer in [{-INT_LIMIT}, {INT_LIMIT}]")
    if kind == "int" and cap_steps and name.endswith(("epochs", "steps")) and not name.startswith("train.") \
            and value > MAX_STEPS_PARAM:  # train.epochs: TrainConfig's own check says it
        raise BadInput(f"{name}={value!r} is not allowed; it must be at most {MAX_STEPS_PARAM}")
    return value


def _loader_defaults(name: str) -> dict[str, Any]:
    import inspect

    sig = inspect.signature(DATASETS.get(name))
    return {k: (None if p.default is p.empty else p.default) for k, p in sig.parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


@dataclass
class JobPlan:
    """A validated job: what `plan_job` accepted, ready for the worker. The data set is not built
    yet: `build` does that in the worker, where it can be cancelled and where a generator that
    reseeds the global random generators (mnist1d) cannot change another job's run."""

    request: dict[str, Any]
    dataset: str
    dataset_params: dict[str, Any]
    model: str
    forget: ForgetRequest
    seed: int
    train: TrainConfig
    prune: float | None
    methods: list[Method]
    device: str | None = None
    track_forget_accuracy: bool = True
    rerun: bool = False
    #: The server's data root, for a standard data set (None for the others).
    data_root: Path | None = None
    #: The poison (`--poison`) stamped on the training data before θ_o is trained, canonical spec.
    poison: str | None = None

    @property
    def configs(self) -> list[dict[str, Any]]:
        return [{"method": m.name, "hparams": m.get_params()} for m in self.methods]

    def build(self, cancel: threading.Event | None = None) -> Scenario:
        """Build the data set, then resolve the scenario (`prepare`'s checks: forget classes in range,
        the model fits the data); BadInput names what does not fit. A loader cannot be interrupted
        inside, so a cancel request is honoured as soon as it returns. A standard data set's files are
        checked first: missing ones fail the job with one line and are never downloaded."""
        dataset = _load(self.dataset, self.dataset_params, self.seed, self.data_root, cancel)
        return prepare(dataset, self.model, self.forget, seed=self.seed, train=self.train, prune=self.prune,
                       poison=self.poison)


def _load(name: str, dataset_params: Mapping[str, Any], seed: int, data_root: Path | None,
          cancel: threading.Event | None):
    """Build a planned job's data set in the worker: a standard set's files are checked first (missing ones fail
    the job with one line, never downloaded); a cancel request is honoured as soon as the loader returns."""
    params = dict(dataset_params)
    if data_root is not None:
        missing = missing_files(name, data_root)
        if missing is not None:
            raise BadInput(missing)
        params["data_root"] = data_root
    dataset = load_dataset(name, seed=seed, **params)
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled by request")
    return dataset


@dataclass
class GenerativePlan:
    """A validated class-erasure job on a generative model (docs/generative.md): what `plan_job` accepted for a
    model such as `ddpm`. As `JobPlan`, the data set is built by the worker (`build`), which then runs
    `runner_generative.execute_generation` for θ_o and θ_r and once per method configuration."""

    request: dict[str, Any]
    dataset: str
    dataset_params: dict[str, Any]
    model: str
    forget: ForgetRequest
    seed: int
    train: DiffusionTrainConfig
    #: The `gen.*` options (GenerationConfig and DiffusionConfig fields), already checked.
    gen: dict[str, Any]
    methods: list[Method]
    device: str | None = None
    rerun: bool = False
    data_root: Path | None = None
    #: Default-list methods that do not apply to generation, with why (stored with the runs, as the CLI does).
    skipped: dict[str, str] | None = None

    @property
    def configs(self) -> list[dict[str, Any]]:
        return [{"method": m.name, "hparams": m.get_params()} for m in self.methods]

    def build(self, cancel: threading.Event | None = None) -> GenerativeScenario:
        """Build the data set, then resolve the request with the CLI's own checks (`prepare_generation`)."""
        dataset = _load(self.dataset, self.dataset_params, self.seed, self.data_root, cancel)
        return prepare_generation(dataset, self.model, self.forget, seed=self.seed, train=self.train, gen=self.gen)


@dataclass
class RunPlan:
    """A validated job on one finished run (an audit, a generative attack): the run and its configuration."""

    request: dict[str, Any]
    run_id: str
    scenario_id: str
    method: str
    hparams: dict[str, Any]

    @property
    def configs(self) -> list[dict[str, Any]]:
        return [{"method": self.method, "hparams": self.hparams}]


@dataclass
class AuditPlan(RunPlan):
    """A validated audit of one finished run (see `audits.audit_run`): N-member ensembles in worker processes."""

    against: str
    refs: int


@dataclass
class AttackPlan(RunPlan):
    """A validated generative attack of one finished run (see `audits.generative_audit.attack_run`): θ_r's run is
    attacked with the same settings too (or read back), then the run."""

    kind: str
    budget: dict[str, Any]
    n_samples: int
    seed: int


def check_dataset(dataset_spec: str, dataset_params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The data set's name and parameters, checked without building it (that is the job's work)."""
    name, params = parse_dataset_spec(dataset_spec)
    if name == "arrays" or reads_files(name):
        raise BadInput(f"dataset {dataset_spec!r} reads files; the web API accepts only data sets that need "
                       f"no path: {', '.join(n for n in DATASETS.names() if not reads_files(n))}")
    defaults = web_params(name)
    for key, value in dataset_params.items():
        if key in params:
            raise BadInput(f"dataset parameter {key!r} is given twice (in {dataset_spec!r} and dataset_params)")
        params[key] = value
    for key, value in list(params.items()):
        if key == "seed":
            raise BadInput("dataset parameter 'seed' is not allowed; the job's seed sets the split")
        if _is_path(key):  # never a client's path: standard data sets read the server's data root
            raise BadInput(f"dataset parameter {key!r} is a path, which the web API does not accept; the server "
                           "reads standard data sets from its own data root (unlearnlab serve --data-root)")
        if official_split(name):
            raise BadInput(f"dataset {name!r} takes no parameters in the web API (got {key!r}): it keeps the "
                           "official split and is read from the server's data root")
        if key not in defaults:
            raise BadInput(f"unknown parameter {key!r} for dataset {name!r}; allowed: {', '.join(defaults)}")
        params[key] = value = check_value(f"dataset {name}.{key}", value, defaults[key])
        # the loaders check these too, but only once the job runs: refuse them before it is queued
        if key == "num_samples" and not 10 <= value <= MAX_GENERATED_SAMPLES:
            raise BadInput(f"dataset {name}.num_samples={value!r} is not allowed; it must be in "
                           f"[10, {MAX_GENERATED_SAMPLES}]")
        if key == "test_size":
            check_range(f"dataset {name}.test_size", value, 0.0, 1.0, closed="neither")
        if key == "unseen" and value < 0:  # the upper bound (fewer than the groups) needs the data: the job checks it
            raise BadInput(f"dataset {name}.unseen={value!r} is not allowed; it must be an integer >= 0 (the number "
                           "of groups held out as unseen identities)")
    return name, params


def _check_train(train: Mapping[str, Any]) -> dict[str, Any]:
    """The client's training options, each known and of its kind (TrainConfig checks the ranges)."""
    known = TrainConfig().to_dict()
    opts = {}
    for key, value in train.items():
        if key not in known:
            raise BadInput(f"unknown training option train.{key}; allowed: {', '.join(known)}")
        opts[key] = check_value(f"train.{key}", value, known[key])
    return opts


def _expand(names: Sequence[str], grids: Mapping[str, Mapping[str, Sequence[Any]]]) -> list[tuple[str, dict]]:
    """Method configurations, in the order given: one per combination of a method's grid."""
    for key in grids:
        if key == GOLD:
            raise BadInput("retrain has no hyper-parameters of its own; set the training recipe with train.*")
        METHODS.get(key)  # unknown method: BadInput with a suggestion
        if key not in names:
            raise BadInput(f"grids names method {key!r}, which is not among the methods run ({', '.join(names)})")
    checked: dict[str, dict[str, list[Any]]] = {}
    total = 0
    for name in names:
        defaults = METHODS.get(name).param_defaults()
        grid = {}
        for param, values in grids.get(name, {}).items():
            where = f"grids.{name}.{param}"
            if param not in defaults:
                raise BadInput(f"unknown hyper-parameter {name}.{param}; allowed: {', '.join(defaults) or 'none'}")
            if not values:
                raise BadInput(f"{where} is empty; give at least one value")
            if len(values) > MAX_GRID_VALUES:
                raise BadInput(f"{where} has {len(values)} values; at most {MAX_GRID_VALUES} are allowed")
            vals = [check_value(f"{name}.{param}", v, defaults[param]) for v in values]
            for i, v in enumerate(vals):
                if any(v == w and type(v) is type(w) for w in vals[:i]):
                    raise BadInput(f"{where} repeats the value {_short(v)}; give each value once")
            grid[param] = vals
        checked[name] = grid
        total += math.prod(len(v) for v in grid.values())
    if total > MAX_CONFIGS:
        raise BadInput(f"the grids expand to {total} method configurations; at most {MAX_CONFIGS} are allowed per job")
    configs = []
    for name in names:
        grid = checked[name]
        for combo in itertools.product(*grid.values()):
            configs.append((name, dict(zip(grid, combo))))
    return configs


def _with_preset(req, train: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request's data set, model, forget request, methods, grids and training options with preset
    `req.preset` under them (`presets.resolve`: each field the client sent overrides the preset's; a
    grid is a method hyper-parameter given as a list of values); and what the job record adds."""
    given = req.model_fields_set
    chosen = resolve_preset(req.preset, dataset=req.dataset if "dataset" in given else None,
                            model=req.model if "model" in given else None,
                            forget=req.forget if "forget" in given else None,
                            methods=req.methods if "methods" in given else None,
                            overrides=req.grids if "grids" in given else None, train=train)
    grids = {m: {k: v if isinstance(v, list) else [v] for k, v in p.items()} for m, p in chosen.overrides.items()}
    fields = {"dataset": chosen.dataset, "model": chosen.model, "forget": chosen.forget[0],
              "methods": chosen.methods, "grids": grids, "train": chosen.train}
    return fields, {"preset": chosen.preset.name, "preset_overridden": chosen.overridden}


def plan_job(req, data_root: Path | None = None) -> JobPlan | GenerativePlan:
    """Validate a `JobRequest` as far as can be done without building its data set (`JobPlan.build`
    does that in the job); raises BadInput naming the first bad value. A generative model gives a
    `GenerativePlan` (`_plan_generation`). Fast: a request thread never
    waits for a data set. `data_root`: where standard data sets are read (default: `data.roots`'
    resolution); their files must be there."""
    ensure_loaded()  # models of the unlearnlab.models entry points
    if is_generative(req.model):
        if req.preset is not None:
            raise BadInput(f"preset is not supported on generative model {req.model.strip()!r}; it runs θ_o, θ_r and "
                           "the methods here, with gen.* / train.* options only (docs/generative.md)")
        return _plan_generation(req, data_root)
    if getattr(req, "gen", None):
        raise BadInput("gen.* options apply to generative models (--model ddpm); this request's model is a classifier")
    train = _check_train(req.train)
    fields = {"dataset": req.dataset, "model": req.model, "forget": req.forget, "methods": req.methods,
              "grids": req.grids, "train": train}
    extra: dict[str, Any] = {}
    if req.preset is not None:
        fields, extra = _with_preset(req, train)
    if is_generative(fields["model"]):  # a preset naming a generative model
        raise BadInput(f"preset is not supported on generative model {fields['model']!r}; it runs θ_o, θ_r and the "
                       "methods here, with gen.* / train.* options only (docs/generative.md)")
    name, params = check_dataset(fields["dataset"], req.dataset_params)
    root = _data_root(name, data_root)
    request = parse_forget(fields["forget"])
    if request.kind == "indices":
        raise BadInput(f"forget {fields['forget']!r} reads a file; the web API accepts class:C[,C...], random:F "
                       "and random:N")
    # The poison's rate, form and target are checked here where the data set declares its classes; a
    # target of a set that does not (a plugin's) is checked when the data is built, in the job.
    poison = None
    if getattr(req, "poison", None) is not None:
        parsed = parse_poison(req.poison)
        k = declared_classes(name)
        if parsed.target is not None and k is not None and parsed.target >= k:
            raise BadInput(f"poison target {parsed.target} is out of range; it must be in [0, {k - 1}] on {name!r}")
        poison = parsed.spec()
    if request.kind == "poison" and poison is None:
        raise BadInput(f"forget {fields['forget']!r} needs poisoned training data; give poison (e.g. badnets:0.1)")
    config = TrainConfig(**fields["train"])  # BadInput for values out of range (train.epochs above its cap, ...)
    if req.prune is not None:
        check_range("prune", req.prune, 0.0, 1.0, closed="neither")
    MODELS.get(fields["model"])  # an unknown model: BadInput with a suggestion
    if req.device is not None:
        pick_device(req.device)
    if fields["methods"] is None:
        names = [n for n in method_names() if n != GOLD]
    else:
        names = [n for n in fields["methods"] if n != GOLD]  # θ_r always runs
        for n in names:
            cls = METHODS.get(n)
            if not {"classification", "regression"} & set(cls.tasks):  # a generation method on a classifier
                raise BadInput(cls.unsupported("classification"))
        _no_duplicates(names)
    methods = [build_method(name, hp) for name, hp in _expand(names, fields["grids"])]
    record = {**req.model_dump(), **fields, **extra}
    record["methods"] = names
    return JobPlan(record, name, params, fields["model"], request, int(req.seed), config,
                   None if req.prune is None else float(req.prune), methods, req.device,
                   req.track_forget_accuracy, req.rerun, root, poison)


def _data_root(name: str, data_root: Path | None) -> Path | None:
    """Where a standard data set is read (its files must be there: one line if not); None for the others."""
    if name not in STANDARD:
        return None
    root = data_root if data_root is not None else resolve_data_root().path
    missing = missing_files(name, root)
    if missing is not None:
        raise BadInput(missing)
    return root


def _no_duplicates(names: Sequence[str]) -> None:
    dup = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if dup is not None:
        raise BadInput(f"method {dup!r} is listed twice in methods; give a grid to run it several times")


def _typed(prefix: str, given: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """JSON values of known options checked for their kind (finite numbers, ints as ints); unknown names are
    passed on for the runner's own check to name them with the allowed ones."""
    return {k: check_value(f"{prefix}.{k}", v, defaults[k], cap_steps=False) if k in defaults else v
            for k, v in given.items()}


def generation_methods() -> list[str]:
    """The registered methods that apply to generation: a generative job's default list."""
    return [n for n in method_names() if n != GOLD and METHODS.get(n).unsupported(GENERATION) is None]


def _plan_generation(req, data_root: Path | None) -> GenerativePlan:
    """`plan_job` for a generative model: the CLI's checks (`runner_generative`: `split_gen_options`,
    `GenerationConfig.check`, `train_options`, the forget kinds of the generation task, `Method.unsupported`)
    with the same one-line messages, made without building the data set: its classes are the ones its loader
    declares (the worker's `prepare_generation` checks the built data again)."""
    model = req.model.strip()
    given = [k for k in ("prune", "poison") if getattr(req, k, None) is not None]
    if given:
        raise BadInput(f"{given[0]} is not supported on generative model {model!r}; it runs θ_o, θ_r and the methods "
                       "here, with gen.* / train.* options only (docs/generative.md)")
    name, params = check_dataset(req.dataset, req.dataset_params)
    k = declared_classes(name)
    if k is None:
        raise BadInput(f"dataset {name!r} cannot train a class-conditional generator (it declares no classes: a "
                       "regression set or one whose classes depend on its data); give a classification data set "
                       "of images (digits, mnist, fashion_mnist)")
    root = _data_root(name, data_root)
    request = parse_forget(req.forget)
    allowed = get_task(GENERATION).forget_kinds
    if request.kind not in allowed:
        raise BadInput(f"forget {request.spec()!r} does not apply to generative model {model!r}, which erases "
                       f"classes; generation supports: {', '.join(kind + ':C' for kind in allowed)}")
    for c in request.classes:
        if not 0 <= c < k:
            raise BadInput(f"forget class {c!r} is not allowed; dataset {name!r} has classes 0..{k - 1}")
    if len(set(request.classes)) >= k:
        raise BadInput(f"forget {request.spec()!r} erases every class of {name!r}; keep at least one")
    train = train_options(_typed("train", req.train, DiffusionTrainConfig().to_dict()))
    if train.batch_size > MAX_GEN_BATCH:
        raise BadInput(f"train.batch_size={train.batch_size!r} is not allowed; it must be an integer in "
                       f"[1, {MAX_GEN_BATCH}]")
    gen = _typed("gen", req.gen, {**GenerationConfig().to_dict(), **DiffusionConfig().to_dict()})
    gen_kw, model_kw = split_gen_options(gen)
    config = DiffusionConfig(**model_kw)
    GenerationConfig(**gen_kw).check(config.timesteps)
    for option, value, low, top in (("width", config.width, 8, MAX_GEN_WIDTH),
                                    ("depth", config.depth, 1, MAX_GEN_DEPTH)):
        if value > top:
            raise BadInput(f"gen.{option}={value!r} is not allowed; it must be an integer in [{low}, {top}]")
    if req.device is not None:
        pick_device(req.device)
    if req.methods is None:
        names = generation_methods()
    else:
        names = [n for n in req.methods if n != GOLD]  # θ_r always runs
        for n in names:
            why = METHODS.get(n).unsupported(GENERATION)  # an unknown name: BadInput with a suggestion
            if why is not None:
                raise BadInput(why)
        _no_duplicates(names)
    if not names:
        raise BadInput(f"no method applies to generative model {model!r}: none is registered for generation")
    methods = [build_method(n, hp) for n, hp in _expand(names, req.grids)]
    record = {**req.model_dump(), "model": model, "methods": names}
    return GenerativePlan(record, name, params, model, request, int(req.seed), train, {**gen_kw, **model_kw}, methods,
                          req.device, req.rerun, root, skipped_methods(req.methods, GENERATION))


# ---------------------------------------------------------------------------------------------------
# Jobs and their events


def clean(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, numpy scalars Python ones, tuples lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return clean(obj.item())
    if isinstance(obj, Mapping):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    return obj


def run_event(r: RunResult, index: int | None) -> dict[str, Any]:
    metrics = {k: r.metrics.get(k) for k in get_task(r.task).contract_keys}
    metrics.update(r.metrics)
    return clean({"index": index, "run_id": r.run_id, "method": r.method, "hparams": r.hparams,
                  "status": r.status, "reason": r.reason, "cached": r.cached, "metrics": metrics})


class Job:
    """One submitted job: its state, its runs and its event log (replayed to late subscribers)."""

    def __init__(self, job_id: str, plan: JobPlan):
        self.id = job_id
        self.plan: JobPlan | None = plan
        self.request = plan.request
        # a method job learns its scenario id once the worker has built the data set
        self.scenario_id: str | None = plan.scenario_id if isinstance(plan, RunPlan) else None
        self.configs = plan.configs
        self.status = "queued"
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self.run_ids: list[str] = []
        self.current: dict[str, Any] | None = None
        self.error: str | None = None
        self.cancel = threading.Event()
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    @property
    def done(self) -> bool:
        return self.status in FINISHED

    def emit(self, kind: str, *, _final_status: str | None = None, **data: Any) -> dict[str, Any]:
        with self._lock:
            if self.status in FINISHED:  # nothing follows the terminal event (e.g. a late cancel request)
                return self._events[-1]
            event = {"id": len(self._events), "type": kind, "job_id": self.id, "time": time.time(), **clean(data)}
            self._events.append(event)
            if _final_status is not None:  # with the terminal event, under the same lock
                self.status = _final_status
            waiters = list(self._waiters)
        for loop, flag in waiters:
            try:
                loop.call_soon_threadsafe(flag.set)
            except RuntimeError:  # that subscriber's event loop is gone
                self.unsubscribe(loop, flag)
        return event

    def finish(self, status: str, kind: str, **data: Any) -> None:
        """Emit the terminal event and set the final status at once: a subscriber that reads the job
        as finished also reads its terminal event."""
        self.finished = time.time()
        self.current = None
        self.plan = None  # drop the data set and the method objects
        self.emit(kind, _final_status=status, status=status, run_ids=self.run_ids,
                  elapsed_s=None if self.started is None else self.finished - self.started, **data)

    def events_since(self, after: int) -> tuple[list[dict[str, Any]], bool]:
        """Events with id > after, and whether the job had finished when they were read."""
        with self._lock:
            return self._events[after + 1:], self.done

    @property
    def event_count(self) -> int:
        return len(self._events)

    def subscribe(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event:
        flag = asyncio.Event()
        with self._lock:
            self._waiters.add((loop, flag))
        return flag

    def unsubscribe(self, loop: asyncio.AbstractEventLoop, flag: asyncio.Event) -> None:
        with self._lock:
            self._waiters.discard((loop, flag))


class JobProgress:
    """The training loop's ProgressCallback for a job: step progress (throttled) with loss and ETA,
    and after every epoch its mean loss and, optionally, the model's accuracy on (part of) D_f."""

    def __init__(self, job: Job, track_forget: bool = True):
        self.job = job
        self.track_forget = track_forget
        self.x_f: torch.Tensor | None = None
        self.y_f: torch.Tensor | None = None
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}
        self.context: dict[str, Any] = {"index": None, "method": None}
        self.phase: str | None = None
        self.total = self.done = 0
        self.epoch = 1
        self.loss: float | None = None
        self.t0 = self.last = 0.0
        self.job_eta_s: float | None = None

    def set_forget(self, scenario: Scenario) -> None:
        if not self.track_forget or not scenario.dataset.task_type.has_classes:  # regression has no accuracy
            return
        idx = scenario.forget_idx[:FORGET_MONITOR_SAMPLES]
        self.x_f = torch.as_tensor(scenario.dataset.x_train[idx])
        self.y_f = torch.as_tensor(scenario.dataset.y_train[idx])

    def _snapshot(self) -> dict[str, Any]:
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        return {**self.context, "phase": self.phase, "epoch": self.epoch, "step": self.done, "steps": self.total,
                "loss": self.loss, "elapsed_s": elapsed, "eta_s": eta, "job_eta_s": self.job_eta_s}

    # ProgressCallback -----------------------------------------------------------------------------
    def start(self, description: str, total_steps: int) -> None:
        self.phase, self.total, self.done, self.epoch, self.loss = description, int(total_steps), 0, 1, None
        self.t0 = self.last = time.perf_counter()
        self.job.current = self._snapshot()

    def advance(self, steps: int = 1, **info: float) -> None:
        self.done += steps
        self.epoch = int(info.get("epoch", self.epoch))
        if "loss" in info:
            self.loss = float(info["loss"])
        now = time.perf_counter()
        if now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            snap = self._snapshot()
            self.job.current = snap
            self.job.emit("progress", **snap)

    def epoch_end(self, model: torch.nn.Module, *, epoch: int, epochs: int, loss: float) -> None:
        snap = {**self._snapshot(), "epoch": epoch, "epochs": epochs, "loss": loss,
                "forget_acc": self._forget_accuracy(model)}
        self.job.current = snap
        self.job.emit("epoch", **snap)

    def stop(self) -> None:
        self.phase = None

    def _forget_accuracy(self, model: torch.nn.Module) -> float | None:
        # Only classifiers (not e.g. LAF's VAE); modes, gradients and RNG state are left as found.
        if self.x_f is None or not isinstance(model, Classifier):
            return None
        try:
            device = next(model.parameters()).device
            if device not in self._on_device:
                self._on_device[device] = (self.x_f.to(device), self.y_f.to(device))
            x, y = self._on_device[device]
            modes = [(m, m.training) for m in model.modules()]
            try:
                with torch.random.fork_rng(devices=[]), torch.no_grad():
                    model.eval()
                    correct = sum(int((model(x[i:i + 256]).argmax(1) == y[i:i + 256]).sum())
                                  for i in range(0, len(x), 256))
            finally:
                for m, mode in modes:
                    m.training = mode
            return correct / len(x)
        except Exception:  # monitoring never breaks a run
            log.debug("forget accuracy failed", exc_info=True)
            return None


class QueueFull(Exception):
    """Too many jobs are queued or running; the message says how many and what to do."""


class JobManager:
    """The queue and its single worker thread (started on the first submission)."""

    def __init__(self, store_root, *, max_finished: int = MAX_FINISHED_JOBS, max_pending: int = MAX_PENDING_JOBS):
        self.store_root = store_root
        self.max_finished = max_finished
        self.max_pending = max_pending
        self._jobs: dict[str, Job] = {}
        self._queue: deque[Job] = deque()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False

    # queries -----------------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        return list(self._jobs.values())

    def queue_position(self, job: Job) -> int | None:
        with self._cv:
            try:
                return self._queue.index(job) + 1
            except ValueError:
                return None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for job in self.all():
            out[job.status] = out.get(job.status, 0) + 1
        return out

    # commands ----------------------------------------------------------------------------------------
    def submit(self, plan: JobPlan) -> Job:
        with self._cv:
            if self._closing:
                raise RuntimeError("the server is shutting down")
            pending = sum(1 for j in self._jobs.values() if not j.done)
            if pending >= self.max_pending:
                raise QueueFull(f"{pending} jobs are queued or running, the most this server holds; wait for one "
                                "to finish or cancel one, then submit again")
            job = Job(uuid.uuid4().hex[:12], plan)
            self._jobs[job.id] = job
            self._queue.append(job)
            running = self._thread is not None and any(j.status == "running" for j in self._jobs.values())
            job.emit("job_queued", position=len(self._queue), ahead=len(self._queue) - 1 + int(running),
                     scenario_id=job.scenario_id, configs=job.configs)
            self._evict()
            self._ensure_worker()
            self._cv.notify_all()
        return job

    def cancel(self, job: Job) -> bool:
        """Cancel a queued job at once, or ask a running one to stop; False if it had finished."""
        with self._cv:
            if job.done:
                return False
            if job.status == "queued":
                self._queue.remove(job)
                job.cancel.set()
                job.finish("cancelled", "job_cancelled", reason="cancelled while queued")
                self._evict()
                return True
        if not job.cancel.is_set():
            job.cancel.set()
            job.emit("cancel_requested")
        return True

    def shutdown(self, timeout: float = 30.0) -> None:
        """Cancel queued and running jobs and wait for the worker to stop."""
        with self._cv:
            self._closing = True
            while self._queue:
                job = self._queue.popleft()
                job.cancel.set()
                job.finish("cancelled", "job_cancelled", reason="the server shut down")
            for job in self._jobs.values():
                if job.status == "running":
                    job.cancel.set()
            self._cv.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # worker ------------------------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="unlearnlab-jobs", daemon=True)
            self._thread.start()

    def _evict(self) -> None:
        """Drop the oldest finished jobs beyond the limit. Called whenever a job finishes, not only on
        submission: jobs finish after they were submitted, so counting then let the list grow."""
        finished = [j for j in self._jobs.values() if j.done]
        for job in finished[:max(0, len(finished) - self.max_finished)]:
            del self._jobs[job.id]

    def _work(self) -> None:
        store = Store(self.store_root)
        try:
            while True:
                with self._cv:
                    while not self._queue and not self._closing:
                        self._cv.wait()
                    if not self._queue:
                        return
                    job = self._queue.popleft()
                    job.status, job.started = "running", time.time()
                self._run(job, store)
                with self._cv:
                    self._evict()
        finally:
            store.close()

    def _run(self, job: Job, store: Store) -> None:
        """Run a job to its terminal event, whatever happens in it."""
        plan = job.plan
        assert plan is not None
        job.emit("job_started", scenario_id=job.scenario_id, configs=job.configs)
        try:
            if isinstance(plan, AuditPlan):
                self._run_audit(job, store, plan)
            elif isinstance(plan, AttackPlan):
                self._run_attack(job, store, plan)
            elif isinstance(plan, GenerativePlan):
                self._run_generation(job, store, plan)
            else:
                self._run_methods(job, store, plan)
            job.finish("done", "job_done")
        except Cancelled:
            job.finish("cancelled", "job_cancelled", reason="cancelled by request")
        except UnlearnlabError as err:  # BadInput, or θ_o / θ_r diverged
            job.error = str(err)
            job.finish("failed", "job_failed", error=job.error)
        except Exception as err:
            log.exception("job %s failed", job.id)
            job.error = f"{type(err).__name__}: {err}"
            job.finish("failed", "job_failed", error=job.error)

    def _run_methods(self, job: Job, store: Store, plan: JobPlan) -> None:
        progress = JobProgress(job, plan.track_forget_accuracy)
        # the data set is built here, in the one thread that uses the global RNGs, not in the request
        job.current = {"index": None, "method": "data set", "phase": "building the data set"}
        scenario = plan.build(job.cancel)
        if job.cancel.is_set():
            raise Cancelled("cancelled by request")
        if scenario.forget_idx is None:  # worst: / memorised: train models to choose their forget set
            job.current = {"index": None, "method": "selection", "phase": f"selecting {scenario.forget.spec()}"}
            resolve_selection(scenario, store, device=plan.device, cancel=job.cancel)
        job.scenario_id = scenario.id
        # methods that do not apply to the data's task (classification-only ones on regression) are skipped, said
        skipped = {m.name: why for m in plan.methods if (why := type(m).unsupported(scenario.dataset.task))}
        methods = [m for m in plan.methods if m.name not in skipped]
        for name, why in skipped.items():
            job.emit("method_skipped", method=name, reason=why)
        progress.set_forget(scenario)
        self._run_configs(job, store, scenario.id, methods, progress,
                          lambda ms: execute(scenario, ms, store, device=plan.device, progress=progress,
                                             cancel=job.cancel, rerun=plan.rerun, skipped=skipped))

    def _run_generation(self, job: Job, store: Store, plan: GenerativePlan) -> None:
        """A generative job: the data set, then θ_o and θ_r and each configuration through the generative runner
        (`execute_generation`), with the same events and cancellation as a classifier job."""
        progress = JobProgress(job, track_forget=False)  # the forget accuracy reads classifiers only
        job.current = {"index": None, "method": "data set", "phase": "building the data set"}
        scenario = plan.build(job.cancel)
        if job.cancel.is_set():
            raise Cancelled("cancelled by request")
        job.scenario_id = scenario.id
        self._run_configs(job, store, scenario.id, plan.methods, progress,
                          lambda ms: execute_generation(scenario, ms, store, device=plan.device, progress=progress,
                                                        cancel=job.cancel, rerun=plan.rerun, skipped=plan.skipped))

    def _run_configs(self, job: Job, store: Store, scenario_id: str, methods: Sequence[Method],
                     progress: JobProgress, run) -> None:
        """θ_o and θ_r (`run([])`), then one `run([method])` per configuration: each configuration gets its own
        `method_started` and `run_finished` events, and a cancelled run ends the job."""
        n = len(methods)
        progress.context = {"index": None, "method": "references"}
        job.current = dict(progress.context)
        job.emit("references_started", scenario_id=scenario_id)
        try:
            refs = run([])
        except Cancelled:
            job.run_ids += self._cancelled_references(store, scenario_id, job.started or 0.0)
            raise
        for r in refs.runs:
            job.run_ids.append(r.run_id)
            job.emit("run_finished", **run_event(r, None))
        t_methods = time.perf_counter()
        for i, method in enumerate(methods):
            if job.cancel.is_set():
                raise Cancelled("cancelled by request")
            progress.context = {"index": i, "method": method.name}
            if i:
                per = (time.perf_counter() - t_methods) / i
                progress.job_eta_s = per * (n - i)
            job.current = dict(progress.context)
            job.emit("method_started", index=i, total=n, method=method.name, hparams=method.get_params())
            result = run([method])
            r = result.runs[-1]
            job.run_ids.append(r.run_id)
            job.emit("run_finished", **run_event(r, i))
            if r.status == "cancelled":
                raise Cancelled(r.reason or "cancelled by request")

    def _run_audit(self, job: Job, store: Store, plan: AuditPlan) -> None:
        from ..audits import audit_run

        progress = JobProgress(job, track_forget=False)
        progress.context = {"index": 0, "method": f"audit of {plan.method}"}
        result = audit_run(store, plan.run_id, against=plan.against, refs=plan.refs, progress=progress,
                           cancel=job.cancel)
        job.emit("audit_finished", audit_id=result["id"], run_id=plan.run_id, verdicts=result["verdicts"],
                 ulira_accuracy=result["ulira"]["accuracy"], forgetting_quality=result["forgetting_quality"],
                 klom_forget_median=result["klom"]["forget"]["median"])

    def _run_attack(self, job: Job, store: Store, plan: AttackPlan) -> None:
        from ..audits.generative_audit import attack_run

        job.current = {"index": 0, "method": plan.method, "phase": f"{plan.kind} attack"}
        result = attack_run(store, plan.run_id, plan.kind, plan.budget, n_samples=plan.n_samples, seed=plan.seed,
                            cancel=job.cancel)
        vs = result.get("versus_retrain", {})
        job.emit("attack_finished", audit_id=result["id"], run_id=plan.run_id, attack=plan.kind,
                 forget_rate=result["forget_rate"], attack_success_rate=result["attack_success_rate"],
                 retrain_success_rate=vs.get("retrain_success_rate"), p=vs.get("p"), verdict=vs.get("verdict"))

    @staticmethod
    def _cancelled_references(store: Store, scenario_id: str, since: float) -> list[str]:
        return [r.id for r in store.runs(scenario_id, status="cancelled")
                if r.method in ("original", GOLD) and r.created >= since]


__all__ = ["AttackPlan", "AuditPlan", "RunPlan", "FINISHED", "GenerativePlan", "Job", "JobManager", "JobPlan", "JobProgress", "MAX_CONFIGS",
           "MAX_PENDING_JOBS", "QueueFull", "clean", "generation_methods", "missing_files", "plan_job", "reads_files",
           "stored_data_missing", "web_params"]
