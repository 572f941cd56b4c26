"""The Attack view's payload: the Unlearning Comparator's threshold attack on one feature, its
threshold strategies and per-forget-sample values, from the logits stored with each run.

Strategies (the Comparator's Attack view): `max_attack_score` (the threshold whose (FPR, FNR)
give the largest 1 − 2^−ε), `max_success_rate` (the largest share of correct calls, 1 − (FPR + FNR)/2,
both sets being D_f) and, with a second run to compare, `common_threshold` (one threshold for both
runs, maximising the sum of their attack scores). Its "custom threshold" is the client's slider.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics.privacy import (CONFIDENCE_RANGE, CONFIDENCE_TEMPERATURE, ENTROPY_RANGE, ENTROPY_TEMPERATURE,
                               confidence_feature, entropy_feature, privacy_attack)

FEATURES = {
    "entropy": (entropy_feature, ENTROPY_TEMPERATURE, ENTROPY_RANGE),
    "confidence": (confidence_feature, CONFIDENCE_TEMPERATURE, CONFIDENCE_RANGE),
}


def _curves(unlearned: np.ndarray, retrain: np.ndarray, feature: str):
    attack = privacy_attack(unlearned, retrain)
    return attack, [c for c in attack.curves if c.feature == feature]


def _choice(strategy: str, curve, i: int, other: float | None = None) -> dict[str, Any]:
    fpr, fnr = float(curve.fpr[i]), float(curve.fnr[i])
    return {"strategy": strategy, "positive": curve.positive, "threshold": float(curve.thresholds[i]),
            "attack_score": float(curve.attack_score[i]), "success_rate": 1.0 - (fpr + fnr) / 2, "fpr": fpr,
            "fnr": fnr, "other_attack_score": other}


def _best(curves, key) -> tuple[Any, int]:
    scored = [(key(c), c) for c in curves]
    best_val = max(float(np.max(v)) for v, _ in scored)
    for v, c in scored:  # first curve, first threshold reaching the maximum
        hits = np.flatnonzero(v >= best_val)
        if hits.size:
            return c, int(hits[0])
    raise AssertionError("unreachable")


def attack_payload(unlearned: np.ndarray, retrain: np.ndarray, feature: str, *,
                   compare: np.ndarray | None = None, index: np.ndarray | None = None,
                   labels: np.ndarray | None = None) -> dict[str, Any]:
    """Curves, strategies and samples of `feature` for forget-set logits of θ_u against θ_r.
    `compare` (another run's forget logits) adds the common threshold; `index` and `labels`
    (training indices and labels of D_f, in its stored order) are copied onto the samples."""
    fn, temperature, (low, high) = FEATURES[feature]
    attack, curves = _curves(unlearned, retrain, feature)

    def success(c):
        return 1.0 - (c.fpr + c.fnr) / 2

    best_curve, best_i = _best(curves, lambda c: c.attack_score)
    strategies = [_choice("max_attack_score", best_curve, best_i),
                  _choice("max_success_rate", *_best(curves, success))]
    if compare is not None:
        _, other = _curves(compare, retrain, feature)
        by_dir = {c.positive: c for c in other}
        total = [(c.attack_score + by_dir[c.positive].attack_score, c) for c in curves]
        best_sum = max(float(np.max(t)) for t, _ in total)
        for t, c in total:
            hits = np.flatnonzero(t >= best_sum)
            if hits.size:
                i = int(hits[0])
                strategies.append(_choice("common_threshold", c, i, float(by_dir[c.positive].attack_score[i])))
                break

    u = np.clip(fn(unlearned), low, high)
    r = np.sort(np.clip(fn(retrain), low, high))
    threshold = best_curve.thresholds[best_i]
    # risk: where the sample sits in θ_r's distribution, read in the direction the best attack uses
    below = np.searchsorted(r, u, side="left")
    ties = np.searchsorted(r, u, side="right") - below
    if best_curve.positive == "unlearn":
        risk = (below + 0.5 * ties) / len(r)
        attacked = u >= threshold
    else:
        risk = (len(r) - below - ties + 0.5 * ties) / len(r)
        attacked = u < threshold
    if best_curve.attack_score[best_i] <= 0:  # no threshold gives any evidence: nobody is exposed
        attacked = np.zeros(len(u), dtype=bool)
    r_values = np.clip(fn(retrain), low, high)
    pred_u, pred_r = unlearned.argmax(1), retrain.argmax(1)
    samples = [{"position": i, "index": None if index is None else int(index[i]),
                "label": None if labels is None else int(labels[i]), "value": float(u[i]),
                "retrain_value": float(r_values[i]), "prediction": int(pred_u[i]),
                "retrain_prediction": int(pred_r[i]), "risk": float(risk[i]), "attacked": bool(attacked[i])}
               for i in range(len(u))]
    return {
        "feature": feature, "temperature": temperature, "range": (low, high),
        "privacy_score": attack.privacy_score, "feature_best_score": float(best_curve.attack_score[best_i]),
        "curves": [{"positive": c.positive, "thresholds": c.thresholds.tolist(),
                    "attack_score": c.attack_score.tolist(), "fpr": c.fpr.tolist(), "fnr": c.fnr.tolist(),
                    "success_rate": success(c).tolist()} for c in curves],
        "strategies": strategies, "samples": samples,
    }
