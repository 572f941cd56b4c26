from __future__ import annotations

import json
import random
import socket
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from unlearnlab.data import (
    DATASETS,
    Dataset,
    from_arrays,
    load_dataset,
    parse_dataset_spec,
    register_dataset,
)
from unlearnlab.data.datasets import declared_classes
from unlearnlab.errors import BadInput


def bad(fn, *needles: str) -> str:
    """Call fn, expect BadInput with a one-line message containing every needle."""
    with pytest.raises(BadInput) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


# --- digits -----------------------------------------------------------------------------------------


def test_digits_shapes_dtypes_ranges(digits: Dataset) -> None:
    assert digits.name == "digits" and digits.num_classes == 10
    assert digits.x_train.shape == (1437, 1, 8, 8) and digits.x_test.shape == (360, 1, 8, 8)
    assert digits.input_shape == (1, 8, 8)
    for x in (digits.x_train, digits.x_test):
        assert x.dtype == np.float32 and x.flags.c_contiguous
        assert x.min() == 0.0 and x.max() == 1.0
    for y in (digits.y_train, digits.y_test):
        assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    assert digits.class_names == tuple(str(i) for i in range(10))
    assert digits.groups_train is None
    assert digits.params == {"seed": 0, "test_size": 0.2}


def test_digits_split_is_a_partition_of_the_source(digits: Dataset) -> None:
    raw = load_digits()
    expected = sorted(((raw.images[i] / 16.0).astype(np.float32).tobytes(), int(raw.target[i]))
                      for i in range(len(raw.target)))
    got = sorted((x.tobytes(), int(y)) for x, y in zip(
        np.concatenate([digits.x_train, digits.x_test]), np.concatenate([digits.y_train, digits.y_test])))
    assert got == expected


def test_digits_is_stratified(digits: Dataset) -> None:
    train = np.bincount(digits.y_train, minlength=10)
    test = np.bincount(digits.y_test, minlength=10)
    # Each class's test share matches test_size to within one sample.
    assert np.all(np.abs(test - 0.2 * (train + test)) <= 1)


def test_digits_seeded(digits: Dataset) -> None:
    again = load_dataset("digits", seed=0)
    assert np.array_equal(again.x_train, digits.x_train) and np.array_equal(again.y_test, digits.y_test)
    assert again.fingerprint == digits.fingerprint
    other = load_dataset("digits", seed=1)
    assert not np.array_equal(other.y_train, digits.y_train)
    assert other.fingerprint != digits.fingerprint


def test_digits_test_size() -> None:
    d = load_dataset("digits", test_size=0.5)
    assert (len(d.y_train), len(d.y_test)) == (898, 899)
    assert d.params["test_size"] == 0.5


def test_describe_is_json(digits: Dataset) -> None:
    info = json.loads(json.dumps(digits.describe()))
    assert info == {
        "name": "digits", "params": {"seed": 0, "test_size": 0.2}, "n_train": 1437, "n_test": 360,
        "num_classes": 10, "input_shape": [1, 8, 8], "fingerprint": digits.fingerprint,
    }
    assert len(digits.fingerprint) == 64 and int(digits.fingerprint, 16) >= 0


# --- fingerprint and Dataset ------------------------------------------------------------------------


def _toy(**changes) -> Dataset:
    fields = dict(name="toy", x_train=np.arange(12.0).reshape(6, 2), y_train=np.array([0, 1, 2, 0, 1, 2]),
                  x_test=np.ones((3, 2)), y_test=np.array([0, 1, 2]), num_classes=3, params={"a": 1})
    fields.update(changes)
    return Dataset(**fields)


def test_fingerprint_depends_on_content_only() -> None:
    base = _toy()
    assert _toy(params={"a": 2}).fingerprint == base.fingerprint  # params do not change content
    x = np.arange(12.0).reshape(6, 2)
    x[5, 1] = 99
    assert _toy(x_train=x).fingerprint != base.fingerprint
    assert _toy(y_test=np.array([0, 1, 1])).fingerprint != base.fingerprint
    assert _toy(groups_train=np.arange(6)).fingerprint != base.fingerprint
    assert _toy(name="other").fingerprint != base.fingerprint
    assert _toy(class_names=("a|b", "c", "d")).fingerprint != _toy(class_names=("a", "b|c", "d")).fingerprint


