"""Runs repeated, run twice at once or interrupted: reused, trained once, recorded as cancelled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import unlearnlab as ul
from unlearnlab import numerics, runner
from unlearnlab.methods import Method
from unlearnlab.store import Store

TRAIN = {"epochs": 2, "batch_size": 16}
ROOT = Path(__file__).resolve().parents[1]


def _run(data, store, methods=("ft", "ga"), **kw):
    return ul.run(data, "mlp", "class:1", list(methods), train=TRAIN, store=store, **kw)


def _ids(result) -> dict[str, str]:
    return {r.method: r.run_id for r in result.runs}


def test_the_same_request_again_reuses_finished_runs_and_rerun_forces_new_ones(tiny_data, tmp_path):
    first = _run(tiny_data, tmp_path)
    again = _run(tiny_data, tmp_path)
    assert _ids(again) == _ids(first)
    assert all(r.cached for r in again.runs) and not any(first.run(m).cached for m in ("ft", "ga"))
    assert again.run("ft").metrics == first.run("ft").metrics
    st = Store(tmp_path)
    assert sorted(r.method for r in st.runs()) == ["ft", "ga", "original", "retrain"]  # no duplicate rows

    rerun = _run(tiny_data, tmp_path, rerun=True)
    for m in ("ft", "ga"):
        assert rerun.run(m).run_id != first.run(m).run_id and not rerun.run(m).cached
    # θ_o and θ_r are deterministic: reused even by a rerun
    assert rerun.run("original").run_id == first.run("original").run_id
    assert rerun.run("retrain").run_id == first.run("retrain").run_id
    assert sorted(r.method for r in st.runs()) == ["ft", "ft", "ga", "ga", "original", "retrain"]


def test_reuse_requires_the_same_resolved_configuration(tiny_data, tmp_path):
    first = _run(tiny_data, tmp_path, methods=("ft",))
    other_lr = ul.run(tiny_data, "mlp", "class:1", ["ft"], overrides={"ft": {"lr": 0.031}}, train=TRAIN,
                      store=tmp_path)
    assert other_lr.run("ft").run_id != first.run("ft").run_id and not other_lr.run("ft").cached
    # A run computed elsewhere in native numerics (another CPU's kernels) gives other bits: not reused.
    st = Store(tmp_path)
    for r in st.runs():
        env = {**r.details["environment"], "cpu": "Some Other CPU",
               "numerics": {**r.details["environment"]["numerics"], "portable": False, "mode": "native"}}
        st._db.execute("UPDATE runs SET details = ? WHERE id = ?", (json.dumps({**r.details, "environment": env}), r.id))
    assert numerics.identity(env) != numerics.identity(first.run("ft").details["environment"])
    elsewhere = _run(tiny_data, tmp_path, methods=("ft",))
    assert elsewhere.run("ft").run_id != first.run("ft").run_id
    assert elsewhere.run("retrain").run_id != first.run("retrain").run_id


class _Interrupted(Method):
    """Stands in for a user pressing Ctrl+C while a method runs."""

    name = "interrupted"

    def unlearn(self, model, task):
        raise KeyboardInterrupt


def test_ctrl_c_marks_the_run_cancelled_and_propagates(tiny_data, tmp_path):
    scenario = runner.prepare(tiny_data, "mlp", "class:1", train=TRAIN)
    st = Store(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        runner.execute(scenario, [_Interrupted()], st)
    (run,) = [r for r in st.runs() if r.method == "interrupted"]
    assert run.status == "cancelled" and run.reason == runner.INTERRUPTED
    assert {r.status for r in st.runs()} == {"done", "cancelled"}  # nothing left `running`


SLOW_METHOD = '''
import time
from pathlib import Path
import unlearnlab


@unlearnlab.register_method("slow_{tag}", paper="test")
class Slow(unlearnlab.Method):
    """Signals that it started, then takes a minute."""

    def unlearn(self, model, task):
        Path({marker!r}).write_text("started")
        for _ in range(1200):
            time.sleep(0.05)
        return model
'''


def test_sigint_from_the_terminal_leaves_the_run_cancelled(tmp_path):
    marker, tag = tmp_path / "started", os.urandom(4).hex()
    method_file = tmp_path / "slow.py"
    method_file.write_text(SLOW_METHOD.format(tag=tag, marker=str(marker)))
    store = tmp_path / "store"
    # a shell that starts the suite in the background hands its children SIGINT ignored, which Python then
    # keeps: restore the terminal's default, as an interactive shell gives it
    start = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
             "from unlearnlab.cli import main; main()")
    cmd = [sys.executable, "-c", start, "run", "--model", "mlp",
           "--method-file", str(method_file), "--methods", f"slow_{tag}", "--set", "train.epochs=1",
           "--store", str(store)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 300
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.time() < deadline, "the slow method never started"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0
    runs = {r.method: r for r in Store(store).runs()}
    assert runs[f"slow_{tag}"].status == "cancelled", stderr.decode()[-2000:]
    assert runs["original"].status == runs["retrain"].status == "done"


def test_one_process_trains_a_reference_while_the_other_waits(tiny_data, tmp_path, monkeypatch):
    """Two requests for the same scenario at once: θ_o and θ_r are each trained once, stored once."""
    trainings: list[str] = []
    second_arrived = threading.Event()
    real_train = runner.train_classifier

    def train(model, xs, ys, config, ctx, description="", **kwargs):
        trainings.append(description)
        if trainings.count(description) == 2:
            second_arrived.set()
        # Without the lock the other request arrives here while this one trains; with it, it cannot.
        second_arrived.wait(timeout=3)
        return real_train(model, xs, ys, config, ctx, description=description, **kwargs)

    monkeypatch.setattr(runner, "train_classifier", train)
    results, errors = [], []

    def request():
        try:
            results.append(_run(tiny_data, Store(tmp_path), methods=()))
        except BaseException as err:  # surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=request) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert sorted(trainings) == ["original", "retrain"]
    assert sorted(r.method for r in Store(tmp_path).runs()) == ["original", "retrain"]
    assert _ids(results[0]) == _ids(results[1])
