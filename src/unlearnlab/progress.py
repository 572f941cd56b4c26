"""Progress for people: Rich bars in a terminal, plain lines in logs and pipes.

Both implement the training loop's ProgressCallback (`start/advance/stop`, one call per fit) and
the optional announcements a comparison makes: `request(index, total, label)` before each request
of a batch (api.demo), `stage(name, index, total)` before each model it trains or loads (θ_o, θ_r,
then each method; 1-based), and `close()` when it is over.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def _clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class _Position:
    """Where a batch of requests stands (request r of R, model m of M) and how much of it is done,
    shared by both renderings so their counts and ETA agree."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.request: tuple[int, int, str] | None = None
        self.stage: tuple[str, int, int] | None = None
        self.began: float | None = None
        self.fit_done, self.fit_total = 0, 0

    def prefix(self) -> str:
        parts = []
        if self.request:
            parts.append(f"[request {self.request[0]}/{self.request[1]}]")
        if self.stage:
            parts.append(f"[model {self.stage[1]}/{self.stage[2]}]")
        return " ".join(parts)

    def enter_request(self, index: int, total: int, label: str) -> None:
        self.request, self.stage = (index, total, label), None
        self.began = self.clock() if self.began is None else self.began

    def enter_stage(self, name: str, index: int, total: int) -> None:
        self.stage, self.fit_done, self.fit_total = (name, index, total), 0, 0
        self.began = self.clock() if self.began is None else self.began

    def describe(self) -> str:
        """The overall bar's label, e.g. 'request 1/2 class:3 · model 3/18 ft'."""
        parts = []
        if self.request:
            r, n, label = self.request
            parts.append(f"request {r}/{n} {label}".rstrip())
        if self.stage:
            name, i, m = self.stage
            parts.append(f"model {i}/{m} {name}")
        return " · ".join(parts)

    def models(self) -> tuple[float, int]:
        """Models done (the current one counted by its fit's share) and models in the whole batch;
        later requests are assumed to train as many models as this one (true of api.demo)."""
        if self.stage is None:
            return 0.0, 0
        _, index, total = self.stage
        r, n = (self.request[0], self.request[1]) if self.request else (1, 1)
        share = self.fit_done / self.fit_total if self.fit_total else 0.0
        return (r - 1) * total + index - 1 + share, n * total

    def eta(self) -> str:
        """Remaining time if the rest goes at the average pace so far: a rough guide, since θ_o and θ_r
        train far longer than most methods and cached models take no time at all."""
        done, total = self.models()
        if self.began is None or done <= 0 or total <= 0:
            return "ETA –"
        elapsed = self.clock() - self.began
        return f"ETA {_clock_text(elapsed / done * (total - done))}"


