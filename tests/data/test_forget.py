from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unlearnlab.data import Dataset, ForgetRequest, load_dataset, parse_forget, select_forget
from unlearnlab.data.forget import SELECTION_OPTIONS
from unlearnlab.errors import BadInput

from .test_datasets import bad


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def small(y_train: list[int], num_classes: int = 3) -> Dataset:
    n = len(y_train)
    return Dataset(name="small", x_train=np.zeros((n, 2)), y_train=np.array(y_train),
                   x_test=np.zeros((1, 2)), y_test=np.array([0]), num_classes=num_classes, params={})


# --- parsing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec, expected", [
    ("class:3", ForgetRequest("class", classes=(3,))),
    (" class: 1 , 7 ", ForgetRequest("class", classes=(1, 7))),
    ("random:0.1", ForgetRequest("random", fraction=0.1)),
    ("random:10%", ForgetRequest("random", fraction=0.1)),
    ("random:2.5%", ForgetRequest("random", fraction=0.025)),
    ("random:1e-3", ForgetRequest("random", fraction=0.001)),
    ("random:200", ForgetRequest("random", count=200)),
    ("random:1", ForgetRequest("random", count=1)),
    ("indices:dir/forget set.txt", ForgetRequest("indices", path="dir/forget set.txt")),
    ("subclass:rocket", ForgetRequest("subclass", subclasses=("rocket",))),
    (" subclass: 069 , baby ", ForgetRequest("subclass", subclasses=("69", "baby"))),
])
def test_parse_and_round_trip(spec: str, expected: ForgetRequest) -> None:
    request = parse_forget(spec)
    assert request == expected
    assert parse_forget(request.spec()) == request
    assert request.is_classwise == (expected.kind == "class")


def test_canonical_specs() -> None:
    assert parse_forget("class:1,7").spec() == "class:1,7"
    assert parse_forget("random:10%").spec() == "random:0.1"
    assert parse_forget("random:200").spec() == "random:200"
    assert ForgetRequest("random", fraction=1 / 3).spec() == f"random:{1 / 3!r}"
    assert parse_forget(ForgetRequest("random", fraction=1 / 3).spec()).fraction == 1 / 3


@pytest.mark.parametrize("spec, needle", [
    ("random", "'random'"), ("", "''"), ("foo:1", "'foo'"), ("Class:1", "'Class'"),
    ("class:", "'class:'"), ("class:a", "'a'"), ("class:1.5", "'1.5'"), ("class:1,,2", "''"),
    ("class:2,2", "class 2 is repeated"), ("class:-1", "-1"),
    ("random:abc", "'abc'"), ("random:0.1.2", "'0.1.2'"), ("random:%", "'%'"),
    ("random:0", "count=0"), ("random:-4", "count=-4"), ("random:1.0", "'1.0'"), ("random:0.0", "'0.0'"),
    ("random:-0.5", "'-0.5'"), ("random:150%", "'150%'"), ("random:0%", "'0%'"), ("random:nan", "'nan'"),
    ("random:inf", "'inf'"), ("indices:", "'indices:'"),
    ("subclass:", "'subclass:'"), ("subclass:rocket,,baby", "''"), ("subclass:rocket, rocket", "'rocket' is repeated"),
    ("subclass:7,07", "'7' is repeated"),
])
def test_parse_errors(spec: str, needle: str) -> None:
    bad(lambda: parse_forget(spec), needle)


def test_request_checks_its_fields() -> None:
    bad(lambda: ForgetRequest("bogus"), "'bogus'")  # type: ignore[arg-type]
    bad(lambda: ForgetRequest("class"), "'classes'")
    bad(lambda: ForgetRequest("random", fraction=0.1, count=3), "got fraction, count")
    bad(lambda: ForgetRequest("random"), "one of 'fraction', 'count'; got nothing")
    bad(lambda: ForgetRequest("class", classes=(1,), path="x"), "got classes, path")
    bad(lambda: ForgetRequest("random", fraction=1.5), "1.5")
    bad(lambda: ForgetRequest("indices", path=""), "''")
    bad(lambda: ForgetRequest("class", classes=(True,)), "True")
    assert ForgetRequest("class", classes=(np.int64(2),)).spec() == "class:2"
    assert ForgetRequest("random", count=np.int32(5)) == ForgetRequest("random", count=5)
    bad(lambda: ForgetRequest("subclass"), "'subclasses'")
    bad(lambda: ForgetRequest("subclass", subclasses=("a",), classes=(1,)), "got classes, subclasses")
    bad(lambda: ForgetRequest("subclass", subclasses=("a,b",)), "'a,b'")
    assert ForgetRequest("subclass", subclasses=(np.int64(3),)).spec() == "subclass:3"
    assert not ForgetRequest("subclass", subclasses=("3",)).is_classwise  # its super-class stays learned


