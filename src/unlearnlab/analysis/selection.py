"""Selected forget sets: the indices of `worst:` and `memorised:` requests, chosen by training models.

- `worst:N` (Fan et al. 2024, "Challenging Forgets: Unveiling the Worst-Case Forget Sets in Machine
  Unlearning", ECCV): the forget set whose unlearning leaves the most behind, found by their bi-level search.
  Data weights w in [0, 1]^n with sum m; the lower level unlearns θ_o for a few epochs with the weighted loss
  (fine-tuning: sum (1 - w_i) l_i; gradient ascent: -sum w_i l_i), the upper level takes a first-order step on
  w against the loss the unlearned model still gives each sample (w <- w - eta * l, so samples it still fits
  gain weight), then projects w onto the capped simplex {0 <= w <= 1, sum w = m}; the set is the top m of the
  final w. `by=loss` is the cheap proxy: the m samples with θ_o's lowest loss, which is where the first upper
  step from uniform weights points (the lower level starts at θ_o, which fits almost every sample); the search
  then moves away from it only where unlearning changes the losses (docs/scenarios.md compares the two).
- `memorised:N` (Feldman & Zhang 2020, "What Neural Networks Memorize and Why: Discovering the Long Tail via
  Influence Estimation", NeurIPS): the N training points with the highest
  mem(i) = P[h(x_i) = y_i | i in S] - P[h(x_i) = y_i | i not in S], over K models trained with the scenario's
  recipe on random subsets S (a share `subset` of the training set). A point needs at least `MIN_MODELS`
  models on each side to be ranked; the others get no score (NaN) and are never chosen.

Selectors are registered by kind (`register_selector`) and reached from `runner.resolve_selection`. Subset
members are content-addressed in the store like the audit ensembles' members (`audits.ensemble`): the same
executor jobs with one torch thread, the same `members` area; a second request (any N) or a larger K trains
only the members it lacks. A search's result is cached under its inputs (`selections` area), so loading a
stored scenario never searches again (its indices are in its spec anyway). Each entry is written whole
(`Store.put_arrays`): a cancelled selection leaves only complete members behind.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data import Dataset, ForgetRequest, selection_size
from ..errors import BadInput
from ..executors import Executor, SerialExecutor
from ..store import Store
from ..training import RunContext, TrainConfig, predict_logits, seed_everything, train_classifier

#: Bump when a selection's or a subset member's computation changes, so stale cache entries are not reused.
SELECTION_VERSION = 1
#: Fewest models with a point IN (and OUT) of their subset for its memorisation score to be ranked.
MIN_MODELS = 2
#: The bi-level search: lower-level epochs per round, its SGD (the methods' defaults: ft, ga), the upper step.
LOWER_EPOCHS = 2
LOWER_LR = {"ft": 0.02, "ga": 4e-3}
UPPER_LR = 0.5
BATCH = 64


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass
class Selection:
    """The chosen indices and the scores that chose them (one per training sample; NaN: not ranked)."""

    kind: str
    indices: np.ndarray
    scores: np.ndarray
    #: What a score is ("weight w", "θ_o loss", "memorisation") and which end is chosen ("highest" / "lowest").
    score: str
    chosen: str
    meta: dict[str, Any] = field(default_factory=dict)
    #: Further per-sample arrays (memorised: models IN / OUT of each point's subset).
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"indices": self.indices, "scores": self.scores, **self.extra}

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "score": self.score, "chosen": self.chosen, **self.meta}

    @classmethod
    def from_stored(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> Selection:
        meta = {k: v for k, v in meta.items() if not k.startswith("_")}
        extra = {k: np.asarray(v) for k, v in arrays.items() if k not in ("indices", "scores")}
        return cls(meta.pop("kind"), np.asarray(arrays["indices"], dtype=np.int64),
                   np.asarray(arrays["scores"], dtype=np.float64), meta.pop("score"), meta.pop("chosen"),
                   dict(meta), extra)


@dataclass
class SelectionContext:
    """What a selector may use: the data, how models are built and trained, θ_o, and where to cache."""

    dataset: Dataset
    #: Builds a freshly initialised model (from the global torch generator: seed first).
    make_model: Callable[[], nn.Module]
    train: TrainConfig
    #: The scenario's seed: draws the subsets and the search's batch orders.
    seed: int
    #: θ_o, trained (or loaded from the runner's cache) as the scenario's `execute` would.
    original: Callable[[], nn.Module]
    #: Everything the result depends on besides the request (data, model, recipe, seeds, numerics), for keys.
    identity: Mapping[str, Any]
    #: For subset members in worker processes: how they rebuild the data and model (None: in this process only).
    worker_spec: Mapping[str, Any] | None = None
    store: Store | None = None
    executor: Executor | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    cancel: Any = None
    progress: Any = None


Selector = Callable[[ForgetRequest, SelectionContext, int], Selection]
SELECTORS: dict[str, Selector] = {}


def register_selector(kind: str) -> Callable[[Selector], Selector]:
    """Register the function that chooses the indices of forget requests of `kind`."""
    def wrap(fn: Selector) -> Selector:
        SELECTORS[kind] = fn
        return fn
    return wrap


def select(request: ForgetRequest, ctx: SelectionContext) -> Selection:
    """The request's selection: from the store's cache where it was made before, else made (and cached)."""
    if request.kind not in SELECTORS:
        raise BadInput(f"forget kind {request.kind!r} has no selector; selected kinds: {', '.join(SELECTORS)}")
    size = selection_size(request, ctx.dataset.n_train)
    key = _digest({"selection": request.spec(), "v": SELECTION_VERSION, **ctx.identity})
    if ctx.store is not None:
        hit = ctx.store.get_arrays("selections", key)
        if hit is not None:
            found = Selection.from_stored(*hit)
            found.meta["cached"] = True
            return found
    start = time.perf_counter()
    chosen = SELECTORS[request.kind](request, ctx, size)
    chosen.meta.update(request=request.spec(), size=size, seconds=time.perf_counter() - start, key=key)
    if ctx.store is not None:
        ctx.store.put_arrays("selections", key, chosen.arrays(), chosen.describe())
    chosen.meta["cached"] = False
    return chosen


def top(scores: np.ndarray, size: int, highest: bool = True) -> np.ndarray:
    """Sorted indices of the `size` best finite scores; ties go to the lower index (deterministic)."""
    order = np.lexsort((np.arange(len(scores)), -scores if highest else scores))
    order = order[np.isfinite(scores[order])]
    return np.sort(order[:size]).astype(np.int64)


# memorisation -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubsetJob:
    """One memorisation member: the scenario's model and recipe trained on a seeded subset of the training set."""

    spec: Mapping[str, Any]
    seed: int
    subset: float
    device: str = "cpu"


