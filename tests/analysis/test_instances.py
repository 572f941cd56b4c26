import numpy as np
import pytest

from unlearnlab.analysis import instance_categories
from unlearnlab.errors import BadInput

#            forget ........................  retain ........................
Y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
PRED_A = np.array([0, 0, 0, 2, 1, 1, 1, 2])  # original: wrong on the 4th and 8th
PRED_B = np.array([3, 0, 0, 3, 1, 2, 1, 2])  # unlearned
FORGET = np.array([True, True, True, True, False, False, False, False])


def test_strict_categories_by_hand():
    cats = instance_categories(Y, PRED_A, PRED_B, FORGET)
    assert list(cats) == [
        "target forgotten", "not forgotten", "not forgotten", "already wrong",
        "correctly kept", "over-forgotten", "correctly kept", "already wrong",
    ]


def test_comparator_convention_looks_at_the_unlearned_model_only():
    cats = instance_categories(Y, PRED_A, PRED_B, FORGET.astype(int), convention="comparator")
    assert cats[3] == "target forgotten" and cats[7] == "over-forgotten"
    assert "already wrong" not in set(cats)


def test_bad_input():
    with pytest.raises(BadInput):
        instance_categories(Y, PRED_A, PRED_B[:-1], FORGET)
    with pytest.raises(BadInput):
        instance_categories(Y, PRED_A, PRED_B, FORGET, convention="other")
    with pytest.raises(BadInput):
        instance_categories(Y, PRED_A, PRED_B, np.full(8, 2))
