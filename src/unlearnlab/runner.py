"""From a forget request to stored, scored runs: θ_o, θ_r (the gold standard) and each method.

`prepare` resolves and validates every input without writing anything; `execute` trains or loads
θ_o and θ_r (content-addressed cache), runs each method through `run_method`, scores every model
against θ_r and records it in the store. A method that diverges or fails is recorded as such and
the others go on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from typing import Any

import numpy as np
import torch
from torch import nn

from . import numerics
from .data import (Dataset, ForgetRequest, check_applies, load_dataset, parse_dataset_spec, parse_forget, select_forget,
                   selection_size)
from .data.datasets import check_input_file
from .data.poison import Poison, Poisoning, poison_dataset
from .errors import BadInput, Cancelled, CorruptArtifact, Diverged, UnlearnlabError, WorkerLost
from .executors import Executor, SerialExecutor, run_each
from .methods import METHODS, Method, UnlearningTask, build_method, method_names, run_method
from .methods.base import MethodResult
from .metrics import (MODEL_CHECKS, EvalContext, ModelOutputs, avg_gap, avg_gap_keys, compute_metrics_with_notes,
                      per_class_accuracy, speedup)
from .models import GivenWeights, ModelSource, check_fits, read_state_dict, resolve_model
from .models.reference import architecture
from .models.weights import MAX_WEIGHTS_BYTES
from .store import Store
from .tasks import get_task
from .training import (RunContext, TrainConfig, apply_masks, global_magnitude_masks, pick_device, predict_logits,
                       seed_everything, train_classifier)
from .validation import check_choice, check_int, check_range

log = logging.getLogger(__name__)

GOLD = "retrain"
#: The reason stored with a run stopped by Ctrl+C (SIGINT).
INTERRUPTED = "cancelled: interrupted (Ctrl+C)"
RETRAIN_SEEDS = ("independent", "shared")
#: The keys of the machine-readable contract (`run --json`) of classification requests; extra metrics ride
#: along. A regression request's are `tasks.Regression.contract_keys` (errors, forget gap, loss MIA).
CONTRACT_KEYS = get_task("classification").contract_keys


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(eq=False)
class Scenario:
    """A resolved forget request: data, split, model, D_f, seed and training recipe."""

    dataset: Dataset
    model: str
    forget: ForgetRequest
    #: D_f's training indices; None until a selected request (`worst:`, `memorised:`) is resolved
    #: (`resolve_selection`, which `execute` calls first).
    forget_idx: np.ndarray | None
    seed: int
    train: TrainConfig
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    #: Sparsity of one-shot global magnitude pruning applied before unlearning (None: dense).
    prune: float | None = None
    #: "independent": θ_r starts from its own initialisation and batch order (a seed derived from
    #: `seed`); "shared": θ_r reuses θ_o's, which makes θ_o-derived models look closer to θ_r than
    #: a real retraining would (the single-run privacy score notably).
    retrain_seed: str = "independent"
    #: How models are built (registered name, reference, in-memory module); resolved from `model` when None.
    source: ModelSource | None = None
    #: Hash of the model's parameter names, shapes and dtypes; recorded for models that are not built in.
    architecture: str | None = None
    #: θ_o / θ_r given as weights files instead of trained here (`--original`, `--retrained`).
    original: GivenWeights | None = None
    retrained: GivenWeights | None = None
    #: Seeds of the streams that differ from `seed` ("train": θ_o and θ_r, "unlearn": the methods, "eval":
    #: the metrics' own randomness); `seed` itself draws the split and the forget set. Empty: one seed for all.
    seeds: dict[str, int] = field(default_factory=dict)
    #: The poison stamped on the training data before θ_o was trained (`dataset` is then the poisoned one).
    poisoning: Poisoning | None = None
    #: How a selected request's indices were chosen (`analysis.selection.Selection`), once resolved here.
    selection: Any = None

    @cached_property
    def retain_idx(self) -> np.ndarray:
        return np.setdiff1d(np.arange(self.dataset.n_train), self.chosen_idx)

    @property
    def chosen_idx(self) -> np.ndarray:
        """`forget_idx`, or an error naming the step missing where a selected request is not resolved yet."""
        if self.forget_idx is None:
            raise UnlearnlabError(f"forget {self.forget.spec()!r} is chosen by training models and is not resolved "
                                  "yet; call runner.resolve_selection(scenario, store) (execute does it first)")
        return self.forget_idx

    @property
    def forget_classes(self) -> tuple[int, ...] | None:
        return tuple(self.forget.classes) if self.forget.is_classwise else None

    def spec(self, pending: bool = False) -> dict[str, Any]:
        """The scenario as stored. `pending=True`: a selected request not resolved yet is described without its
        indices (size, hash: what its seed decides), e.g. for `analysis.seeds.request_key`; else that raises."""
        if pending and self.forget_idx is None:
            return {k: v for k, v in self._spec(np.zeros(0, dtype=np.int64)).items()
                    if k not in ("forget_size", "forget_indices_sha256", "forget_indices")}
        return self._spec(self.chosen_idx)

    def _spec(self, idx: np.ndarray) -> dict[str, Any]:
        return {
            # The data as loaded (the poison is recorded apart and re-applied on load, from the seed).
            "dataset": (self.poisoning.clean if self.poisoning else self.dataset).describe(),
            "model": self.model_source.spec(self.model_kwargs, self.architecture),
            "forget": self.forget.spec(),
            "forget_size": int(len(idx)),
            "forget_classes": list(self.forget_classes) if self.forget_classes else None,
            "forget_indices_sha256": hashlib.sha256(idx.astype(np.int64).tobytes()).hexdigest(),
            # A selected request's indices came from training models: stored, so loading it never selects again.
            **({"forget_indices": idx.tolist()} if self.forget.is_selected else {}),
            "seed": self.seed,
            "train": self.train.to_dict(),
            "prune": self.prune,
            "retrain_seed": self.retrain_seed,
            # Only when set (or given), so the specs (and ids) of scenarios with one seed stay as they were.
            **({"seeds": dict(sorted(self.seeds.items()))} if self.seeds else {}),
            # Only when set, so the ids of clean scenarios stay as they were.
            **({"poison": self.poisoning.describe()} if self.poisoning else {}),
            # Only when given, so the specs (and ids) of scenarios that train both stay as they were.
            **{kind: w.spec() for kind, w in (("original", self.original), ("retrained", self.retrained)) if w},
        }

    def stream_seed(self, stream: str) -> int:
        """The seed of one stream (`SEED_STREAMS`): its own where set, else the scenario's `seed`."""
        return self.seeds.get(stream, self.seed)

    def seed_of(self, kind: str) -> int:
        """The training seed of θ_o ("original") or θ_r ("retrain")."""
        train = self.stream_seed("train")
        if kind == GOLD and self.retrain_seed == "independent":
            return int(np.random.SeedSequence([train, 1]).generate_state(1)[0])
        return train

    @property
    def id(self) -> str:
        return _digest(self.spec())[:16]

    @property
    def model_source(self) -> ModelSource:
        if self.source is None:
            self.source = resolve_model(self.model)
        return self.source

    def given(self, kind: str) -> GivenWeights | None:
        """The weights given for θ_o ("original") or θ_r ("retrain"), or None when trained here."""
        return self.original if kind == "original" else self.retrained if kind == GOLD else None

    def make_model(self) -> nn.Module:
        """A freshly initialised model (from the global torch generator: seed first)."""
        return self.model_source.build(self.dataset.input_shape, self.dataset.num_classes, self.model_kwargs)


