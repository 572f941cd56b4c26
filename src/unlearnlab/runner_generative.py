"""From a class-erasure request on a generative model to stored, scored runs: θ_o, θ_r and each method.

The generative counterpart of `runner` (issue 14): `prepare_generation` resolves and validates every input
without writing anything; `execute_generation` trains or loads θ_o and θ_r (`training.diffusion`, cached in the
store), trains or loads the judge (`metrics.generative.train_judge`, cached), runs every generation method
(registered METHODS with "generation" in `tasks`) through the shared `run_method`, scores every model with
`metrics.generative.evaluate` on fixed sampling seeds (every model starts from the same noise, so differences
are the models') and records each run in the store as the classifier runner does: the scenario spec (model
`ddpm` and its `DiffusionConfig`), hyper-parameters, metrics, weights and, as its stored outputs, a gallery of
samples per class from fixed seeds (what the UI shows side by side). A method that diverges, fails or is
cancelled is recorded with the reason and the others go on.

Erasing a class from a diffusion model, with a retrained model as the gold standard, follows ESD (Gandikota et
al. 2023) and SalUn (Fan et al. 2024); the metrics are read by a held-out classifier (docs/generative.md).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch

from . import numerics
from .data import Dataset, ForgetRequest, load_dataset, parse_dataset_spec, parse_forget
from .errors import BadInput, Cancelled, Diverged
from .methods import Method, UnlearningTask, run_method
from .metrics import avg_gap, avg_gap_keys, speedup
from .metrics.generative import evaluate, train_judge
from .models import MODELS
from .models.diffusion import (GENERATIVE_MODELS, DiffusionConfig, DiffusionModel, SampleConfig, create_generative,
                               sample)
from .runner import (GOLD, INTERRUPTED, Comparison, RunResult, _digest, _normalised, _same_resolution, check_seeds,
                     record_failure)
from .store import Store
from .tasks import get_task
from .training import RunContext, TrainConfig, pick_device
from .training.diffusion import DiffusionTrainConfig, cache_key, recipe_for, train_diffusion
from .validation import check_int, coerce

log = logging.getLogger(__name__)

TASK = "generation"


def is_generative(model: Any) -> bool:
    """Whether `model` names a generative model (a `GENERATIVE_MODELS` entry): the one test by which `api.run`
    picks this runner instead of the classifier one."""
    return isinstance(model, str) and model.strip() in GENERATIVE_MODELS and model.strip() not in MODELS


@dataclass(frozen=True)
class GenerationConfig:
    """How every model of a request is sampled and read (validated; `--set gen.NAME=VALUE`).

    - `guidance`, `sample_steps`, `eta`: the sampler (`models.diffusion.SampleConfig`: w in [0, 20], DDIM steps in
      [1, T], eta in [0, 1]).
    - `n_per_class`: samples per class the metrics read (100: the benchmark's setting, docs/generative.md).
    - `gallery`: samples per class stored with each run for the UI (fixed seed: the same noise for every model).
    """

    guidance: float = 2.0
    sample_steps: int = 50
    eta: float = 0.0
    n_per_class: int = 100
    gallery: int = 8

    def check(self, timesteps: int) -> GenerationConfig:
        self.sampling().check(timesteps)
        check_int("gen.n_per_class", self.n_per_class, minimum=2)
        if self.n_per_class > 10_000:
            raise BadInput(f"gen.n_per_class={self.n_per_class!r} is not allowed; it must be an integer in [2, 10000]")
        check_int("gen.gallery", self.gallery, minimum=1)
        if self.gallery > 64:
            raise BadInput(f"gen.gallery={self.gallery!r} is not allowed; it must be an integer in [1, 64]")
        return self

    def sampling(self) -> SampleConfig:
        return SampleConfig(guidance=self.guidance, steps=self.sample_steps, eta=self.eta)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The `gen.*` options: the sampler's and the metrics' (GenerationConfig) and the model's (DiffusionConfig).
GEN_OPTIONS = (*(f.name for f in fields(GenerationConfig)), *(f.name for f in fields(DiffusionConfig)))


@dataclass(eq=False)
class GenerativeScenario:
    """A resolved class-erasure request on a generative model."""

    dataset: Dataset
    model: str
    forget: ForgetRequest
    seed: int
    config: DiffusionConfig
    train: DiffusionTrainConfig
    gen: GenerationConfig
    seeds: dict[str, int] = field(default_factory=dict)

    @property
    def forget_classes(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.forget.classes)))

    @property
    def forget_idx(self) -> np.ndarray:
        """The forgotten classes' training samples (what a method may read as D_f)."""
        return np.flatnonzero(np.isin(self.dataset.y_train, self.forget_classes)).astype(np.int64)

    def stream_seed(self, stream: str) -> int:
        return self.seeds.get(stream, self.seed)

    def spec(self) -> dict[str, Any]:
        idx = self.forget_idx
        return {
            "task": TASK,
            "dataset": self.dataset.describe(),
            "model": {"name": self.model, "source": "generative", "kwargs": self.config.to_dict()},
            "forget": self.forget.spec(),
            "forget_size": int(len(idx)),
            "forget_classes": list(self.forget_classes),
            "forget_indices_sha256": hashlib.sha256(idx.tobytes()).hexdigest(),
            "seed": self.seed,
            "train": self.train.to_dict(),
            "generation": self.gen.to_dict(),
            "retrain_seed": "independent",
            **({"seeds": dict(sorted(self.seeds.items()))} if self.seeds else {}),
        }

    @property
    def id(self) -> str:
        return _digest(self.spec())[:16]

    def make_model(self) -> DiffusionModel:
        """A freshly initialised model in the data set's range (from the global torch generator: seed first)."""
        net = create_generative(self.model, self.dataset.input_shape, self.dataset.num_classes, self.config)
        net.set_data_range(float(self.dataset.x_train.min()), float(self.dataset.x_train.max()))
        return net


def split_gen_options(options: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """`gen.*` options (strings from the command line are converted) as (GenerationConfig, DiffusionConfig)
    keyword arguments; an unknown one is BadInput naming the allowed ones."""
    gen_defaults = GenerationConfig().to_dict()
    model_defaults = asdict(DiffusionConfig())
    gen, model = {}, {}
    for name, value in (options or {}).items():
        if name in gen_defaults:
            gen[name] = coerce(f"gen.{name}", value, gen_defaults[name])
        elif name in model_defaults:
            model[name] = coerce(f"gen.{name}", value, model_defaults[name])
        else:
            raise BadInput(f"unknown generation option gen.{name}; allowed: {', '.join(GEN_OPTIONS)}")
    return gen, model


def train_options(train: DiffusionTrainConfig | Mapping[str, Any] | None,
                  base: DiffusionTrainConfig | None = None) -> DiffusionTrainConfig:
    """`train.*` options over `base` (default DiffusionTrainConfig(): the digits recipe's)."""
    if isinstance(train, DiffusionTrainConfig):
        return train
    base = base or DiffusionTrainConfig()
    defaults = base.to_dict()
    out = {}
    for name, value in (train or {}).items():
        if name not in defaults:
            raise BadInput(f"unknown training option train.{name} for a generative model; allowed: "
                           f"{', '.join(defaults)}")
        out[name] = coerce(f"train.{name}", value, defaults[name])
    return replace(base, **out)


def prepare_generation(dataset: str | Dataset = "digits", model: str = "ddpm", forget: str | ForgetRequest = "class:3",
                       seed: int = 0, train: DiffusionTrainConfig | Mapping[str, Any] | None = None,
                       gen: Mapping[str, Any] | None = None,
                       seeds: Mapping[str, int] | None = None) -> GenerativeScenario:
    """Resolve and validate a generative request; raises BadInput (one line) naming the bad value. Writes nothing.

    Defaults come from the data set's recipe (`training.diffusion.recipe_for`: digits' 256 x 3 and 2,000 steps,
    MNIST / Fashion-MNIST's 512 x 4 and 10,000 steps); `gen` and `train` override single fields.

    `gen`: the `gen.*` options (GEN_OPTIONS: guidance, sample_steps, eta, n_per_class, gallery, and the model's
    width, depth, timesteps, schedule, p_uncond); `train`: `DiffusionTrainConfig` fields (steps, batch_size, lr,
    weight_decay, ema, grad_clip); `seeds`: {"train", "unlearn", "eval"} streams as in `runner.prepare`."""
    name = model.strip() if isinstance(model, str) else model
    if not is_generative(name):
        raise BadInput(f"model {model!r} is not a generative model; allowed: {', '.join(GENERATIVE_MODELS.names())}")
    check_int("seed", seed, 0)
    gen_kw, model_kw = split_gen_options(gen)
    # The data set's recipe gives the defaults the options override (training.diffusion.RECIPES).
    recipe = recipe_for(parse_dataset_spec(dataset)[0] if isinstance(dataset, str) else dataset.name)
    config = replace(recipe.model, **model_kw)
    gen_cfg = GenerationConfig(**gen_kw).check(config.timesteps)
    train_cfg = train_options(train, recipe.train)
    streams = check_seeds(seeds, int(seed))
    request = parse_forget(forget) if isinstance(forget, str) else forget
    allowed = get_task(TASK).forget_kinds
    if request.kind not in allowed:
        raise BadInput(f"forget {request.spec()!r} does not apply to generative model {name!r}, which erases classes; "
                       f"generation supports: {', '.join(k + ':C' for k in allowed)}")
    if isinstance(dataset, str):
        ds_name, params = parse_dataset_spec(dataset)
        dataset = load_dataset(ds_name, seed=seed, **params)
    if dataset.task != "classification" or len(dataset.input_shape) not in (1, 2, 3):
        raise BadInput(f"dataset {dataset.name!r} ({dataset.task}, inputs {tuple(dataset.input_shape)}) cannot train a "
                       "class-conditional generator; give a classification data set of images (digits, mnist, "
                       "fashion_mnist)")
    k = dataset.num_classes
    for c in request.classes:
        if not 0 <= c < k:
            raise BadInput(f"forget class {c!r} is not allowed; dataset {dataset.name!r} has classes 0..{k - 1}")
    if len(set(request.classes)) >= k:
        raise BadInput(f"forget {request.spec()!r} erases every class of {dataset.name!r}; keep at least one")
    return GenerativeScenario(dataset, name, request, int(seed), config, train_cfg, gen_cfg, streams)


def check_methods(methods: Sequence[Method]) -> None:
    """A classification method asked on a generative model is BadInput (one line), before anything is written."""
    for m in methods:
        why = type(m).unsupported(TASK)
        if why is not None:
            raise BadInput(why)


def _finite(model: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in model.state_dict().values() if t.is_floating_point())


def execute_generation(scenario: GenerativeScenario, methods: Sequence[Method], store: Store, *,
                       device: str | None = None, progress=None, cancel: threading.Event | None = None,
                       rerun: bool = False, skipped: Mapping[str, str] | None = None) -> Comparison:
    """Train or load θ_o, θ_r and the judge, run every method, score and store each run.

    As `runner.execute`: a method whose finished run with the same configuration (hyper-parameters, seed,
    numerics identity, device, versions) is stored is not run again unless `rerun`; θ_o and θ_r are
    deterministic and always reused (their weights from the store's model cache, their runs from the store).
    Ctrl+C marks the run in progress cancelled before it propagates."""
    check_methods(methods)
    with numerics.compute_threads():
        return _execute(scenario, methods, store, pick_device(device), progress, cancel, rerun, dict(skipped or {}))


def _execute(scenario: GenerativeScenario, methods: Sequence[Method], store: Store, dev: torch.device, progress,
             cancel: threading.Event | None, rerun: bool, skipped: dict[str, str]) -> Comparison:
    ds = scenario.dataset
    store.reap_stale()
    sid = store.upsert_scenario(scenario.id, scenario.spec())
    env = numerics.manifest(dev, ds.fingerprint)
    stage = getattr(progress, "stage", None) or (lambda name, index, total: None)
    total = 2 + len(methods)
    gen = scenario.gen
    eval_seed = scenario.stream_seed("eval")
    train_seed = scenario.stream_seed("train")
    forget = scenario.forget_classes
    gap_keys = get_task(TASK).avg_gap_keys
    reference: dict[str, Any] = {}
    done: list = []

    def prior_run(method: str, hparams: Mapping[str, Any]):
        want = _normalised(hparams)
        same = [r for r in done if r.method == method and r.seed == scenario.seed and r.hparams == want
                and _same_resolution(r.details.get("environment"), env)]
        return same[-1] if same else None

    def score(model: DiffusionModel, seconds: float | None, retrain_s: float | None):
        """(metrics, details, stored outputs) of one model; Diverged where its weights or samples are not finite."""
        if not _finite(model):
            raise Diverged("the model's weights are not finite")
        ev = evaluate(model, judge, ds, forget, n_per_class=gen.n_per_class, seed=eval_seed, sampling=gen.sampling())
        images, labels = sample(model, list(range(ds.num_classes)), gen.gallery, eval_seed, config=gen.sampling())
        if not torch.isfinite(images).all():
            raise Diverged("the model's samples are not finite")
        per_class = [v for v in ev["fd_class"].values() if v is not None]
        floors = [v for v in ev["fd_floor"].values() if v is not None]
        metrics: dict[str, float | None] = {
            "forget_rate": ev["forget_rate"], "kept_accuracy": ev["kept_accuracy"], "fd_kept": ev["fd_kept"],
            "fd_class_mean": float(np.mean(per_class)) if per_class else None,
            "fd_floor_mean": float(np.mean(floors)) if floors else None,
            "judge_accuracy": ev["judge_accuracy"],
        }
        if reference:
            gap = avg_gap(metrics, reference, gap_keys)
            metrics["avg_gap"] = None if math.isnan(gap) else gap
        metrics["run_time_s"] = seconds
        metrics["speedup_vs_retrain"] = speedup(retrain_s, seconds) if seconds and retrain_s else None
        details: dict[str, Any] = {
            "fd_class": {str(c): v for c, v in ev["fd_class"].items()},
            "fd_floor": {str(c): v for c, v in ev["fd_floor"].items()},
            "chance": ev["chance"], "generation": gen.to_dict(), "environment": env,
            "judge": {"accuracy": judge.test_accuracy, "key": judge.key[:16], "seed": eval_seed},
        }
        if ev["notes"]:
            details["metric_notes"] = dict(ev["notes"])
        if reference:
            details["retrain_metrics"] = {k: reference.get(k) for k in ("forget_rate", "kept_accuracy", "fd_kept",
                                                                        "fd_class_mean")}
            details["avg_gap_keys"] = avg_gap_keys(metrics, reference, gap_keys)
        if skipped:
            details["skipped_methods"] = dict(skipped)
        outputs = {"gallery": images.numpy().astype(np.float32), "gallery_labels": labels.numpy().astype(np.int64)}
        return metrics, details, outputs

    def record_reference(kind: str, model: DiffusionModel, meta: dict, retrain_s: float | None) -> RunResult:
        hparams = scenario.train.to_dict()
        prior = prior_run(kind, hparams)
        if prior is not None:  # θ_o and θ_r are deterministic: one stored run per scenario is enough
            if kind == GOLD:
                reference.update(prior.metrics)
            return RunResult(kind, hparams, "done", prior.metrics, prior.id, cached=True, details=prior.details,
                             task=TASK)
        run_id = store.start_run(sid, kind, hparams, scenario.seed)
        try:
            metrics, details, outputs = score(model, meta["seconds"], retrain_s)
            if kind == GOLD:
                metrics["avg_gap"] = 0.0
                reference.update(metrics)
            details["seed"] = meta.get("seed")
            if meta.get("environment") not in (None, env):
                details["trained_environment"] = meta["environment"]
            metrics.update(steps=meta["steps"], samples=meta["samples"])
            store.finish_run(run_id, metrics=metrics, run_time_s=meta["seconds"], steps=meta["steps"],
                             samples=meta["samples"], cached=meta.get("cached", False), details=details,
                             weights=model.state_dict(), outputs=outputs)
        except Diverged as err:
            store.fail_run(run_id, "diverged", str(err), run_time_s=meta["seconds"])
            return RunResult(kind, hparams, "diverged", {}, run_id, reason=str(err), task=TASK)
        except KeyboardInterrupt:
            store.fail_run(run_id, "cancelled", INTERRUPTED)
            raise
        return RunResult(kind, hparams, "done", metrics, run_id, cached=meta.get("cached", False), details=details,
                         task=TASK)

    def trained(kind: str, exclude: tuple[int, ...]) -> tuple[DiffusionModel, dict]:
        """θ_o or θ_r from the store's model cache, else trained; without them nothing can be scored."""
        ctx = RunContext(device=dev, seed=train_seed, cancel=cancel, progress=progress)
        key = cache_key(ds.fingerprint, scenario.model, scenario.config, scenario.train, exclude, train_seed, dev.type)
        try:
            # Other requests share this θ_o (another class forgotten): one process trains it, the others load it.
            with store.lock(f"model-{key[:32]}", cancel=cancel):
                out = train_diffusion(ds, exclude, seed=train_seed, config=scenario.config, train=scenario.train,
                                      model=scenario.model, device=dev, store=store, ctx=ctx)
        except (Diverged, Cancelled) as err:
            status = "diverged" if isinstance(err, Diverged) else "cancelled"
            store.fail_run(store.start_run(sid, kind, scenario.train.to_dict(), scenario.seed), status, str(err))
            raise type(err)(f"training {kind} {status}: {err}; change the train.* options") from None
        return out.model, out.meta

    # One process at a time trains and records this scenario's θ_o and θ_r (as the classifier runner).
    with store.lock(f"scenario-{sid}", cancel=cancel):
        done[:] = store.runs(sid, status="done")
        judge = train_judge(ds, seed=eval_seed, store=store)
        stage("original", 1, total)
        original, o_meta = trained("original", ())
        stage(GOLD, 2, total)
        retrained, r_meta = trained(GOLD, forget)
        retrain_s = r_meta["seconds"]
        gold = record_reference(GOLD, retrained, r_meta, retrain_s)
        if gold.status != "done":
            raise Diverged(f"the retrained model's samples are not usable: {gold.reason}")
        results = [record_reference("original", original, o_meta, None), gold]
        results[0].metrics["speedup_vs_retrain"] = None

    x = torch.as_tensor(ds.x_train, device=dev)
    y = torch.as_tensor(ds.y_train, device=dev)
    for index, method in enumerate(methods, start=3):
        hparams = method.get_params()
        stage(method.name, index, total)
        prior = None if rerun else prior_run(method.name, hparams)
        if prior is not None:
            results.append(RunResult(method.name, hparams, "done", prior.metrics, prior.id, cached=True,
                                     details=prior.details, task=TASK))
            continue
        run_id = store.start_run(sid, method.name, hparams, scenario.seed)
        ctx = RunContext(device=dev, seed=scenario.stream_seed("unlearn"), cancel=cancel, progress=progress)
        # TrainConfig(): the classifier recipe is not a diffusion method's; it is passed only because the task's
        # loaders read its augmentation setting (none).
        task = UnlearningTask(x, y, scenario.forget_idx, ds.num_classes, original, scenario.make_model, TrainConfig(),
                              ctx, forget, retrained if method.needs_retrain else None, TASK)
        try:
            res = run_method(method, original, task)
            metrics, details, outputs = score(res.model, res.seconds, retrain_s)
            metrics.update(steps=res.steps, samples=res.samples)
            store.finish_run(run_id, metrics=metrics, run_time_s=res.seconds, steps=res.steps, samples=res.samples,
                             details=details, weights=res.model.state_dict(), outputs=outputs)
            results.append(RunResult(method.name, hparams, "done", metrics, run_id, details=details, task=TASK))
        except KeyboardInterrupt:
            store.fail_run(run_id, "cancelled", INTERRUPTED, steps=ctx.counters.steps, samples=ctx.counters.samples)
            raise
        except Exception as err:  # Diverged and Cancelled included: recorded, and the others go on
            if not isinstance(err, (Diverged, Cancelled, BadInput)):
                log.exception("method %s failed", method.name)
            failed = record_failure(store, method.name, hparams, run_id, err, ctx.counters.steps,
                                    ctx.counters.samples)
            failed.task = TASK
            results.append(failed)
            if isinstance(err, Cancelled):
                break
    return Comparison(scenario={"id": sid, **scenario.spec()}, runs=results, store=str(store.root),
                      skipped=dict(skipped))


def load_generation_model(store: Store, run_id: str, device: str | None = None) -> tuple[GenerativeScenario,
                                                                                         DiffusionModel]:
    """(scenario, model in eval mode) of a stored generative run that finished with weights."""
    record = store.run(run_id)
    if record.status != "done":
        raise BadInput(f"run {run_id!r} is {record.status}, not done; only finished runs can be loaded")
    scenario = load_generation_scenario(store.scenario(record.scenario_id))
    model = scenario.make_model()
    model.load_state_dict(store.load_weights(run_id))
    return scenario, model.to(pick_device(device)).eval()


def load_generation_scenario(spec: Mapping[str, Any]) -> GenerativeScenario:
    """Rebuild a stored generative scenario (`Store.scenario(id)`), checking that its data did not change."""
    from .runner import load_stored_dataset

    dataset = load_stored_dataset(spec)
    scenario = prepare_generation(dataset, spec["model"]["name"], spec["forget"], seed=spec["seed"],
                                  train=spec["train"], gen={**spec["generation"], **spec["model"]["kwargs"]},
                                  seeds=spec.get("seeds"))
    if scenario.id != spec.get("id", scenario.id):
        raise BadInput(f"scenario {spec['id']!r} no longer resolves to the stored request (its code changed)")
    return scenario


__all__ = ["GEN_OPTIONS", "GenerationConfig", "GenerativeScenario", "check_methods", "execute_generation",
           "is_generative", "load_generation_model", "load_generation_scenario", "prepare_generation",
           "split_gen_options", "train_options"]
