"""`group:G` forget requests (every sample of a person; Choi & Na 2023, MUFAC) and the unseen identities
that `arrays:...,unseen=N` / `groups_test` give the identity MIA."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from unlearnlab.cli import app
from unlearnlab.data import from_arrays, load_dataset, parse_dataset_spec, parse_forget
from unlearnlab.data.forget import ForgetRequest, group_names, select_forget
from unlearnlab.errors import BadInput
from unlearnlab.runner import load_scenario

runner = CliRunner()


def _grouped(groups, n_per=6, seed=0, **kw):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.asarray(groups), n_per)
    return from_arrays(rng.normal(size=(len(g), 4)), np.arange(len(g)) % 2, groups=g, **kw)


def test_parse_and_spec_round_trip():
    r = parse_forget("group: 3 , 07")
    assert r.kind == "group" and r.groups == ("3", "7") and r.spec() == "group:3,7"
    assert parse_forget(r.spec()) == r
    assert parse_forget("group:ann,bob").groups == ("ann", "bob")
    assert ForgetRequest("group", groups=(3, "x")).groups == ("3", "x")


@pytest.mark.parametrize("spec, needle", [("group:", "nothing after"), ("group:3,3", "repeated"),
                                          ("group:3,,4", "not allowed")])
def test_bad_group_specs(spec, needle):
    with pytest.raises(BadInput, match=needle):
        parse_forget(spec)


@pytest.mark.parametrize("groups", [np.arange(10) + 100, np.array([f"p{i}" for i in range(10)])])
def test_select_takes_every_training_sample_of_the_groups(groups):
    ds = _grouped(groups)
    names = group_names(ds.groups_train)
    want = names[:2]
    idx = select_forget(parse_forget("group:" + ",".join(want)), ds)
    chosen = {str(v) for v in ds.groups_train[idx]}
    assert chosen == set(want)
    # all of them: no sample of those groups is left in the retain set
    rest = np.setdiff1d(np.arange(ds.n_train), idx)
    assert not ({str(v) for v in ds.groups_train[rest]} & set(want))
    assert np.all(np.diff(idx) > 0)


def test_unknown_group_and_data_without_groups_are_one_line_errors():
    ds = _grouped(np.arange(10))
    with pytest.raises(BadInput, match=r"group '42' is not in dataset 'arrays'.* 10 groups: 0, 1, 2, 3, 4, \.\.\.") as e:
        select_forget(parse_forget("group:42"), ds)
    assert "\n" not in str(e.value)
    with pytest.raises(BadInput, match="needs a data set with groups"):
        select_forget(parse_forget("group:1"), load_dataset("digits"))


def test_unseen_holds_whole_groups_out_of_training():
    ds = _grouped(np.arange(12), unseen=3, seed=1)
    held = set(ds.groups_test.tolist()) - set(ds.groups_train.tolist())
    assert len(held) == 3 and ds.params["unseen"] == 3
    # the other groups are split as usual, so the test set also has seen identities
    assert set(ds.groups_test.tolist()) & set(ds.groups_train.tolist())
    # a held-out group cannot be forgotten: it was never trained on
    with pytest.raises(BadInput, match="test split only"):
        select_forget(parse_forget(f"group:{min(held)}"), ds)
    assert "unseen" not in _grouped(np.arange(12)).params  # other data sets' params stay as they were


@pytest.mark.parametrize("kw, needle", [({"unseen": 12}, "every one of its 12 groups"),
                                        ({"unseen": -1}, "unseen")])
def test_bad_unseen(kw, needle):
    with pytest.raises(BadInput, match=needle):
        _grouped(np.arange(12), **kw)


def test_arrays_spec_takes_unseen(tmp_path):
    assert parse_dataset_spec(f"arrays:{tmp_path}/a.npz,unseen=4") == ("arrays", {"path": f"{tmp_path}/a.npz",
                                                                                  "unseen": 4})


@pytest.fixture
def grouped_npz(tmp_path):
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(12), 8)
    path = tmp_path / "faces.npz"
    np.savez(path, X=rng.normal(size=(len(g), 6)), y=np.arange(len(g)) % 3, groups=g)
    return path


@pytest.mark.parametrize("dataset, forget, needle", [
    ("arrays:{npz}", "group:99", "group '99' is not in dataset 'arrays'"),
    ("digits", "group:1", "needs a data set with groups"),
    ("arrays:{npz}", "group:", "nothing after"),
])
def test_bad_group_input_is_one_line_exit_2_and_writes_nothing(tmp_path, grouped_npz, dataset, forget, needle):
    store, out = tmp_path / "store", tmp_path / "out.json"
    result = runner.invoke(app, ["run", "--dataset", dataset.format(npz=grouped_npz), "--model", "mlp",
                                 "--methods", "ft", "--forget", forget, "--set", "train.epochs=1",
                                 "--store", str(store), "--json", str(out)])
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr
    assert not store.exists() and not out.exists()


def test_cli_group_request_is_stored_and_reports_identity_metrics(tmp_path, grouped_npz):
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["run", "--dataset", f"arrays:{grouped_npz},unseen=3", "--model", "mlp",
                                 "--methods", "ft", "--forget", "group:2,5", "--seed", "1", "--set",
                                 "train.epochs=2", "--store", str(tmp_path / "s"), "--json", str(out)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert "NoMUS" in result.stdout and "ID-MIA" in result.stdout
    payload = json.loads(out.read_text())
    assert payload["scenario"]["forget"] == "group:2,5"
    assert payload["scenario"]["dataset"]["params"]["unseen"] == 3
    for run in payload["runs"]:
        m = run["metrics"]
        assert 0.0 <= m["identity_mia"] <= 1.0 and 0.0 <= m["nomus"] <= 1.0
    # the stored scenario rebuilds the same data and forget set (comparisons, audits)
    rebuilt = load_scenario(payload["scenario"])
    assert rebuilt.spec()["forget_indices_sha256"] == payload["scenario"]["forget_indices_sha256"]