#: What `--original` / `--retrained` (`original=` / `retrained=`) may be.
WeightsArg = str | PathLike | GivenWeights | None


def _given(arg: WeightsArg, kind: str) -> GivenWeights | None:
    """Read (and hash) a weights file; a GivenWeights (a stored scenario's record) is taken as it is."""
    if arg is None or isinstance(arg, GivenWeights):
        return arg
    path = str(arg)
    where = f"{kind} weights {path!r}"
    check_input_file(path, where, "give a .safetensors file or a PyTorch state dict (.pt, .pth)", MAX_WEIGHTS_BYTES)
    return read_state_dict(path, where)


def prepare(dataset: str | Dataset = "digits", model: str | nn.Module | Callable[..., nn.Module] = "cnn",
            forget: str | ForgetRequest = "class:3", seed: int = 0,
            train: TrainConfig | Mapping[str, Any] | None = None,
            model_kwargs: Mapping[str, Any] | None = None, prune: float | None = None,
            retrain_seed: str = "independent", original: WeightsArg = None, retrained: WeightsArg = None,
            seeds: Mapping[str, int] | None = None, poison: str | Poison | None = None,
            forget_indices: Sequence[int] | np.ndarray | None = None) -> Scenario:
    """Resolve and validate a scenario; raises BadInput naming the bad value. Writes nothing.

    A selected forget request (`worst:N`, `memorised:N`: indices chosen by training models) is checked here
    and chosen later, by `resolve_selection` (which `execute` calls first, with the store that caches it);
    `forget_indices` gives its indices as chosen before (a stored scenario's, `load_scenario`).

    `seed` draws the split and the forget set and, unless `seeds` says otherwise, every other stream:
    `seeds={"train": T, "unlearn": U, "eval": E}` (any subset) gives training θ_o and θ_r, the unlearning
    methods and the evaluation (the metrics' own randomness, e.g. MIA splits) their own seeds, so that a
    study can vary one source of randomness with the others held (docs/sweeps.md).

    `model`: a registered name, 'package.module:factory[,head=NAME]', an nn.Module or a callable returning
    one (docs/own_model.md). `original` / `retrained`: a weights file (.safetensors, or a PyTorch state dict)
    holding an already trained θ_o / θ_r, which is then loaded instead of trained; it must fit the model.

    `poison`: e.g. "badnets:0.1,target=0" stamps a trigger on a seeded share of the training set and relabels it
    before θ_o is trained (`data.poison`); the forget request `poison` (or `poison:F`) then unlearns it."""
    source = resolve_model(model)  # before the data: a reference that does not import fails at once
    if prune is not None and (original is not None or retrained is not None):
        raise BadInput("--prune retrains θ_o and θ_r under the pruning mask, so it cannot be combined with given "
                       "weights (--original / --retrained); prune the model before saving its weights")
    if retrain_seed == "shared" and original is not None:
        raise BadInput("--retrain-seed shared gives θ_r θ_o's initialisation, which a given θ_o (--original) does "
                       "not have here; use --retrain-seed independent")
    if isinstance(dataset, str):
        name, params = parse_dataset_spec(dataset)
        dataset = load_dataset(name, seed=seed, **params)
    request = parse_forget(forget) if isinstance(forget, str) else forget
    poisoning = None
    if poison is not None and not dataset.task_type.has_classes:
        raise BadInput(f"--poison {poison!r} relabels samples to a target class, so it needs a classification data "
                       f"set; {dataset.name!r} is {dataset.task}")
    if poison is not None:
        check_int("seed", seed, 0)
        dataset, poisoning = poison_dataset(dataset, poison, seed)
    if request.is_selected:
        check_applies(request, dataset)
        idx = _selected_indices(request, dataset, prune, forget_indices)
    else:
        idx = select_forget(request, dataset, seed=seed, poisoned=None if poisoning is None else poisoning.indices)
    if not isinstance(train, TrainConfig):
        known = TrainConfig.__dataclass_fields__
        bad = [k for k in (train or {}) if k not in known]
        if bad:
            raise BadInput(f"unknown training option train.{bad[0]}; allowed: {', '.join(known)}")
        train = TrainConfig(**(train or {}))
    dataset.task_type.train_step(train.label_smoothing)  # label smoothing on regression: BadInput, up front
    if prune is not None:
        check_range("prune", prune, 0.0, 1.0, closed="neither")
    check_choice("retrain_seed", retrain_seed, RETRAIN_SEEDS)
    streams = check_seeds(seeds, int(seed))
    scenario = Scenario(dataset, source.name, request, idx, int(seed), train, dict(model_kwargs or {}),
                        None if prune is None else float(prune), retrain_seed, source, seeds=streams,
                        poisoning=poisoning)
    seed_everything(seed)
    built = scenario.make_model()  # fails early (BadInput) if the model does not fit the data
    if source.source != "registered":
        scenario.architecture = architecture(built)
    for kind, arg in (("original", original), ("retrained", retrained)):
        weights = _given(arg, kind)
        if weights is not None and weights.state is not None:
            check_fits(built, weights.state, f"{kind} weights {weights.path!r}", source.name)
        setattr(scenario, kind, weights)
    return scenario


def _selected_indices(request: ForgetRequest, dataset: Dataset, prune: float | None,
                      given: Sequence[int] | np.ndarray | None) -> np.ndarray | None:
    """A selected request checked (its size fits the data); its indices where already chosen, else None."""
    if prune is not None:
        raise BadInput(f"forget {request.spec()!r} selects on the dense θ_o, so it cannot be combined with --prune; "
                       "use random:N or class:C with --prune")
    size = selection_size(request, dataset.n_train)
    if given is None:
        return None
    idx = np.asarray(given, dtype=np.int64)
    if (idx.ndim != 1 or len(idx) != size or len(np.unique(idx)) != size or idx.min() < 0
            or idx.max() >= dataset.n_train):
        raise BadInput(f"the stored indices of forget {request.spec()!r} are not {size} distinct training indices")
    return np.sort(idx)


