"""Request and response models of the JSON API (they are also its OpenAPI documentation)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, WrapValidator
from pydantic_core import PydanticCustomError


def _one_scalar_error(value: Any, handler):
    # A union reports one error per member; the API answers with a single line instead.
    try:
        return handler(value)
    except ValueError:
        raise PydanticCustomError("scalar", "must be a number, a string or true/false") from None


#: A hyper-parameter or option value as JSON gives it.
Scalar = Annotated[Union[bool, int, float, str], WrapValidator(_one_scalar_error)]

#: Bounds of a job request's lists (jobs.MAX_CONFIGS bounds the configurations they expand to).
MAX_METHODS = 64
MAX_GRID_VALUES = 32

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
RunStatus = Literal["running", "done", "failed", "diverged", "cancelled"]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    store: str = Field(description="Absolute path of the store this server reads and writes.")
    jobs: dict[str, int] = Field(description="Jobs held in memory, counted by status.")
    data_root: str = Field(description="Absolute path of the folder the standard data sets are read from.")
    data_root_source: str = Field(description="Where the data root came from: --data-root, $UNLEARNLAB_DATA or "
                                              "the user cache.")


class ParamInfo(BaseModel):
    name: str
    default: Any
    type: str = Field(description="bool, int, float, str, tuple or any: what a value must be.")


class MethodInfo(BaseModel):
    name: str
    params: list[ParamInfo]
    reference_defaults: dict[str, Any] = Field(description="The paper's defaults where ours differ.")
    paper: str
    doc: str
    uses_labels: bool
    needs_retrain: bool = Field(description="Reads θ_r (an oracle upper bound, not a method).")
    tasks: list[str] = Field(["classification"], description="The task types it applies to (classification, "
                                                               "regression, generation); skipped on the others.")
    gridable: bool = Field(description="False for retrain, which always runs and takes no hyper-parameters.")


class DatasetInfo(BaseModel):
    name: str
    params: list[ParamInfo] = Field(description="What a job may set (dataset_params); no path, no seed.")
    doc: str
    web: bool = Field(description="False where the loader reads a path: the web API does not accept it.")
    standard: bool = Field(False, description="A standard data set (CIFAR, MNIST, SVHN), read from the server's "
                                              "data root.")
    present: bool = Field(True, description="Its files are in the server's data root (always true for data sets "
                                            "that read no files). The server never downloads.")
    missing: str | None = Field(None, description="Where files are missing: one line saying which files to put "
                                                  "where.")
    num_classes: int | None = Field(None, description="Its classes, where no parameter changes them (a poison's "
                                    "target is one of 0..num_classes-1); null where they depend on the data.")


class GroupCount(BaseModel):
    group: str = Field(description="The group as a `group:` token (forget `group:G[,G...]`).")
    train: int = Field(description="Its training samples: 0 for an unseen identity (held out by `unseen=N`).")
    test: int = Field(description="Its test samples.")


class DatasetGroups(BaseModel):
    """The groups (persons, patients, devices) of a data set as a job with this seed would build it."""

    dataset: str = Field(description="The data set as asked, NAME[:key=value,...].")
    seed: int
    groups: list[GroupCount] = Field(description="Every group, in `group:` token order; empty for data "
                                                 "without groups.")
    note: str | None = Field(None, description="Why there are none, where there are none.")


class ModelInfo(BaseModel):
    name: str
    params: list[ParamInfo]
    doc: str
    source: Literal["built-in", "entry point"] = Field(
        "built-in", description="'entry point': registered by an installed package's unlearnlab.models entry point.")
    task: Literal["classification", "generation"] = Field(
        "classification", description="generation: a generative model (ddpm), erasing a class; its job takes `gen` "
        "options (its params here) and the diffusion recipe in `train` (Options.generation_train_defaults).")


class PresetInfo(BaseModel):
    """A published protocol's setting (`unlearnlab presets --json`), with whether its data is present."""

    name: str
    paper: str
    dataset: str
    model: str
    recipe: str = Field(description="The training recipe in one line.")
    train: dict[str, Any] = Field(description="train.* options of θ_o and θ_r.")
    forget: list[str] = Field(description="Its forget requests; a job runs one (the first unless `forget` names one).")
    methods: list[str] | None = Field(description="Its methods; null: every registered one.")
    method_params: dict[str, dict[str, Any]] = Field(description="method -> the protocol's hyper-parameters.")
    notes: str = Field(description="Where the preset departs from the paper's code, and why.")
    data_present: bool = Field(description="Its data set's files are in the server's data root.")
    data_missing: str | None = Field(None, description="Otherwise: one line saying which files to put where.")


