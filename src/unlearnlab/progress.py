"""A Rich progress bar that implements the training loop's ProgressCallback."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RichProgress:
    """One transient bar per fit() call, on stderr so stdout stays clean for tables and JSON."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task = None

    def start(self, description: str, total_steps: int) -> None:
        if not self.console.is_terminal:  # logs and pipes get no bar (and no stray blank lines)
            return
        self._progress = Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("epoch {task.fields[epoch]}"), TimeElapsedColumn(),
                                  console=self.console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total_steps, epoch=1)

    def advance(self, steps: int = 1, **info: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=steps, **info)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