def resolve_selection(scenario: Scenario, store: Store | None = None, *, executor: Executor | None = None,
                      device: str | torch.device | None = None, cancel: threading.Event | None = None,
                      progress=None) -> Scenario:
    """Choose a selected request's indices (`worst:`, `memorised:`; `analysis.selection`) where not chosen yet.

    Models trained for it are cached in `store` (subset members, the search's result, and θ_o, which `execute`
    then loads instead of training it again); without a store they live in memory only. Deterministic for the
    scenario's seed: the same indices on every run. Returns the scenario, resolved in place."""
    if scenario.forget_idx is not None:
        return scenario
    from .analysis import selection as sel  # trains models: above the data layer, imported where needed

    dev = pick_device(device)
    env = numerics.manifest(dev, scenario.dataset.fingerprint)
    source = scenario.model_source
    identity = {"dataset": scenario.dataset.fingerprint, "model": scenario.model, "kwargs": scenario.model_kwargs,
                "train": scenario.train.to_dict(), "seed": scenario.seed, "train_seed": scenario.seed_of("original"),
                "original": scenario.original.sha256 if scenario.original else None, "device": dev.type,
                "numerics": numerics.identity(env), "architecture": scenario.architecture,
                "poison": scenario.poisoning.describe() if scenario.poisoning else None}
    worker_spec = None
    if source.reloadable:
        clean = scenario.poisoning.clean if scenario.poisoning else scenario.dataset
        worker_spec = {"data": {"dataset": clean.describe(), "seed": scenario.seed,
                                **({"poison": scenario.poisoning.describe()} if scenario.poisoning else {})},
                       "model": scenario.model, "model_kwargs": scenario.model_kwargs}
    ctx = sel.SelectionContext(scenario.dataset, scenario.make_model, scenario.train, scenario.seed,
                               lambda: _original_for_selection(scenario, store, dev, env, cancel), identity,
                               worker_spec, store, executor, dev, cancel, progress)
    with numerics.compute_threads():
        chosen = sel.select(scenario.forget, ctx)
    scenario.forget_idx = chosen.indices
    scenario.selection = chosen
    scenario.__dict__.pop("retain_idx", None)
    return scenario


def _reference_key(scenario: Scenario, kind: str, dev: torch.device, env: Mapping[str, Any],
                   prune: float | None = None) -> str:
    """The content address of θ_o ("original") or θ_r in the store's model cache."""
    key_src = {"kind": kind, "dataset": scenario.dataset.fingerprint, "model": scenario.model,
               "kwargs": scenario.model_kwargs, "train": scenario.train.to_dict(), "seed": scenario.seed_of(kind),
               "device": dev.type, "prune": prune, "numerics": numerics.identity(env)}
    if kind == GOLD:
        key_src["forget"] = scenario.spec()["forget_indices_sha256"]
    if scenario.architecture:  # a model by reference whose code changed is another model
        key_src["architecture"] = scenario.architecture
    return _digest(key_src)


def _original_for_selection(scenario: Scenario, store: Store | None, dev: torch.device, env: Mapping[str, Any],
                            cancel: threading.Event | None) -> nn.Module:
    """θ_o as `execute` trains it (same seed, recipe and cache key), for a selector: given weights where given;
    cached in `store`, so that `execute` then loads it instead of training it again."""
    seed_everything(scenario.seed_of("original"))
    model = scenario.make_model().to(dev)
    if scenario.original is not None:
        if scenario.original.state is None:
            raise BadInput(f"the given original weights ({scenario.original.describe()}) are not loaded; prepare the "
                           "scenario with the weights file to select its forget set")
        model.load_state_dict(scenario.original.state)
        return model.eval()
    ds = scenario.dataset
    x, y = torch.as_tensor(ds.x_train, device=dev), torch.as_tensor(ds.y_train, device=dev)

    def fit() -> dict[str, Any]:
        _warm_up(scenario.make_model().to(dev), x[:64], y[:64])
        ctx = RunContext(device=dev, seed=scenario.seed_of("original"), amp=scenario.train.amp, cancel=cancel)
        start = time.perf_counter()
        train_classifier(model, x, y, scenario.train, ctx, description="original")
        return {"seconds": time.perf_counter() - start, "steps": ctx.counters.steps,
                "samples": ctx.counters.samples, "environment": env}

    if store is None:
        fit()
        return model.eval()
    key = _reference_key(scenario, "original", dev, env)
    with store.lock(f"model-{key[:32]}", cancel=cancel):
        hit = store.cache_get(key)
        if hit is not None:
            model.load_state_dict(hit[0])
        else:
            meta = fit()
            store.cache_put(key, model.state_dict(), meta)
    return model.eval()


#: The seed streams a scenario can set apart from its `seed` (which draws the split and the forget set).
SEED_STREAMS = ("train", "unlearn", "eval")
#: numpy's legacy seeding and sklearn's random_state take uint32 seeds only.
MAX_SEED = 2**32 - 1


def check_seeds(seeds: Mapping[str, Any] | None, seed: int) -> dict[str, int]:
    """The streams' seeds, checked, without those equal to `seed` (so naming a stream's seed as the scenario
    seed is the same scenario as not naming it)."""
    out: dict[str, int] = {}
    for stream, value in (seeds or {}).items():
        if stream not in SEED_STREAMS:
            raise BadInput(f"unknown seed stream {stream!r}; allowed: {', '.join(SEED_STREAMS)}")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= int(value) <= MAX_SEED:
            raise BadInput(f"{stream} seed {value!r} must be an integer in [0, {MAX_SEED}]")
        if int(value) != seed:
            out[stream] = int(value)
    return out


def load_stored_dataset(spec: Mapping[str, Any], poisoned: bool = True) -> Dataset:
    """The data set of a stored scenario (`Store.scenario(id)`), checked by fingerprint; with its poison
    applied (the data θ_o was trained on) unless `poisoned=False`. Draws from no global random generator
    (unlike `load_scenario`, which builds a model)."""
    ds_spec = spec["dataset"]
    params = {k: v for k, v in ds_spec["params"].items() if k != "seed"}
    if ds_spec["name"] == "arrays":  # stored before `arrays` standardised by default
        params.setdefault("standardize", False)
    dataset = load_dataset(ds_spec["name"], seed=ds_spec["params"].get("seed", spec["seed"]), **params)
    if dataset.fingerprint != ds_spec["fingerprint"]:
        raise BadInput(f"dataset {ds_spec['name']!r} no longer matches the stored scenario (fingerprint "
                       f"{dataset.fingerprint[:12]} != {ds_spec['fingerprint'][:12]}); its files changed")
    if poisoned and spec.get("poison"):
        dataset = poison_dataset(dataset, spec["poison"]["spec"], spec["seed"])[0]
    return dataset


