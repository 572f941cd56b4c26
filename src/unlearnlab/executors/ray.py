"""The `ray` executor: jobs as Ray tasks, on a local Ray started on demand or on an existing cluster.

    executor = RayExecutor(workers=2)                    # a local Ray with 2 CPUs, shut down by close()
    executor = RayExecutor(address="head:6379")          # join a cluster (or set $RAY_ADDRESS)
    for i, result in executor.run(member_job, jobs): ...

Where results go: each job's return value travels back to the driver through Ray's object store,
and the driver writes it to the unlearnlab store (`EnsembleBuilder._run` stores each result as it
arrives). So a worker on another node needs no shared folder to hand in its result. What it may
need is to *read* the store: a method member of an audit names its θ_o/θ_r member by cache key
and loads the weights from the store itself (`audits.ensemble.member_job`), so on a multi-node
cluster the store folder must be on a shared filesystem under the same path on every node; a job
whose store a worker cannot see fails with one line saying so (`_check_store`).

Every job runs with one torch thread (`_one_thread`, as in the other executors) and under the
driver's numerics: the portable switches (numerics.py) are handed to every worker as environment
variables of the Ray job (`runtime_env`), so they are in force before the worker imports NumPy or
torch, on this machine or on a cluster's other nodes. Each job declares its resources: one CPU,
and `num_gpus_per_job` GPUs (one by default when the job's `device` is cuda), so Ray packs jobs
onto the GPUs of a cluster.

Ray itself is optional (`pip install 'unlearnlab[ray]'`); it is imported when the executor starts.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .. import numerics
from ..errors import BadInput, Cancelled, UnlearnlabError, WorkerLost
from ..validation import check_int
from .local import _one_thread, fill, register_executor

#: Ray's object store of a local Ray (bytes): results are logits and small models; Ray's default
#: (30 % of RAM) would reserve GBs of shared memory on a small machine for nothing.
OBJECT_STORE_BYTES = 300 * 1024**2
#: Seconds to wait for a cluster's head to accept a connection before calling the address unreachable.
CONNECT_TIMEOUT_S = 5.0

_PREPARED: set[str] = set()


def _check_store(job: Any) -> None:
    """A job naming a store folder needs it on this node: say so in one line, not as a traceback."""
    root = getattr(job, "store", None)
    if root and not os.path.isfile(os.path.join(str(root), "unlearnlab.db")):
        raise BadInput(f"store {str(root)!r} is not visible on Ray node {socket.gethostname()}; method members "
                       "load their θ_o/θ_r members from the store, so on a multi-node cluster put the store on a "
                       "filesystem shared by every node under the same path")


def _ray_job(fn: Callable[[Any], Any], job: Any, method_files: tuple[str, ...]) -> Any:
    """What a Ray worker runs: unlearnlab imported (numerics first), plugin methods loaded, one thread."""
    import unlearnlab  # noqa: F401  (applies the numerics switches; the runtime_env already set them)

    if method_files and method_files not in _PREPARED:
        from ..methods.plugins import ensure_loaded, load_method_file

        ensure_loaded()
        for path in method_files:  # methods the driver loaded with --method-file
            load_method_file(path)
        _PREPARED.add(method_files)  # type: ignore[arg-type]
    _check_store(job)
    return _one_thread(fn, job)


def _numerics_env() -> dict[str, str]:
    """The driver's numerics switches, to be set in every worker before it imports NumPy or torch."""
    env = {numerics.SWITCH: numerics.apply()["mode"]}
    env.update({k: os.environ[k] for k in numerics.PORTABLE_ENV if k in os.environ})
    return env


