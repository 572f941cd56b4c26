"""In-process and worker-process executors.

`run(fn, jobs)` yields `(index, result)` as jobs finish (not in order), so the caller can store
each result at once and an interrupted ensemble keeps what it finished. `fn` must be a module-level
function (worker processes import it by name) and jobs must pickle.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import torch

from ..errors import Cancelled, WorkerLost
from ..registry import Registry
from ..validation import check_int

EXECUTORS: Registry[type] = Registry("executor")


def register_executor(name: str):
    return EXECUTORS.register(name)


class Executor(Protocol):
    workers: int
    #: False while starting would cost a process start-up (a pool not started yet).
    started: bool

    def run(self, fn: Callable[[Any], Any], jobs: Sequence[Any],
            cancel: threading.Event | None = None) -> Iterator[tuple[int, Any]]: ...

    def close(self) -> None: ...


def _one_thread(fn: Callable[[Any], Any], job: Any) -> Any:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn(job)
    finally:
        torch.set_num_threads(before)


def fill(pending: dict[Any, int], queue: Iterator[tuple[int, Any]], limit: int,
         submit: Callable[[Any], Any]) -> None:
    """Submit (index, job) pairs from `queue` until `limit` are in flight: `pending` maps each
    submitted handle to its job's index. A bound, so large jobs are not all serialised up front."""
    while len(pending) < limit:
        item = next(queue, None)
        if item is None:
            return
        pending[submit(item[1])] = item[0]


@register_executor("serial")
class SerialExecutor:
    """Jobs one after another in this process (the reference for what the workers must reproduce)."""

    workers = 1
    started = True

    def run(self, fn, jobs, cancel=None):
        for i, job in enumerate(jobs):
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled by request")
            yield i, _one_thread(fn, job)

    def close(self) -> None:
        pass


#: Seconds between a worker's checks that the driver that started it is still alive.
WATCH_S = 0.5


def _watch_driver(pid: int) -> None:
    """End this worker soon after the driver process `pid` is gone (killed with SIGKILL, say), so that it does
    not finish a run nobody waits for while a restarted sweep runs it again beside it. A thread polls the
    driver: a worker's parent is the fork server, which lives as long as any worker does, so neither the
    parent-death signal nor the pool's own pipes end it."""
    def watch() -> None:
        while True:
            time.sleep(WATCH_S)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # alive, owned by someone else (cannot happen for our own driver)
                pass
    threading.Thread(target=watch, name="unlearnlab-watch-driver", daemon=True).start()


def _init_worker(method_files: list[str], driver: int) -> None:
    _watch_driver(driver)
    torch.set_num_threads(1)
    from ..methods.plugins import ensure_loaded, load_method_file

    # torch.optim imports torch._dynamo lazily on its first step (seconds): pay it here, not in a job.
    layer = torch.nn.Linear(2, 1)
    torch.optim.SGD(layer.parameters(), lr=0.0).step()

    ensure_loaded()
    for path in method_files:  # methods the parent loaded with --method-file
        load_method_file(path)


def _context() -> mp.context.BaseContext:
    """Workers forked from a fork server that imported torch and unlearnlab once (and so started no thread
    pool: forking a process that runs torch's threads can deadlock), where the platform has one; else
    spawned. Each worker then starts in a fraction of a second instead of importing torch itself."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["unlearnlab", "unlearnlab.executors.local", "torch._dynamo"])
    return ctx


@register_executor("process")
class ProcessExecutor:
    """A pool of `workers` processes (default: one per CPU core), one torch thread each.

    Forked from a fork server that imported torch once (`_context`), never from this process: forking a
    process that already runs torch's thread pools can deadlock. At most 2 × workers jobs are in flight,
    so large jobs (model weights) are not all pickled up front. The pool starts on the first `run` or on
    `warm` (seconds: the fork server imports torch) and lives until `close`.
    """

    def __init__(self, workers: int | None = None):
        if workers is not None:
            check_int("workers", workers, 1)
        self.workers = workers or os.cpu_count() or 1
        self._pool: cf.ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        return self._pool is not None

    def _started(self) -> cf.ProcessPoolExecutor:
        from ..methods.plugins import LOADED_FILES

        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=_context(),
                                                initializer=_init_worker, initargs=(list(LOADED_FILES), os.getpid()))
        return self._pool

    def warm(self) -> None:
        """Start the workers now, in the background (the fork server imports torch: seconds), so that the first
        `run` does not wait for them; returns at once."""
        pool = self._started()
        for _ in range(self.workers):
            pool.submit(time.sleep, 0.05)  # one per worker: each job holds its worker a moment

    def run(self, fn, jobs, cancel=None):
        pool = self._started()
        pending: dict[cf.Future, int] = {}
        queue = iter(enumerate(jobs))

        def refill() -> None:
            fill(pending, queue, 2 * self.workers, lambda job: pool.submit(fn, job))

        try:
            refill()
            while pending:
                done, _ = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled by request")
                for future in done:
                    index = pending.pop(future)
                    try:
                        result = future.result()
                    except cf.process.BrokenProcessPool:
                        lost = (index, *pending.values())
                        self.close()  # the next run starts a fresh pool
                        raise WorkerLost("a worker process died (killed, out of memory or a crash in native "
                                         "code); rerun with --workers 1 to see its error", lost) from None
                    yield index, result
                refill()
        finally:
            for future in pending:
                future.cancel()

    def close(self, kill: bool = False) -> None:
        """Stop the pool after its running jobs; `kill=True` terminates them instead (server shutdown)."""
        if self._pool is not None:
            if kill:
                # ProcessPoolExecutor has no public way to stop a running job before Python 3.14
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    process.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def run_each(executor: Executor, fn: Callable[[Any], Any], jobs: Sequence[Any],
             cancel: threading.Event | None = None) -> Iterator[tuple[int, Any]]:
    """`executor.run`, except that a worker dying (`WorkerLost`) costs only the job that killed it: the
    jobs that were in flight are run again one at a time, and a job whose worker dies again is yielded as
    `(index, WorkerLost)` (a job that died once but not alone finishes normally). The rest go on; results as
    they finish, as `run`. A job that raises still raises (wrap `fn` to turn errors into results)."""
    remaining = list(range(len(jobs)))
    while remaining:
        lost: tuple[int, ...] = ()
        batch = list(remaining)
        try:
            for j, result in executor.run(fn, [jobs[i] for i in batch], cancel):
                remaining.remove(batch[j])
                yield batch[j], result
        except WorkerLost as err:
            lost = tuple(batch[j] for j in err.indices if batch[j] in remaining) or tuple(remaining)
        if not lost:
            return
        for index in lost:  # alone, so a second death names its job
            remaining.remove(index)
            try:
                for _, result in executor.run(fn, [jobs[index]], cancel):
                    yield index, result
            except WorkerLost as err:
                yield index, WorkerLost(str(err), (index,))


def make_executor(name: str = "process", workers: int | None = None, **options: Any) -> Executor:
    """The executor `name` ("serial", "process", "ray"); a single process worker means serial (no
    process start-up). `options` go to the executor (ray: `address`, `num_gpus_per_job`)."""
    cls = EXECUTORS.get(name)
    if cls is ProcessExecutor:
        executor = ProcessExecutor(workers)
        return SerialExecutor() if executor.workers == 1 else executor
    if cls is SerialExecutor:
        return cls()
    return cls(workers, **options)
