"""Errors that callers are meant to catch.

`BadInput` is the user's mistake: the CLI prints its message on one line and exits 2.
`Diverged` and `Cancelled` end one run; the runner records them and moves on.
`CorruptArtifact`: a stored file failed its checksum or does not parse; the message says how to recover.
"""


class UnlearnlabError(Exception):
    """Base class of every error unlearnlab raises on purpose."""


class BadInput(UnlearnlabError, ValueError):
    """A value the user gave is not allowed; the message names it and what is allowed."""


class Diverged(UnlearnlabError):
    """A loss turned NaN or infinite during training or unlearning."""


class Cancelled(UnlearnlabError):
    """The run was cancelled through its cancellation event."""


class CorruptArtifact(UnlearnlabError):
    """A stored file (a run's artifact, an audit's arrays, the store's database) is damaged.

    Not the user's input, so the CLI exits 1, not 2; the message names the file, its run and the remedy.
    """


class WorkerLost(UnlearnlabError):
    """A worker process died while it ran a job (killed, out of memory, a crash in native code).

    `indices`: the jobs that were in flight in the batch, one of which killed the worker (the `ray`
    executor names exactly one; a process pool loses every job it held). `executors.run_each` retries
    them one at a time to find the one that dies again, so the others go on."""

    def __init__(self, message: str, indices: tuple[int, ...] = ()):
        super().__init__(message)
        self.indices = tuple(indices)

