"""Summaries against retraining: Avg. Gap (Fan et al. 2024, SalUn, Table 1) and the speed-up of
an unlearning run over retraining from scratch."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

AVG_GAP_KEYS = ("ua", "ra", "ta", "mia_efficacy")


def avg_gap(metrics: Mapping[str, float | None], retrain_metrics: Mapping[str, float | None],
            keys: Iterable[str] = AVG_GAP_KEYS) -> float:
    """Mean of |m[k] − m_r[k]| over `keys`, skipping keys that either side lacks or has as None;
    nan when no key is left. Lower = closer to retraining."""
    gaps = [abs(float(a) - float(b)) for k in keys
            if (a := metrics.get(k)) is not None and (b := retrain_metrics.get(k)) is not None]
    return sum(gaps) / len(gaps) if gaps else math.nan


def speedup(retrain_seconds: float | None, seconds: float | None) -> float | None:
    """How many times faster than retraining the run was; None when either time is missing or
    not a positive finite number."""
    if retrain_seconds is None or seconds is None:
        return None
    if not (math.isfinite(retrain_seconds) and math.isfinite(seconds)) or retrain_seconds <= 0 or seconds <= 0:
        return None
    return retrain_seconds / seconds
