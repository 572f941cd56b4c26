from __future__ import annotations

import math

import numpy as np
import pytest

from unlearnlab.errors import BadInput
from unlearnlab.metrics.klom import klom_histogram, klom_summary, margins


def test_margins_hand_checked() -> None:
    # z = [1, 2, 3], y = 2: 3 − ln(e + e²) = 3 − 2 − ln(1 + e^−1).
    assert margins(np.array([[1.0, 2.0, 3.0]]), np.array([2]))[0] == pytest.approx(1 - math.log(1 + math.exp(-1)))
    # y = 0: 1 − ln(e² + e³) = −1 − ln(1 + e) ; large logits stay finite.
    assert margins(np.array([[1.0, 2.0, 3.0]]), np.array([0]))[0] == pytest.approx(-1 - math.log(1 + math.e))
    assert margins(np.array([[800.0, 0.0, -800.0]]), np.array([0]))[0] == pytest.approx(800.0)


def test_identical_samples_give_zero() -> None:
    rng = np.random.default_rng(0)
    m = rng.normal(size=(5, 40))
    np.testing.assert_array_equal(klom_histogram(m, m.copy()), np.zeros(5))
    # All values equal: one bin of [c, c + 1] holds everything on both sides.
    np.testing.assert_array_equal(klom_histogram(np.full((2, 3), 7.0), np.full((2, 4), 7.0)), [0.0, 0.0])


def test_known_kl_between_two_histograms() -> None:
    # Pooled range [0, 1], 2 bins [0, ½) and [½, 1]: p = (¾, ¼), q = (¼, ¾).
    # KL = ¾ ln 3 + ¼ ln ⅓ = ½ ln 3. The pooled maximum (1) counts in the last bin.
    kl = klom_histogram(np.array([[0.0, 0.0, 0.0, 1.0]]), np.array([[0.0, 1.0, 1.0, 1.0]]), bins=2)
    assert kl[0] == pytest.approx(0.5 * math.log(3))


def test_floor_applies_where_retrained_has_no_mass() -> None:
    # p = (½, ½), q = (1, 0): ½ ln ½ + ½ ln(½ / 1e-5).
    kl = klom_histogram(np.array([[0.0, 0.0, 1.0, 1.0]]), np.array([[0.0, 0.0, 0.0, 0.0]]), bins=2)
    assert kl[0] == pytest.approx(0.5 * math.log(0.5) + 0.5 * math.log(0.5 / 1e-5))
    # Reversed: q has mass where p has none, which KL(p‖q) ignores: 1·ln(1 / ½) = ln 2.
    kl_rev = klom_histogram(np.array([[0.0, 0.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 1.0, 1.0]]), bins=2)
    assert kl_rev[0] == pytest.approx(math.log(2))
    bigger_floor = klom_histogram(np.array([[0.0, 0.0, 1.0, 1.0]]), np.zeros((1, 4)), bins=2, floor=0.1)
    assert bigger_floor[0] == pytest.approx(0.5 * math.log(0.5) + 0.5 * math.log(5.0))


def test_clipping_to_the_margin_range() -> None:
    # 500 and 1e6 clip to 100, so both rows are {0, 100} after clipping: KL 0.
    un = np.array([[0.0, 500.0], [-1e6, 1e6]])
    re = np.array([[0.0, 100.0], [-100.0, 100.0]])
    np.testing.assert_array_equal(klom_histogram(un, re), [0.0, 0.0])
    # Without the clip, 500 and 100 fall in different bins of [0, 500]: p = (½, 0, …, ½),
    # q = (½, 0, 0, 0, ½@bin 4, …): ½ ln 1 + ½ ln(½ / 1e-5).
    unclipped = klom_histogram(un[:1], re[:1], clip=None)
    assert unclipped[0] == pytest.approx(0.5 * math.log(0.5 / 1e-5))


def test_rows_are_independent_and_shapes_checked() -> None:
    un = np.array([[0.0, 0.0, 0.0, 1.0], [5.0, 6.0, 7.0, 8.0]])
    re = np.array([[0.0, 1.0, 1.0, 1.0], [5.0, 6.0, 7.0, 8.0]])
    np.testing.assert_allclose(klom_histogram(un, re, bins=2), [0.5 * math.log(3), 0.0])
    with pytest.raises(BadInput):
        klom_histogram(np.zeros((2, 3)), np.zeros((3, 3)))
    with pytest.raises(BadInput):
        klom_histogram(np.zeros(3), np.zeros(3))


def test_klom_summary() -> None:
    s = klom_summary(np.arange(101.0))  # percentiles of 0..100 are the values themselves
    assert s == {"median": 50.0, "p95": 95.0, "p99": 99.0}
    with pytest.raises(BadInput):
        klom_summary([])
