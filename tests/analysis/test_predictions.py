import math

import numpy as np
import pytest

from unlearnlab.analysis.predictions import confusion_matrix, mean_softmax, softmax
from unlearnlab.errors import BadInput

NAN = math.nan


def test_confusion_matrix_by_hand_with_an_absent_class():
    labels = [0, 0, 1, 1, 1]
    preds = [0, 1, 1, 1, 2]
    expected = np.array([[1 / 2, 1 / 2, 0], [0, 2 / 3, 1 / 3], [NAN, NAN, NAN]])
    np.testing.assert_allclose(confusion_matrix(preds, labels, 3), expected)


def test_confusion_matrix_takes_logits_as_their_argmax():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 0.5, 3.0], [0.1, 0.2, 0.0], [5.0, 0.0, 0.0]])
    labels = [0, 2, 2, 1]
    expected = np.array([[1, 0, 0], [1, 0, 0], [0, 1 / 2, 1 / 2]])
    np.testing.assert_allclose(confusion_matrix(logits, labels, 3), expected)


def test_mean_softmax_by_hand():
    probs = np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2], [1 / 3, 1 / 3, 1 / 3]])
    logits = np.log(probs) + np.array([[7.0], [-3.0], [100.0]])  # a row shift does not change the softmax
    expected = np.array([[0.4, 0.25, 0.35], [1 / 3, 1 / 3, 1 / 3], [NAN, NAN, NAN]])
    np.testing.assert_allclose(mean_softmax(logits, [0, 0, 1], 3), expected)


def test_softmax_of_huge_logits_does_not_overflow():
    np.testing.assert_allclose(softmax([[1000.0, 0.0, -1000.0]]), [[1.0, 0.0, 0.0]], atol=1e-300)


def test_bad_input():
    with pytest.raises(BadInput, match="labels"):
        confusion_matrix([0, 1], [0, 1, 1], 2)
    with pytest.raises(BadInput, match="0..1"):
        confusion_matrix([0, 1], [0, 2], 2)
    with pytest.raises(BadInput, match=r"\(n, 3\)"):
        mean_softmax(np.zeros((2, 2)), [0, 1], 3)
