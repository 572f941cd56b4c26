"""Errors that callers are meant to catch.

`BadInput` is the user's mistake: the CLI prints its message on one line and exits 2.
`Diverged` and `Cancelled` end one run; the runner records them and moves on.
"""


class UnlearnlabError(Exception):
    """Base class of every error unlearnlab raises on purpose."""


class BadInput(UnlearnlabError, ValueError):
    """A value the user gave is not allowed; the message names it and what is allowed."""


class Diverged(UnlearnlabError):
    """A loss turned NaN or infinite during training or unlearning."""


class Cancelled(UnlearnlabError):
    """The run was cancelled through its cancellation event."""