def load_scenario(spec: Mapping[str, Any]) -> Scenario:
    """Rebuild a stored scenario (`Store.scenario(id)`) and check that its data and model did not change.

    A model given by reference is imported again (BadInput, one line, where it cannot be); an in-memory
    model cannot be rebuilt (BadInput); given weights files are not read again (the runs' weights are stored)."""
    model = spec["model"]
    if spec.get("task") == "generation":
        raise BadInput(f"scenario {spec.get('id', '?')!r} is a generative request (model {model['name']!r}); it "
                       "loads with runner_generative.load_generation_scenario, not as a classifier scenario")
    if model.get("source") == "in memory":
        raise BadInput(f"scenario {spec.get('id', '?')!r} was run with an in-memory model ({model['name']}), which "
                       "cannot be rebuilt by name; its runs' weights still load with Store.load_weights(run_id)")
    dataset = load_stored_dataset(spec, poisoned=False)  # prepare applies the poison again
    given = {kind: GivenWeights(spec[kind]["sha256"]) for kind in ("original", "retrained") if spec.get(kind)}
    scenario = prepare(dataset, model["name"], spec["forget"], seed=spec["seed"], train=spec["train"],
                       model_kwargs=model["kwargs"], prune=spec.get("prune"),
                       retrain_seed=spec.get("retrain_seed", "shared"), seeds=spec.get("seeds"),
                       poison=spec["poison"]["spec"] if spec.get("poison") else None,
                       forget_indices=spec.get("forget_indices"), **given)
    if spec.get("poison") and scenario.spec()["poison"] != spec["poison"]:
        raise BadInput(f"poison {spec['poison']['spec']!r} no longer stamps the stored samples; its code changed")
    if scenario.spec()["forget_indices_sha256"] != spec["forget_indices_sha256"]:
        raise BadInput(f"forget request {spec['forget']!r} no longer selects the stored indices; its file changed")
    if _normalised(scenario.spec()["model"]) != _normalised(model):
        raise BadInput(f"model {model['name']!r} no longer builds the stored architecture (its code changed); "
                       "install the version the scenario was run with")
    return scenario


def load_run_model(store: Store, run_id: str, scenario: Scenario | None = None,
                   device: str | torch.device | None = None) -> tuple[Scenario, nn.Module]:
    """(scenario, model in eval mode) of a stored run that finished with weights."""
    record = store.run(run_id)
    if record.status != "done":
        raise BadInput(f"run {run_id!r} is {record.status}, not done; only finished runs can be loaded")
    scenario = scenario or load_scenario(store.scenario(record.scenario_id))
    model = scenario.make_model()
    model.load_state_dict(store.load_weights(run_id))
    return scenario, model.to(pick_device(device)).eval()


@dataclass
class RunResult:
    method: str
    hparams: dict[str, Any]
    status: str
    metrics: dict[str, float | None]
    run_id: str | None = None
    reason: str | None = None
    cached: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    #: The request's task type, whose contract keys `to_contract` lists.
    task: str = "classification"

    def to_contract(self) -> dict[str, Any]:
        metrics = {k: self.metrics.get(k) for k in get_task(self.task).contract_keys}
        metrics.update({k: v for k, v in self.metrics.items() if k not in metrics})
        return {"method": self.method, "run_id": self.run_id, "hparams": self.hparams, "status": self.status,
                "reason": self.reason, "cached": self.cached, "metrics": metrics, "details": self.details}


@dataclass
class Comparison:
    """The outcome of one request: the scenario and every run, θ_o and θ_r included."""

    scenario: dict[str, Any]
    runs: list[RunResult]
    store: str
    #: Methods of the default list that were not run, with why (a classification-only method on regression).
    skipped: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {"scenario": self.scenario, "store": self.store, "runs": [r.to_contract() for r in self.runs]}
        if self.skipped:
            out["skipped"] = dict(self.skipped)
        return out

    def run(self, method: str) -> RunResult:
        return next(r for r in self.runs if r.method == method)


class Evaluator:
    """Forward passes on D_f, D_r, D_t once per model; metrics against θ_r from those logits."""

    def __init__(self, scenario: Scenario, x: torch.Tensor, device: torch.device):
        ds, idx, retain = scenario.dataset, scenario.forget_idx, scenario.retain_idx
        self.scenario = scenario
        self.splits = {"forget": x.index_select(0, torch.as_tensor(idx, device=device)),
                       "retain": x.index_select(0, torch.as_tensor(retain, device=device)),
                       "test": torch.as_tensor(ds.x_test, device=device)}
        self.labels = {"forget": ds.y_train[idx], "retain": ds.y_train[retain], "test": ds.y_test}
        self.poison_target: int | None = None
        if scenario.poisoning is not None:
            # The attack success rate is read on the test samples the backdoor would flip: those not of its target.
            p = scenario.poisoning
            victims = np.flatnonzero(ds.y_test != p.target)
            self.splits["triggered"] = torch.as_tensor(p.stamp(ds.x_test[victims]), device=device)
            self.labels["triggered"] = ds.y_test[victims]
            self.poison_target = p.target
        self.unseen_test: np.ndarray | None = None
        if scenario.forget.kind == "group":
            # MUFAC's non-members: test samples of identities never trained on (none if the test groups are unknown).
            gt = ds.groups_test
            self.unseen_test = (np.zeros(0, dtype=np.int64) if gt is None else
                                np.flatnonzero(~np.isin(gt, ds.groups_train)).astype(np.int64))
        self.reference: ModelOutputs | None = None
        self.reference_metrics: dict[str, float | None] | None = None
        #: Request-level warnings (θ_o at chance), written into every run's details.
        self.warnings: list[str] = []
        #: Methods of the default list not run on this task, with why; written into every run's details.
        self.skipped: dict[str, str] = {}

    def outputs(self, model: nn.Module) -> ModelOutputs:
        out = ModelOutputs(**{k: predict_logits(model, v) for k, v in self.splits.items()})
        bad = [k for k in self.splits if not np.isfinite(getattr(out, k)).all()]
        if bad:
            raise Diverged(f"the model's outputs on {bad[0]} are not finite")
        return out

    def score(self, out: ModelOutputs, seconds: float | None, retrain_seconds: float | None) -> tuple[dict, dict]:
        sc = self.scenario
        ctx = EvalContext(outputs=out, reference=self.reference, y_forget=self.labels["forget"],
                          y_retain=self.labels["retain"], y_test=self.labels["test"],
                          num_classes=sc.dataset.num_classes, forget_classes=sc.forget_classes,
                          seed=sc.stream_seed("eval"), poison_target=self.poison_target,
                          unseen_test=self.unseen_test, task=sc.dataset.task)
        metrics, notes = compute_metrics_with_notes(ctx)
        gap_keys = sc.dataset.task_type.avg_gap_keys
        metrics["avg_gap"] = avg_gap(metrics, self.reference_metrics, gap_keys) if self.reference_metrics else None
        metrics["run_time_s"] = seconds
        metrics["speedup_vs_retrain"] = speedup(retrain_seconds, seconds) if seconds and retrain_seconds else None
        k = sc.dataset.num_classes
        details: dict[str, Any] = {}
        if sc.dataset.task_type.has_classes:
            y_train = np.concatenate([self.labels["forget"], self.labels["retain"]])
            train_logits = np.concatenate([out.forget, out.retain])
            details = {"per_class_test": _nan_to_none(per_class_accuracy(out.test, self.labels["test"], k)),
                       "per_class_train": _nan_to_none(per_class_accuracy(train_logits, y_train, k))}
        if notes:  # why a metric is None: e.g. an MIA attacker at chance
            details["metric_notes"] = notes
        if self.reference_metrics:
            details["avg_gap_keys"] = avg_gap_keys(metrics, self.reference_metrics, gap_keys)
        if self.warnings:
            details["warnings"] = list(self.warnings)
            details["request_usable"] = False
        if self.skipped:
            details["skipped_methods"] = dict(self.skipped)
        return metrics, details

    @staticmethod
    def arrays(out: ModelOutputs) -> dict[str, np.ndarray]:
        arrays = {"forget": out.forget, "retain": out.retain, "test": out.test}
        if out.triggered is not None:
            arrays["triggered"] = out.triggered
        return arrays


