"""Regression data sets and target-range forget requests."""

from __future__ import annotations

import numpy as np
import pytest

from unlearnlab.data import Dataset, from_arrays, load_dataset, load_from_spec, parse_forget, select_forget
from unlearnlab.errors import BadInput


def test_diabetes_is_standardised_on_its_training_split_and_records_the_target_scale():
    d = load_dataset("diabetes")
    assert d.task == "regression" and d.num_classes == 1 and d.input_shape == (10,)
    assert (d.n_train, d.n_test) == (353, 89)
    assert d.y_train.dtype == np.float32
    assert abs(float(d.y_train.mean())) < 1e-5 and abs(float(d.y_train.std()) - 1) < 1e-4
    assert np.allclose(d.x_train.mean(axis=0), 0, atol=1e-5)
    raw = d.y_train * d.info["target_std"] + d.info["target_mean"]
    assert 25 - 1e-3 <= raw.min() and raw.max() <= 346 + 1e-3
    assert d.describe()["task"] == "regression"


def test_friedman1_is_generated_from_the_seed():
    a, b, c = load_dataset("friedman1", num_samples=200), load_dataset("friedman1", num_samples=200), \
        load_dataset("friedman1", seed=1, num_samples=200)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    with pytest.raises(BadInput, match="num_samples=5 is not allowed"):
        load_dataset("friedman1", num_samples=5)


def test_classification_fingerprints_and_records_do_not_name_a_task():
    d = load_dataset("digits")
    assert "task" not in d.describe()
    x = np.zeros((10, 2), dtype=np.float32)
    same = [Dataset("t", x, np.arange(10) % 2, x, np.arange(10) % 2, 2),
            Dataset("t", x, np.arange(10) % 2, x, np.arange(10) % 2, 2, task="classification")]
    assert same[0].fingerprint == same[1].fingerprint


def test_regression_targets_are_checked(tmp_path):
    x = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(BadInput, match="must be finite"):
        Dataset("r", x, np.array([0, 1, np.nan, 2]), x, np.zeros(4), 1, task="regression")
    with pytest.raises(BadInput, match="output width, which must be 1"):
        Dataset("r", x, np.zeros(4), x, np.zeros(4), 2, task="regression")
    with pytest.raises(BadInput, match="unknown task 'regresion'"):
        Dataset("r", x, np.zeros(4), x, np.zeros(4), 1, task="regresion")
    with pytest.raises(BadInput, match="regression needs targets that vary"):
        from_arrays(np.random.default_rng(0).normal(size=(20, 2)), np.ones(20), task="regression")


def test_arrays_with_float_targets_as_regression(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    path = tmp_path / "r.npz"
    np.savez(path, X=x, y=x @ [1.0, -2.0, 0.5] + 100)
    d = load_from_spec(f"arrays:{path},task=regression")
    assert d.task == "regression" and d.params["task"] == "regression" and d.n_train == 40
    assert abs(float(d.y_train.mean())) < 1e-5 and d.info["target_mean"] > 90
    raw = load_from_spec(f"arrays:{path},task=regression,standardize=false")
    assert raw.y_train.mean() > 90 and not raw.info
    with pytest.raises(BadInput, match="task='ranking' is not allowed"):
        load_from_spec(f"arrays:{path},task=ranking")


def test_target_ranges_select_in_the_datas_own_units():
    d = load_dataset("diabetes")
    raw = d.y_train.astype(np.float64) * d.info["target_std"] + d.info["target_mean"]
    idx = select_forget(parse_forget("target:200.."), d)
    assert np.array_equal(idx, np.flatnonzero(raw >= 200 - 1e-4))
    low = select_forget(parse_forget("target:..25"), d)  # the minimum, 25, exactly on the bound
    assert len(low) >= 1 and np.all(raw[low] < 25.001)
    mid = select_forget(parse_forget("target:100..150.5"), d)
    assert np.all((raw[mid] > 100 - 1e-3) & (raw[mid] < 150.5 + 1e-3))


@pytest.mark.parametrize("spec", ["target:0..30", "target:..30", "target:200.5..", "target:-1.5..2"])
def test_target_spec_round_trips(spec):
    assert parse_forget(spec).spec() == spec and parse_forget(parse_forget(spec).spec()) == parse_forget(spec)


@pytest.mark.parametrize("spec, message", [
    ("target:30..30", r"target:30\.\.30 is empty; LO must be below HI"),
    ("target:30..10", r"target:30\.\.10 is inverted"),
    ("target:..", "leaves both sides of the range open"),
    ("target:30", "is not a range; write target:LO..HI"),
    ("target:a..3", "bound 'a' in 'target:a..3' is not a number"),
    ("target:nan..3", "must be a finite number"),
])
def test_bad_target_ranges_are_one_line(spec, message):
    with pytest.raises(BadInput, match=message) as err:
        parse_forget(spec)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("spec, message", [
    ("target:400..500", r"selects no training samples of 'diabetes'; its training targets span \[25, 346\]"),
    ("target:0..1000", "selects all 353 training samples"),
    ("class:3", "does not apply to regression data set 'diabetes'; regression supports: random:, indices:, target:"),
    ("subclass:1", "does not apply to regression"),
    ("poison", "does not apply to regression"),
])
def test_requests_that_do_not_fit_regression_data_are_one_line(spec, message):
    with pytest.raises(BadInput, match=message):
        select_forget(parse_forget(spec), load_dataset("diabetes"))


def test_a_target_range_on_classification_data_is_refused():
    with pytest.raises(BadInput, match="selects by a regression target, so it does not apply to classification"):
        select_forget(parse_forget("target:0..3"), load_dataset("digits"))


def test_random_and_indices_work_on_regression(tmp_path):
    d = load_dataset("diabetes")
    assert len(select_forget(parse_forget("random:0.1"), d)) == 35
    (tmp_path / "f.txt").write_text("0 5 7")
    assert select_forget(parse_forget(f"indices:{tmp_path / 'f.txt'}"), d).tolist() == [0, 5, 7]