class PoisonInfo(BaseModel):
    name: str
    form: str = Field(description="The accepted text, e.g. badnets:RATE[,target=C]: a job's `poison` field.")
    params: list[ParamInfo] = Field(description="Its parameters with their defaults (rate, target).")
    paper: str
    doc: str


class Options(BaseModel):
    train_defaults: dict[str, Any]
    forget_forms: list[str]
    max_configs_per_job: int
    max_grid_values: int
    poisons: list[PoisonInfo] = Field(default_factory=list, description="Registered poisons (a job's `poison`; "
                                      "forget `poison` / `poison:F` then names the poisoned samples).")
    generative_models: list[str] = Field(default_factory=list, description="Models whose jobs erase a class from "
                                         "an image generator (docs/generative.md): forget class:C only.")
    generation_train_defaults: dict[str, Any] = Field(default_factory=dict, description="train.* options of a "
                                                      "generative model's θ_o and θ_r (the diffusion recipe).")
    gen_defaults: dict[str, Any] = Field(default_factory=dict, description="A generative job's `gen` options with "
                                         "their defaults: the sampler and metrics (guidance, sample_steps, eta, "
                                         "n_per_class, gallery) and the model (width, depth, timesteps, schedule, "
                                         "p_uncond).")
    task_methods: dict[str, list[str]] = Field(default_factory=dict, description="task -> the methods that apply "
                                               "to it (classification, regression, generation).")


class ScenarioSummary(BaseModel):
    id: str
    dataset: str
    dataset_params: dict[str, Any]
    model: str
    forget: str
    forget_size: int
    forget_classes: list[int] | None
    num_classes: int | None
    n_train: int | None
    n_test: int | None
    seed: int
    train: dict[str, Any]
    prune: float | None
    poison: dict[str, Any] | None = Field(None, description="The poison stamped on the training data before θ_o "
                                          "was trained (spec, target, count, indices_sha256); null when clean.")
    task: str = Field("classification", description="classification, regression or generation (a generative "
                      "request's runs store galleries, not logits).")
    created: float
    runs: int = Field(0, description="Stored runs of this scenario, θ_o and θ_r included.")
    request_usable: bool = Field(True, description="False when a run flagged the forget request unusable "
                                 "(e.g. θ_o at chance); its runs' `warnings` say why.")


class SelectedSample(BaseModel):
    index: int = Field(description="Training-set index.")
    label: int | None = Field(None, description="Its label, where the data set loads without reading a file.")
    score: float | None
    models_in: int | None = Field(None, description="memorised: models whose subset held the sample.")
    models_out: int | None = Field(None, description="memorised: models whose subset did not hold it.")


class SelectionHistogram(BaseModel):
    edges: list[float]
    counts: list[int] = Field(description="Every ranked training sample, per bin.")
    chosen: list[int] = Field(description="The chosen ones, per bin.")


class Selection(BaseModel):
    """How a `worst:` or `memorised:` request chose its forget set (docs/scenarios.md)."""

    scenario_id: str
    forget: str
    kind: str
    score: str = Field(description="What a score is: weight w (worst, bi-level), θ_o loss (worst, by=loss), "
                                   "memorisation (memorised).")
    chosen: str = Field(description="Which end of the scores was chosen: highest or lowest.")
    cutoff: float | None
    size: int
    ranked: int = Field(description="Training samples with a score (memorised: enough models IN and OUT).")
    unranked: int
    details: dict[str, Any] = Field(description="The selector's settings and costs (method, rounds, k, subset, "
                                                "members trained and reused, seconds).")
    samples: list[SelectedSample] = Field(description="The chosen samples, best score first.")
    histogram: SelectionHistogram


class RunSummary(BaseModel):
    """One row of the Screen table."""

    id: str
    scenario_id: str
    method: str
    hparams: dict[str, Any]
    seed: int
    status: RunStatus
    reason: str | None
    cached: bool
    created: float
    finished: float | None
    run_time_s: float | None
    steps: int | None
    samples: int | None
    metrics: dict[str, float | None]
    metric_notes: dict[str, str] = Field(default_factory=dict,
                                         description="Why a metric is null (e.g. an MIA attacker at chance).")
    avg_gap_keys: list[str] | None = Field(None, description="The metrics Avg. Gap averaged.")
    warnings: list[str] = Field(default_factory=list, description="Request-level warnings.")
    request_usable: bool = True
    environment_id: str | None = Field(None, description="Key of the run's environment manifest in the "
                                       "payload's `environments` (details.environment of the run).")
    trained_environment_id: str | None = Field(None, description="Key of the environment its weights were "
                                               "trained in, where that differs (from the cache).")


