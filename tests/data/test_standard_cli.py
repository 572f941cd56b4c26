"""The standard data sets through the CLI (`--data-root`) and the store, on tiny files in their real formats."""

from __future__ import annotations

from typer.testing import CliRunner

from .formats import tiny


def test_cli_runs_cifar10_from_a_data_root_and_the_stored_scenario_reloads(tmp_path, monkeypatch):
    from unlearnlab.cli import app
    from unlearnlab.runner import load_stored_dataset
    from unlearnlab.store import Store

    data = tmp_path / "data"
    tiny("cifar10", data, monkeypatch)
    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["run", "--dataset", "cifar10", "--data-root", str(data), "--model", "mlp",
                                      "--methods", "ft", "--set", "train.epochs=1", "--store", str(store)])
    assert result.exit_code == 0, result.output
    st = Store(store, create=False)
    (scenario,) = [st.scenario(s["id"]) for s in st.scenarios()]
    assert scenario["dataset"]["params"] == {"data_root": str(data)}
    assert scenario["dataset"]["info"]["normalize"]["mean"] == [0.4914, 0.4822, 0.4465]
    assert load_stored_dataset(scenario).fingerprint == scenario["dataset"]["fingerprint"]


def test_cli_subclass_request_on_cifar20(tmp_path, monkeypatch):
    from unlearnlab.cli import app

    data = tmp_path / "data"
    tiny("cifar20", data, monkeypatch)
    args = ["run", "--dataset", "cifar20", "--data-root", str(data), "--model", "mlp", "--methods", "ft",
            "--set", "train.epochs=1", "--store", str(tmp_path / "store"), "--forget"]
    result = CliRunner().invoke(app, args + ["subclass:rocket"])
    assert result.exit_code == 0, result.output
    assert "forget subclass:rocket (2 samples)" in result.output, result.output


def test_cli_bad_data_root_is_one_line_exit_2_and_writes_nothing(tmp_path):
    from unlearnlab.cli import app

    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["run", "--dataset", "cifar10", "--data-root", str(tmp_path / "nope"),
                                      "--store", str(store)])
    assert result.exit_code == 2 and "does not exist" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not store.exists()
