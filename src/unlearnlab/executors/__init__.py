"""Executors: run independent jobs (ensemble members, sweep points) here or in worker processes.

    executor = make_executor("process", workers=2)
    for i, result in executor.run(member_job, jobs): ...

Every job runs with ONE torch thread whatever the executor: CPU kernels sum in an order that
depends on the thread count, so this is what makes a job's result independent of where it ran
(same seed, same bits, serial or parallel).
"""

from __future__ import annotations

from .local import EXECUTORS, Executor, ProcessExecutor, SerialExecutor, make_executor, register_executor

__all__ = ["EXECUTORS", "Executor", "ProcessExecutor", "SerialExecutor", "make_executor", "register_executor"]