#: Data sets and model builders of this process, by the token in a job's spec (so serial jobs need no rebuild).
_LOCAL: dict[str, tuple[Dataset, Callable[[], nn.Module]]] = {}


def _subset_mask(n: int, seed: int, share: float) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng([seed, 0x5B5]).choice(n, size=round(share * n), replace=False)] = True
    return mask


def _local(spec: Mapping[str, Any]) -> tuple[Dataset, Callable[[], nn.Module]]:
    token = spec["token"]
    if token not in _LOCAL:  # a worker process: rebuild the data and the model once
        from ..models import resolve_model
        from ..runner import load_stored_dataset
        ds = load_stored_dataset(spec["data"])
        source = resolve_model(spec["model"])
        kwargs = dict(spec["model_kwargs"])
        _LOCAL[token] = (ds, lambda: source.build(ds.input_shape, ds.num_classes, kwargs))
    return _LOCAL[token]


def subset_job(job: SubsetJob) -> dict[str, Any]:
    """Train one member on its subset; whether it classifies each training sample correctly."""
    ds, make_model = _local(job.spec)
    device = torch.device(job.device)
    mask = _subset_mask(ds.n_train, job.seed, job.subset)
    keep = torch.as_tensor(np.flatnonzero(mask), device=device)
    x, y = torch.as_tensor(ds.x_train, device=device), torch.as_tensor(ds.y_train, device=device)
    seed_everything(job.seed)
    model = make_model().to(device)
    ctx = RunContext(device=device, seed=job.seed)
    start = time.perf_counter()
    train_classifier(model, x.index_select(0, keep), y.index_select(0, keep), TrainConfig(**job.spec["train"]),
                     ctx, description="memorisation member")
    correct = predict_logits(model, x).argmax(1) == ds.y_train
    return {"arrays": {"correct": correct, "in": mask},
            "meta": {"seconds": time.perf_counter() - start, "steps": ctx.counters.steps}}


