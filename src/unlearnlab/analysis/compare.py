"""The comparison views: any two finished runs A and B of one scenario, side by side, with θ_o
(the original) and θ_r (the retrained gold standard) as references, as in the Unlearning
Comparator's "Contrast" step (Lee et al., IEEE TVCG 2026): class-wise accuracy, prediction
matrices, layer-wise CKA, a joint embedding and instance categories.

Unlike the Comparator, every sample is seeded and class-balanced, the two embeddings come from
one UMAP fit (comparable positions), and random (not only class-wise) forgetting works. The
expensive part runs once: each model's logits come from its stored outputs, and one forward
pass per model over the union of the samples gives every block's activations and the features.
The JSON-ready result is cached in the store under a content key of (runs, sample, version).

Result (K classes; n sampled instances, at most n_per_class of each class):
    scenario             id, dataset, model, forget, forget_size, forget_classes, num_classes, class_names
    models               A | B | original | retrain: {run_id, method, hparams}
    per_class            train | test: {A, B, diff (B − A), n}, K values each (None: no samples)
    prediction_matrices  train | test: A | B: {confusion, mean_softmax}, K × K, row = true class
    cka                  blocks, seed, n_per_class, n {forget, retain},
                         forget | retain: {"A~B", "A~original", "A~retrain", "B~original", "B~retrain"}:
                         one linear CKA per block
    embedding            indices, labels, is_forget (n each), xy_a, xy_b (n × 2, one joint UMAP), umap
    instances            n records {index, label, is_forget, prob_a, prob_b (K each), pred_a, pred_b,
                         category_a, category_b (against θ_o, strict convention)}
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import numerics
from ..errors import BadInput
from ..metrics import per_class_accuracy
from ..runner import Scenario, load_run_model, load_scenario
from ..store import RunRecord, Store
from ..training import pick_device, predict_logits
from ..validation import check_int
from .cka import layerwise_activations, linear_cka
from .embedding import MIN_DIST, N_NEIGHBORS, joint_umap
from .instances import instance_categories
from .predictions import confusion_matrix, mean_softmax, softmax

#: Bump when the result's content or layout changes: older cache entries are then ignored.
VERSION = "compare-1"
CACHE_KIND = "compare"
ROLES = ("A", "B", "original", "retrain")
PAIRS = (("A", "B"), ("A", "original"), ("A", "retrain"), ("B", "original"), ("B", "retrain"))
#: Rounding of the bulky per-sample and per-cell values (probabilities, matrices, coordinates).
DECIMALS = 4


# -- JSON helpers -------------------------------------------------------------------------------
def _plain(values: Any, decimals: int | None = None) -> Any:
    """Nested lists of Python floats, rounded if asked, with nan as None."""
    arr = np.asarray(values, dtype=np.float64)
    if decimals is not None:
        arr = np.round(arr, decimals)
    obj = arr.astype(object)
    obj[np.isnan(arr)] = None
    return obj.tolist()


@contextmanager
def _timed(timings: dict[str, float] | None, name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


# -- runs and samples ---------------------------------------------------------------------------
def resolve_runs(store: Store, run_a: str, run_b: str) -> dict[str, RunRecord]:
    """The records of A, B and their scenario's θ_o and θ_r; BadInput if they cannot be compared."""
    a, b = store.run(run_a), store.run(run_b)
    if a.scenario_id != b.scenario_id:
        raise BadInput(f"runs {run_a!r} (scenario {a.scenario_id}) and {run_b!r} (scenario {b.scenario_id}) "
                       "belong to different scenarios; compare two runs of one scenario")
    for rec in (a, b):
        if rec.status != "done":
            raise BadInput(f"run {rec.id!r} is {rec.status}, not done; only finished runs can be compared")
    task = store.scenario(a.scenario_id)["dataset"].get("task", "classification")
    if task != "classification":  # per-class accuracies, confusion matrices, softmax instances
        raise BadInput(f"runs {run_a!r} and {run_b!r} are {task} runs; the comparison reads classes, so it applies "
                       "to classification runs only; compare their metrics with `unlearnlab report`")
    done = store.runs(a.scenario_id, status="done")
    refs = {}
    for method in ("original", "retrain"):
        found = [r for r in done if r.method == method]
        if not found:
            raise BadInput(f"scenario {a.scenario_id} has no finished {method} run to compare against; "
                           "run the request again with `unlearnlab run`")
        refs[method] = found[-1]
    return {"A": a, "B": b, **refs}


