"""`unlearnlab`: demo, run, methods, runs and report (Typer + Rich)."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import api
from .errors import BadInput, UnlearnlabError
from .methods import load_method_file
from .methods.plugins import PLUGIN_ERRORS
from .progress import RichProgress
from .report import FORMATS, table_rows
from .runner import Comparison
from .store import Store
from .training import TrainConfig
from .validation import coerce

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Run machine-unlearning methods on forget requests and audit them against retraining.")
# Piped output gets a wide console so results tables are not squeezed to 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

StoreOpt = typer.Option(None, "--store", help="Store folder (default: $UNLEARNLAB_STORE or ./unlearnlab_store).")


def _error(e: Exception) -> None:
    # The message quotes user values (paths, names): print it as text, never as Rich markup.
    err.print(Text.assemble(("error:", "bold red"), " ", str(e)), highlight=False, soft_wrap=True)


def _user_errors(fn: Callable) -> Callable:
    """Bad input: one line on stderr, exit code 2, no traceback; a request that cannot finish: exit 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BadInput as e:
            _error(e)
            raise typer.Exit(2) from None
        except UnlearnlabError as e:  # e.g. θ_o's own training diverged: nothing to compare against
            _error(e)
            raise typer.Exit(1) from None

    return wrapper


def parse_sets(items: list[str]) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """`ft.lr=0.01` -> ({"ft": {"lr": "0.01"}}, {}); `train.epochs=5` -> training options."""
    methods: dict[str, dict[str, str]] = {}
    train: dict[str, Any] = {}
    defaults = TrainConfig().to_dict()
    for item in items:
        key, eq, value = item.partition("=")
        owner, dot, name = key.partition(".")
        if not eq or not dot or not owner or not name:
            raise BadInput(f"--set {item!r} is malformed; expected METHOD.PARAM=VALUE or train.OPTION=VALUE")
        if owner == "train":
            if name not in defaults:
                raise BadInput(f"unknown training option train.{name}; allowed: {', '.join(defaults)}")
            train[name] = coerce(f"train.{name}", value, defaults[name])
        else:
            methods.setdefault(owner, {})[name] = value
    return methods, train


def _print_comparison(result: Comparison) -> None:
    sc = result.scenario
    pruned = f" · pruned to {sc['prune']:.0%} sparsity" if sc.get("prune") else ""
    title = (f"{sc['dataset']['name']} · {sc['model']['name']}{pruned} · forget {sc['forget']} "
             f"({sc['forget_size']} samples) · seed {sc['seed']} · scenario {sc['id']}")
    header, rows = table_rows([r.to_contract() for r in result.runs])
    table = Table(title=title, title_justify="left")
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i < 2 else "right")
    for run, row in zip(result.runs, rows):
        style = {"done": None, "diverged": "yellow", "failed": "red", "cancelled": "yellow"}[run.status]
        table.add_row(*row, style=style)
    out.print(table)
    for run in result.runs:
        if run.reason:
            out.print(f"  {run.method}: {run.status}: {run.reason}", highlight=False)


def _write_json(path: Optional[Path], payload: Any) -> None:
    if path is not None:
        try:
            path.write_text(json.dumps(payload, indent=2, default=str))
        except OSError as e:
            raise BadInput(f"--json {str(path)!r} cannot be written: {e.strerror or e}") from None