def member_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, 0x3E3, index]).generate_state(1)[0] % 2**31)


def subset_members(ctx: SelectionContext, k: int, subset: float) -> tuple[list[dict[str, np.ndarray]], int]:
    """Members 0..k-1 (each {"correct", "in"}) and how many were trained now (the rest came from the store)."""
    seeds = [member_seed(ctx.seed, i) for i in range(k)]
    keys = [_digest({**ctx.identity, "member": "subset", "v": SELECTION_VERSION, "subset": subset, "member_seed": s})
            for s in seeds]
    found: dict[int, dict[str, np.ndarray]] = {}
    if ctx.store is not None:
        for i, key in enumerate(keys):
            hit = ctx.store.get_arrays("members", key)
            if hit is not None:
                found[i] = hit[0]
    todo = [i for i in range(k) if i not in found]
    if todo:
        token = _digest(ctx.identity)
        _LOCAL[token] = (ctx.dataset, ctx.make_model)
        parallel = ctx.worker_spec is not None and getattr(ctx.executor, "workers", 1) > 1
        executor = ctx.executor if parallel else SerialExecutor()
        spec = {"token": token, "train": ctx.train.to_dict(), **(ctx.worker_spec or {})}
        jobs = [SubsetJob(spec, seeds[i], subset, ctx.device.type) for i in todo]
        if ctx.progress is not None and hasattr(ctx.progress, "start"):
            ctx.progress.start("memorisation members", len(jobs))
        try:
            for j, result in executor.run(subset_job, jobs, ctx.cancel):
                i = todo[j]
                found[i] = result["arrays"]
                if ctx.store is not None:
                    ctx.store.put_arrays("members", keys[i], result["arrays"], result["meta"])
                if ctx.progress is not None and hasattr(ctx.progress, "advance"):
                    ctx.progress.advance(1)
        finally:
            if ctx.progress is not None and hasattr(ctx.progress, "stop"):
                ctx.progress.stop()
    return [found[i] for i in range(k)], len(todo)


