"""Audit one stored run against the retrained gold standard (or against another run's method).

Builds (or loads) N-member ensembles of the run's method, of θ_o and of θ_r; computes U-LiRA,
the challenge score F, KLoM on every split, LiRA before/after and the relearning attack; reads
each statistic with a paired swap test against a perfect unlearner (see `statistics`): value,
interval, null, p-value, effect size, verdict; stores aggregates and per-sample arrays.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import numpy as np

from .. import numerics
from ..errors import BadInput
from ..executors import Executor, SerialExecutor, make_executor
from ..metrics.challenge import final_score
from ..metrics.lira import logit_confidence
from ..runner import GOLD
from ..store import Store
from ..validation import check_int, check_range
from .ensemble import SPLITS, Ensemble, EnsembleBuilder
from .relearn import RelearnJob, relearn_job, relearn_split
from .statistics import (KLOM_MIN_MEMBERS, MIN_MEMBERS, PARTITIONS, PERMUTATIONS, challenge_audit, klom_audit,
                         lira_audit, ulira_audit, verdict)

AUDIT_VERSION = 3
DEFAULT_REFS = 16


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean accuracy over an ensemble's members, logits (N, n, K)."""
    return float((logits.argmax(-1) == labels[None]).mean()) if labels.size else float("nan")


def _phi(ens: Ensemble, split: str, labels: np.ndarray) -> np.ndarray:
    """(n, N) logit-scaled confidence of every member on a split."""
    return logit_confidence(ens.logits[split], labels[None]).T


def _find_run(store: Store, scenario_id: str, method: str) -> str:
    runs = [r for r in store.runs(scenario_id, status="done") if r.method == method]
    if not runs:
        raise BadInput(f"scenario {scenario_id!r} has no finished {method} run")
    return runs[-1].id


def _hparams(record) -> dict[str, Any]:
    # θ_o's and θ_r's stored "hparams" are the training recipe, which the scenario already fixes.
    return {} if record.method in ("original", GOLD) else dict(record.hparams)


