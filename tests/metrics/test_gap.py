from __future__ import annotations

import math

import pytest

from unlearnlab.metrics import avg_gap, speedup


def test_avg_gap_by_hand() -> None:
    unlearned = {"ua": 0.1, "ra": 0.9, "ta": 0.8, "mia_efficacy": 0.2}
    retrain = {"ua": 0.2, "ra": 1.0, "ta": 0.85, "mia_efficacy": 0.3}
    # (0.1 + 0.1 + 0.05 + 0.1) / 4
    assert avg_gap(unlearned, retrain) == pytest.approx(0.0875)


def test_avg_gap_skips_missing_values() -> None:
    unlearned = {"ua": 0.1, "ra": None, "ta": 0.8}
    retrain = {"ua": 0.3, "ra": 1.0, "ta": 0.9, "mia_efficacy": 0.3}
    assert avg_gap(unlearned, retrain) == pytest.approx((0.2 + 0.1) / 2)
    assert avg_gap({"ua": 0.5}, {"ua": 0.25}, keys=("ua",)) == pytest.approx(0.25)
    assert math.isnan(avg_gap({}, retrain))


def test_speedup() -> None:
    assert speedup(100.0, 4.0) == pytest.approx(25.0)
    assert speedup(None, 4.0) is None
    assert speedup(100.0, 0.0) is None


def test_avg_gap_keys_say_which_terms_were_averaged() -> None:
    from unlearnlab.metrics import AVG_GAP_KEYS, avg_gap_keys

    full = {"ua": 0.1, "ra": 0.9, "ta": 0.8, "mia_efficacy": 0.2}
    assert avg_gap_keys(full, full) == list(AVG_GAP_KEYS)
    # MIA-Efficacy withheld (None) on either side drops out of the gap, and the keys say so.
    assert avg_gap_keys({**full, "mia_efficacy": None}, full) == ["ua", "ra", "ta"]
    assert avg_gap_keys(full, {**full, "mia_efficacy": None}) == ["ua", "ra", "ta"]
    assert avg_gap({**full, "mia_efficacy": None}, {**full, "ua": 0.4}) == pytest.approx(0.3 / 3)