def memorisation(correct: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feldman & Zhang's estimate from (K, n) boolean arrays: (mem, models IN, models OUT); mem is NaN where
    fewer than `MIN_MODELS` models are on either side."""
    correct, inside = np.asarray(correct, dtype=bool), np.asarray(inside, dtype=bool)
    n_in, n_out = inside.sum(0), (~inside).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mem = (correct & inside).sum(0) / n_in - (correct & ~inside).sum(0) / n_out
    mem = np.where((n_in >= MIN_MODELS) & (n_out >= MIN_MODELS), mem, np.nan)
    return mem.astype(np.float64), n_in.astype(np.int64), n_out.astype(np.int64)


@register_selector("memorised")
def select_memorised(request: ForgetRequest, ctx: SelectionContext, size: int) -> Selection:
    k, subset = int(request.option("k")), float(request.option("subset"))  # type: ignore[arg-type]
    members, trained = subset_members(ctx, k, subset)
    mem, n_in, n_out = memorisation(np.stack([m["correct"] for m in members]), np.stack([m["in"] for m in members]))
    ranked = int(np.isfinite(mem).sum())
    if ranked < size:
        raise BadInput(f"forget {request.spec()!r}: only {ranked} training samples have >= {MIN_MODELS} models "
                       f"on each side of their subset, fewer than the {size} asked; raise k (now {k})")
    idx = top(mem, size)
    return Selection("memorised", idx, mem, "memorisation", "highest",
                     {"k": k, "subset": subset, "members_trained": trained, "members_reused": k - trained,
                      "ranked": ranked, "min_models": MIN_MODELS, "cutoff": float(mem[idx].min())},
                     {"models_in": n_in, "models_out": n_out})


# worst case -------------------------------------------------------------------------------------------
def project_capped_simplex(w: np.ndarray, m: float, iters: int = 100) -> np.ndarray:
    """Euclidean projection onto {0 <= w <= 1, sum w = m}: clip(w - tau, 0, 1) with tau found by bisection."""
    lo, hi = float(w.min()) - 1.0, float(w.max())
    for _ in range(iters):
        tau = (lo + hi) / 2
        if np.clip(w - tau, 0.0, 1.0).sum() > m:
            lo = tau
        else:
            hi = tau
    return np.clip(w - (lo + hi) / 2, 0.0, 1.0)


def _losses(model: nn.Module, x: torch.Tensor, y: np.ndarray) -> np.ndarray:
    logits = torch.as_tensor(predict_logits(model, x))
    return torch.nn.functional.cross_entropy(logits, torch.as_tensor(y), reduction="none").double().numpy()


def _lower_level(model: nn.Module, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, method: str,
                 seed: int, cancel) -> None:
    """A few epochs of weighted unlearning from θ_o (Fan et al.'s w_FT / w_GA, with plain SGD)."""
    opt = torch.optim.SGD(model.parameters(), lr=LOWER_LR[method], momentum=0.9, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(LOWER_EPOCHS):
        if cancel is not None and cancel.is_set():
            from ..errors import Cancelled
            raise Cancelled("cancelled by request")
        order = torch.randperm(len(y), generator=gen)
        for start in range(0, len(order), BATCH):
            b = order[start:start + BATCH]
            loss = torch.nn.functional.cross_entropy(model(x[b]), y[b], reduction="none")
            weighted = (1 - w[b]) * loss if method == "ft" else -w[b] * loss
            opt.zero_grad()
            weighted.mean().backward()
            opt.step()
    model.eval()


@register_selector("worst")
def select_worst(request: ForgetRequest, ctx: SelectionContext, size: int) -> Selection:
    by, method = str(request.option("by")), str(request.option("method"))
    rounds = int(request.option("rounds"))  # type: ignore[call-overload]
    ds, dev = ctx.dataset, ctx.device
    original = ctx.original()
    x = torch.as_tensor(ds.x_train, device=dev)
    loss0 = _losses(original, x, ds.y_train)
    if by == "loss":
        idx = top(loss0, size, highest=False)
        return Selection("worst", idx, loss0, "θ_o loss", "lowest",
                         {"by": "loss", "cutoff": float(loss0[idx].max())})
    n = ds.n_train
    y = torch.as_tensor(ds.y_train, device=dev)
    w = np.full(n, size / n)
    state = {k: v.detach().clone() for k, v in original.state_dict().items()}
    history = []
    loss = loss0
    for r in range(rounds):
        model = ctx.make_model().to(dev)
        model.load_state_dict(state)
        _lower_level(model, x, y, torch.as_tensor(w, dtype=torch.float32, device=dev), method,
                     member_seed(ctx.seed, 1000 + r), ctx.cancel)
        loss = _losses(model, x, ds.y_train)
        # First-order upper step on sum w_i l_i(θ(w)); the losses are standardised so one step size fits any scale.
        grad = (loss - loss.mean()) / (loss.std() + 1e-12)
        w = project_capped_simplex(w - UPPER_LR * grad, size)
        history.append(float((w * loss).sum() / size))
    # Top m of w; ties (w at its bounds) go to the lower final loss, then the lower index.
    order = np.lexsort((np.arange(n), loss, -w))
    idx = np.sort(order[:size]).astype(np.int64)
    return Selection("worst", idx, w, "weight w", "highest",
                     {"by": "bilevel", "method": method, "rounds": rounds, "lower_epochs": LOWER_EPOCHS,
                      "upper_lr": UPPER_LR, "upper_loss": history, "cutoff": float(w[idx].min())},
                     {"final_loss": loss, "original_loss": loss0})
