"""Results over seeds: which stored requests differ only by their seed, the mean of a metric over
them with a 95 % interval of that mean, and a ranking of methods that ties methods whose intervals
overlap instead of ordering noise. Pure functions: specs and numbers in, numbers out."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

#: Spec fields that follow from the seed (flattened names, see `request_key`): the seed itself, the
#: data set's split (its `seed` parameter and the fingerprint of the split arrays), the forget indices
#: a random request draws (their hash) and so the forget-set size of a class request (the split moves
#: samples between train and test), the seeds of the streams set apart from it (training, unlearning,
#: evaluation: `Scenario.seeds`), plus the scenario's id and creation time. Every other field (data
#: set and its parameters, model, forget request, training recipe, pruning, θ_r's seeding, given
#: weights) must be equal for two scenarios to be the same request.
SEED_DERIVED = frozenset({"id", "created", "seed", "dataset.params.seed", "dataset.fingerprint",
                          "forget_indices_sha256", "forget_indices", "forget_size", "seeds.train", "seeds.unlearn",
                          "seeds.eval",
                          # a regression set's target scale is its training split's, which the seed draws
                          "dataset.info.target_mean", "dataset.info.target_std"})


def _flat(spec: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in spec.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            out.update(_flat(value, name))
        else:
            out[name] = value
    return out


def request_key(spec: Mapping[str, Any]) -> str:
    """The scenario spec (`Store.scenario`) without what its seed decides (`SEED_DERIVED`), as text:
    two scenarios are the same request but the seed iff their keys are equal."""
    flat = {k: v for k, v in _flat(spec).items() if k not in SEED_DERIVED}
    return json.dumps(flat, sort_keys=True, default=str)


@dataclass(frozen=True)
class MeanInterval:
    """The mean of n values and, for n >= 2, a `level` interval of the (true) mean; lo/hi None for n < 2."""

    mean: float | None
    lo: float | None
    hi: float | None
    n: int
    level: float

    @property
    def half_width(self) -> float | None:
        return None if self.lo is None else (self.hi - self.lo) / 2

    def overlaps(self, other: MeanInterval) -> bool:
        return self.lo is not None and other.lo is not None and self.lo <= other.hi and other.lo <= self.hi


def t_interval(values: Sequence[float | None], level: float = 0.95) -> MeanInterval:
    """Mean of the values that are not None and Student's t interval of the mean,
    x̄ ± t_{(1+level)/2, n-1} · s / √n (Student 1908, "The probable error of a mean"), s the sample
    standard deviation (ddof=1). Exact for normal values at every n >= 2; the bootstrap is not used
    because at the 3-10 seeds typical here its percentile interval is too narrow (it ignores that s
    is estimated: about 76 % coverage at n = 3 for a nominal 95 %; docs/seeds.md). Runs without the
    value do not count in n."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x = np.asarray([v for v in values if v is not None], dtype=float)
    n = len(x)
    if n == 0:
        return MeanInterval(None, None, None, 0, level)
    mean = float(x.mean())
    if n == 1:
        return MeanInterval(mean, None, None, 1, level)
    half = float(stats.t.ppf((1 + level) / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return MeanInterval(mean, mean - half, mean + half, n, level)


def dominance_ranks(intervals: Mapping[str, MeanInterval], lower_is_better: bool) -> dict[str, int]:
    """Rank of each entry with an interval: 1 + the number of entries whose interval lies entirely on the
    better side of its own (no overlap). Entries whose intervals overlap are not ordered, so several can
    share rank 1 ("no winner"). For two entries of equal true mean and independent t intervals of equal n,
    non-overlap implies Welch's test rejects at 1 - level (|Δ| > t·(s₁+s₂)/√n >= t·√(s₁²+s₂²)/√n and Welch's
    df >= n - 1), so a false winner is called at most at rate 1 - level (in practice far less; the price
    is power). Entries without an interval (n < 2) are left out."""
    ranked = {k: iv for k, iv in intervals.items() if iv.lo is not None}

    def better(a: MeanInterval, b: MeanInterval) -> bool:
        return a.hi < b.lo if lower_is_better else a.lo > b.hi

    return {k: 1 + sum(better(other, iv) for j, other in ranked.items() if j != k) for k, iv in ranked.items()}