def record_failure(store: Store, method: str, hparams: dict, run_id: str, err: BaseException, steps: int,
                   samples: int) -> RunResult:
    """Record a method's run that raised `err` as diverged, cancelled or failed, with the reason (the error's
    type named where it is not one of ours); shared by the classifier and the generative runners."""
    status = "diverged" if isinstance(err, Diverged) else "cancelled" if isinstance(err, Cancelled) else "failed"
    reason = str(err) if isinstance(err, (Diverged, Cancelled, WorkerLost)) else f"{type(err).__name__}: {err}"
    store.fail_run(run_id, status, reason, steps=steps, samples=samples)
    return RunResult(method, hparams, status, {}, run_id, reason=reason)


def _nan_to_none(a: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in a]


def _warm_up(model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str = "classification") -> None:
    """Two throw-away optimiser steps on a scratch model, so one-off process costs (torch.optim's lazy import of
    torch._dynamo, about 2.5 s; first-call kernel set-up) are not billed to whichever model trains first."""
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    for _ in range(2):
        opt.zero_grad()
        get_task(task).loss(model(x), y).backward()
        opt.step()


def skipped_methods(methods: Sequence[str] | None, task: str = "classification") -> dict[str, str]:
    """The methods of the default list (`methods` None: every registered one) that do not apply to `task`,
    with why; none when methods are named (a named one that does not apply is BadInput)."""
    if methods is not None:
        return {}
    return {n: why for n in method_names() if n != GOLD and (why := METHODS.get(n).unsupported(task))}


def resolve_methods(methods: Sequence[str] | None, overrides: Mapping[str, Mapping[str, Any]] | None,
                    task: str = "classification") -> list[Method]:
    """Build (and so validate) each requested method; `None` means every registered method that applies to
    `task` (the others: `skipped_methods`). A named method that does not apply to `task` is BadInput."""
    if methods is not None:
        for m in methods:
            if m != GOLD and m in METHODS and (why := METHODS.get(m).unsupported(task)):
                raise BadInput(why)
    skipped = skipped_methods(methods, task)
    names = [m for m in (methods if methods is not None else method_names()) if m != GOLD and m not in skipped]
    if len(set(names)) != len(names):
        raise BadInput(f"a method is listed twice in {','.join(names)}")
    overrides = dict(overrides or {})
    for key in overrides:
        if key not in METHODS and key != GOLD:
            METHODS.get(key)  # raises BadInput: unknown method
        if key != GOLD and key not in names:
            raise BadInput(f"--set names method {key!r}, which is not among the methods run ({','.join(names)})")
    if overrides.get(GOLD):
        raise BadInput("retrain has no hyper-parameters of its own; set the training recipe with train.<option>")
    return [build_method(n, overrides.get(n)) for n in names]


@dataclass(frozen=True)
class MethodJob:
    """One method's run in a worker: the scenario by spec (rebuilt there once per worker) and θ_o / θ_r by
    their cache keys in `store` (loaded there), so a job is a few kB, not a model."""

    scenario: Mapping[str, Any]
    method: str
    hparams: Mapping[str, Any]
    seed: int
    device: str
    store: str
    original: str
    retrained: str | None = None
    masks: Mapping[str, torch.Tensor] | None = None


_WORKER_SCENARIOS: dict[str, Scenario] = {}
_WORKER_STORES: dict[str, Store] = {}


def method_job(job: MethodJob) -> dict[str, Any]:
    """What a worker runs for `execute`: the method on θ_o and the logits of its model; an error is returned
    (with the work it had counted), not raised, so that one failing method does not end the batch."""
    dev = torch.device(job.device)
    scenario = _WORKER_SCENARIOS.get(job.scenario["id"])
    if scenario is None:  # once per worker and scenario: its data, and the first-step costs off the clock
        scenario = _WORKER_SCENARIOS[job.scenario["id"]] = load_scenario(job.scenario)
        ds = scenario.dataset
        _warm_up(scenario.make_model().to(dev), torch.as_tensor(ds.x_train[:64], device=dev),
                 torch.as_tensor(ds.y_train[:64], device=dev), ds.task)
    if job.store not in _WORKER_STORES:  # the driver cleaned it already
        _WORKER_STORES[job.store] = Store(job.store, create=False, clean=False)
    store, ds = _WORKER_STORES[job.store], scenario.dataset

    def load(key: str) -> nn.Module:
        hit = store.cache_get(key)
        if hit is None:
            raise CorruptArtifact(f"model {key[:12]} left the cache of store {job.store} while the methods ran "
                                  "(removed as damaged?); run the request again")
        model = scenario.make_model().to(dev)
        model.load_state_dict(hit[0])
        return model.eval().requires_grad_(False)

    x, y = torch.as_tensor(ds.x_train, device=dev), torch.as_tensor(ds.y_train, device=dev)
    ctx = RunContext(device=dev, seed=job.seed, amp=scenario.train.amp,
                     masks=None if job.masks is None else dict(job.masks))
    try:
        original = load(job.original)
        retrained = load(job.retrained) if job.retrained is not None else None
        task = UnlearningTask(x, y, scenario.forget_idx, ds.num_classes, original, scenario.make_model,
                              scenario.train, ctx, scenario.forget_classes, retrained, ds.task)
        res = run_method(build_method(job.method, job.hparams), original, task)
        out = Evaluator(scenario, x, dev).outputs(res.model)
    except Exception as err:  # noqa: BLE001  (returned: recorded by the driver like a failure here)
        if not isinstance(err, UnlearnlabError):
            log.exception("method %s failed in a worker", job.method)
        return {"error": err, "steps": ctx.counters.steps, "samples": ctx.counters.samples}
    return {"state": {k: v.detach().cpu() for k, v in res.model.state_dict().items()}, "outputs": out,
            "seconds": res.seconds, "steps": res.steps, "samples": res.samples}


