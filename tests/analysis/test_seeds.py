"""Results over seeds: the request key, the t interval of a mean (by hand and by its coverage in
simulation) and the ranking that ties overlapping intervals (its false-winner rate in simulation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from unlearnlab.analysis.seeds import MeanInterval, dominance_ranks, request_key, t_interval

LEVEL = 0.95
SIMS = 2000
#: Four standard errors of a rate near 5 % estimated from SIMS draws: a correct interval fails this
#: margin with probability ~6e-5; at n = 3 a normal (z) interval covers ~88 %, far outside it.
MARGIN = 4 * math.sqrt(0.05 * 0.95 / SIMS)


def spec(seed: int, **changes):
    base = {"id": f"id{seed}", "created": 100.0 + seed, "seed": seed, "forget": "random:0.1",
            "dataset": {"name": "digits", "params": {"seed": seed, "test_size": 0.2}, "n_train": 1437,
                        "fingerprint": f"fp{seed}"},
            "model": {"name": "mlp", "kwargs": {}}, "forget_size": 144 + seed, "forget_indices_sha256": f"h{seed}",
            "train": {"epochs": 1, "lr": 0.1}, "prune": None, "retrain_seed": "independent"}
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            base[section] = {**base[section], field: value}
        else:
            base[key] = value
    return base


def test_request_key_ignores_only_what_the_seed_decides():
    assert request_key(spec(0)) == request_key(spec(1)) == request_key(spec(7))
    for change in ({"forget": "random:0.2"}, {"train__epochs": 2}, {"model__name": "cnn"}, {"prune": 0.5},
                   {"retrain_seed": "shared"}, {"dataset__n_train": 1000}):
        assert request_key(spec(1, **change)) != request_key(spec(0)), change


def test_t_interval_by_hand():
    # values 1, 2, 3: mean 2, s = 1, t_{0.975, 2} = 4.303 (Student's table) -> half-width 4.303 / sqrt(3) = 2.484
    iv = t_interval([1.0, None, 2.0, 3.0])
    assert iv.n == 3 and iv.mean == 2.0
    assert iv.half_width == pytest.approx(4.303 / math.sqrt(3), abs=1e-3)
    assert (iv.lo, iv.hi) == pytest.approx((2 - iv.half_width, 2 + iv.half_width))


def test_one_value_has_no_interval_and_none_has_no_mean():
    one = t_interval([0.4, None])
    assert (one.mean, one.lo, one.hi, one.n) == (0.4, None, None, 1)
    assert one.half_width is None
    assert t_interval([None, None]) == MeanInterval(None, None, None, 0, LEVEL)


@pytest.mark.parametrize("n", [3, 5, 10])
def test_t_interval_covers_the_true_mean_at_its_level(n):
    rng = np.random.default_rng(n)
    true_mean = 0.3
    covered = 0
    for _ in range(SIMS):
        iv = t_interval(list(rng.normal(true_mean, 0.05, size=n)))
        covered += iv.lo <= true_mean <= iv.hi
    assert abs(covered / SIMS - LEVEL) <= MARGIN, (n, covered / SIMS)


def test_ranking_by_hand():
    a, b, c = (MeanInterval(m, m - 0.5, m + 0.5, 3, LEVEL) for m in (0.5, 1.0, 2.5))
    assert dominance_ranks({"a": a, "b": b, "c": c}, lower_is_better=True) == {"a": 1, "b": 1, "c": 3}
    assert dominance_ranks({"a": a, "b": b, "c": c}, lower_is_better=False) == {"a": 2, "b": 2, "c": 1}
    # no interval, no rank
    assert dominance_ranks({"a": a, "one": MeanInterval(0.1, None, None, 1, LEVEL)}, True) == {"a": 1}


@pytest.mark.parametrize("n", [3, 5, 10])
def test_ranking_calls_a_false_winner_at_most_at_its_designed_rate(n):
    """Two methods of equal true mean (and different spreads): a winner is called at most at 1 - level."""
    rng = np.random.default_rng(100 + n)
    winners = 0
    for _ in range(SIMS):
        ivs = {"a": t_interval(list(rng.normal(0.2, 0.03, size=n))),
               "b": t_interval(list(rng.normal(0.2, 0.06, size=n)))}
        ranks = dominance_ranks(ivs, lower_is_better=True)
        winners += ranks["a"] != ranks["b"]
    assert winners / SIMS <= (1 - LEVEL) + MARGIN, (n, winners / SIMS)


def test_ranking_calls_a_real_winner():
    """It does tell methods apart when they differ: a gap of 4 standard deviations at n = 5."""
    rng = np.random.default_rng(1)
    found = 0
    for _ in range(200):
        ivs = {"good": t_interval(list(rng.normal(0.1, 0.02, size=5))),
               "bad": t_interval(list(rng.normal(0.18, 0.02, size=5)))}
        found += dominance_ranks(ivs, lower_is_better=True) == {"good": 1, "bad": 2}
    assert found / 200 >= 0.9
