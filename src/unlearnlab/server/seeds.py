"""A request's results over its stored seeds, for Screen's "over N seeds" mode: what
`unlearnlab report SCENARIO --over-seeds` prints (docs/seeds.md), as JSON. Composed from the report's
own pieces (`report.seed_groups` to group runs, `analysis.seeds.t_interval` for each mean's Student-t
interval, `analysis.seeds.dominance_ranks` for the ranking that ties overlapping intervals,
`report.BETTER` and `report.check_rank_by` for the ranking metric), so the web UI and the report
cannot disagree. Pure: scenario specs and run dicts in, a JSON-ready dict out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..analysis.seeds import MeanInterval, dominance_ranks, t_interval
from ..report import BETTER, COLUMNS, check_rank_by, seed_groups
from .jobs import clean

#: θ_o and θ_r are shown with their intervals but never ranked (they are the references, not methods).
REFERENCES = ("original", "retrain")
#: Metrics whose distance to θ_r's value Screen's trade-off plot offers as an axis (frontend
#: tradeoffAxes.ts DISTANCE_BASES): over seeds each seed's distance is taken to the θ_r of its own
#: seed, since θ_r moves with the seed as much as the method does.
DISTANCE_BASES = ("ua", "ra", "ra_class_mean", "ta", "tua", "tra", "mia_efficacy")
_HEADERS = {key: header for key, header, _ in COLUMNS}


def _interval(iv: MeanInterval) -> dict[str, Any]:
    return clean({"mean": iv.mean, "lo": iv.lo, "hi": iv.hi, "n": iv.n})


def _metric_keys(runs: Sequence[Mapping[str, Any]], rank_by: str) -> list[str]:
    """Every metric some run has a value of, the report's columns first (in its order), then the others."""
    seen = {k for r in runs for k, v in (r.get("metrics") or {}).items() if v is not None} | {rank_by}
    known = [k for k, _, _ in COLUMNS if k in seen]
    return known + sorted(seen - set(known))


def _ranking(ivs: dict[str, MeanInterval], rank_by: str, level: float) -> dict[str, Any]:
    lower = BETTER[rank_by] == "lower"
    ranks = dominance_ranks(ivs, lower_is_better=lower)
    order = sorted(ranks, key=lambda k: (ranks[k], ivs[k].mean if lower else -ivs[k].mean))
    by_rank: dict[int, list[str]] = {}
    for label in order:
        by_rank.setdefault(ranks[label], []).append(label)
    unranked = [label for label in ivs if label not in ranks]
    if by_rank:
        text = "; ".join(f"{rank}. {', '.join(labels)}" + (" (intervals overlap: no winner)" if len(labels) > 1 else "")
                         for rank, labels in by_rank.items())
    else:
        text = f"no method has {_HEADERS.get(rank_by, rank_by)} on 2 or more seeds, so none is ranked"
    return {"rank_by": rank_by, "better": BETTER[rank_by], "level": level,
            "ranks": [{"label": label, "rank": ranks[label], "tied": len(by_rank[ranks[label]]) > 1,
                       "mean": clean(ivs[label].mean)} for label in order],
            "no_winner": len(by_rank.get(1, [])) > 1, "unranked": unranked, "text": text}


def over_seeds(scenarios: Sequence[Mapping[str, Any]], runs: Sequence[Mapping[str, Any]], rank_by: str = "avg_gap",
               level: float = 0.95) -> dict[str, Any]:
    """The runs of `scenarios` (one request, one scenario per seed: `analysis.seeds.request_key` equal)
    aggregated over seeds. Per method and hyper-parameter setting (labelled as `report.seed_groups`
    labels them): each metric's mean with its `level` Student-t interval and n (the seeds whose finished
    run has the value; lo/hi None for n < 2), the same for the distance to the same seed's θ_r of the
    metrics in `DISTANCE_BASES`, and the runs' ids. Then a ranking by `rank_by` (`report.BETTER` gives
    its direction; BadInput for a metric without one) in which methods whose intervals overlap share a
    rank, and `no_winner` when several share rank 1. Runs are dicts as `RunRecord.to_dict` gives them."""
    check_rank_by(rank_by)
    by_seed = sorted(scenarios, key=lambda s: (s.get("seed", 0), s["id"]))
    seeds = [s.get("seed", 0) for s in by_seed]
    ordered = sorted(runs, key=lambda r: ({"original": 0, "retrain": 1}.get(r["method"], 2), r.get("created") or 0))
    groups = seed_groups(ordered)
    # θ_r of each seed's scenario: the run seed_groups kept for that seed (its latest finished one)
    gold = {r["scenario_id"]: r for _, rs in groups for r in rs if r["method"] == "retrain" and r["status"] == "done"}
    keys = _metric_keys(ordered, rank_by)
    out_groups, rankable = [], {}
    for label, rs in groups:
        done = [r for r in rs if r["status"] == "done"]
        metrics = {k: t_interval([r["metrics"].get(k) for r in done], level) for k in keys}

        def distance(r: Mapping[str, Any], base: str) -> float | None:
            ref = gold.get(r["scenario_id"])
            value, target = r["metrics"].get(base), None if ref is None else ref["metrics"].get(base)
            return None if value is None or target is None else abs(value - target)

        distances = {base: t_interval([distance(r, base) for r in done], level)
                     for base in DISTANCE_BASES if base in keys}
        method = rs[0]["method"]
        if method not in REFERENCES:
            rankable[label] = metrics[rank_by]
        out_groups.append({
            "label": label, "method": method, "hparams": clean(rs[0].get("hparams") or {}),
            "reference": method in REFERENCES, "seeds": sorted({r.get("seed") for r in rs}),
            "done": len(done), "run_ids": [r["id"] for r in rs],
            "metrics": {k: _interval(iv) for k, iv in metrics.items()},
            "distances": {k: _interval(iv) for k, iv in distances.items()},
        })
    note = None
    if len(seeds) < 2:
        note = (f"one seed ({', '.join(map(str, seeds)) or 'none'}) of this request is stored: no interval over "
                "seeds; run the same request with other seeds to get one")
    return {"scenario_ids": [s["id"] for s in by_seed], "seeds": seeds, "level": level, "metrics": keys,
            "groups": out_groups, "ranking": _ranking(rankable, rank_by, level), "note": note}
