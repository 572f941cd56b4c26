"""`unlearnlab audit` end to end on a small store (2 epochs, 6-member ensembles, serial)."""

import json

import pytest
from typer.testing import CliRunner

import unlearnlab as ul
from unlearnlab.cli import app

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = ("--refs", "6", "--workers", "1", "--partitions", "6")


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-audit")
    comparison = ul.run(forget="class:3", methods=["rl"], train={"epochs": 2}, store=root)
    return root, comparison


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_audit_prints_the_table_and_writes_json(small_store, tmp_path):
    root, comparison = small_store
    out = tmp_path / "audit.json"
    result = invoke("audit", comparison.run("rl").run_id, "--store", root, "--json", out, *SMALL)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    for needle in ("U-LiRA accuracy", "Forgetting quality F", "F two-sided", "KLoM forget median",
                   "Relearning attack", "Null", "Effect", "swap test"):
        assert needle in result.stdout
    # 6 members are too few for KLoM: the reason, not a verdict
    assert "too few models (need 16)" in result.stdout
    payload = json.loads(out.read_text())
    assert payload["run_id"] == comparison.run("rl").run_id and payload["refs"] == 6
    assert set(payload["verdicts"]) == {"ulira_accuracy", "ulira_auc", "forgetting_quality",
                                        "forgetting_quality_two_sided", "klom_forget_median", "lira_after_online_auc"}
    assert {"p", "effect", "z", "null", "null_ci"} <= set(payload["ulira"]["auc"])
    # the Python API returns the stored audit, same numbers
    again = ul.audit(comparison.run("rl").run_id, refs=6, store=root, executor="serial", partitions=6)
    assert again["ulira"] == payload["ulira"]


@pytest.mark.parametrize("args, needles", [
    (("audit", "no-such-run"), ("unknown run", "no-such-run")),
    (("audit", "RUN", "--refs", "3"), ("refs", "3")),
    (("audit", "RUN", "--against", "no-such-run"), ("unknown run", "no-such-run")),
    (("audit", "RUN", "--workers", "0"), ("workers", "0")),
])
def test_bad_audit_input_is_one_line_and_exit_2(small_store, args, needles, tmp_path):
    root, comparison = small_store
    args = [comparison.run("rl").run_id if a == "RUN" else a for a in args]
    before = sorted(p.name for p in (root / "cache").rglob("*"))
    result = invoke(*args, "--store", root, "--json", tmp_path / "x.json")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]
    assert not (tmp_path / "x.json").exists()
    assert sorted(p.name for p in (root / "cache").rglob("*")) == before  # nothing trained or written
