"""Executors: run independent jobs (ensemble members, sweep points) here, in worker processes or on Ray.

    executor = make_executor("process", workers=2)
    for i, result in executor.run(member_job, jobs): ...

Every job runs with ONE torch thread whatever the executor: CPU kernels sum in an order that
depends on the thread count, so this is what makes a job's result independent of where it ran
(same seed, same bits, serial or parallel).
"""

from __future__ import annotations

from .local import (EXECUTORS, Executor, ProcessExecutor, SerialExecutor, make_executor, register_executor,
                    run_each)
from .ray import RayExecutor  # registers "ray"; Ray itself is imported when the executor starts

__all__ = ["EXECUTORS", "Executor", "ProcessExecutor", "RayExecutor", "SerialExecutor", "make_executor",
           "register_executor", "run_each"]
