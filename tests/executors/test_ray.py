"""The `ray` executor on a local Ray with 2 CPUs (one start-up for the module): same bits as the serial
and process executors, one thread and portable numerics in the workers, cancellation, failures."""

import os
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import unlearnlab as ul
from unlearnlab.audits import EnsembleBuilder
from unlearnlab.errors import BadInput, Cancelled, UnlearnlabError
from unlearnlab.executors import EXECUTORS, RayExecutor, SerialExecutor, make_executor
from unlearnlab.store import Store

ray = pytest.importorskip("ray")


def worker_state(x):
    from unlearnlab import numerics

    st = numerics.apply()
    return {"square": x * x, "threads": torch.get_num_threads(), "portable": numerics.portable(),
            "mode": st["mode"], "notes": st["notes"], "pid": os.getpid(),
            "env": {k: os.environ.get(k) for k in numerics.PORTABLE_ENV}}


def fails_on_two(x):
    if x == 2:
        raise BadInput(f"job value {x} is not allowed")
    return x


def dies_on_one(x):
    if x == 1:
        os._exit(3)  # the worker process vanishes mid-job, as when the kernel kills it
    return x


def sleeps(x):
    time.sleep(x)
    return x


@dataclass(frozen=True)
class StoreJob:
    store: str


def reads_store(job):
    return job.store


@pytest.fixture(scope="module")
def executor():
    ex = RayExecutor(workers=2)
    yield ex
    ex.close()
    assert not ray.is_initialized()  # close() shut down the Ray it started


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray-store")
    comparison = ul.run(forget="class:3", methods=["rl"], train={"epochs": 1}, store=root)
    return Store(root), comparison.scenario["id"], comparison.run("rl").run_id


def test_registered_and_validated_without_starting_ray():
    assert "ray" in EXECUTORS
    ex = make_executor("ray", 2, address=None)
    assert isinstance(ex, RayExecutor) and ex.workers == 2 and not ex.started
    with pytest.raises(BadInput, match="workers"):
        make_executor("ray", 0)
    with pytest.raises(BadInput, match="num_gpus_per_job=-1"):
        RayExecutor(num_gpus_per_job=-1)


def test_jobs_declare_one_gpu_when_their_device_is_cuda():
    @dataclass
    class Job:
        device: str

    assert RayExecutor()._gpus(Job("cuda")) == 1 and RayExecutor()._gpus(Job("cpu")) == 0
    assert RayExecutor()._gpus(3) == 0  # a job without a device is a CPU job
    assert RayExecutor(num_gpus_per_job=0.25)._gpus(Job("cuda")) == 0.25


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_an_unreachable_address_is_one_line(how, monkeypatch):
    address = "127.0.0.1:1"  # nothing listens on port 1
    with pytest.raises(BadInput, match=r"Ray address '127\.0\.0\.1:1' cannot be reached") as err:
        if how == "environment":
            monkeypatch.setenv("RAY_ADDRESS", address)
            RayExecutor()
        else:
            RayExecutor(address=address)
    assert "\n" not in str(err.value)
    with pytest.raises(BadInput, match="not allowed; give host:port"):
        RayExecutor(address="no-port-here")


def test_cli_audit_with_an_unreachable_ray_address_is_one_line_and_writes_nothing(tiny):
    from typer.testing import CliRunner

    from unlearnlab.cli import app

    store, sid, run_id = tiny
    before = {p: p.stat().st_size for p in store.root.rglob("*") if not p.name.startswith("unlearnlab.db")}
    result = CliRunner().invoke(app, ["audit", run_id, "--store", str(store.root), "--refs", "6",
                                      "--executor", "ray", "--address", "127.0.0.1:1"])
    assert result.exit_code == 2, result.output
    assert "Ray address '127.0.0.1:1' cannot be reached" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert {p: p.stat().st_size for p in store.root.rglob("*") if not p.name.startswith("unlearnlab.db")} == before


