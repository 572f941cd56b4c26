"""Reference ensembles: N seeds of θ_o, of θ_r and of "train θ_o, then unlearn with a method".

Member i of every ensemble of a scenario shares its training seed, so method member i starts from
θ_o member i. Each member is a picklable job run by an executor (worker processes by default),
with one torch thread, so its result is the same bits whichever executor ran it. Members are
content-addressed in the store: weights of θ_o/θ_r members (methods start from them) and the
logits of every member on D_f, D_r and D_t; a later audit or a larger N reuses them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .. import numerics
from ..errors import BadInput, CorruptArtifact, Diverged
from ..executors import Executor, make_executor
from ..methods import UnlearningTask, build_method, run_method
from ..runner import Evaluator, Scenario, load_scenario
from ..store import Store
from ..training import RunContext, pick_device, seed_everything, train_classifier

SPLITS = ("forget", "retain", "test")
REFERENCE_KINDS = ("original", "retrain")
#: Bump when a member's computation changes, so stale cached members are not reused.
MEMBER_VERSION = 1


def member_seeds(seed: int, index: int) -> tuple[int, int]:
    """(training seed, unlearning seed) of member `index`: independent streams per (seed, index)."""
    train, unlearn = np.random.SeedSequence([seed, index]).generate_state(2)
    return int(train % 2**31), int(unlearn % 2**31)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class MemberJob:
    """Everything a worker needs to build one member. A method member names its θ_o (and θ_r)
    member by cache key in `store`, and the worker loads it itself: jobs carrying the weights made
    the parent hold every member's at once (16 ResNet-18 pairs: 1.4 GB) and pickle each to a worker."""

    scenario: Mapping[str, Any]
    kind: str
    seed: int
    device: str = "cpu"
    method: str | None = None
    hparams: Mapping[str, Any] = field(default_factory=dict)
    store: str | None = None
    original: str | None = None
    retrained: str | None = None


_SCENARIOS: dict[str, Scenario] = {}


def _scenario(spec: Mapping[str, Any]) -> Scenario:
    key = spec["id"]
    if key not in _SCENARIOS:  # a worker builds each scenario's data once
        _SCENARIOS[key] = load_scenario(spec)
    return _SCENARIOS[key]


_STORES: dict[str, Store] = {}


def _cached_weights(root: str, key: str) -> dict[str, torch.Tensor]:
    if root not in _STORES:  # a worker opens each store once; the parent already cleaned it
        _STORES[root] = Store(root, create=False, clean=False)
    hit = _STORES[root].cache_get(key)
    if hit is None:
        raise CorruptArtifact(f"ensemble member {key} left the cache of store {root} while the audit ran (removed "
                              "as damaged?); run the audit again to rebuild it")
    return hit[0]


def member_job(job: MemberJob) -> dict[str, Any]:
    """Train θ_o / θ_r, or unlearn θ_o with a method; logits on every split, weights for references."""
    scenario, device = _scenario(job.scenario), torch.device(job.device)
    ds = scenario.dataset
    x, y = torch.as_tensor(ds.x_train, device=device), torch.as_tensor(ds.y_train, device=device)
    ctx = RunContext(device=device, seed=job.seed, amp=scenario.train.amp)
    start = time.perf_counter()
    if job.kind in REFERENCE_KINDS:
        seed_everything(job.seed)
        model = scenario.make_model().to(device)
        if job.kind == "retrain":
            keep = torch.as_tensor(scenario.retain_idx, device=device)
            x, y = x.index_select(0, keep), y.index_select(0, keep)
        train_classifier(model, x, y, scenario.train, ctx, description=f"{job.kind} member")
    else:
        def load(key):
            m = scenario.make_model().to(device)
            m.load_state_dict(_cached_weights(job.store, key))
            return m.eval().requires_grad_(False)

        original = load(job.original)
        retrained = load(job.retrained) if job.retrained is not None else None
        task = UnlearningTask(x, y, scenario.forget_idx, ds.num_classes, original, scenario.make_model,
                              scenario.train, ctx, scenario.forget_classes, retrained)
        model = run_method(build_method(job.method, job.hparams), original, task).model
    seconds = time.perf_counter() - start
    out = Evaluator(scenario, torch.as_tensor(ds.x_train, device=device), device).outputs(model)
    result = {"outputs": {k: getattr(out, k) for k in SPLITS},
              "meta": {"seconds": seconds, "steps": ctx.counters.steps, "samples": ctx.counters.samples}}
    if job.kind in REFERENCE_KINDS:
        result["weights"] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return result


@dataclass
class Ensemble:
    """Logits of N members per split, (N, n_split, K) float32, and each member's cost."""

    kind: str
    method: str
    hparams: dict[str, Any]
    logits: dict[str, np.ndarray]
    seconds: list[float]

    @property
    def size(self) -> int:
        return len(self.seconds)


