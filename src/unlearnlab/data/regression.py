"""Regression data sets (task "regression"): scikit-learn's diabetes (embedded, no download) and Friedman #1
(generated from the seed), the tabular settings of Deep Regression Unlearning's scale (Tarun et al. 2023, ICML).

Both standardise the inputs and the targets with the training split's statistics; the target's mean and
standard deviation are recorded in `info` (`target_mean`, `target_std`), so that errors read in standard
deviations of the training targets (an MAE near 0.8 is the mean predictor's on Gaussian-like targets) and
`target:LO..HI` forget requests can be written in the data's own units.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInput
from ..validation import check_int, check_range
from .datasets import Dataset, _check_common, _standardize, register_dataset, regression_split, standardize_targets

#: Largest Friedman #1 a request may generate (a few MB; more belongs in arrays:PATH.npz).
MAX_FRIEDMAN_SAMPLES = 200_000


def _regression(name: str, x: np.ndarray, y: np.ndarray, seed: int, test_size: float, params: dict,
                target: str, source: str) -> Dataset:
    train, test = regression_split(len(x), test_size, seed)
    x_tr, x_te = _standardize(x[train].astype(np.float64), x[test].astype(np.float64))
    y_tr, y_te, stats = standardize_targets(y[train], y[test])
    return Dataset(name=name, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te, num_classes=1,
                   params={"seed": seed, "test_size": float(test_size), **params}, class_names=(target,),
                   info={**stats, "source": source}, task="regression")


@register_dataset("diabetes")
def diabetes(seed: int = 0, test_size: float = 0.2) -> Dataset:
    """scikit-learn's diabetes data (Efron et al. 2004, Least Angle Regression): 442 patients, 10 baseline
    variables, the target a measure of disease progression one year later (25-346). Bundled with
    scikit-learn, so nothing is downloaded."""
    from sklearn.datasets import load_diabetes

    _check_common(seed, test_size)
    raw = load_diabetes(scaled=False)
    return _regression("diabetes", np.asarray(raw.data, dtype=np.float64), np.asarray(raw.target, dtype=np.float64),
                       seed, test_size, {}, "progression", "sklearn.datasets.load_diabetes(scaled=False)")


@register_dataset("friedman1")
def friedman1(seed: int = 0, test_size: float = 0.2, num_samples: int = 1000, noise: float = 1.0) -> Dataset:
    """Friedman #1 (Friedman 1991, Multivariate Adaptive Regression Splines): 10 uniform inputs, of which 5
    enter y = 10 sin(π x1 x2) + 20 (x3 − 0.5)² + 10 x4 + 5 x5 + N(0, noise²); generated from the seed
    (scikit-learn's make_friedman1)."""
    from sklearn.datasets import make_friedman1

    _check_common(seed, test_size)
    check_int("num_samples", num_samples, 10)
    if num_samples > MAX_FRIEDMAN_SAMPLES:
        raise BadInput(f"num_samples={num_samples!r} is not allowed; it must be in [10, {MAX_FRIEDMAN_SAMPLES}]")
    check_range("noise", noise, 0.0, 1e6)
    x, y = make_friedman1(n_samples=num_samples, n_features=10, noise=float(noise), random_state=seed)
    return _regression("friedman1", x, y, seed, test_size, {"num_samples": num_samples, "noise": float(noise)},
                       "y", "sklearn.datasets.make_friedman1")