def _parallel_reason(executor: Executor | None, scenario: Scenario, keys: Mapping[str, str],
                     n: int) -> str | None:
    """None when the methods can run in `executor`'s workers; else why they run in this process."""
    if executor is None or isinstance(executor, SerialExecutor) or getattr(executor, "workers", 1) < 2:
        return "no parallel executor"
    if n < 2:
        return "fewer than two methods to run"
    if scenario.model_source.source == "in memory":
        return "the model is an in-memory module, which workers cannot rebuild by name"
    if scenario.original is not None or scenario.retrained is not None or "original" not in keys:
        return "θ_o or θ_r was given as a weights file, which workers do not load"
    return None


def _run_in_workers(todo, executor, scenario, sid, store, dev, keys, masks, cancel, stage, total,
                    finish, failed) -> list[RunResult]:
    """The methods of `todo` in `executor`'s workers; each result is scored and stored as it arrives."""
    spec = {"id": sid, **scenario.spec()}
    jobs, starts = [], []
    for _, method, hparams in todo:
        jobs.append(MethodJob(spec, method.name, hparams, scenario.stream_seed("unlearn"), str(dev),
                              str(store.root), keys["original"], keys.get(GOLD) if method.needs_retrain else None,
                              masks))
        starts.append(store.start_run(sid, method.name, hparams, scenario.seed))
    out: list[RunResult] = []
    finished = set()
    try:
        for i, res in run_each(executor, method_job, jobs, cancel):
            index, method, hparams = todo[i]
            finished.add(i)
            stage(method.name, index, total)
            if isinstance(res, WorkerLost):
                out.append(failed(method, hparams, starts[i], res, 0, 0))
            elif "error" in res:
                out.append(failed(method, hparams, starts[i], res["error"], res["steps"], res["samples"]))
            else:
                model = scenario.make_model().to(dev)
                model.load_state_dict(res["state"])
                result = MethodResult(model, res["seconds"], res["steps"], res["samples"])
                try:
                    out.append(finish(method, hparams, starts[i], result, res["outputs"]))
                except Diverged as err:
                    out.append(failed(method, hparams, starts[i], err, res["steps"], res["samples"]))
    except (Cancelled, KeyboardInterrupt) as err:
        reason = INTERRUPTED if isinstance(err, KeyboardInterrupt) else str(err)
        for i, (_, method, hparams) in enumerate(todo):
            if i not in finished:
                store.fail_run(starts[i], "cancelled", reason)
                out.append(RunResult(method.name, hparams, "cancelled", {}, starts[i], reason=reason))
        if isinstance(err, KeyboardInterrupt):
            raise
    return out


def execute(scenario: Scenario, methods: Sequence[Method], store: Store, *, device: str | None = None,
            progress=None, cancel: threading.Event | None = None, rerun: bool = False,
            executor: Executor | None = None, skipped: Mapping[str, str] | None = None) -> Comparison:
    """Train or load θ_o and θ_r, run every method, score and store each run (each with the
    environment manifest it was computed in, `details["environment"]`).

    A method whose finished run with the same resolved configuration (method, hyper-parameters,
    seed, scenario, numerics identity, device and versions) is already stored is not run again: that
    run is returned, marked cached. `rerun=True` runs every method again (θ_o and θ_r are
    deterministic and always reused). Concurrent requests for the same scenario are serialised on
    its reference models: one process trains θ_o and θ_r, the others wait and reuse them. Ctrl+C
    (KeyboardInterrupt) marks the run in progress cancelled before it propagates.

    `executor` (`unlearnlab.executors`, e.g. a 2-worker "process" pool): the methods run in its workers,
    in parallel, after θ_o and θ_r (which this process trains or loads); each worker rebuilds the scenario
    from its spec and loads θ_o and θ_r from the store's cache, and this process scores and stores every
    result as it arrives. The same bits as one after another here: every job runs with one torch thread,
    as the portable numerics do here (`tests/test_runner_parallel.py`). Methods run here instead when that
    cannot work (see `_parallel_reason`).

    `skipped`: methods of the default list left out because they do not apply to the data's task, with why
    (`skipped_methods`); recorded in every run's details (`skipped_methods`) and in the result."""
    with numerics.compute_threads():
        return _execute(scenario, methods, store, device=device, progress=progress, cancel=cancel, rerun=rerun,
                        executor=executor, skipped=dict(skipped or {}))


def _same_resolution(env: Mapping[str, Any] | None, other: Mapping[str, Any]) -> bool:
    """Whether a stored run's environment would compute the same numbers as `other` (this one)."""
    if not env:
        return False
    versions = ("unlearnlab", "torch")
    return (numerics.identity(dict(env)) == numerics.identity(dict(other)) and env.get("device") == other.get("device")
            and all(env.get("versions", {}).get(v) == other.get("versions", {}).get(v) for v in versions))