def _with_fine(fine_train: list[int], names: tuple[str, ...]) -> Dataset:
    n = len(fine_train)
    coarse = np.array(fine_train) % 2
    return Dataset(name="fine", x_train=np.zeros((n, 2)), y_train=coarse, x_test=np.zeros((2, 2)),
                   y_test=np.array([0, 1]), num_classes=2, fine_train=np.array(fine_train),
                   fine_test=np.array([0, 1]), fine_names=names)


def test_subclass_selects_the_samples_of_its_fine_classes() -> None:
    ds = _with_fine([0, 1, 2, 3, 2, 0, 1, 3], ("a", "b", "c", "d"))
    np.testing.assert_array_equal(select_forget(parse_forget("subclass:c"), ds), [2, 4])
    np.testing.assert_array_equal(select_forget(parse_forget("subclass:2"), ds), [2, 4])
    np.testing.assert_array_equal(select_forget(parse_forget("subclass:d,a"), ds), [0, 3, 5, 7])
    bad(lambda: select_forget(parse_forget("subclass:a,b,c,d"), ds), "selects all 8")
    bad(lambda: select_forget(parse_forget("subclass:e"), ds), "'e'", "allowed", "a, b, c, d")
    bad(lambda: select_forget(parse_forget("subclass:1"), small([0, 1, 1])), "fine labels", "'small'")


def test_fine_labels_are_checked_with_the_dataset() -> None:
    bad(lambda: _with_fine([0, 4], ("a", "b", "c", "d")), "fine_train holds label 4")
    bad(lambda: Dataset(name="x", x_train=np.zeros((2, 1)), y_train=np.array([0, 1]), x_test=np.zeros((1, 1)),
                        y_test=np.array([0]), num_classes=2, fine_train=np.array([0, 1])), "go together")
    with_fine = _with_fine([0, 1, 2, 3], ("a", "b", "c", "d"))
    plain = Dataset(name="fine", x_train=with_fine.x_train, y_train=with_fine.y_train, x_test=with_fine.x_test,
                    y_test=with_fine.y_test, num_classes=2)
    assert with_fine.fingerprint != plain.fingerprint  # the fine labels are part of the content
    assert "num_fine_classes" not in plain.describe() and with_fine.describe()["num_fine_classes"] == 4


# --- selection --------------------------------------------------------------------------------------


def test_class_selection_is_exactly_the_class(digits: Dataset) -> None:
    idx = select_forget(parse_forget("class:3"), digits)
    assert idx.dtype == np.int64
    assert np.array_equal(idx, np.flatnonzero(digits.y_train == 3))
    both = select_forget(parse_forget("class:7,1"), digits)
    assert np.array_equal(both, np.flatnonzero((digits.y_train == 1) | (digits.y_train == 7)))
    assert set(digits.y_train[both]) == {1, 7}


def test_random_sizes_and_properties(digits: Dataset) -> None:
    n = len(digits.y_train)  # 1437
    frac = select_forget(parse_forget("random:0.1"), digits, seed=0)
    assert len(frac) == round(0.1 * n) == 144
    assert len(select_forget(parse_forget("random:33%"), digits)) == round(0.33 * n)
    count = select_forget(parse_forget("random:200"), digits, seed=0)
    assert len(count) == 200
    assert len(select_forget(parse_forget(f"random:{n - 1}"), digits)) == n - 1
    for idx in (frac, count):
        assert idx.dtype == np.int64 and np.all(np.diff(idx) > 0)
        assert idx.min() >= 0 and idx.max() < n