def _check_reachable(address: str) -> None:
    """An address that cannot be reached is one line, at once (ray.init would retry for a minute)."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise BadInput(f"Ray address {address!r} is not allowed; give host:port (the head's GCS port, "
                       "usually 6379), ray://host:port, or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise BadInput(f"Ray address {address!r} cannot be reached ({err.strerror or err}); "
                       "start the cluster (`ray start --head`) or check --address / $RAY_ADDRESS") from None


@register_executor("ray")
class RayExecutor:
    """Jobs as Ray tasks: a local Ray with `workers` CPUs (default: one per core) started on the first
    `run`, or the cluster at `address` (default `$RAY_ADDRESS`; "auto": the one on this machine).

    `num_gpus_per_job`: GPUs each job reserves; 0 (default) means one GPU for a job whose `device`
    is cuda and none otherwise; a fraction (0.25) packs several small jobs on a GPU.
    At most 2 × workers jobs are in flight, so large jobs are not all serialised up front.
    A job that raises fails `run` with its own exception (as in the process executor); a worker that
    dies mid-job (killed, out of memory) fails it with an `UnlearnlabError` naming the job; tasks are
    never retried, so a crashing job cannot loop.
    """

    def __init__(self, workers: int | None = None, address: str | None = None, num_gpus_per_job: float = 0):
        if workers is not None:
            check_int("workers", workers, 1)
        if not isinstance(num_gpus_per_job, (int, float)) or isinstance(num_gpus_per_job, bool) \
                or num_gpus_per_job < 0:
            raise BadInput(f"num_gpus_per_job={num_gpus_per_job!r} is not allowed; it must be a number >= 0")
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        if self.address:  # before any work starts, so a bad address leaves nothing half-done
            _check_reachable(self.address)
        self._requested_workers = workers
        self.workers = workers or os.cpu_count() or 1
        self.num_gpus_per_job = num_gpus_per_job
        self._ray: Any = None
        self._remote: Any = None
        self._owns = False
        self._temp_dir: str | None = None
        self._task_options: dict[str, Any] = {}

    @property
    def started(self) -> bool:
        return self._ray is not None

    def _started(self) -> Any:
        if self._ray is not None:
            return self._ray
        try:
            import ray
        except ImportError:
            raise BadInput("executor 'ray' needs Ray: pip install 'unlearnlab[ray]'") from None
        env = {"env_vars": _numerics_env()}
        quiet = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False,
                 "configure_logging": True}
        if ray.is_initialized():  # the caller's own Ray session: use it, leave it running
            self._owns = False
            self._task_options["runtime_env"] = env  # its job-level environment is not ours
        elif self.address:
            try:
                ray.init(address=self.address, runtime_env=env, **{k: v for k, v in quiet.items()
                                                                    if k != "include_dashboard"})
            except (ConnectionError, RuntimeError) as err:
                raise BadInput(f"Ray address {self.address!r} cannot be joined: {str(err).splitlines()[0]}") from None
            self._owns = False
        else:
            # Ray's sockets live in its temp folder; a short path keeps them under the 107-byte limit.
            self._temp_dir = tempfile.mkdtemp(prefix="ulray-", dir="/tmp" if os.path.isdir("/tmp") else None)
            ray.init(num_cpus=self.workers, object_store_memory=OBJECT_STORE_BYTES, _temp_dir=self._temp_dir,
                     runtime_env=env, **quiet)
            self._owns = True
            atexit.register(self.close)  # a driver that ends without close() leaves no temp folder behind
        if self._owns is False and self._requested_workers is None:
            # on a cluster, keep as many jobs in flight as it has CPUs
            self.workers = max(1, int(ray.cluster_resources().get("CPU", self.workers)))
        self._remote = ray.remote(max_retries=0)(_ray_job)
        self._ray = ray
        return ray

    def _gpus(self, job: Any) -> float:
        if self.num_gpus_per_job:
            return self.num_gpus_per_job
        return 1 if str(getattr(job, "device", "cpu")).startswith("cuda") else 0

    def run(self, fn: Callable[[Any], Any], jobs: Sequence[Any], cancel: threading.Event | None = None):
        ray = self._started()
        from ..methods.plugins import LOADED_FILES

        files = tuple(LOADED_FILES)
        fn_ref = ray.put(fn)  # one copy of the function in the object store, not one per task
        pending: dict[Any, int] = {}
        queue = iter(enumerate(jobs))

        def submit(job: Any) -> Any:
            options = {"num_cpus": 1, "num_gpus": self._gpus(job), **self._task_options}
            return self._remote.options(**options).remote(fn_ref, job, files)

        def refill() -> None:
            fill(pending, queue, 2 * self.workers, submit)

        try:
            refill()
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled by request")
                for ref in done:
                    index = pending.pop(ref)
                    yield index, self._result(ray, ref, index)
                refill()
        finally:
            for ref in pending:  # cancelled, failed or abandoned: stop what still runs
                ray.cancel(ref, force=True)

    @staticmethod
    def _result(ray: Any, ref: Any, index: int) -> Any:
        from ray import exceptions as rex

        try:
            return ray.get(ref)
        except rex.RayTaskError as err:  # the job raised: its own exception, as the process executor
            cause = err.cause
            if isinstance(cause, BaseException) and not isinstance(cause, rex.RayError):
                cause.add_note(f"(in Ray job {index})")
                raise cause from None
            # Ray's own failure inside the worker (say, the job's function could not be unpickled there)
            reason = str(cause or err).strip().splitlines()[0]
            raise UnlearnlabError(f"Ray job {index} failed in its worker: {reason}") from None
        except rex.RayError as err:  # the worker died, ran out of memory, or its node went away
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise WorkerLost(f"Ray job {index} failed: its worker died ({type(err).__name__}: {reason}); "
                             "rerun with --executor serial to see its error", (index,)) from None

    def close(self) -> None:
        """Shut down the Ray this executor started (never a cluster it joined or the caller's session)."""
        if self._ray is not None and self._owns:
            self._ray.shutdown()
        self._ray = self._remote = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