def test_dataset_normalises_and_validates() -> None:
    d = _toy()
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert d.class_names == ("0", "1", "2")
    bad(lambda: _toy(y_train=np.array([0, 1, 2, 0, 1, 3])), "3", "[0, 2]")
    bad(lambda: _toy(y_test=np.array([0, 1])), "x_test has 3", "y_test 2")
    bad(lambda: _toy(x_test=np.ones((3, 4))), "(4,)", "(2,)")
    bad(lambda: _toy(class_names=("a", "b")), "2 class_names", "3")
    bad(lambda: _toy(params={"f": object()}), "params=")
    bad(lambda: _toy(num_classes=1), "num_classes=1")


# --- mnist1d ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist1d", num_samples=200, seed=3)


def test_mnist1d_offline_shapes_and_global_state(monkeypatch: pytest.MonkeyPatch) -> None:
    import mnist1d.data

    def no_network(*args, **kwargs):
        raise AssertionError("mnist1d must be generated, not downloaded")

    monkeypatch.setattr(mnist1d.data, "get_dataset", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    np.random.seed(1234)
    random.seed(99)
    np_before, py_before = np.random.get_state(), random.getstate()
    d = load_dataset("mnist1d", num_samples=200, seed=5, test_size=0.25)
    np_after = np.random.get_state()
    assert np_after[0] == np_before[0] and np.array_equal(np_after[1], np_before[1])
    assert np_after[2:] == np_before[2:]
    assert random.getstate() == py_before
    assert d.x_train.shape == (150, 1, 40) and d.x_test.shape == (50, 1, 40)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64 and d.x_train.flags.c_contiguous
    labels = np.concatenate([d.y_train, d.y_test])
    assert np.array_equal(np.bincount(labels), np.full(10, 20))  # the generator makes N/10 per class
    assert d.params == {"seed": 5, "test_size": 0.25, "num_samples": 200}


def test_mnist1d_seeded(mnist: Dataset) -> None:
    again = load_dataset("mnist1d", num_samples=200, seed=3)
    assert np.array_equal(again.x_train, mnist.x_train) and again.fingerprint == mnist.fingerprint
    other = load_dataset("mnist1d", num_samples=200, seed=4)
    assert not np.array_equal(other.x_train, mnist.x_train)


def test_mnist1d_bad_params() -> None:
    bad(lambda: load_dataset("mnist1d", num_samples=5), "num_samples=5")
    bad(lambda: load_dataset("mnist1d", num_samples=200.0), "num_samples=200.0")
    bad(lambda: load_dataset("mnist1d", test_size=1.0), "test_size=1.0")


# --- arrays: Python API -----------------------------------------------------------------------------


def test_from_arrays_string_labels_1d_inputs() -> None:
    n = 30
    X = np.stack([np.arange(n), np.zeros(n), np.ones(n), np.arange(n) * 2, np.zeros(n)], axis=1)
    names = np.array(["dog", "cat", "eel"])
    y = names[np.arange(n) % 3]
    groups = np.arange(n) // 5
    d = from_arrays(X, y, groups, seed=2, standardize=False)  # raw values trace rows back
    assert d.num_classes == 3 and d.class_names == ("cat", "dog", "eel")
    assert d.input_shape == (5,) and len(d.y_train) == 24 and len(d.y_test) == 6
    assert np.array_equal(np.bincount(d.y_test), [2, 2, 2])  # stratified
    # Column 0 holds the original row, so every sample can be traced back to its label and group.
    for x, code, part in [(d.x_train, d.y_train, "train"), (d.x_test, d.y_test, "test")]:
        rows = x[:, 0].astype(int)
        assert [d.class_names[c] for c in code] == list(y[rows]), part
    assert np.array_equal(d.groups_train, groups[d.x_train[:, 0].astype(int)])
    assert sorted(np.concatenate([d.x_train[:, 0], d.x_test[:, 0]]).astype(int)) == list(range(n))
    assert d.params == {"seed": 2, "test_size": 0.2, "standardize": False}


def test_from_arrays_int_labels_sorted_numerically_and_plain_split() -> None:
    X = np.arange(10, dtype=np.float64)[:, None]
    y = [100, 7, 7, 7, 3, 3, 3, 3, 100, 42]  # 42 has one sample: no stratified split possible
    d = from_arrays(X, y, test_size=0.3, seed=0, standardize=False)
    assert d.class_names == ("3", "7", "42", "100")
    assert len(d.y_train) == 7 and len(d.y_test) == 3
    for x, code in [(d.x_train, d.y_train), (d.x_test, d.y_test)]:
        assert [int(d.class_names[c]) for c in code] == [y[int(i)] for i in x[:, 0]]
    assert from_arrays(X, y, test_size=0.3, seed=0, standardize=False).fingerprint == d.fingerprint
    assert from_arrays(X, y, test_size=0.3, seed=1, standardize=False).fingerprint != d.fingerprint
    assert from_arrays(X, y, test_size=0.3, seed=0).fingerprint != d.fingerprint  # standardised content


def test_from_arrays_with_test_set_keeps_order() -> None:
    rng = np.random.default_rng(0)
    X, X_test = rng.random((12, 3, 4, 4)), rng.random((5, 3, 4, 4))
    y, y_test = np.array([1, 2] * 6), np.array([2, 2, 1, 1, 2])
    d = from_arrays(X, y, X_test=X_test, y_test=y_test, name="imgs", standardize=False)
    assert d.name == "imgs" and d.input_shape == (3, 4, 4)
    assert np.array_equal(d.x_train, X.astype(np.float32))
    assert np.array_equal(d.x_test, X_test.astype(np.float32))
    assert np.array_equal(d.y_train, y - 1) and np.array_equal(d.y_test, y_test - 1)
    assert d.class_names == ("1", "2")


def test_from_arrays_float_labels_that_are_whole_numbers() -> None:
    d = from_arrays(np.zeros((6, 2)), np.array([0.0, 1.0, 2.0] * 2), X_test=np.zeros((1, 2)), y_test=[2.0])
    assert d.class_names == ("0", "1", "2") and d.y_test.tolist() == [2]


@pytest.mark.parametrize("kwargs, needles", [
    (dict(X=np.zeros((10, 2)), y=np.arange(9) % 2), ["9 labels", "10 samples"]),
    (dict(X=np.array([["a", "b"]] * 4), y=[0, 1, 0, 1]), ["<U1", "numeric"]),
    (dict(X=np.array([[0.0], [1.0], [np.nan], [2.0]]), y=[0, 1, 0, 1]), ["nan", "sample 2"]),
    (dict(X=np.array([[0.0, np.inf]] * 4), y=[0, 1, 0, 1]), ["inf", "sample 0"]),
    (dict(X=np.array([[1e300]] * 4), y=[0, 1, 0, 1]), ["inf", "finite"]),
    (dict(X=np.zeros((4, 2)), y=["a"] * 4), ["['a']", "2 classes"]),
    (dict(X=np.zeros((1, 2)), y=[0]), ["1 sample", "at least 2"]),
    (dict(X=np.zeros((4, 2)), y=[0, 1, 0, 1], test_size=0.0), ["test_size=0.0", "(0.0, 1.0)"]),
    (dict(X=np.zeros((4, 2)), y=[0, 1, 0, 1], test_size=1.5), ["test_size=1.5"]),
    (dict(X=np.zeros((4, 2)), y=[0, 1, 0, 1], groups=[1, 2, 3]), ["groups has 3", "(4)"]),
    (dict(X=np.zeros(4), y=[0, 1, 0, 1]), ["(4,)", "(N, 1)"]),
    (dict(X=np.zeros((4, 2)), y=[0, 1, 0.5, 1]), ["0.5", "integers or strings"]),
    (dict(X=np.zeros((4, 2)), y=[0, 1, 0, 1], X_test=np.zeros((2, 2))), ["X_test given alone"]),
    (dict(X=np.zeros((4, 2)), y=[0, 1, 0, 1], X_test=np.zeros((2, 3)), y_test=[0, 1]), ["(2, 3)"]),
    (dict(X=np.zeros((4, 2)), y=[0, 1, 0, 1], X_test=np.zeros((2, 2)), y_test=[0, 5]), ["label 5"]),
    (dict(X=np.zeros((4, 2)), y=[0, 1, 0, 1], seed=-1), ["seed=-1"]),
])
def test_from_arrays_bad_inputs(kwargs, needles) -> None:
    X, y = kwargs.pop("X"), kwargs.pop("y")
    bad(lambda: from_arrays(X, y, **kwargs), *needles)


# --- arrays: .npz files -----------------------------------------------------------------------------


def test_arrays_npz_string_labels(tmp_path: Path) -> None:
    path = tmp_path / "data.npz"
    X = np.arange(40, dtype=np.float64).reshape(20, 2)
    y = np.array(["b", "a"] * 10)
    np.savez(path, X=X, y=y, groups=np.arange(20) % 4)
    d = load_dataset("arrays", path=str(path), seed=1, test_size=0.25, standardize=False)
    assert d.class_names == ("a", "b") and d.num_classes == 2 and d.input_shape == (2,)
    assert len(d.y_train) == 15 and len(d.y_test) == 5
    rows = (d.x_train[:, 0] / 2).astype(int)
    assert [d.class_names[c] for c in d.y_train] == list(y[rows])
    assert np.array_equal(d.groups_train, rows % 4)
    assert d.params == {"path": str(path), "seed": 1, "test_size": 0.25, "standardize": False}
    # Same content under another path: same fingerprint, different params.
    other = tmp_path / "copy.npz"
    np.savez(other, X=X, y=y, groups=np.arange(20) % 4)
    e = load_dataset("arrays", path=str(other), seed=1, test_size=0.25, standardize=False)
    assert e.fingerprint == d.fingerprint and e.params["path"] == str(other)


def test_arrays_npz_image_shaped_with_test_set_via_spec(tmp_path: Path) -> None:
    path = tmp_path / "imgs.npz"
    rng = np.random.default_rng(1)
    X, X_test = rng.random((9, 1, 5, 5)).astype(np.float32), rng.random((4, 1, 5, 5)).astype(np.float32)
    y, y_test = np.array([0, 1, 2] * 3), np.array([2, 1, 0, 0])
    np.savez(path, X=X, y=y, X_test=X_test, y_test=y_test)
    name, params = parse_dataset_spec(f"arrays:{path},standardize=false")
    assert params == {"path": str(path), "standardize": False}
    d = load_dataset(name, **params)
    assert np.array_equal(d.x_train, X) and np.array_equal(d.x_test, X_test)
    assert d.y_train.tolist() == y.tolist() and d.y_test.tolist() == y_test.tolist()
    assert d.input_shape == (1, 5, 5) and d.num_classes == 3


def test_arrays_npz_bad_files(tmp_path: Path) -> None:
    def load(p: Path):
        return lambda: load_dataset("arrays", path=str(p))

    missing = tmp_path / "missing.npz"
    bad(load(missing), str(missing), "does not exist")
    bad(load(tmp_path), str(tmp_path), "not a regular file")  # a directory
    text = tmp_path / "text.npz"
    text.write_text("X,y\n1,2\n")
    bad(load(text), str(text), "not a readable .npz")
    single = tmp_path / "single.npy"
    np.save(single, np.zeros((3, 2)))
    bad(load(single), str(single), "single array")
    for keys, needle in [({"X": np.zeros((4, 2))}, "'y'"), ({"y": np.zeros(4)}, "'X'")]:
        p = tmp_path / f"no{needle[1]}.npz"
        np.savez(p, **keys)
        bad(load(p), str(p), needle)
    typo = tmp_path / "typo.npz"
    np.savez(typo, X=np.zeros((4, 2)), y=[0, 1, 0, 1], x_test=np.zeros((2, 2)))
    bad(load(typo), "'x_test'", "allowed")
    short = tmp_path / "short.npz"
    np.savez(short, X=np.zeros((4, 2)), y=[0, 1, 0])
    bad(load(short), str(short), "3 labels", "4 samples")
    nan = tmp_path / "nan.npz"
    np.savez(nan, X=np.array([[0.0], [np.nan], [1.0], [2.0]]), y=[0, 1, 0, 1])
    bad(load(nan), str(nan), "nan", "sample 1")
    alone = tmp_path / "alone.npz"
    np.savez(alone, X=np.zeros((4, 2)), y=[0, 1, 0, 1], y_test=[0, 1])
    bad(load(alone), "y_test given alone")


# --- load_dataset and parse_dataset_spec ------------------------------------------------------------


def test_load_dataset_rejects_unknown_names_and_params() -> None:
    bad(lambda: load_dataset("nope"), "'nope'", "digits", "mnist1d", "arrays")
    bad(lambda: load_dataset("digits", num_samples=10), "'num_samples'", "seed, test_size")
    bad(lambda: load_dataset("arrays"), "'path'")
    bad(lambda: load_dataset("digits", seed=-1), "seed=-1")
    bad(lambda: load_dataset("digits", seed=2**32), f"seed={2**32}")
    bad(lambda: load_dataset("digits", test_size="abc"), "test_size='abc'")


def test_register_dataset_and_load() -> None:
    name = "_toy_for_test"

    @register_dataset(name)
    def toy(seed: int = 0, test_size: float = 0.2, scale: float = 1.0) -> Dataset:
        return _toy(x_train=np.full((6, 2), scale), params={"seed": seed, "scale": scale})

    try:
        assert DATASETS.get(name) is toy
        assert load_dataset(name, scale=2.0).x_train[0, 0] == 2.0
        bad(lambda: load_dataset(name, size=1), "'size'", "seed, test_size, scale")
        assert declared_classes(name) is None  # not declared: its classes are the data's
    finally:
        DATASETS._items.pop(name)


def test_a_loader_declares_its_classes() -> None:
    name = "_toy_with_classes"

    @register_dataset(name, num_classes=3)
    def toy(seed: int = 0, test_size: float = 0.2) -> Dataset:
        return _toy(params={"seed": seed})

    try:
        assert declared_classes(name) == 3 == load_dataset(name).num_classes
        assert declared_classes("digits") == load_dataset("digits").num_classes
    finally:
        DATASETS._items.pop(name)
    bad(lambda: register_dataset("_never", num_classes=1), "num_classes=1", ">= 2")
    assert "_never" not in DATASETS


def test_parse_dataset_spec() -> None:
    assert parse_dataset_spec("digits") == ("digits", {})
    assert parse_dataset_spec(" mnist1d:num_samples=2000 ") == ("mnist1d", {"num_samples": 2000})
    name, params = parse_dataset_spec("x:a=-3,b=0.5,c=1e-3,d=True,e=false,f=hello,g=")
    assert name == "x"
    assert params == {"a": -3, "b": 0.5, "c": 0.001, "d": True, "e": False, "f": "hello", "g": ""}
    assert [type(v) for v in params.values()] == [int, float, float, bool, bool, str, str]
    assert parse_dataset_spec("arrays:path/to/file.npz") == ("arrays", {"path": "path/to/file.npz"})
    assert parse_dataset_spec("arrays:C:/d/a,b=1.npz") == ("arrays", {"path": "C:/d/a,b=1.npz"})


@pytest.mark.parametrize("spec, needle", [
    ("", "''"), (":a=1", "':a=1'"), ("mnist1d:", "'mnist1d:'"), ("arrays:", "'arrays:'"),
    ("mnist1d:num_samples", "'num_samples'"), ("mnist1d:=3", "'=3'"), ("x:a=1,a=2", "'a'"),
])
def test_parse_dataset_spec_errors(spec: str, needle: str) -> None:
    bad(lambda: parse_dataset_spec(spec), needle)


def test_seed_in_the_dataset_spec_is_refused_by_name():
    with pytest.raises(BadInput, match=r"'seed' \(seed=3\) is not allowed"):
        parse_dataset_spec("digits:seed=3")


# --- arrays: standardisation -------------------------------------------------------------------------


def test_arrays_standardise_with_training_statistics_by_default(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    raw = load_breast_cancer()  # features from ~1e-3 to ~4e3: raw, an MLP collapses to the majority class
    path = tmp_path / "bc.npz"
    np.savez(path, X=raw.data, y=raw.target)
    d = load_dataset("arrays", path=str(path))
    plain = load_dataset("arrays", path=str(path), standardize=False)
    assert d.params["standardize"] is True and plain.params["standardize"] is False
    assert d.fingerprint != plain.fingerprint
    np.testing.assert_allclose(d.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(d.x_train.std(axis=0), 1.0, atol=1e-4)
    # The test split is mapped with the training split's statistics, not its own.
    mean, std = plain.x_train.astype(np.float64).mean(0), plain.x_train.astype(np.float64).std(0)
    np.testing.assert_allclose(d.x_test, (plain.x_test - mean) / std, rtol=1e-4, atol=1e-4)
    assert np.array_equal(d.y_train, plain.y_train) and np.array_equal(d.y_test, plain.y_test)


def test_standardise_keeps_constant_features_finite() -> None:
    X = np.stack([np.arange(20.0), np.full(20, 7.0), np.full(20, 1e6) + 1e-9], axis=1)
    d = from_arrays(X, np.arange(20) % 2, seed=0)
    assert np.isfinite(d.x_train).all() and np.isfinite(d.x_test).all()
    assert np.all(d.x_train[:, 1] == 0.0) and np.all(d.x_test[:, 1] == 0.0)  # centred, not divided by 0


def test_standardize_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((6, 2)), y=[0, 1] * 3)
    bad(lambda: load_dataset("arrays", path=str(path), standardize="no"), "standardize='no'", "true or false")
    bad(lambda: from_arrays(np.zeros((6, 2)), [0, 1] * 3, standardize=1), "standardize=1")


def test_arrays_spec_peels_known_options_off_the_path() -> None:
    assert parse_dataset_spec("arrays:d.npz,standardize=false") == ("arrays", {"path": "d.npz", "standardize": False})
    assert parse_dataset_spec("arrays:d.npz, test_size=0.3, standardize=true") == (
        "arrays", {"path": "d.npz", "test_size": 0.3, "standardize": True})
    # Anything else stays part of the path (paths may hold ',' and '=').
    assert parse_dataset_spec("arrays:a,b=1.npz") == ("arrays", {"path": "a,b=1.npz"})
    assert parse_dataset_spec("arrays:a,standardize=x/b.npz") == ("arrays", {"path": "a,standardize=x/b.npz"})


def test_empty_arrays_and_text_saved_as_npz_are_one_line_errors(tmp_path):
    from unlearnlab.data.datasets import MAX_GENERATED_SAMPLES

    rows0, feat0, text = tmp_path / "rows0.npz", tmp_path / "feat0.npz", tmp_path / "text.npz"
    np.savez(rows0, X=np.zeros((0, 4), np.float32), y=np.zeros(0, int))
    np.savez(feat0, X=np.zeros((50, 0), np.float32), y=np.arange(50) % 2)
    text.write_text("hello world\n")
    with pytest.raises(BadInput, match=r"X has shape \(0, 4\); it must be \(N >= 1"):
        load_dataset("arrays", path=str(rows0))
    with pytest.raises(BadInput, match=r"X has shape \(50, 0\); .* at least one feature"):
        load_dataset("arrays", path=str(feat0))
    with pytest.raises(BadInput, match="not a zip archive of .npy arrays") as err:
        load_dataset("arrays", path=str(text))
    assert "allow_pickle" not in str(err.value)
    with pytest.raises(BadInput, match="is not a regular file"):
        load_dataset("arrays", path="/dev/zero")
    with pytest.raises(BadInput, match=f"num_samples=1000000000 is not allowed; it must be in \\[10, {MAX_GENERATED_SAMPLES}\\]"):
        load_dataset("mnist1d", num_samples=1_000_000_000)