class RunDetail(RunSummary):
    details: dict[str, Any] = Field(description="Per-class accuracies on the train and test sets.")


class GalleryClass(BaseModel):
    label: int
    name: str
    forgotten: bool = Field(description="True for a class the request forgets.")
    images: list[list[float]] = Field(description="Each image flattened (channel, row, column), values in [0, 1].")


class Gallery(BaseModel):
    """A generative run's fixed-seed samples: the same noise for every run of a scenario."""

    run_id: str
    scenario_id: str
    method: str
    shape: list[int] = Field(description="One image's shape: channels, height, width.")
    classes: list[GalleryClass] = Field(description="One entry per class, in label order.")


class ScreenPayload(BaseModel):
    scenario: ScenarioSummary
    runs: list[RunSummary] = Field(description="θ_o (original) and θ_r (retrain) first, then by creation.")
    environments: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Environment manifests by id, each stored once (runs refer to them).")


class SeedInterval(BaseModel):
    """A mean over seeds and its Student-t interval of the mean (docs/seeds.md)."""

    mean: float | None = Field(description="Mean over the seeds whose finished run has the value; None if none has.")
    lo: float | None = Field(description="Lower end of the interval; None when n < 2 (no interval).")
    hi: float | None = Field(description="Upper end of the interval; None when n < 2.")
    n: int = Field(ge=0, description="Seeds whose finished run has the value.")


class SeedGroup(BaseModel):
    """One method with one hyper-parameter setting, over the request's seeds."""

    label: str = Field(description="The method, followed where it ran with several settings by the settings in "
                                   "which they differ (as `unlearnlab report --over-seeds` labels rows).")
    method: str
    hparams: dict[str, Any]
    reference: bool = Field(description="θ_o (original) or θ_r (retrain): shown, never ranked.")
    seeds: list[int] = Field(description="Seeds with a run of this method and setting.")
    done: int = Field(ge=0, description="Of those, the seeds whose run finished.")
    run_ids: list[str] = Field(description="One run per seed (a seed run twice: its latest finished run).")
    metrics: dict[str, SeedInterval] = Field(description="Each metric's mean over seeds with its interval.")
    distances: dict[str, SeedInterval] = Field(
        description="|metric − θ_r's| per seed (θ_r of the same seed), by metric: the trade-off plot's distance "
                    "axes.")


class RankEntry(BaseModel):
    label: str
    rank: int = Field(ge=1, description="1 + the number of methods whose interval lies wholly on the better side.")
    tied: bool = Field(description="Another method shares this rank: their intervals overlap.")
    mean: float | None


class SeedRanking(BaseModel):
    rank_by: str
    better: Literal["lower", "higher"]
    level: float
    ranks: list[RankEntry] = Field(description="Ranked methods, best first (methods with an interval only).")
    no_winner: bool = Field(description="Several methods share rank 1: their intervals overlap, none wins.")
    unranked: list[str] = Field(description="Methods with fewer than 2 seeds having the metric (no interval).")
    text: str = Field(description="The ranking in one line, e.g. '1. ft; 2. ga, rl (intervals overlap: no winner)'.")


class SeedsPayload(BaseModel):
    """A request's results over every stored seed (scenarios equal but for what the seed decides)."""

    scenario_ids: list[str] = Field(description="The request's scenarios, one per seed, in seed order.")
    seeds: list[int]
    level: float = Field(description="Confidence level of the intervals.")
    metrics: list[str] = Field(description="Metric keys in table order.")
    groups: list[SeedGroup] = Field(description="θ_o and θ_r first, then the methods in the order they ran.")
    ranking: SeedRanking
    note: str | None = Field(description="Set when there is nothing to aggregate (one seed stored).")


class Deleted(BaseModel):
    deleted: str


