"""The olivetti data set, read offline from a tiny olivettifaces.mat in the real layout (tests/data/formats.py)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from unlearnlab.cli import app
from unlearnlab.data import download, load_dataset, load_from_spec, parse_forget, select_forget
from unlearnlab.errors import BadInput

from .formats import tiny, write_olivetti

runner = CliRunner()


def test_reads_upright_faces_with_the_person_as_class_and_group(tmp_path, monkeypatch):
    raw = tiny("olivetti", tmp_path, monkeypatch)
    ds = load_dataset("olivetti", data_root=tmp_path)
    assert ds.x_train.shape == (320, 1, 64, 64) and ds.x_test.shape == (80, 1, 64, 64)
    assert ds.num_classes == 40 and ds.x_train.dtype == np.float32
    np.testing.assert_array_equal(ds.y_train, ds.groups_train)
    np.testing.assert_array_equal(ds.y_test, ds.groups_test)
    # every person: 8 images trained on, 2 tested (stratified per person)
    assert np.bincount(ds.y_train, minlength=40).tolist() == [8] * 40
    # each image is the written one, upright (the file is column-major), scaled to [0, 1]
    images = raw["images"].astype(np.float32) / 255.0
    for x, person in zip(ds.x_train[:5], ds.y_train[:5]):
        assert any(np.allclose(x[0], images[i]) for i in range(10 * person, 10 * person + 10))
    assert ds.params == {"data_root": str(tmp_path), "test_size": 0.2}


def test_unseen_holds_whole_persons_out_and_group_requests_select_one_person(tmp_path, monkeypatch):
    tiny("olivetti", tmp_path, monkeypatch)
    ds = load_from_spec("olivetti:unseen=8", seed=3, data_root=tmp_path)
    held = set(ds.groups_test.tolist()) - set(ds.groups_train.tolist())
    assert len(held) == 8 and len(ds.y_test) == 8 * 10 + 32 * 2 and ds.params["unseen"] == 8
    person = int(ds.groups_train[0])
    idx = select_forget(parse_forget(f"group:{person}"), ds)
    assert len(idx) == 8 and set(ds.groups_train[idx].tolist()) == {person}
    with pytest.raises(BadInput, match="test split only"):
        select_forget(parse_forget(f"group:{min(held)}"), ds)
    with pytest.raises(BadInput, match="unseen=39"):
        load_dataset("olivetti", data_root=tmp_path, unseen=39)


def test_the_file_is_checked_against_its_sha256(tmp_path, monkeypatch):
    write_olivetti(tmp_path)
    digest = hashlib.sha256((tmp_path / "olivettifaces.mat").read_bytes()).hexdigest()
    monkeypatch.setattr(download, "CHECKSUMS", {**download.CHECKSUMS, "olivettifaces.mat": digest})
    assert load_dataset("olivetti", data_root=tmp_path).n_train == 320
    monkeypatch.setattr(download, "CHECKSUMS", {**download.CHECKSUMS, "olivettifaces.mat": "0" * 64})
    with pytest.raises(BadInput, match=r"corrupted or truncated \(sha256 " + digest):
        load_dataset("olivetti", data_root=tmp_path)


def test_missing_file_offline_names_the_address_and_the_name(tmp_path):
    with pytest.raises(BadInput, match=r"download https://ndownloader\.figshare\.com/files/5976027 as "
                                       r"olivettifaces\.mat into") as e:
        load_dataset("olivetti", data_root=tmp_path)
    assert "\n" not in str(e.value) and list(tmp_path.iterdir()) == []


def test_cli_forgets_one_person_of_olivetti(tmp_path, monkeypatch):
    tiny("olivetti", tmp_path / "root", monkeypatch)
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["run", "--dataset", "olivetti:unseen=8", "--data-root", str(tmp_path / "root"),
                                 "--model", "mlp", "--methods", "ft", "--forget", "group:3,12", "--seed", "0",
                                 "--set", "train.epochs=2", "--store", str(tmp_path / "s"), "--json", str(out)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    payload = json.loads(out.read_text())
    assert payload["scenario"]["forget"] == "group:3,12" and payload["scenario"]["forget_size"] == 16
    assert all(r["metrics"]["nomus"] is not None for r in payload["runs"])
