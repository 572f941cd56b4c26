"""Methods run in an executor's workers (`execute(..., executor=)`, `ul.run(executor=)`, the demo):
the same bits as one after another here, and a worker that dies costs only its own method."""

from __future__ import annotations

import os

import pytest
import torch

import unlearnlab as ul
from unlearnlab.executors import make_executor
from unlearnlab.methods.plugins import load_method_file
from unlearnlab.store import Store

METHODS = ["ft", "ga", "rl", "scrub"]
TRAIN = {"epochs": 2}


def _weights(result, root):
    st = Store(root)
    return {r.method: st.load_weights(r.run_id) for r in result.runs if r.status == "done"}


@pytest.fixture(scope="module")
def pool():
    executor = make_executor("process", 2)
    yield executor
    executor.close()


def test_methods_in_worker_processes_give_the_bits_of_serial_runs(tmp_path, pool):
    serial = ul.run(forget="random:0.1", methods=METHODS, train=TRAIN, store=tmp_path / "s")
    parallel = ul.run(forget="random:0.1", methods=METHODS, train=TRAIN, store=tmp_path / "p", executor=pool)
    assert [r.method for r in parallel.runs] == [r.method for r in serial.runs]  # the order asked, not finished
    assert all(r.status == "done" and not r.cached for r in parallel.runs[2:])
    a, b = _weights(serial, tmp_path / "s"), _weights(parallel, tmp_path / "p")
    assert set(a) == set(b) == {"original", "retrain", *METHODS}
    for method in a:
        assert all(torch.equal(a[method][k], b[method][k]) for k in a[method]), method
    for r, q in zip(serial.runs, parallel.runs):  # scores too (times aside)
        keep = {k: v for k, v in r.metrics.items() if k not in ("run_time_s", "speedup_vs_retrain")}
        assert keep == {k: q.metrics[k] for k in keep}, r.method


CRASH = '''
import os
import unlearnlab


@unlearnlab.register_method("crash_{tag}", paper="test")
class Crash(unlearnlab.Method):
    """Kills its own process, as an out-of-memory kill would."""

    def unlearn(self, model, task):
        os._exit(9)
'''


def test_a_worker_that_dies_fails_only_its_method(tmp_path, isolated_methods):
    tag = os.urandom(4).hex()
    path = tmp_path / "crash.py"
    path.write_text(CRASH.format(tag=tag))
    load_method_file(path)  # the pool's workers load it too (started after it)
    executor = make_executor("process", 2)
    try:
        result = ul.run(model="mlp", methods=["ft", f"crash_{tag}", "ga"], train=TRAIN, store=tmp_path / "s",
                        executor=executor)
    finally:
        executor.close()
    runs = {r.method: r for r in result.runs}
    assert runs[f"crash_{tag}"].status == "failed"
    assert "worker process died" in runs[f"crash_{tag}"].reason
    assert runs["ft"].status == runs["ga"].status == "done"
    stored = {r.method: r.status for r in Store(tmp_path / "s").runs()}
    assert stored == {"original": "done", "retrain": "done", "ft": "done", "ga": "done", f"crash_{tag}": "failed"}


def test_in_memory_models_run_here_even_with_an_executor(tmp_path, pool):
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    result = ul.run(model=model, methods=["ft", "ga"], train=TRAIN, store=tmp_path / "s", executor=pool)
    assert all(r.status == "done" for r in result.runs)
