import threading

import pytest
import torch

from unlearnlab.errors import BadInput, Cancelled
from unlearnlab.executors import EXECUTORS, ProcessExecutor, SerialExecutor, make_executor


def threads_and_square(x):
    return torch.get_num_threads(), x * x


def test_registry_and_make_executor():
    assert {"serial", "process"} <= set(EXECUTORS)
    assert isinstance(make_executor("serial"), SerialExecutor)
    assert isinstance(make_executor("process", 1), SerialExecutor)  # one worker: no process start-up
    assert isinstance(make_executor("process", 2), ProcessExecutor)
    with pytest.raises(BadInput, match="unknown executor 'dask'"):
        make_executor("dask")
    with pytest.raises(BadInput, match="workers"):
        make_executor("process", 0)


def test_serial_runs_each_job_on_one_thread_and_restores():
    before = torch.get_num_threads()
    results = dict(SerialExecutor().run(threads_and_square, [1, 2, 3]))
    assert results == {0: (1, 1), 1: (1, 4), 2: (1, 9)}
    assert torch.get_num_threads() == before


def test_process_pool_returns_every_result_on_one_thread():
    executor = ProcessExecutor(2)
    try:
        results = dict(executor.run(threads_and_square, list(range(7))))
        assert results == {i: (1, i * i) for i in range(7)}
        # the pool is reused by a second batch
        assert dict(executor.run(threads_and_square, [5])) == {0: (1, 25)}
    finally:
        executor.close()


def test_cancel_stops_before_the_next_job():
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        list(SerialExecutor().run(threads_and_square, [1], cancel))