class JobRequest(BaseModel):
    """A forget request and the method configurations to run on it.

    Each method runs once per combination of its grid (a method without a grid runs once, with its
    defaults); θ_o and θ_r are trained or loaded from the store's cache first.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "dataset": "digits", "model": "cnn", "forget": "class:3", "seed": 0, "train": {"epochs": 20},
        "methods": ["ft", "ga"], "grids": {"ft": {"lr": [0.01, 0.02], "epochs": [3, 5]}}},
        {"preset": "fast-cifar10", "forget": "class:0", "methods": ["ga"], "train": {"epochs": 1}},
        {"dataset": "digits", "model": "ddpm", "forget": "class:3", "methods": ["esd"], "train": {"steps": 500},
         "gen": {"guidance": 2.0, "sample_steps": 20}}]})

    preset: str | None = Field(None, max_length=100, description="A preset (GET /api/presets): its data set, model, "
                               "recipe, forget request and method hyper-parameters, resolved as `unlearnlab run "
                               "--preset` does; every other field given overrides the preset's (train.* and "
                               "grids one value at a time).")
    dataset: str = Field("digits", max_length=200, description="A registered data set, optionally "
                         "NAME:key=value[,...] (e.g. olivetti:unseen=8); arrays:PATH is not accepted here. Standard "
                         "data sets (cifar10, mnist, olivetti, ...) are read from the server's data root, never downloaded by it.")
    dataset_params: dict[str, Scalar] = Field(default_factory=dict, max_length=32)
    model: str = Field("cnn", max_length=100)
    forget: str = Field("class:3", max_length=200, description="class:C[,C...], random:F (fraction), "
                        "random:N (count), poison / poison:F (the poisoned samples, or the share F of them, "
                        "with `poison`), or group:G[,G...] (every sample of a person, on a data set with groups: "
                        "olivetti; GET /api/datasets/groups?dataset=SPEC lists them); indices:PATH is not accepted "
                        "here.")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    train: dict[str, Scalar] = Field(default_factory=dict, max_length=32,
                                     description="train.* options for θ_o and θ_r (a generative model's: the "
                                                 "diffusion recipe, steps, batch_size, lr, ...).")
    prune: float | None = Field(None, description="Prune θ_o to this sparsity first, in (0, 1).")
    gen: dict[str, Scalar] = Field(default_factory=dict, max_length=32, description="A generative model's options "
                                   "(model ddpm; GET /api/options: gen_defaults): guidance, sample_steps, eta, "
                                   "n_per_class, gallery, width, depth, timesteps, schedule, p_uncond, as `unlearnlab "
                                   "run --set gen.NAME=VALUE`. Refused on a classifier.")
    poison: str | None = Field(None, max_length=200, description="Poison the training data before θ_o is trained: "
                               "badnets:RATE[,target=C] (a trigger patch on a share RATE in (0, 1) of the samples "
                               "not of class C, relabelled C); runs then report the trigger's attack success rate "
                               "`asr`.")
    methods: list[Annotated[str, Field(max_length=100)]] | None = Field(
        None, max_length=MAX_METHODS, description="Methods to run; null runs every registered one.")
    grids: dict[str, dict[str, Annotated[list[Scalar], Field(max_length=MAX_GRID_VALUES)]]] = Field(
        default_factory=dict, max_length=MAX_METHODS,
        description="method -> hyper-parameter -> values; the product is run.")
    device: str | None = Field(None, max_length=32, description="auto (default), cpu, cuda or cuda:N.")
    track_forget_accuracy: bool = Field(True, description="Report forget accuracy after every epoch "
                                                          "(a forward pass on up to 512 forget samples).")
    rerun: bool = Field(False, description="Run again even if a finished run with the same resolved "
                                           "configuration exists (otherwise that run is reused and shown as cached).")


class AuditRequest(BaseModel):
    """Audit a finished run against θ_r's ensemble (or another run's method) with N-member ensembles."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"refs": 16, "against": "retrain"}]})

    refs: int = Field(16, ge=6, le=64, description="Members per ensemble (missing ones are trained, then cached).")
    against: str = Field("retrain", max_length=64,
                         description="retrain, or the id of another finished run of the scenario.")