class EnsembleBuilder:
    """Builds (or loads) the ensembles of one stored scenario."""

    def __init__(self, store: Store, scenario_id: str, *, executor: Executor | None = None,
                 device: str | None = None, progress=None, cancel=None):
        self.store = store
        self.spec = store.scenario(scenario_id)
        self.scenario = load_scenario(self.spec)
        if self.scenario.prune is not None:
            raise BadInput("ensembles of pruned scenarios (--prune) are not supported yet; audit a dense scenario")
        self.executor = executor or make_executor()
        self.device = pick_device(device).type
        # Members trained with other kernels (native mode, another CPU) are other bits: other cache entries.
        self.numerics = numerics.identity(numerics.manifest(self.device))
        self.progress, self.cancel = progress, cancel

    # cache keys ----------------------------------------------------------------------------------
    def _reference_key(self, kind: str, index: int) -> str:
        sc = self.scenario
        src = {"member": kind, "v": MEMBER_VERSION, "dataset": sc.dataset.fingerprint, "model": sc.model,
               "kwargs": sc.model_kwargs, "train": sc.train.to_dict(), "seed": member_seeds(sc.seed, index)[0],
               "device": self.device, "threads": 1, "numerics": self.numerics}
        if kind == "retrain":
            src["forget"] = self.spec["forget_indices_sha256"]
        if sc.architecture:  # a model by reference whose code changed under the same name is another model
            src["architecture"] = sc.architecture
        return _digest(src)

    def _method_key(self, method: str, hparams: Mapping[str, Any], index: int, needs_retrain: bool) -> str:
        return _digest({"member": "method", "v": MEMBER_VERSION, "method": method, "hparams": dict(hparams),
                        "original": self._reference_key("original", index),
                        "retrained": self._reference_key("retrain", index) if needs_retrain else None,
                        "seed": member_seeds(self.scenario.seed, index)[1],
                        "forget": self.spec["forget_indices_sha256"]})

    # building ------------------------------------------------------------------------------------
    def _run(self, description: str, jobs: dict[str, MemberJob], on_result) -> None:
        """Run the jobs not cached yet (keyed by cache key), storing each result as it arrives."""
        if not jobs:
            return
        keys = list(jobs)
        if self.progress:
            self.progress.start(description, len(keys))
        try:
            for i, result in self.executor.run(member_job, [jobs[k] for k in keys], self.cancel):
                on_result(keys[i], result)
                if self.progress:
                    self.progress.advance(1)
        except Diverged as err:
            raise Diverged(f"{description}: a member diverged: {err}") from None
        finally:
            if self.progress:
                self.progress.stop()

    def _store_member(self, key: str, result: dict[str, Any], weights: bool) -> None:
        if weights:
            self.store.cache_put(key, result["weights"], result["meta"])
        self.store.put_arrays("members", key, result["outputs"], result["meta"])

    def references(self, n: int, kinds: tuple[str, ...] = REFERENCE_KINDS) -> dict[str, list[str]]:
        """Cache keys of θ_o and/or θ_r members 0..n-1, training the missing ones (all kinds at once,
        so every worker stays busy)."""
        keys = {kind: [self._reference_key(kind, i) for i in range(n)] for kind in kinds}
        missing = {k: MemberJob(self.spec, kind, member_seeds(self.scenario.seed, i)[0], self.device)
                   for kind in kinds for i, k in enumerate(keys[kind])
                   if self.store.get_arrays("members", k) is None or self.store.cache_get(k) is None}
        self._run("reference ensembles" if len(kinds) > 1 else f"{kinds[0]} ensemble", missing,
                  lambda k, r: self._store_member(k, r, weights=True))
        return keys

    def ensemble(self, method: str, hparams: Mapping[str, Any] | None, n: int) -> Ensemble:
        """The N-member ensemble of a method: member i unlearns θ_o member i with the unlearning seed i.

        "original" is θ_o's ensemble (no unlearning). "retrain" as a method retrains from a fresh
        initialisation under the unlearning seed, so its members are retrains independent of the
        reference ensemble (`reference("retrain", n)`): the candidate for a retrain-vs-retrain null check.
        """
        if n < 1:
            raise BadInput(f"ensemble size {n!r} is not allowed; it must be >= 1")
        if method == "original":
            return self.reference("original", n)
        built = build_method(method, hparams)  # validates name and hyper-parameters
        params = built.get_params()
        refs = self.references(n)
        originals = refs["original"]
        retrains = refs["retrain"] if built.needs_retrain else [None] * n
        keys = [self._method_key(method, params, i, built.needs_retrain) for i in range(n)]
        missing = {}
        for i, key in enumerate(keys):
            if self.store.get_arrays("members", key) is None:
                missing[key] = MemberJob(self.spec, "method", member_seeds(self.scenario.seed, i)[1], self.device,
                                         method, params, str(self.store.root), originals[i], retrains[i])
        self._run(f"{method} ensemble", missing, lambda k, r: self._store_member(k, r, weights=False))
        return self._load("method", method, params, keys)

    def reference(self, kind: str, n: int) -> Ensemble:
        """The θ_o ("original") or θ_r ("retrain") ensemble, members 0..n-1."""
        if kind not in REFERENCE_KINDS:
            raise BadInput(f"unknown reference {kind!r}; use one of {', '.join(REFERENCE_KINDS)}")
        if n < 1:
            raise BadInput(f"ensemble size {n!r} is not allowed; it must be >= 1")
        return self._load(kind, kind, {}, self.references(n, (kind,))[kind])

    def _load(self, kind: str, method: str, hparams: dict, keys: list[str]) -> Ensemble:
        members = [self.store.get_arrays("members", k) for k in keys]
        logits = {s: np.stack([m[0][s] for m in members]) for s in SPLITS}
        return Ensemble(kind, method, hparams, logits, [float(m[1]["seconds"]) for m in members])
