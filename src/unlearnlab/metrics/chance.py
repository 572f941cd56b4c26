"""Is a classifier better than chance? An accuracy measured on n samples is read through its exact
(Clopper-Pearson) binomial interval: a classifier is "at chance" when that interval reaches down to
the accuracy a constant guess gets. The margin so shrinks with sample size instead of being a fixed
number of points (Clopper & Pearson 1934, Biometrika 26(4)).

Used for θ_o (test accuracy against the majority-class rate: a collapsed original model makes every
unlearning number meaningless) and for the MIA-Efficacy attacker (held-out accuracy against 0.5:
an attacker that cannot tell members from non-members turns MIA-Efficacy into noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.stats import binomtest

from ..errors import BadInput

#: Coverage of the interval. 95 % two-sided: a model at chance is declared better than chance in
#: at most 2.5 % of draws.
LEVEL = 0.95


@dataclass(frozen=True)
class ChanceCheck:
    """An accuracy of `correct`/`n` with its interval [low, high] against the `chance` rate."""

    correct: int
    n: int
    chance: float
    low: float
    high: float
    #: What `chance` is, for messages about a model at chance.
    baseline: ClassVar[str] = "the majority-class rate"

    @property
    def accuracy(self) -> float:
        return self.correct / self.n

    @property
    def at_chance(self) -> bool:
        """True when the data do not show the classifier to be better than `chance`."""
        return self.low <= self.chance

    def describe(self) -> str:
        return (f"accuracy {self.accuracy:.2f} [{self.low:.2f}, {self.high:.2f}] on {self.n} samples, "
                f"chance {self.chance:.2f}")

    def to_dict(self) -> dict[str, float | int | bool]:
        return {"accuracy": self.accuracy, "low": self.low, "high": self.high, "chance": self.chance,
                "n": self.n, "at_chance": self.at_chance}


def exact_interval(correct: int, n: int, level: float = LEVEL) -> list[float]:
    """The exact (Clopper-Pearson) interval of the proportion correct/n."""
    ci = binomtest(int(correct), int(n)).proportion_ci(confidence_level=level, method="exact")
    return [float(ci.low), float(ci.high)]


def chance_check(correct: int, n: int, chance: float, level: float = LEVEL) -> ChanceCheck:
    """Clopper-Pearson interval of `correct` successes in `n` trials, compared with `chance`."""
    correct, n = int(correct), int(n)
    if n < 1 or not 0 <= correct <= n:
        raise BadInput(f"chance_check needs 0 <= correct <= n and n >= 1; got correct={correct}, n={n}")
    if not 0.0 <= chance <= 1.0:
        raise BadInput(f"chance={chance!r} is not allowed; it must be in [0, 1]")
    low, high = exact_interval(correct, n, level)
    return ChanceCheck(correct, n, float(chance), low, high)


def majority_rate(labels: np.ndarray) -> float:
    """Accuracy of the best constant guess on `labels`: the share of the most frequent class."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise BadInput("majority_rate needs at least one label")
    return float(np.unique(labels, return_counts=True)[1].max() / len(labels))


def model_chance_check(predictions: np.ndarray, labels: np.ndarray, level: float = LEVEL) -> ChanceCheck:
    """A model's accuracy on (`predictions`, `labels`) against the majority-class rate of `labels`."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim == 2:
        predictions = predictions.argmax(axis=1)
    return chance_check(int((predictions == labels).sum()), len(labels), majority_rate(labels), level)


__all__ = ["LEVEL", "ChanceCheck", "chance_check", "exact_interval", "majority_rate", "model_chance_check"]