class AttackRequest(BaseModel):
    """Attack a finished generative run's forgotten class (docs/generative_attacks.md); θ_r is attacked with the
    same settings too. Budget fields left out take the attack's defaults; one that does not apply to `kind` is
    refused in one line."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "embedding", "steps": 100, "radius": 1.0, "n_samples": 100, "seed": 0}]})

    kind: Literal["embedding", "relearn"] = Field("embedding", description="embedding (UnlearnDiffAtk-style: the "
                                                  "class embedding within a ball) or relearn (fine-tuning).")
    steps: int | None = Field(None, ge=1, le=5000, description="Optimiser steps (embedding 100, relearn 20).")
    radius: float | None = Field(None, gt=0, le=10, description="Embedding: the ball's radius relative to the "
                                                                "embedding table's scale (1.0).")
    norm: Literal["l2", "linf"] | None = Field(None, description="Embedding: l2 (default) or linf.")
    lr: float | None = Field(None, gt=0, le=10, description="Step size (embedding: relative, 0.05; relearn 1e-3, "
                                                            "at most 1).")
    init: Literal["own", "null", "original"] | None = Field(None, description="Embedding: the start (own).")
    images: int | None = Field(None, ge=1, le=1000, description="Training images of the class the attacker "
                                                                "holds (embedding 16, relearn 8).")
    batch_size: int | None = Field(None, ge=1, le=1024, description="Images per step (embedding 32, relearn 8).")
    noise_search: int | None = Field(None, ge=1, le=64, description="Embedding: initial noises tried per sample, "
                                     "the attacker's own classifier keeping the most class-like (1: no search).")
    n_samples: int = Field(100, ge=2, le=2000, description="Samples of the class read before and after.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the initial noise and of the attacker's draws.")

    def budget(self) -> dict[str, Any]:
        out = {k: v for k in ("steps", "radius", "norm", "lr", "init", "batch_size", "noise_search")
               if (v := getattr(self, k)) is not None}
        if self.images is not None:
            out["n_targets" if self.kind == "embedding" else "samples"] = self.images
        return out


class AttackGallery(BaseModel):
    """A stored generative attack's first samples of the class, before and after (same initial noise)."""

    audit_id: str
    run_id: str
    attack: str
    forget_class: int
    shape: list[int] = Field(description="One image's shape: channels, height, width.")
    before: list[list[float]] = Field(description="Un-attacked samples, flattened, values in [0, 1].")
    after: list[list[float]] = Field(description="The attack's samples from the same noise, in [0, 1].")
    before_pred: list[int] | None = Field(description="The judge's class of each shown sample (None: judge at chance).")
    after_pred: list[int] | None


class MethodConfig(BaseModel):
    method: str
    hparams: dict[str, Any]


class Job(BaseModel):
    id: str
    status: JobStatus
    created: float
    started: float | None
    finished: float | None
    request: dict[str, Any]
    scenario_id: str | None = Field(description="Set once the job has built its data set (null before).")
    configs: list[MethodConfig]
    run_ids: list[str] = Field(description="Stored runs this job produced or reused, θ_o and θ_r included.")
    current: dict[str, Any] | None = Field(description="What is running now: config index, method, phase, "
                                                        "epoch, step, eta_s.")
    error: str | None
    cancel_requested: bool
    queue_position: int | None
    events: int = Field(description="Events so far; GET /api/jobs/{id}/events streams them.")


class AttackSample(BaseModel):
    position: int = Field(description="Row in D_f (ascending training index).")
    index: int | None = Field(description="Training-set index, where the data set can be rebuilt.")
    label: int | None
    value: float = Field(description="The unlearned model's feature value (clipped as the attack does).")
    retrain_value: float
    prediction: int
    retrain_prediction: int
    risk: float = Field(description="Share of θ_r's values the attacker's best direction puts on the other "
                                    "side: 0.5 is typical of θ_r, near 1 looks unlike any θ_r output.")
    attacked: bool = Field(description="Called `unlearned` (correctly) at the max-attack-score threshold; "
                                       "false for every sample when that attack's score is 0.")


class AttackCurve(BaseModel):
    positive: Literal["unlearn", "retrain"] = Field(
        description="Which model's outputs the attacker calls positive when feature >= threshold.")
    thresholds: list[float]
    attack_score: list[float]
    fpr: list[float]
    fnr: list[float]
    success_rate: list[float] = Field(description="1 - (FPR + FNR) / 2 (both sets are D_f, so balanced).")


class ThresholdChoice(BaseModel):
    strategy: Literal["max_attack_score", "max_success_rate", "common_threshold"]
    positive: Literal["unlearn", "retrain"]
    threshold: float
    attack_score: float
    success_rate: float
    fpr: float
    fnr: float
    other_attack_score: float | None = Field(None, description="common_threshold: the compared run's score.")


class AttackResult(BaseModel):
    run_id: str
    retrain_run_id: str
    feature: Literal["entropy", "confidence"]
    temperature: float
    range: tuple[float, float]
    privacy_score: float = Field(description="1 - the best attack score over both features (stored metric).")
    feature_best_score: float = Field(description="The best attack score on this feature.")
    curves: list[AttackCurve]
    strategies: list[ThresholdChoice]
    samples: list[AttackSample]
    compare_run_id: str | None = None


class Error(BaseModel):
    detail: str