class RichProgress:
    """In a terminal (on stderr, so stdout stays clean for tables and JSON): an overall bar over the
    models of every request with elapsed time and ETA, and one transient bar per fit."""

    def __init__(self, console: Console | None = None, clock: Callable[[], float] = time.monotonic):
        self.console = console or Console(stderr=True)
        self._pos = _Position(clock)
        self._progress: Progress | None = None
        self._overall = None
        self._task = None

    def _live(self) -> Progress | None:
        if not self.console.is_terminal:  # logs and pipes get no bar (and no stray blank lines)
            return None
        if self._progress is None:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[unit]}"), TimeElapsedColumn(),
                                      TextColumn("{task.fields[note]}"), console=self.console, transient=True,
                                      get_time=self._pos.clock)
            self._progress.start()
        return self._progress

    def _show_overall(self) -> None:
        live = self._live()
        if live is None:
            return
        done, total = self._pos.models()
        label = self._pos.describe()
        fields = {"completed": int(done), "total": total or None, "unit": "models", "note": self._pos.eta()}
        if self._overall is None:
            self._overall = live.add_task(label, **fields)
        else:
            live.update(self._overall, description=label, **fields)
        live.refresh()

    def request(self, index: int, total: int, label: str = "") -> None:
        self._pos.enter_request(index, total, label)
        self._show_overall()

    def stage(self, name: str, index: int, total: int) -> None:
        self._pos.enter_stage(name, index, total)
        self._show_overall()

    def start(self, description: str, total_steps: int) -> None:
        live = self._live()
        self._pos.fit_done, self._pos.fit_total = 0, total_steps
        if live is not None:
            self._task = live.add_task(f"{description:>10}", total=total_steps, unit="steps", note="epoch 1")

    def advance(self, steps: int = 1, **info: float) -> None:
        self._pos.fit_done += steps
        if self._progress is not None and self._task is not None:
            note = f"epoch {int(info['epoch'])}" if "epoch" in info else None
            self._progress.update(self._task, advance=steps, **({"note": note} if note else {}))
            if self._overall is not None:
                done, _ = self._pos.models()
                self._progress.update(self._overall, completed=int(done), note=self._pos.eta())

    def stop(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None
        if self._overall is None:  # a fit on its own (audits): its bar goes with it
            self.close()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = self._overall = self._task = None


class PlainProgress:
    """For logs, pipes and CI: whole lines that stay readable when saved. One line when a request
    or model starts and when a model ends (with its time and optimiser steps), and while a fit runs
    a line at most every `interval` seconds (epoch, step, loss). Without stage announcements (e.g.
    audits) each fit is a unit of its own and gets its start and end lines."""

    def __init__(self, file: IO[str] | None = None, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.file = file  # None: sys.stderr when written, so a redirected or captured stderr gets it
        self.interval = interval
        self._pos = _Position(clock)
        self._unit: tuple[str, float] | None = None  # the model or fit under way and when it started
        self._unit_steps = 0
        self._fit: str | None = None
        self._last = float("-inf")

    def _emit(self, text: str) -> None:
        prefix = self._pos.prefix()
        print(f"{prefix} {text}" if prefix else text, file=self.file or sys.stderr, flush=True)
        self._last = self._pos.clock()

    def _end_unit(self) -> None:
        if self._unit is None:
            return
        name, began = self._unit
        steps = f", {self._unit_steps} steps" if self._unit_steps else ""
        self._emit(f"{name}: ended after {self._pos.clock() - began:.1f} s{steps}")
        self._unit = None

    def _begin_unit(self, name: str, what: str) -> None:
        self._unit, self._unit_steps = (name, self._pos.clock()), 0
        self._emit(f"{name}: {what}")

    def request(self, index: int, total: int, label: str = "") -> None:
        self._end_unit()
        self._pos.enter_request(index, total, label)
        self._emit(label or "started")

    def stage(self, name: str, index: int, total: int) -> None:
        self._end_unit()
        self._pos.enter_stage(name, index, total)
        self._begin_unit(name, f"started ({self._pos.eta()})" if self._pos.models()[0] else "started")

    def start(self, description: str, total_steps: int) -> None:
        self._fit = description
        self._pos.fit_done, self._pos.fit_total = 0, total_steps
        if self._pos.stage is None:
            self._end_unit()
            self._begin_unit(description, f"started, {total_steps} steps")

    def advance(self, steps: int = 1, **info: float) -> None:
        self._pos.fit_done += steps
        self._unit_steps += steps
        if self._pos.clock() - self._last < self.interval:
            return
        parts = [f"epoch {int(info['epoch'])}"] if "epoch" in info else []
        parts.append(f"step {self._pos.fit_done}/{self._pos.fit_total}")
        if "loss" in info:
            parts.append(f"loss {info['loss']:.4g}")
        if self._pos.stage is not None:
            parts.append(self._pos.eta())
        self._emit(f"{self._fit}: {', '.join(parts)}")

    def stop(self) -> None:
        if self._pos.stage is None:
            self._end_unit()
        self._fit = None

    def close(self) -> None:
        self._end_unit()


def auto(console: Console | None = None) -> RichProgress | PlainProgress:
    """Rich bars where stderr is a terminal or a notebook, plain lines where it is a log, a pipe or CI."""
    console = console or Console(stderr=True)
    return RichProgress(console) if console.is_terminal or console.is_jupyter else PlainProgress()


def resolve(progress: Any) -> Any:
    """The API's `progress=` argument: True picks `auto()`, False or None is silent, anything else is
    a ProgressCallback used as it is."""
    if progress is True:
        return auto()
    if progress is None or progress is False:
        return None
    return progress


@contextmanager
def reporting(progress: Any) -> Iterator[Any]:
    """`resolve(progress)`, closed afterwards (a Rich bar must stop even when the run fails)."""
    reporter = resolve(progress)
    try:
        yield reporter
    finally:
        close = getattr(reporter, "close", None)
        if close is not None:
            close()
