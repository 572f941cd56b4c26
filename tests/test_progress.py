"""Progress in a terminal (Rich, overall and per fit) and in logs and pipes (plain lines), driven
through the callback protocol the runner and api.demo use; a fake clock stands in for time."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

import unlearnlab as ul
from unlearnlab.progress import PlainProgress, RichProgress, auto, resolve


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fit(progress, clock: Clock, name: str, steps: int, per_step: float, epochs: int = 2) -> None:
    progress.start(name, steps)
    for i in range(steps):
        clock.now += per_step
        progress.advance(1, epoch=1 + i * epochs // steps, loss=1.0 / (i + 1))
    progress.stop()


def drive(progress, clock: Clock) -> None:
    """One request of three models: θ_o trained (100 steps, 0.5 s each), θ_r from the cache, ga trained."""
    progress.request(1, 2, "forget class:3")
    progress.stage("original", 1, 3)
    fit(progress, clock, "original", 100, 0.5)
    progress.stage("retrain", 2, 3)
    clock.now += 1.0
    progress.stage("ga", 3, 3)
    fit(progress, clock, "ga", 10, 0.1)
    progress.close()


def test_plain_lines_name_request_model_and_progress_at_a_bounded_rate():
    buf, clock = io.StringIO(), Clock()
    drive(PlainProgress(buf, interval=10.0, clock=clock), clock)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "[request 1/2] forget class:3"
    assert lines[1] == "[request 1/2] [model 1/3] original: started"
    assert all(line.startswith("[request 1/2] [model ") for line in lines[1:]), lines
    # θ_o's 50 s fit: one line every 10 s at most, each with epoch, step, loss and the ETA of the batch
    updates = [line for line in lines if "original: epoch" in line]
    assert 4 <= len(updates) <= 5, updates
    assert re.fullmatch(r"\[request 1/2\] \[model 1/3\] original: epoch [12], step \d+/100, loss [\d.e-]+, "
                        r"ETA \d+:\d\d", updates[0]), updates[0]
    assert "[request 1/2] [model 1/3] original: ended after 50.0 s, 100 steps" in lines
    # a cached model still gets its start and end line
    assert "[request 1/2] [model 2/3] retrain: started (ETA 4:10)" in lines  # 1 of 6 models in 50 s: 5 x 50 s to go
    assert "[request 1/2] [model 2/3] retrain: ended after 1.0 s" in lines
    assert lines[-1] == "[request 1/2] [model 3/3] ga: ended after 1.0 s, 10 steps"
    assert not any("ga: epoch" in line for line in lines)  # 1 s of ga: no update line


def test_plain_lines_without_stages_make_each_fit_a_unit():
    """Audits announce no models: each fit (e.g. an ensemble's members) gets its own start and end."""
    buf, clock = io.StringIO(), Clock()
    progress = PlainProgress(buf, interval=10.0, clock=clock)
    fit(progress, clock, "references", 4, 2.0)
    fit(progress, clock, "members", 2, 1.0)
    progress.close()
    assert buf.getvalue().splitlines() == [
        "references: started, 4 steps", "references: ended after 8.0 s, 4 steps",
        "members: started, 2 steps", "members: ended after 2.0 s, 2 steps"]


def test_rich_shows_overall_progress_in_a_terminal_and_nothing_elsewhere():
    clock = Clock()
    terminal = Console(file=io.StringIO(), force_terminal=True, width=120)
    drive(RichProgress(terminal, clock=clock), clock)
    shown = terminal.file.getvalue()
    assert "request 1/2 forget class:3 · model 1/3 original" in shown
    assert "model 3/3 ga" in shown and "models" in shown and "ETA" in shown
    piped = Console(file=io.StringIO(), force_terminal=False, width=120)
    drive(RichProgress(piped, clock=clock), clock)
    assert piped.file.getvalue() == ""


def test_auto_picks_rich_for_a_terminal_and_plain_lines_otherwise():
    assert isinstance(auto(Console(file=io.StringIO(), force_terminal=True)), RichProgress)
    assert isinstance(auto(Console(file=io.StringIO(), force_terminal=False, force_jupyter=False)), PlainProgress)
    assert isinstance(resolve(True), (RichProgress, PlainProgress))
    assert resolve(False) is None and resolve(None) is None
    mine = PlainProgress()
    assert resolve(mine) is mine


class Recorder:
    def __init__(self):
        self.calls: list[tuple] = []

    def request(self, index, total, label):
        self.calls.append(("request", index, total, label))

    def stage(self, name, index, total):
        self.calls.append(("stage", name, index, total))

    def start(self, description, total_steps):
        self.calls.append(("start", description))

    def advance(self, steps=1, **info):
        pass

    def stop(self):
        self.calls.append(("stop",))

    def close(self):
        self.calls.append(("close",))


@pytest.mark.usefixtures("one_thread")
def test_api_run_progress_true_prints_plain_lines_where_stderr_is_not_a_terminal(tiny_data, tmp_path, capsys):
    args = dict(model="mlp", forget="class:1", methods=["ga"], train={"epochs": 1}, store=tmp_path / "store")
    ul.run(tiny_data, **args)  # the default: silent
    assert capsys.readouterr().err == ""
    ul.run(tiny_data, **args, progress=True)
    err = capsys.readouterr().err
    assert "ga: started" in err and "ga: ended after" in err, err


@pytest.mark.usefixtures("one_thread")
def test_api_demo_announces_each_request_and_closes(tmp_path):
    recorder = Recorder()
    ul.demo(tmp_path / "store", train={"epochs": 1}, methods=["ga"], progress=recorder)
    requests = [c for c in recorder.calls if c[0] == "request"]
    assert requests == [("request", 1, 2, "forget class:3"), ("request", 2, 2, "forget random:0.1")]
    assert recorder.calls[0] == requests[0] and recorder.calls[-1] == ("close",)