def test_workers_run_one_thread_under_portable_numerics(executor):
    results = dict(executor.run(worker_state, list(range(6))))
    assert sorted(results) == list(range(6))
    assert all(r["square"] == i * i for i, r in results.items())
    assert {r["threads"] for r in results.values()} == {1}
    # the switches were in the worker's environment before it imported NumPy or torch
    assert all(r["portable"] and r["mode"] == "portable" and r["notes"] == [] for r in results.values())
    assert all(r["env"] == ul.numerics.PORTABLE_ENV for r in results.values())
    assert os.getpid() not in {r["pid"] for r in results.values()}  # they ran in Ray's workers


def test_the_same_members_give_the_same_bits_on_serial_process_and_ray(executor, tiny, tmp_path):
    store, sid, _ = tiny
    serial = EnsembleBuilder(store, sid, executor=SerialExecutor())
    expected = {"original": serial.reference("original", 2), "rl": serial.ensemble("rl", None, 2)}
    process = make_executor("process", 2)
    try:
        for name, ex in (("process", process), ("ray", executor)):
            fresh = Store(tmp_path / name)  # nothing cached: every member is trained again on `ex`
            fresh.upsert_scenario(sid, store.scenario(sid))
            builder = EnsembleBuilder(fresh, sid, executor=ex)
            # the method members load their θ_o/θ_r members from the store the driver wrote
            got = {"original": builder.reference("original", 2), "rl": builder.ensemble("rl", None, 2)}
            for kind in expected:
                for split in ("forget", "retain", "test"):
                    np.testing.assert_array_equal(got[kind].logits[split], expected[kind].logits[split],
                                                  err_msg=f"{name} {kind} {split}")
    finally:
        process.close()


def test_a_job_that_raises_fails_the_run_with_its_own_error(executor):
    with pytest.raises(BadInput, match="job value 2 is not allowed"):
        list(executor.run(fails_on_two, [0, 1, 2, 3]))
    assert dict(executor.run(fails_on_two, [5])) == {0: 5}  # the executor goes on


def test_a_worker_that_dies_mid_job_is_a_clear_error_not_a_hang(executor):
    with pytest.raises(UnlearnlabError, match="Ray job 1 failed: its worker died") as err:
        list(executor.run(dies_on_one, [0, 1]))
    assert "\n" not in str(err.value)
    assert dict(executor.run(dies_on_one, [7])) == {0: 7}  # Ray replaced the worker


def test_cancel_stops_the_run_and_its_running_jobs(executor):
    cancel = threading.Event()
    results = []
    with pytest.raises(Cancelled):
        for i, value in executor.run(sleeps, [0, 60, 60, 60], cancel):
            results.append(value)
            cancel.set()
    assert results == [0]
    # the 60 s jobs were cancelled: Ray has both CPUs back within seconds, not after a minute
    for _ in range(100):
        if ray.available_resources().get("CPU") == 2:
            break
        time.sleep(0.1)
    assert ray.available_resources().get("CPU") == 2
    assert dict(executor.run(sleeps, [0, 0])) == {0: 0, 1: 0}


def test_a_store_the_worker_cannot_see_is_one_line(executor, tmp_path):
    with pytest.raises(BadInput, match="is not visible on Ray node .*shared by every node"):
        list(executor.run(reads_store, [StoreJob(str(tmp_path / "elsewhere"))]))


def test_a_job_the_worker_cannot_load_is_one_line(executor, tmp_path, monkeypatch):
    import importlib

    # a module only the driver can import (its folder joined sys.path after Ray's workers started)
    (tmp_path / "driver_only_module.py").write_text("def echo(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("driver_only_module")
    with pytest.raises(UnlearnlabError, match="Ray job 0 failed in its worker: .*driver_only_module") as err:
        list(executor.run(module.echo, [1]))
    assert "\n" not in str(err.value)


def test_a_ray_session_the_caller_started_is_used_with_our_numerics_and_left_running(executor):
    list(executor.run(worker_state, [0]))  # the module's Ray runs: to this executor it is the caller's
    guest = RayExecutor(workers=2)
    results = dict(guest.run(worker_state, [1, 2]))
    assert all(r["portable"] and r["env"] == ul.numerics.PORTABLE_ENV for r in results.values())
    guest.close()
    assert ray.is_initialized()  # not ours to shut down
    assert dict(executor.run(worker_state, [3]))[0]["square"] == 9