def _normalised(obj: Any) -> Any:
    """As it reads back from the store (tuples become lists), so configurations compare equal."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def _execute(scenario: Scenario, methods: Sequence[Method], store: Store, *, device: str | None,
             progress, cancel: threading.Event | None, rerun: bool, executor: Executor | None,
             skipped: dict[str, str] | None = None) -> Comparison:
    dev = pick_device(device)
    store.reap_stale()
    resolve_selection(scenario, store, executor=executor, device=dev, cancel=cancel, progress=progress)
    sid = store.upsert_scenario(scenario.id, scenario.spec())
    if scenario.selection is not None and store.get_arrays("selections", sid) is None:
        # The scenario's own record of how its forget set was chosen (`GET /api/scenarios/{id}/selection`).
        store.put_arrays("selections", sid, scenario.selection.arrays(), scenario.selection.describe())
    total = 2 + len(methods)
    stage = getattr(progress, "stage", None) or (lambda name, index, total: None)

    def waiting(what: str):
        def note() -> None:
            log.info("waiting for another process to finish %s of scenario %s", what, sid)
        return note
    ds = scenario.dataset
    x = torch.as_tensor(ds.x_train, device=dev)
    y = torch.as_tensor(ds.y_train, device=dev)
    evaluator = Evaluator(scenario, x, dev)
    evaluator.skipped = dict(skipped or {})
    train_hp = scenario.train.to_dict()
    env = numerics.manifest(dev, ds.fingerprint)

    masks = None
    keys: dict[str, str] = {}  # θ_o's and θ_r's cache keys, by which method workers load them

    def context(offset: int = 0, seed: int | None = None) -> RunContext:
        return RunContext(device=dev, seed=(scenario.stream_seed("unlearn") if seed is None else seed) + offset,
                          amp=scenario.train.amp, cancel=cancel, progress=progress, masks=masks)

    def trained(kind: str, xs: torch.Tensor, ys: torch.Tensor, prune: float | None = None) -> tuple[nn.Module, dict]:
        """Train (or load from the content-addressed cache) θ_o or θ_r; pruned ones keep `masks`."""
        key = _reference_key(scenario, kind, dev, env, prune)
        keys[kind] = key
        seed_everything(scenario.seed_of(kind))
        model = scenario.make_model().to(dev)
        given = scenario.given(kind)
        if given is not None:  # trained elsewhere: loaded, not trained (so it has no time, steps or cache entry)
            if given.state is None:  # a stored scenario's record: the hash without the tensors
                raise BadInput(f"the given {kind} weights ({given.describe()}) are not loaded; prepare the scenario "
                               "with the weights file to run it")
            model.load_state_dict(given.state)
            return model, {"seconds": None, "steps": 0, "samples": 0, "environment": None,
                           "given": {"path": given.path, "sha256": given.sha256}}
        # Other scenarios share this θ_o (same data, another forget set): one process trains it.
        with store.lock(f"model-{key[:32]}", cancel=cancel, on_wait=waiting(f"training {kind}")):
            hit = store.cache_get(key)
            if hit is not None:
                state, meta = hit
                model.load_state_dict(state)
                return model, {**meta, "cached": True}
            warm_up()
            ctx = context(seed=scenario.seed_of(kind))
            apply_masks(model, ctx.masks)  # rewind to the initialisation, pruned (lottery-ticket style)
            start = time.perf_counter()
            train_classifier(model, xs, ys, scenario.train, ctx, description=kind, task=ds.task)
            meta = {"seconds": time.perf_counter() - start, "steps": ctx.counters.steps,
                    "samples": ctx.counters.samples, "environment": env}
            store.cache_put(key, model.state_dict(), meta)
        return model, {**meta, "cached": False}

    done: list = []  # this scenario's finished runs, read under its lock (below)

    def prior_run(method: str, hparams: Mapping[str, Any]):
        """The newest finished run of this scenario with the same resolved configuration, or None."""
        want = _normalised(hparams)
        same = [r for r in done if r.method == method and r.seed == scenario.seed and r.hparams == want
                and _same_resolution(r.details.get("environment"), env)]
        return same[-1] if same else None

    def record(method: str, hparams: dict, model: nn.Module, meta: dict, retrain_s: float | None) -> RunResult:
        existing = prior_run(method, hparams)
        if existing is not None and method == GOLD:
            try:
                reference = ModelOutputs(**store.load_outputs(existing.id))
            except CorruptArtifact as err:  # unusable: marked failed (artifacts removed), recorded afresh below
                log.warning("%s; recording θ_r again", err)
                store.mark_damaged(existing.id, "its stored outputs were damaged; a new run replaced it")
                existing = None
        if existing is not None:  # θ_o and θ_r are deterministic: one stored run per scenario is enough
            r = existing
            if method == GOLD:
                evaluator.reference = reference
                evaluator.reference_metrics = {k: v for k, v in r.metrics.items() if k != "avg_gap"}
            return RunResult(method, hparams, "done", r.metrics, r.id, cached=True, details=r.details)
        run_id = store.start_run(sid, method, hparams, scenario.seed)
        try:
            out = evaluator.outputs(model)
            if method == GOLD:
                evaluator.reference = out
            metrics, details = evaluator.score(out, meta["seconds"], retrain_s)
            details.update(environment=env, seed=scenario.seed_of(method))
            if meta.get("given"):
                theta = "θ_o" if method == "original" else "θ_r"
                details["given"] = meta["given"]
                details.setdefault("metric_notes", {})["run_time_s"] = (
                    f"not applicable: {theta} was given ({scenario.given(method).describe()}), not trained here")
            if method == GOLD:
                given_retrain_note(details)
            if meta.get("environment") not in (None, env):  # weights trained elsewhere (cache)
                details["trained_environment"] = meta["environment"]
            if method == GOLD:
                evaluator.reference_metrics = metrics
                metrics["avg_gap"] = 0.0
            metrics.update(steps=meta["steps"], samples=meta["samples"])
            store.finish_run(run_id, metrics=metrics, run_time_s=meta["seconds"], steps=meta["steps"],
                             samples=meta["samples"], cached=meta.get("cached", False), details=details,
                             weights=model.state_dict(), outputs=evaluator.arrays(out))
        except Diverged as err:
            store.fail_run(run_id, "diverged", str(err), run_time_s=meta["seconds"])
            return RunResult(method, hparams, "diverged", {}, run_id, reason=str(err))
        except KeyboardInterrupt:
            store.fail_run(run_id, "cancelled", INTERRUPTED)
            raise
        return RunResult(method, hparams, "done", metrics, run_id, cached=meta.get("cached", False), details=details)

    def hparams_of(kind: str) -> dict:
        """θ_o's and θ_r's recorded configuration: the recipe, or the hash of the weights given instead."""
        given = scenario.given(kind)
        return {"weights": "given", "sha256": given.sha256} if given else train_hp

    def given_retrain_note(details: dict) -> None:
        """A given θ_r has no retraining time, so no run has a speed-up against it: said, not printed."""
        if scenario.retrained is not None:
            details.setdefault("metric_notes", {})["speedup_vs_retrain"] = (
                f"not meaningful: θ_r was given ({scenario.retrained.describe()}), not trained here, so there is no "
                "retraining time to compare with")

    def reference_model(kind: str, xs: torch.Tensor, ys: torch.Tensor, prune=None) -> tuple[nn.Module, dict]:
        """θ_o or θ_r; without them nothing can be scored, so their failure ends the request."""
        try:
            return trained(kind, xs, ys, prune)
        except (Diverged, Cancelled) as err:
            run_id = store.start_run(sid, kind, train_hp, scenario.seed)
            status = "diverged" if isinstance(err, Diverged) else "cancelled"
            store.fail_run(run_id, status, str(err))
            raise type(err)(f"training {kind} {status}: {err}; change the train.* options") from None

    warm: list[bool] = []

    def warm_up() -> None:
        """Once, before this process trains anything: not when every model comes from the cache and the
        methods run in workers (the first steps' costs, torch._dynamo's import among them, are seconds)."""
        if not warm:
            _warm_up(scenario.make_model().to(dev), x[:64], y[:64], ds.task)
            warm.append(True)

    # One process at a time trains and records this scenario's θ_o and θ_r; a concurrent request
    # for it waits here, then finds both in the cache and the store.
    with store.lock(f"scenario-{sid}", cancel=cancel, on_wait=waiting("θ_o and θ_r")):
        done[:] = store.runs(sid, status="done")
        stage("original", 1, total)
        original, o_meta = reference_model("original", x, y)
        if scenario.prune is not None:
            # Prune first, then unlearn: the mask comes from the dense θ_o; θ_o and θ_r are both retrained
            # from the same initialisation under it, and every method keeps it (ctx.masks).
            masks = global_magnitude_masks(original, scenario.prune)
            dense_s = o_meta["seconds"]
            original, o_meta = reference_model("original", x, y, scenario.prune)
            o_meta = {**o_meta, "seconds": o_meta["seconds"] + dense_s}
        # A θ_o no better than the majority class (e.g. collapsed on unscaled features) learned nothing to
        # unlearn: every method would copy it and score "perfectly" against an equally constant θ_r.
        model_check = MODEL_CHECKS.get(ds.task)
        o_check = model_check(predict_logits(original, evaluator.splits["test"]), ds.y_test)
        if o_check.at_chance:
            evaluator.warnings.append(
                f"request unusable: the original model is at chance (test {o_check.describe()}, {o_check.baseline}"
                "), so it learned nothing to unlearn; check the feature scaling and train.epochs / train.lr")
        retain = torch.as_tensor(scenario.retain_idx, device=dev)
        stage(GOLD, 2, total)
        retrained, r_meta = reference_model(GOLD, x.index_select(0, retain), y.index_select(0, retain), scenario.prune)
        retrain_s = r_meta["seconds"]
        # θ_r can collapse too (seed 3 of the default request: one class predicted, RA 0.11); every score
        # against it would then measure closeness to a constant. Judged on the classes it was trained on.
        kept = ~np.isin(ds.y_test, scenario.forget_classes or ())
        if kept.any():
            r_check = model_check(predict_logits(retrained, evaluator.splits["test"][torch.as_tensor(kept)]),
                                  ds.y_test[kept])
            if r_check.at_chance:
                evaluator.warnings.append(
                    f"request unusable: the retrained model θ_r is at chance"
                    f"{' on the retained classes' if ds.task_type.has_classes else ''} (test "
                    f"{r_check.describe()}), so nothing can be scored against it; change the seed or "
                    "train.epochs / train.lr")
        # θ_r first: every other run is scored against it.
        gold = record(GOLD, hparams_of(GOLD), retrained, r_meta, retrain_s)
        if gold.status != "done":
            raise Diverged(f"the retrained model's outputs are not usable: {gold.reason}")
        results = [record("original", hparams_of("original"), original, o_meta, None), gold]
        results[0].metrics["speedup_vs_retrain"] = None
        for reference in (original, retrained):  # read-only for every method (teachers, oracles)
            reference.eval().requires_grad_(False)

    todo: list[tuple[int, Method, dict]] = []
    for index, method in enumerate(methods, start=3):
        hparams = method.get_params()
        prior = None if rerun else prior_run(method.name, hparams)
        if prior is not None:
            stage(method.name, index, total)
            results.append(RunResult(method.name, hparams, "done", prior.metrics, prior.id, cached=True,
                                     details=prior.details))
        else:
            todo.append((index, method, hparams))

    def finish(method: Method, hparams: dict, run_id: str, res: MethodResult, out: ModelOutputs) -> RunResult:
        metrics, details = evaluator.score(out, res.seconds, retrain_s)
        details["environment"] = env
        given_retrain_note(details)
        metrics.update(steps=res.steps, samples=res.samples)
        store.finish_run(run_id, metrics=metrics, run_time_s=res.seconds, steps=res.steps, samples=res.samples,
                         details=details, weights=res.model.state_dict(), outputs=evaluator.arrays(out))
        return RunResult(method.name, hparams, "done", metrics, run_id, details=details)

    def failed(method: Method, hparams: dict, run_id: str, err: BaseException, steps: int, samples: int) -> RunResult:
        return record_failure(store, method.name, hparams, run_id, err, steps, samples)

    parallel = _parallel_reason(executor, scenario, keys, len(todo))
    if parallel is None:
        results += _run_in_workers(todo, executor, scenario, sid, store, dev, keys, masks, cancel, stage, total,
                                   finish, failed)
    else:
        if executor is not None and getattr(executor, "workers", 1) > 1 and len(todo) > 1:
            log.info("methods run one after another in this process: %s", parallel)
        if todo:
            warm_up()
        for index, method, hparams in todo:
            stage(method.name, index, total)
            run_id = store.start_run(sid, method.name, hparams, scenario.seed)
            ctx = context()
            task = UnlearningTask(x, y, scenario.forget_idx, ds.num_classes, original, scenario.make_model,
                                  scenario.train, ctx, scenario.forget_classes,
                                  retrained if method.needs_retrain else None, ds.task)
            try:
                res = run_method(method, original, task)
                results.append(finish(method, hparams, run_id, res, evaluator.outputs(res.model)))
            except KeyboardInterrupt:
                store.fail_run(run_id, "cancelled", INTERRUPTED, steps=ctx.counters.steps,
                               samples=ctx.counters.samples)
                raise
            except Exception as err:  # Diverged and Cancelled included: recorded, and the others go on
                if not isinstance(err, (Diverged, Cancelled)):
                    log.exception("method %s failed", method.name)
                results.append(failed(method, hparams, run_id, err, ctx.counters.steps, ctx.counters.samples))
                if isinstance(err, Cancelled):
                    break
    order = {m.name: i for i, m in enumerate(methods)}  # the methods' order, whichever finished first
    results[2:] = sorted(results[2:], key=lambda r: order.get(r.method, len(order)))
    for r in results:
        r.task = ds.task
        if skipped:  # cached runs too: their stored details are from the request that ran them
            r.details = {**r.details, "skipped_methods": dict(skipped)}
    return Comparison(scenario={"id": sid, **scenario.spec()}, runs=results, store=str(store.root),
                      skipped=dict(skipped or {}))