def test_random_is_deterministic_per_seed(digits: Dataset) -> None:
    request = parse_forget("random:0.2")
    a = select_forget(request, digits, seed=7)
    assert np.array_equal(a, select_forget(request, digits, seed=7))
    assert not np.array_equal(a, select_forget(request, digits, seed=8))
    expected = np.random.default_rng(7).choice(len(digits.y_train), len(a), replace=False)
    assert np.array_equal(a, np.sort(expected))


def test_random_is_roughly_uniform(digits: Dataset) -> None:
    n = len(digits.y_train)
    hits = np.zeros(n)
    for seed in range(200):
        hits[select_forget(parse_forget("random:0.5"), digits, seed=seed)] += 1
    # Every sample is chosen about half the time; a biased sampler would leave some near 0 or 200.
    assert 50 < hits.min() and hits.max() < 150 and abs(hits.mean() - 100) < 1


def test_indices_from_text_and_npy(digits: Dataset, tmp_path: Path) -> None:
    text = tmp_path / "forget.txt"
    text.write_text("5, 3\n  9\t0,12\n")
    assert select_forget(parse_forget(f"indices:{text}"), digits).tolist() == [0, 3, 5, 9, 12]
    npy = tmp_path / "forget.npy"
    np.save(npy, np.array([40, 2, 1436], dtype=np.int32))
    idx = select_forget(parse_forget(f"indices:{npy}"), digits)
    assert idx.dtype == np.int64 and idx.tolist() == [2, 40, 1436]


def test_selection_errors(digits: Dataset, tmp_path: Path) -> None:
    n = len(digits.y_train)

    def sel(spec: str, data: Dataset = digits):
        return lambda: select_forget(parse_forget(spec), data)

    bad(sel("class:10"), "class 10", "[0, 9]")
    bad(sel("class:" + ",".join(map(str, range(10)))), f"all {n}")
    bad(sel("class:2", small([0, 1, 0, 1])), "class 2", "no training samples")
    bad(sel("class:0,1", small([0, 1, 0, 1])), "all 4")
    bad(sel("random:0.0001"), "'random:0.0001'", "0 of 1437")
    bad(sel("random:0.9999"), f"all {n}")
    bad(sel(f"random:{n}"), f"'random:{n}'", f"between 1 and {n - 1}")
    bad(sel("random:5000"), "'random:5000'", f"all {n}")
    bad(lambda: select_forget(parse_forget("random:3"), digits, seed=-1), "seed=-1")

    def indices(name: str, content: str | None = None, array: np.ndarray | None = None) -> str:
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        if array is not None:
            np.save(path, array)
        return f"indices:{path}"

    missing = tmp_path / "missing.txt"
    bad(sel(f"indices:{missing}"), str(missing), "does not exist")
    bad(sel(f"indices:{tmp_path}"), str(tmp_path), "not a regular file")
    bad(sel(indices("words.txt", "1 2 three")), "'three'", "integer")
    bad(sel(indices("floats.txt", "1, 2.0")), "'2.0'")
    bad(sel(indices("range.txt", f"0 {n}")), f"index {n}", f"[0, {n - 1}]")
    bad(sel(indices("neg.txt", "-1 4")), "index -1")
    bad(sel(indices("dup.txt", "4 7 4")), "index 4 is repeated")
    bad(sel(indices("empty.txt", " \n")), "selects no training samples")
    bad(sel(indices("all.txt", " ".join(map(str, range(n))))), f"all {n}")
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(b"\xff\xfe\x00\x81")
    bad(sel(f"indices:{garbage}"), str(garbage), "not readable")
    bad(sel(indices("floats.npy", array=np.array([1.0, 2.0]))), "float64", "integer")
    bad(sel(indices("matrix.npy", array=np.zeros((2, 2), dtype=int))), "(2, 2)")
    fake = tmp_path / "fake.npy"
    fake.write_text("1 2 3")
    bad(sel(f"indices:{fake}"), str(fake), "not readable")


def test_bad_input_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_forget("nope:1")
    assert issubclass(BadInput, ValueError)