def _check_json_path(path: Optional[Path]) -> None:
    """Fail before any work if the JSON result could not be written afterwards."""
    if path is None:
        return
    parent = path.parent.resolve()
    if not parent.is_dir():
        raise BadInput(f"--json {str(path)!r} cannot be written: folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise BadInput(f"--json {str(path)!r} cannot be written: it is a folder; give a file path")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise BadInput(f"--json {str(path)!r} cannot be written: permission denied")


@app.command()
@_user_errors
def demo(store: Optional[Path] = StoreOpt,
         seed: int = typer.Option(0, help="Seed for split, forget set, training and methods."),
         set_: list[str] = typer.Option([], "--set", help="Training option, e.g. train.epochs=5."),
         json_path: Optional[Path] = typer.Option(None, "--json", help="Write both comparisons as JSON.")):
    """The default comparison: digits, small CNN, forget class 3 and forget a random 10 %, every method."""
    method_sets, train = parse_sets(set_)
    if method_sets:
        raise BadInput(f"demo takes only train.* options; got {next(iter(method_sets))}.*; use `unlearnlab run`")
    _check_json_path(json_path)
    results = api.demo(store, seed=seed, train=train, progress=RichProgress(err))
    for result in results:
        _print_comparison(result)
    _write_json(json_path, [r.to_json() for r in results])
    out.print(f"Store: {results[0].store}  (list runs: unlearnlab runs --store {results[0].store})", highlight=False)


@app.command()
@_user_errors
def run(dataset: str = typer.Option("digits", help="digits | mnist1d[:num_samples=N] | arrays:PATH.npz"),
        model: str = typer.Option("cnn", help="mlp | cnn | resnet18"),
        forget: str = typer.Option("class:3", help="class:C[,C] | random:F | random:N | indices:PATH"),
        methods: Optional[str] = typer.Option(None, help="Comma-separated methods (default: all registered)."),
        set_: list[str] = typer.Option([], "--set", help="Override: METHOD.PARAM=VALUE or train.OPTION=VALUE."),
        seed: int = typer.Option(0),
        prune: Optional[float] = typer.Option(None, help="Prune first, then unlearn: global magnitude sparsity in (0, 1)."),
        store: Optional[Path] = StoreOpt,
        json_path: Optional[Path] = typer.Option(None, "--json", help="Write the machine-readable result here."),
        device: Optional[str] = typer.Option(None, help="cpu | cuda | auto (default)."),
        method_file: list[Path] = typer.Option([], "--method-file", help="A .py file registering extra methods.")):
    """Run θ_o, θ_r and the chosen methods on one forget request; score, store and print them."""
    for path in method_file:
        load_method_file(path)
    overrides, train = parse_sets(set_)
    names = [m.strip() for m in methods.split(",")] if methods else None
    if names is not None and not all(names):
        raise BadInput(f"--methods {methods!r} is malformed; expected comma-separated names")
    _check_json_path(json_path)
    result = api.run(dataset, model, forget, names, overrides=overrides, train=train, seed=seed, prune=prune,
                     store=store, device=device, progress=RichProgress(err))
    _print_comparison(result)
    _write_json(json_path, result.to_json())
    out.print(f"Store: {result.store}", highlight=False)


@app.command("methods")
@_user_errors
def methods_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Every registered method with its hyper-parameters, defaults and paper."""
    listing = api.list_methods()
    if as_json:
        typer.echo(json.dumps([{"name": m["name"], "params": m["params"], "paper": m["paper"],
                                "reference_defaults": m["reference_defaults"], "uses_labels": m["uses_labels"],
                                "needs_retrain": m["needs_retrain"]} for m in listing], indent=2, default=str))
        return
    table = Table("Method", "Hyper-parameters (default)", "Paper")
    for m in listing:
        params = ", ".join(f"{k}={v}" for k, v in m["params"].items()) or "–"
        table.add_row(m["name"], params, m["paper"])
    out.print(table)
    for name, reason in PLUGIN_ERRORS.items():
        err.print(f"plugin {name!r} failed to load: {reason}", highlight=False)


@app.command()
@_user_errors
def runs(store: Optional[Path] = StoreOpt,
         scenario: Optional[str] = typer.Option(None, help="Only this scenario's runs."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Stored runs, newest last."""
    st = Store(store or api.default_store(), create=False)
    if scenario is not None:
        st.scenario(scenario)
    records = st.runs(scenario)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in records], indent=2, default=str))
        return
    scenarios = {s["id"]: s for s in st.scenarios()}
    table = Table("Run", "Scenario", "Request", "Method", "Status", "UA", "TA", "Time (s)")
    for r in records:
        sc = scenarios.get(r.scenario_id, {})
        req = f"{sc.get('dataset', {}).get('name', '?')}/{sc.get('model', {}).get('name', '?')} {sc.get('forget', '')}"
        ua, ta = r.metrics.get("ua"), r.metrics.get("ta")
        table.add_row(r.id, r.scenario_id, req, r.method, r.status, "–" if ua is None else f"{100 * ua:.2f}",
                      "–" if ta is None else f"{100 * ta:.2f}",
                      "–" if r.run_time_s is None else f"{r.run_time_s:.2f}")
    out.print(table)


@app.command()
@_user_errors
def report(scenario: str = typer.Argument(..., help="Scenario id (see `unlearnlab runs`)."),
           fmt: str = typer.Option("markdown", "--format", help=f"{' | '.join(FORMATS)}"),
           store: Optional[Path] = StoreOpt):
    """A request's runs as a markdown, csv or LaTeX table."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown report format {fmt!r}; allowed: {', '.join(FORMATS)}")
    sys.stdout.write(api.report(scenario, fmt, store))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
