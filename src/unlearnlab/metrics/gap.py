"""Summaries against retraining: Avg. Gap (Fan et al. 2024, SalUn, Table 1) and the speed-up of
an unlearning run over retraining from scratch."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from ..tasks import get_task

#: Classification's terms; a regression request averages `tasks.Regression.avg_gap_keys` instead.
AVG_GAP_KEYS = get_task("classification").avg_gap_keys


def avg_gap_keys(metrics: Mapping[str, float | None], retrain_metrics: Mapping[str, float | None],
                 keys: Iterable[str] = AVG_GAP_KEYS) -> list[str]:
    """The keys of `keys` that `avg_gap` averages: those both sides have as a number. A metric left
    None on degenerate input (e.g. MIA-Efficacy with an attacker at chance) drops out here, and the
    run should say so, since a gap over three terms is not comparable with one over four."""
    return [k for k in keys if metrics.get(k) is not None and retrain_metrics.get(k) is not None]


def avg_gap(metrics: Mapping[str, float | None], retrain_metrics: Mapping[str, float | None],
            keys: Iterable[str] = AVG_GAP_KEYS) -> float:
    """Mean of |m[k] − m_r[k]| over `keys`, skipping keys that either side lacks or has as None
    (`avg_gap_keys` says which are left); nan when no key is left. Lower = closer to retraining."""
    gaps = [abs(float(metrics[k]) - float(retrain_metrics[k]))  # type: ignore[arg-type]
            for k in avg_gap_keys(metrics, retrain_metrics, keys)]
    return sum(gaps) / len(gaps) if gaps else math.nan


def speedup(retrain_seconds: float | None, seconds: float | None) -> float | None:
    """How many times faster than retraining the run was; None when either time is missing or
    not a positive finite number."""
    if retrain_seconds is None or seconds is None:
        return None
    if not (math.isfinite(retrain_seconds) and math.isfinite(seconds)) or retrain_seconds <= 0 or seconds <= 0:
        return None
    return retrain_seconds / seconds