def test_class_request_must_leave_two_classes_to_learn() -> None:
    from unlearnlab.data import from_arrays

    rng = np.random.default_rng(0)
    two = from_arrays(rng.normal(size=(40, 3)), np.arange(40) % 2)
    with pytest.raises(BadInput, match=r"forget 'class:1' leaves only class 0 in the retain set") as err:
        select_forget(parse_forget("class:1"), two)
    assert "random:F, random:N or indices:PATH" in str(err.value)
    three = from_arrays(rng.normal(size=(60, 3)), np.arange(60) % 3)
    with pytest.raises(BadInput, match=r"forget at most 1 of its 3 classes"):
        select_forget(parse_forget("class:0,2"), three)
    assert len(select_forget(parse_forget("class:2"), three)) == np.sum(three.y_train == 2)


def test_indices_from_a_device_a_huge_number_or_a_folder_are_one_line_errors(tmp_path):
    from unlearnlab.data.forget import read_indices

    with pytest.raises(BadInput, match="is not a regular file"):
        read_indices("/dev/urandom")  # would be read without end
    with pytest.raises(BadInput, match="is not a regular file"):
        read_indices(str(tmp_path))
    big = tmp_path / "big.txt"
    big.write_text("3 99999999999999999999999\n")
    with pytest.raises(BadInput, match="99999999999999999999999, which is not a valid index"):
        read_indices(str(big))


# selected kinds: worst: and memorised: -----------------------------------------------------------------
def _option_values(kind):
    out = {}
    for name, (typ, _default, allowed) in SELECTION_OPTIONS[kind].items():
        if typ is str:
            out[name] = st.sampled_from(allowed)
        elif typ is int:
            out[name] = st.integers(allowed[0], allowed[1])
        else:
            out[name] = st.floats(allowed[0], allowed[1], allow_nan=False)
    return out


@st.composite
def selected_specs(draw):
    kind = draw(st.sampled_from(["worst", "memorised"]))
    amount = draw(st.one_of(st.integers(1, 10**6).map(str),
                            st.floats(1e-6, 1 - 1e-6, allow_nan=False).map(repr),
                            st.integers(1, 99).map(lambda p: f"{p}%")))
    values = _option_values(kind)
    names = draw(st.lists(st.sampled_from(sorted(values)), unique=True))
    opts = [f"{n}={draw(values[n])}" for n in draw(st.permutations(names))]
    return ",".join([f"{kind}:{amount}", *opts])


@settings(max_examples=200, deadline=None)
@given(selected_specs())
def test_selected_specs_round_trip_through_their_canonical_form(spec):
    r = parse_forget(spec)
    assert r.is_selected and parse_forget(r.spec()) == r
    assert parse_forget(r.spec()).spec() == r.spec()
    # defaults are left out and options sorted: one request, one spelling
    names = [part.split("=")[0] for part in r.spec().split(",")[1:]]
    assert names == sorted(names)
    assert all(r.option(n) != SELECTION_OPTIONS[r.kind][n][1] for n in names)


def test_selected_specs_canonical_examples_and_errors():
    assert parse_forget("worst:10%,rounds=5,method=ga").spec() == "worst:0.1,method=ga"
    assert parse_forget("memorised:50,subset=0.7,k=16").spec() == "memorised:50"
    assert parse_forget("memorised:50,k=32").option("k") == 32
    for spec, needle in [("worst:0", ">= 1"), ("memorised:0", ">= 1"), ("worst:1.5", "(0, 1)"),
                         ("worst:3,foo=1", "unknown option 'foo'"), ("worst:3,by=x", "bilevel, loss"),
                         ("memorised:3,k=1", "[4, 1024]"), ("memorised:3,k=2.5", "integer"),
                         ("random:3,k=2", "one amount"), ("worst:3,k", "NAME=VALUE"),
                         ("worst:3,by=loss,by=loss", "twice"), ("memorised:3,subset=1", "[0.05, 0.95]")]:
        with pytest.raises(BadInput) as info:
            parse_forget(spec)
        assert needle in str(info.value) and "\n" not in str(info.value), (spec, str(info.value))
    with pytest.raises(BadInput, match="training models"):
        select_forget(parse_forget("worst:10"), load_dataset("digits"))