def cache_key(records: Mapping[str, RunRecord], n_per_class: int, seed: int) -> str:
    src = {"version": VERSION, "runs": {role: rec.id for role, rec in records.items()},
           "n_per_class": n_per_class, "seed": seed}
    return hashlib.sha256(json.dumps(src, sort_keys=True).encode()).hexdigest()[:32]


def sample_indices(labels: np.ndarray, forget_idx: np.ndarray, retain_idx: np.ndarray, num_classes: int,
                   n_per_class: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded, class-balanced samples of training indices, each sorted.

    "forget" / "retain": up to `n_per_class` of each class from D_f / D_r (the CKA samples).
    "embedding": up to `n_per_class` of each class, D_f first (all of a class's forget samples
    when they fit) and D_r filling the rest. One seeded order decides all three, so the
    embedding sample lies inside the other two and one forward pass over their union serves all.
    """
    rank = np.empty(len(labels), dtype=np.int64)
    rank[np.random.default_rng(seed).permutation(len(labels))] = np.arange(len(labels))

    def by_class(pool: np.ndarray) -> list[np.ndarray]:
        pool = np.asarray(pool, dtype=np.int64)
        pool = pool[np.argsort(rank[pool], kind="stable")]
        return [pool[labels[pool] == c] for c in range(num_classes)]

    forget, retain = by_class(forget_idx), by_class(retain_idx)
    take = [f[:n_per_class] for f in forget]
    emb = [np.concatenate([f, r[:n_per_class - len(f)]]) for f, r in zip(take, retain)]
    return {"forget": np.sort(np.concatenate(take)),
            "retain": np.sort(np.concatenate([r[:n_per_class] for r in retain])),
            "embedding": np.sort(np.concatenate(emb))}


# -- forward passes -------------------------------------------------------------------------------
def train_test_logits(store: Store, run_id: str, scenario: Scenario, model: nn.Module) -> dict[str, np.ndarray]:
    """The run's logits on the whole train split (in index order) and test split: the stored
    outputs when present (the ones its metrics came from), else a fresh pass."""
    ds, f_idx, r_idx = scenario.dataset, scenario.forget_idx, scenario.retain_idx
    try:
        out = store.load_outputs(run_id)
    except BadInput:  # a run stored without outputs
        x = torch.as_tensor(ds.x_train)
        out = {"forget": predict_logits(model, x[f_idx]), "retain": predict_logits(model, x[r_idx]),
               "test": predict_logits(model, torch.as_tensor(ds.x_test))}
    train = np.empty((ds.n_train, ds.num_classes), dtype=np.float32)
    train[f_idx], train[r_idx] = out["forget"], out["retain"]
    return {"train": train, "test": np.asarray(out["test"], dtype=np.float32)}


@torch.no_grad()
def penultimate_features(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """`model.features(x)` (eval mode), flattened to (n, d) float32."""
    dev = next(model.parameters()).device
    model.eval()
    parts = [model.features(x[i:i + batch_size].to(dev)).float().cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(parts).reshape(len(x), -1).numpy()


# -- the analyses (pure functions of the forward passes) --------------------------------------------
def per_class_section(logits_a: np.ndarray, logits_b: np.ndarray, labels: np.ndarray, k: int) -> dict[str, Any]:
    acc_a, acc_b = per_class_accuracy(logits_a, labels, k), per_class_accuracy(logits_b, labels, k)
    return {"A": _plain(acc_a), "B": _plain(acc_b), "diff": _plain(acc_b - acc_a),
            "n": np.bincount(labels, minlength=k).tolist()}


def matrices_section(logits: np.ndarray, labels: np.ndarray, k: int) -> dict[str, Any]:
    return {"confusion": _plain(confusion_matrix(logits, labels, k), DECIMALS),
            "mean_softmax": _plain(mean_softmax(logits, labels, k), DECIMALS)}


def cka_section(acts: Mapping[str, Mapping[str, np.ndarray]], rows: Mapping[str, np.ndarray],
                blocks: list[str]) -> dict[str, dict[str, list[float | None]]]:
    """{split: {"A~B": [CKA per block], ...}} over the activation rows of each split; None where
    CKA is undefined (fewer than two samples, or a block without variance)."""
    out: dict[str, dict[str, list[float | None]]] = {}
    for split, pos in rows.items():
        out[split] = {}
        for a, b in PAIRS:
            values = [linear_cka(acts[a][blk][pos], acts[b][blk][pos]) if len(pos) >= 2 else np.nan
                      for blk in blocks]
            out[split][f"{a}~{b}"] = _plain(values)
    return out


def instance_records(indices: np.ndarray, labels: np.ndarray, is_forget: np.ndarray, logits_a: np.ndarray,
                     logits_b: np.ndarray, pred_original: np.ndarray) -> list[dict[str, Any]]:
    """One record per instance: both models' probabilities, predictions and categories against θ_o."""
    pred_a, pred_b = logits_a.argmax(1), logits_b.argmax(1)
    cat_a = instance_categories(labels, pred_original, pred_a, is_forget)
    cat_b = instance_categories(labels, pred_original, pred_b, is_forget)
    prob_a, prob_b = _plain(softmax(logits_a), DECIMALS), _plain(softmax(logits_b), DECIMALS)
    return [{"index": i, "label": y, "is_forget": f, "prob_a": pa, "prob_b": pb, "pred_a": a, "pred_b": b,
             "category_a": ca, "category_b": cb}
            for i, y, f, pa, pb, a, b, ca, cb in zip(indices.tolist(), labels.tolist(), is_forget.tolist(), prob_a,
                                                    prob_b, pred_a.tolist(), pred_b.tolist(), cat_a.tolist(),
                                                    cat_b.tolist())]


def _scenario_section(scenario_id: str, scenario: Scenario) -> dict[str, Any]:
    ds = scenario.dataset
    return {"id": scenario_id, "dataset": ds.name, "model": scenario.model, "forget": scenario.forget.spec(),
            "forget_size": int(len(scenario.forget_idx)),
            "forget_classes": list(scenario.forget_classes) if scenario.forget_classes else None,
            "num_classes": ds.num_classes, "class_names": list(ds.class_names)}


# -- the whole comparison ---------------------------------------------------------------------------
def compute(store: Store, records: Mapping[str, RunRecord], *, n_per_class: int = 50, seed: int = 0,
            device=None, timings: dict[str, float] | None = None) -> dict[str, Any]:
    """Every analysis of `records` (from `resolve_runs`), uncached; `timings` collects seconds per stage."""
    ids = {role: records[role].id for role in ROLES}
    with _timed(timings, "load"):
        scenario = load_scenario(store.scenario(records["A"].scenario_id))
        models = {rid: load_run_model(store, rid, scenario, device)[1] for rid in dict.fromkeys(ids.values())}
        logits = {rid: train_test_logits(store, rid, scenario, models[rid])
                  for rid in dict.fromkeys((ids["A"], ids["B"], ids["original"]))}
    ds, k = scenario.dataset, scenario.dataset.num_classes
    samples = sample_indices(ds.y_train, scenario.forget_idx, scenario.retain_idx, k, n_per_class, seed)
    union = np.union1d(samples["forget"], samples["retain"])
    rows = {name: np.searchsorted(union, idx) for name, idx in samples.items()}

    with _timed(timings, "activations"):
        x = torch.as_tensor(ds.x_train[union])
        acts = {rid: layerwise_activations(model, x) for rid, model in models.items()}
        feats = {rid: penultimate_features(models[rid], x) for rid in dict.fromkeys((ids["A"], ids["B"]))}
    la, lb = logits[ids["A"]], logits[ids["B"]]
    labels = {"train": ds.y_train, "test": ds.y_test}

    with _timed(timings, "per_class"):
        per_class = {split: per_class_section(la[split], lb[split], y, k) for split, y in labels.items()}
    with _timed(timings, "matrices"):
        matrices = {split: {"A": matrices_section(la[split], y, k), "B": matrices_section(lb[split], y, k)}
                    for split, y in labels.items()}
    with _timed(timings, "cka"):
        blocks = list(next(iter(acts.values())))
        cka = {"blocks": blocks, "seed": seed, "n_per_class": n_per_class,
               "n": {"forget": len(samples["forget"]), "retain": len(samples["retain"])},
               **cka_section({role: acts[rid] for role, rid in ids.items()},
                             {"forget": rows["forget"], "retain": rows["retain"]}, blocks)}

    emb_idx, emb_rows = samples["embedding"], rows["embedding"]
    emb_y, emb_forget = ds.y_train[emb_idx], np.isin(emb_idx, scenario.forget_idx)
    with _timed(timings, "umap"):
        xy_a, xy_b = joint_umap(feats[ids["A"]][emb_rows], feats[ids["B"]][emb_rows], seed=seed)
    embedding = {"indices": emb_idx.tolist(), "labels": emb_y.tolist(), "is_forget": emb_forget.tolist(),
                 "xy_a": _plain(xy_a, DECIMALS), "xy_b": _plain(xy_b, DECIMALS), "seed": seed,
                 "n_per_class": n_per_class,
                 "umap": {"n_neighbors": N_NEIGHBORS, "min_dist": MIN_DIST, "random_state": seed, "joint": True}}

    with _timed(timings, "instances"):
        pred_o = logits[ids["original"]]["train"][emb_idx].argmax(1)
        instances = instance_records(emb_idx, emb_y, emb_forget, la["train"][emb_idx], lb["train"][emb_idx],
                                     pred_o)

    return {"version": VERSION, "params": {"n_per_class": n_per_class, "seed": seed},
            "scenario": _scenario_section(records["A"].scenario_id, scenario),
            "models": {role: {"run_id": records[role].id, "method": records[role].method,
                              "hparams": records[role].hparams} for role in ROLES},
            "per_class": per_class, "prediction_matrices": matrices, "cka": cka, "embedding": embedding,
            "instances": instances}


@numerics.with_compute_threads
def compare(store: Store, run_a: str, run_b: str, *, n_per_class: int = 50, seed: int = 0,
            device=None) -> dict[str, Any]:
    """All comparison analyses of two finished runs A and B of one scenario (A == B allowed), as a
    JSON-ready dict; computed once, then read from the store's cache.

    Keys: scenario, models, per_class, prediction_matrices, cka, embedding, instances (laid out
    in the module docstring). `n_per_class` caps each class in the seeded samples; `seed` fixes
    the samples and the UMAP fit.
    """
    check_int("n_per_class", n_per_class, 1)
    check_int("seed", seed, 0)
    pick_device(device)
    records = resolve_runs(store, run_a, run_b)
    key = cache_key(records, n_per_class, seed)
    hit = store.get_arrays(CACHE_KIND, key)
    if hit is not None:
        return hit[1]
    result = compute(store, records, n_per_class=n_per_class, seed=seed, device=device)
    store.put_arrays(CACHE_KIND, key, {}, result, runs=sorted({r.id for r in records.values()}))
    return result


__all__ = ["CACHE_KIND", "PAIRS", "VERSION", "cache_key", "compare", "compute", "resolve_runs", "sample_indices"]