@numerics.with_compute_threads
def audit_run(store: Store, run_id: str, *, against: str = GOLD, refs: int = DEFAULT_REFS,
              executor: Executor | None = None, partitions: int = PARTITIONS, n_boot: int = 200,
              level: float = 0.95, permutations: int = PERMUTATIONS,
              relearn_steps: int = 20, relearn_share: float = 0.1, relearn_lr: float = 0.01,
              seed: int = 0, device: str | None = None, progress=None, cancel=None,
              force: bool = False) -> dict[str, Any]:
    """Audit `run_id` with `refs`-member ensembles; returns (and stores) the summary dict.

    `against`: "retrain" (θ_r's ensemble, the gold standard) or the id of another finished run of
    the same scenario, whose method's ensemble becomes the reference. A stored audit with the same
    settings is returned as is unless `force`. `permutations`: random pair swaps of each test;
    `level`: 1 − the tests' α and the intervals' coverage; `n_boot`: example resamples per interval.
    """
    check_int("refs", refs, MIN_MEMBERS)
    check_int("partitions", partitions, 2)
    check_int("n_boot", n_boot, 1)
    check_int("permutations", permutations, 19)  # below 19 swaps no p-value reaches 0.05
    check_range("level", level, 0.0, 1.0, closed="neither")
    record = store.run(run_id)
    if record.status != "done":
        raise BadInput(f"run {run_id!r} is {record.status}; only finished runs can be audited")
    task = store.scenario(record.scenario_id)["dataset"].get("task", "classification")
    if task != "classification":  # U-LiRA, KLoM and the relearn test read class probabilities
        raise BadInput(f"run {run_id!r} is a {task} run; audits score class probabilities, so they apply to "
                       "classification runs only")
    if against != GOLD:
        other = store.run(against)
        if other.scenario_id != record.scenario_id:
            raise BadInput(f"run {against!r} belongs to another scenario than {run_id!r}; "
                           "audit against a run of the same scenario")
        if other.status != "done":
            raise BadInput(f"run {against!r} is {other.status}; audit against a finished run")
    settings = {"v": AUDIT_VERSION, "run": run_id, "against": against, "refs": refs, "partitions": partitions, "n_boot": n_boot,
                "level": level, "permutations": permutations, "seed": seed, "relearn": [relearn_steps, relearn_share, relearn_lr]}
    audit_id = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    if not force and any(a["id"] == audit_id for a in store.audits(run_id)):
        return store.audit(audit_id)
    reference_id = _find_run(store, record.scenario_id, GOLD) if against == GOLD else against
    # Damaged inputs fail here, in seconds, rather than after the ensembles have trained.
    weights = {rid: _checked_weights(store, rid) for rid in (run_id, reference_id)}

    start = time.perf_counter()
    own = executor is None
    executor = executor or make_executor()
    try:
        builder = EnsembleBuilder(store, record.scenario_id, executor=executor, device=device,
                                  progress=progress, cancel=cancel)
        builder.references(refs)
        candidate = builder.ensemble(record.method, _hparams(record), refs)
        if against == GOLD:
            reference = builder.reference(GOLD, refs)
        else:
            reference = builder.ensemble(other.method, _hparams(other), refs)
        original = builder.reference("original", refs)
        ensembles_s = time.perf_counter() - start
        t0 = time.perf_counter()
        relearn = _relearn(builder, weights, run_id, reference_id, relearn_steps, relearn_share, relearn_lr, seed)
        relearn_s = time.perf_counter() - t0
    finally:
        if own:
            executor.close()

    sc = builder.scenario
    labels = {"forget": sc.dataset.y_train[sc.forget_idx], "retain": sc.dataset.y_train[sc.retain_idx],
              "test": sc.dataset.y_test}
    opts = {"partitions_m": partitions, "permutations": permutations, "n_boot": n_boot, "level": level, "seed": seed}
    t0 = time.perf_counter()
    c_phi, r_phi = _phi(candidate, "forget", labels["forget"]), _phi(reference, "forget", labels["forget"])
    ulira, ulira_auc = ulira_audit(c_phi, r_phi, **opts)
    quality, eps_arrays = challenge_audit(c_phi, r_phi, **opts)
    klom, klom_arrays = {}, {}
    for split in SPLITS:
        klom[split], klom_arrays[f"klom_{split}"] = klom_audit(_phi(candidate, split, labels[split]),
                                                              _phi(reference, split, labels[split]), **opts)
    o_phi = _phi(original, "forget", labels["forget"])
    lira_opts = {"permutations": permutations, "n_boot": n_boot, "level": level, "seed": seed}
    lira = {"before": lira_audit(o_phi, r_phi, **lira_opts), "after": lira_audit(o_phi, r_phi, c_phi, **lira_opts)}

    acc = {name: {"ua": 1 - _accuracy(e.logits["forget"], labels["forget"]),
                  "ra": _accuracy(e.logits["retain"], labels["retain"]),
                  "ta": _accuracy(e.logits["test"], labels["test"])}
           for name, e in (("candidate", candidate), ("reference", reference), ("original", original))}
    fq = quality["forgetting_quality"]
    score = final_score(fq["value"], acc["candidate"]["ra"], acc["reference"]["ra"], acc["candidate"]["ta"],
                        acc["reference"]["ta"])
    null_score = final_score(fq["null"], 1, 1, 1, 1)
    alpha = 1.0 - level
    few_klom = KLOM_MIN_MEMBERS if refs < KLOM_MIN_MEMBERS else None
    statistics_s = time.perf_counter() - t0


    summary = {
        "run_id": run_id, "method": record.method, "hparams": _hparams(record), "scenario_id": record.scenario_id,
        "against": against, "reference_method": reference.method, "refs": refs, "halves": refs // 2,
        "settings": settings,
        "environment": numerics.manifest(builder.device, sc.dataset.fingerprint),
        "ulira": ulira,
        # the Kaggle notebook's scoring, comparable with published values
        "forgetting_quality": fq,
        # our variant: the reversed threshold rules too (a stronger attack, a lower null)
        "forgetting_quality_two_sided": quality["forgetting_quality_two_sided"],
        "final_score": {"value": score, "null": null_score},
        "klom": klom,
        "klom_min_refs": KLOM_MIN_MEMBERS,
        "lira": lira,
        "relearn": relearn,
        "accuracy": acc,
        "test": {"kind": "paired swap permutation", "alpha": alpha, "permutations": permutations,
                 "partitions": partitions},
        "verdicts": {
            "ulira_accuracy": verdict(ulira["accuracy"], alpha),
            "ulira_auc": verdict(ulira["auc"], alpha),
            "forgetting_quality": verdict(fq, alpha),
            "forgetting_quality_two_sided": verdict(quality["forgetting_quality_two_sided"], alpha),
            "klom_forget_median": verdict(klom["forget"]["median"], alpha, too_few=few_klom),
            "lira_after_online_auc": verdict(lira["after"]["online"]["auc"], alpha),
        },
        "timing": {"ensembles_s": ensembles_s, "statistics_s": statistics_s, "relearn_s": relearn_s,
                   "total_s": time.perf_counter() - start,
                   "candidate_member_s": candidate.seconds},
    }
    arrays = {"forget_index": sc.forget_idx, "ulira_auc": ulira_auc, **eps_arrays, **klom_arrays,
              "phi_candidate": c_phi, "phi_reference": r_phi, "phi_original": o_phi}
    store.add_audit(audit_id, run_id, against, refs, summary, arrays)
    return store.audit(audit_id)


def _checked_weights(store: Store, run_id: str) -> dict[str, Any]:
    """A run's weights, its other artifacts verified too: CorruptArtifact names a damaged one."""
    try:
        store.verify_artifact(run_id, "outputs.npz")
    except BadInput:  # stored without outputs: nothing to verify
        pass
    return store.load_weights(run_id)


def _relearn(builder: EnsembleBuilder, weights: dict[str, dict[str, Any]], run_id: str, reference_id: str,
             steps: int, share: float, lr: float, seed: int) -> dict[str, Any]:
    """The run's model and the reference run's model (`weights` by run id), each fine-tuned on the
    same share of D_f (two jobs on the builder's executor: one thread each, like every ensemble member)."""
    sc = builder.scenario
    rel, held = relearn_split(len(sc.forget_idx), share, seed)
    names = ("unlearned", "reference")
    jobs = [RelearnJob(builder.spec, weights[rid], sc.forget_idx[rel], sc.forget_idx[held], steps, lr, seed,
                       builder.device) for rid in (run_id, reference_id)]
    # Two short jobs do not pay for starting worker processes; a running pool takes them side by side.
    executor = builder.executor if builder.executor.started else SerialExecutor()
    curves = {names[i]: curve for i, curve in executor.run(relearn_job, jobs, builder.cancel)}
    gap = np.subtract(curves["unlearned"][1:], curves["reference"][1:])

    def steps_to_half(curve: list[float]) -> int | None:  # None: never reached 50 % within the budget
        return next((i for i, acc in enumerate(curve) if acc >= 0.5), None)

    # The mean gap over the steps: relearning usually catches up by the last step, the speed is the signal.
    return {"steps": steps, "share": share, "lr": lr, "n_relearn": int(len(rel)), "n_heldout": int(len(held)),
            "reference_run": reference_id, "heldout_accuracy": {k: curves[k] for k in names},
            "recovered_gap": float(gap.mean()), "steps_to_half": {k: steps_to_half(curves[k]) for k in names}}
