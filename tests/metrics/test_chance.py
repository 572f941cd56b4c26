from __future__ import annotations

import numpy as np
import pytest

from unlearnlab.errors import BadInput
from unlearnlab.metrics import chance_check, majority_rate, model_chance_check


def test_the_margin_shrinks_with_sample_size() -> None:
    # 60 % right against a coin: noise at 20 samples, a finding at 2 000.
    assert chance_check(12, 20, 0.5).at_chance
    assert not chance_check(1200, 2000, 0.5).at_chance
    small, large = chance_check(12, 20, 0.5), chance_check(1200, 2000, 0.5)
    assert small.high - small.low > 5 * (large.high - large.low)


def test_exact_interval_edges() -> None:
    perfect = chance_check(6, 6, 0.5)  # Clopper-Pearson: lower bound 0.025 ** (1 / 6) = 0.54
    assert perfect.low == pytest.approx(0.025 ** (1 / 6)) and perfect.high == 1.0 and not perfect.at_chance
    assert chance_check(5, 5, 0.5).at_chance  # 0.025 ** (1 / 5) = 0.48: five right answers are not enough
    assert "accuracy 1.00" in perfect.describe() and "6 samples" in perfect.describe()


def test_constant_and_good_models_against_the_majority_rate() -> None:
    labels = np.array([0] * 63 + [1] * 37)
    assert majority_rate(labels) == pytest.approx(0.63)
    constant = model_chance_check(np.zeros(100, dtype=int), labels)
    assert constant.at_chance and constant.accuracy == pytest.approx(0.63)
    logits = np.eye(2)[labels] * 5.0  # always right
    assert not model_chance_check(logits, labels).at_chance


def test_a_model_at_chance_is_flagged_in_most_draws() -> None:
    """Random guesses on 3 balanced classes: flagged at chance in >= 90 % of 200 draws (expected 97.5 %)."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    flagged = [model_chance_check(rng.integers(0, 3, 60), labels).at_chance for _ in range(200)]
    assert np.mean(flagged) >= 0.9


def test_bad_arguments() -> None:
    with pytest.raises(BadInput):
        chance_check(3, 2, 0.5)
    with pytest.raises(BadInput):
        chance_check(1, 2, 1.5)
    with pytest.raises(BadInput):
        majority_rate(np.array([]))
