"""`unlearnlab`: demo, run, sweep, tune, methods, runs, report, audit, compare and serve (Typer + Rich)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from . import api
from .analysis.instances import CATEGORIES
from .errors import BadInput, UnlearnlabError
from .methods import load_method_file
from .presets import resolve as resolve_preset
from .methods.plugins import PLUGIN_ERRORS
from .progress import auto as auto_progress
from .report import REPORT_FORMATS, repeats, request_labels, started, table_rows
from .report import environments as report_environments
from .report import notes as report_notes
from .report import warnings as report_warnings
from .runner import Comparison
from .store import Store
from .sweeps import load_plan
from .tasks import get_task
from .training import TrainConfig
from .validation import coerce


# Typer 0.2x vendors Click (typer._click), older releases use Click itself: take Click's exceptions
# from wherever Typer's own come from.
_clicks = sys.modules[typer.BadParameter.__module__]


def _usage_line(e: Any) -> str:
    """Click's usage error as one line naming the bad value and what is allowed (commands of the
    group, options of the command, or the command's usage), instead of a usage box."""
    ctx = e.ctx
    message = " ".join(e.format_message().split()).rstrip(".")
    message = message[:1].lower() + message[1:]
    errors = getattr(e.__cause__, "errors", None)  # Typer's pydantic coercion keeps the bad value here
    if callable(errors) and errors() and "input" in errors()[0]:
        message += f" (got {errors()[0]['input']!r})"
    if ctx is None:
        return message
    where = "unlearnlab" + ctx.command_path[len(ctx.find_root().command_path):]
    params = ctx.command.get_params(ctx)
    if isinstance(e, _clicks.NoSuchOption):
        options = sorted({o for p in params if p.param_type_name == "option" for o in p.opts})
        return f"no option {e.option_name!r} for `{where}`; options: {', '.join(options)}"
    if isinstance(e, _clicks.MissingParameter) and e.param is not None and e.param.param_type_name == "argument":
        message = f"missing argument {e.param.name.upper()}"
    elif isinstance(e, _clicks.BadParameter):
        return message
    if hasattr(ctx.command, "list_commands"):
        return f"{message}; commands: {', '.join(ctx.command.list_commands(ctx))}"
    arguments = [p.name.upper() for p in params if p.param_type_name == "argument"]
    return f"{message}; usage: {' '.join([where, '[OPTIONS]', *arguments])}"


class _OneLineErrors(typer.core.TyperGroup):
    """Usage errors (unknown command or option, missing argument) as one `error:` line on stderr with
    exit 2, as BadInput is, however the app is invoked (console script, CliRunner)."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except _clicks.NoArgsIsHelpError as e:  # the help is already printed
            sys.exit(e.exit_code)
        except _clicks.UsageError as e:
            _error(_usage_line(e))
            sys.exit(2)
        except _clicks.ClickException as e:
            _error(e.format_message())
            sys.exit(e.exit_code)
        except typer.Abort:
            _error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(add_completion=False, no_args_is_help=True, cls=_OneLineErrors,
                  help="Run machine-unlearning methods on forget requests and audit them against retraining.")


def _stdout_width() -> int | None:
    """None in a terminal (Rich follows its size, or COLUMNS); piped output takes COLUMNS when set and
    160 otherwise, so results tables in logs are not squeezed to Rich's default of 80 columns."""
    if sys.stdout.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 160


out = Console(width=_stdout_width())
err = Console(stderr=True)

StoreOpt = typer.Option(None, "--store", help="Store folder (default: $UNLEARNLAB_STORE or ./unlearnlab_store).")
RerunOpt = typer.Option(False, "--rerun", help="Run every method again even if a finished run with the same "
                        "resolved configuration is stored (default: reuse it, shown as cached).")


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


def parse_sets(items: list[str], defaults: Optional[dict[str, Any]] = None
               ) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """`ft.lr=0.01` -> ({"ft": {"lr": "0.01"}}, {}); `train.epochs=5` -> training options, checked against
    `defaults` (the model's runner's, `api.train_defaults`; default the classifier recipe); `gen.guidance=3`
    -> {"gen": {"guidance": "3"}} (a generative model's options, checked by its runner)."""
    methods: dict[str, dict[str, str]] = {}
    train: dict[str, Any] = {}
    defaults = TrainConfig().to_dict() if defaults is None else defaults
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


def fitted_tables(header: list[str], rows: list[list[str]], styles: list[Optional[str]], console: Console,
                  keys: int = 2) -> list[Table]:
    """The table as one Rich table if it fits the console, else its columns after the first `keys`
    split over as many tables as needed, each repeating the key columns, so that no cell is ever cut
    to an ellipsis (a cell too wide even alone folds onto a second line, whole)."""
    def build(columns: list[int]) -> Table:
        table = Table()
        for i in columns:
            table.add_column(header[i], justify="left" if i < keys else "right", overflow="fold")
        for row, style in zip(rows, styles):
            table.add_row(*(row[i] for i in columns), style=style)
        return table

    def fits(group: list[int]) -> bool:
        table = build([*range(keys), *group])
        return Measurement.get(console, console.options.update_width(10_000), table).maximum <= console.width

    rest = list(range(keys, len(header)))
    groups: list[list[int]] = [[]]
    for i in rest:
        if groups[-1] and not fits([*groups[-1], i]):
            groups.append([])
        groups[-1].append(i)
    # as many tables as packing needs, but with the columns spread evenly (not 5, 4 and a lone 1)
    per = -(-len(rest) // len(groups))
    even = [rest[j:j + per] for j in range(0, len(rest), per)]
    if len(even) == len(groups) and all(fits(g) for g in even):
        groups = even
    return [build([*range(keys), *group]) for group in groups]


def _print_comparison(result: Comparison) -> None:
    sc = result.scenario
    pruned = f" · pruned to {sc['prune']:.0%} sparsity" if sc.get("prune") else ""
    if sc.get("poison"):
        pruned += f" · poisoned {sc['poison']['spec']} ({sc['poison']['count']} samples)"
    title = (f"{sc['dataset']['name']} · {sc['model']['name']}{pruned} · forget {sc['forget']} "
             f"({sc['forget_size']} samples) · seed {sc['seed']} · scenario {sc['id']}")
    header, rows = table_rows([r.to_contract() for r in result.runs])
    styles = [{"done": None, "diverged": "yellow", "failed": "red", "cancelled": "yellow"}[r.status]
              for r in result.runs]
    tables = fitted_tables(header, rows, styles, out)
    if len(tables) == 1:
        tables[0].title, tables[0].title_justify = title, "left"
    else:  # one heading for the parts, not one squeezed to each part's width
        out.print(Text(title, style="italic"), highlight=False)
    for table in tables:
        out.print(table)
    for run in result.runs:
        if run.reason:
            out.print(f"  {run.method}: {run.status}: {run.reason}", highlight=False)
    runs = [r.to_contract() for r in result.runs]
    for line in report_warnings(runs):
        out.print(Text.assemble(("warning:", "bold yellow"), " ", line), highlight=False, soft_wrap=True)
    for line in report_notes(runs):
        out.print(Text.assemble(("note:", "bold"), " ", line), highlight=False, soft_wrap=True)
    for line in report_environments(runs):
        out.print(Text.assemble(("environment:", "dim"), " ", line), highlight=False, soft_wrap=True)


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
         json_path: Optional[Path] = typer.Option(None, "--json", help="Write both comparisons as JSON."),
         rerun: bool = RerunOpt,
         executor: str = typer.Option("process", help="Where the methods run: process (default: a pool of "
                                      "--workers processes) | serial (here) | ray (docs/executors.md)."),
         workers: Optional[int] = typer.Option(None, min=1, help="Worker processes (default: one per CPU core).")):
    """The default comparison: digits, small CNN, forget class 3 and forget a random 10 %, every method."""
    method_sets, train = parse_sets(set_)
    if method_sets:
        raise BadInput(f"demo takes only train.* options; got {next(iter(method_sets))}.*; use `unlearnlab run`")
    _check_json_path(json_path)
    results = api.demo(store, seed=seed, train=train, progress=auto_progress(err), rerun=rerun, executor=executor,
                       workers=workers)
    for result in results:
        _print_comparison(result)
    _write_json(json_path, [r.to_json() for r in results])
    out.print(f"Store: {results[0].store}  (list runs: unlearnlab runs --store {results[0].store})", highlight=False)
    out.print(f"Open the results in the browser: unlearnlab serve --store {shlex.quote(results[0].store)}",
              highlight=False, soft_wrap=True)


@app.command()
@_user_errors
def run(dataset: Optional[str] = typer.Option(None, help="digits (default) | mnist1d[:num_samples=N] | "
                                              "arrays:PATH.npz"
                                    "[,standardize=false][,test_size=F][,unseen=N] (arrays standardises features on "
                                    "the training split unless standardize=false; unseen=N holds N groups out "
                                    "as unseen test identities) | cifar10 | cifar100 | cifar20 | "
                                    "mnist | fashion_mnist | svhn | olivetti[:unseen=N] (read from --data-root) | "
                                    "regression: diabetes | friedman1[:num_samples=N] | arrays:PATH.npz,task=regression"),
        model: Optional[str] = typer.Option(None, help="cnn (default) or another registered model (mlp | cnn | "
                                            "resnet18 | fastnet | an unlearnlab.models "
                                  "entry point) or package.module:factory[,head=NAME] (docs/own_model.md); ddpm: a "
                                  "class-conditional diffusion model, erasing --forget class:C (docs/generative.md; "
                                  "--set gen.guidance=W, gen.sample_steps=N, gen.n_per_class=N, gen.width=N, "
                                  "train.steps=N, ...)."),
        forget: Optional[str] = typer.Option(None, help="class:C[,C] (default class:3) | random:F | random:N | "
                                             "indices:PATH | "
                                   "subclass:FINE (cifar20: a fine class by index or name) | poison | poison:F "
                                   "(with --poison: the poisoned samples, or the share F of them found) | "
                                   "group:G[,G] (every sample of a group, e.g. a person, on data with groups) | "
                                   "worst:N[,by=bilevel|loss][,method=ft|ga][,rounds=R] (the hardest forget set) | "
                                   "memorised:N[,k=K][,subset=S] (the most memorised points) | "
                                   "target:LO..HI (regression: targets in [LO, HI], in the data's units)"),
        methods: Optional[str] = typer.Option(None, help="Comma-separated methods (default: all registered that "
                                              "apply to the data's task)."),
        set_: list[str] = typer.Option([], "--set", help="Override: METHOD.PARAM=VALUE or train.OPTION=VALUE."),
        seed: int = typer.Option(0, help="Seed of the split and the forget set, and of the streams below "
                                 "that are not given."),
        train_seed: Optional[int] = typer.Option(None, "--train-seed", help="Seed of training θ_o and θ_r "
                                                 "(default --seed)."),
        unlearn_seed: Optional[int] = typer.Option(None, "--unlearn-seed", help="Seed of the unlearning "
                                                   "methods (default --seed)."),
        eval_seed: Optional[int] = typer.Option(None, "--eval-seed", help="Seed of the metrics' randomness "
                                                "(MIA splits; default --seed)."),
        prune: Optional[float] = typer.Option(None, help="Prune first, then unlearn: global magnitude sparsity in (0, 1)."),
        retrain_seed: str = typer.Option("independent", help="independent: θ_r from its own seed (default) | "
                                         "shared: θ_r with θ_o's initialisation and batch order."),
        poison: Optional[str] = typer.Option(None, "--poison", help="Poison the training data before θ_o is "
                                             "trained: badnets:RATE[,target=C] (a trigger patch on a share RATE "
                                             "in (0, 1) of the samples not of class C, relabelled C; default "
                                             "C=0); forget it with --forget poison (docs/scenarios.md)."),
        store: Optional[Path] = StoreOpt,
        json_path: Optional[Path] = typer.Option(None, "--json", help="Write the machine-readable result here."),
        device: Optional[str] = typer.Option(None, help="cpu | cuda | auto (default)."),
        method_file: list[Path] = typer.Option([], "--method-file", help="A .py file registering extra methods."),
        rerun: bool = RerunOpt,
        original: Optional[Path] = typer.Option(None, "--original", help="An already trained θ_o (.safetensors "
                                                "or a PyTorch state dict .pt/.pth), loaded instead of trained."),
        retrained: Optional[Path] = typer.Option(None, "--retrained", help="An already trained θ_r, loaded "
                                                 "instead of retrained (speed-ups are then not shown)."),
        data_root: Optional[Path] = typer.Option(None, "--data-root", help="Folder of the standard data sets "
                                                 "(cifar10, cifar100, cifar20, mnist, fashion_mnist, svhn) in "
                                                 "torchvision's layout; default $UNLEARNLAB_DATA, else "
                                                 "~/.cache/unlearnlab/data (docs/data.md)."),
        preset: Optional[str] = typer.Option(None, "--preset", help="A published protocol's data set, model, "
                                             "recipe, forget requests and method settings (`unlearnlab presets`); "
                                             "runs each of its requests. Flags given with it override its values."),
        executor: str = typer.Option("serial", help="Where the methods run after θ_o and θ_r: serial (here, "
                                     "default) | process (a pool of --workers processes) | ray (docs/executors.md)."),
        workers: Optional[int] = typer.Option(None, min=1, help="With --executor process or ray: workers "
                                              "(default: one per CPU core).")):
    """Run θ_o, θ_r and the chosen methods on one forget request (or each of a preset's); score, store, print."""
    for path in method_file:
        load_method_file(path)
    overrides, train = parse_sets(set_, api.train_defaults(model))
    names = [m.strip() for m in methods.split(",")] if methods is not None else None
    if names is not None and not all(names):
        raise BadInput(f"--methods {methods!r} is malformed; expected comma-separated names")
    _check_json_path(json_path)
    requests: list[Optional[str]] = [forget]
    if preset is not None:  # an unknown preset or a bad override fails here, before anything runs
        chosen = resolve_preset(preset, dataset=dataset, model=model, forget=forget, methods=names,
                                overrides=overrides, train=train)
        requests = list(chosen.forget)
        if chosen.overridden:
            err.print(f"preset {preset}: overridden by the command line: {', '.join(chosen.overridden)}",
                      highlight=False, soft_wrap=True)
    results = []
    for request in requests:
        results.append(api.run(dataset, model, request, names, preset=preset, overrides=overrides, train=train,
                               seed=seed, prune=prune, retrain_seed=retrain_seed, store=store, device=device,
                               progress=auto_progress(err), rerun=rerun, original=original, retrained=retrained,
                               data_root=data_root, executor=executor, workers=workers, poison=poison,
                               seeds={"train": train_seed, "unlearn": unlearn_seed, "eval": eval_seed}))
        _print_comparison(results[-1])
    # with a preset, one comparison per request (a list, as demo writes)
    _write_json(json_path, [r.to_json() for r in results] if preset is not None else results[0].to_json())
    out.print(f"Store: {results[0].store}", highlight=False)


@app.command("sweep")
@_user_errors
def sweep_cmd(plan: Path = typer.Argument(..., help="A TOML sweep plan (docs/sweeps.md)."),
              store: Optional[Path] = typer.Option(None, "--store", help="Store folder (default: the plan's "
                                                   "`store`, else $UNLEARNLAB_STORE or ./unlearnlab_store)."),
              device: Optional[str] = typer.Option(None, help="cpu | cuda | auto (default)."),
              rerun: bool = RerunOpt,
              html_path: Optional[Path] = typer.Option(None, "--html", help="After the sweep, write a "
                                                       "self-contained HTML report of its requests here."),
              executor: str = typer.Option("serial", help="serial (cell after cell here, default) | process (cells "
                                           "in --workers processes) | ray (a local Ray or --address)."),
              workers: Optional[int] = typer.Option(None, min=1, help="With process or ray: workers (default: one "
                                                    "per CPU core)."),
              address: Optional[str] = typer.Option(None, help="With --executor ray: the cluster's address "
                                                    "(default $RAY_ADDRESS; the store must be on a folder every "
                                                    "node shares).")):
    """Run a sweep plan: data sets or presets x forget requests x seeds x methods x grids, cell by cell."""
    if html_path is not None:  # checked before the sweep runs: a long sweep must not end on a bad path
        _check_output(html_path, "--html")
    say = lambda line: out.print(line, highlight=False, soft_wrap=True, markup=False)  # noqa: E731
    with _cell_bar(err) as on_cell:
        summary = api.sweep(plan, store=store, device=device, rerun=rerun, echo=say, executor=executor,
                            workers=workers, address=address, on_cell=on_cell)
    lost = f"; {summary['lost_cells']} cells lost (their worker died)" if summary.get("lost_cells") else ""
    out.print(f"sweep: {summary['cells']} cells; runs: {summary['done']} done, {summary['cached']} cached, "
              f"{summary['failed']} failed{lost}", highlight=False)
    for sid in summary["scenarios"]:
        out.print(f"scenario {sid}", highlight=False)
    if summary["scenarios"]:
        out.print(f"Over seeds: unlearnlab report {summary['scenarios'][0]} --over-seeds"
                  + (f" --store {shlex.quote(str(store))}" if store else ""), highlight=False, soft_wrap=True)
    if html_path is not None:
        # the store the sweep wrote to: --store, else the plan's, else the default
        target = store if store is not None else load_plan(plan).store
        page = api.sweep_report(summary, store=target)
        _write_atomic(html_path, page)
        out.print(f"HTML report: {html_path}", highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _cell_bar(console: Console):
    """A progress bar over a sweep's cells where `console` is a terminal (nothing in pipes and logs, which
    get the plain per-cell lines)."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    with Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("cells"), TimeElapsedColumn(),
                  TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("cells", total=None)

        def on_cell(finished: int, total: int, label: str) -> None:
            bar.update(task, completed=finished, total=total)
        yield on_cell


def _check_output(path: Path, flag: str) -> None:
    """BadInput unless `path` can be written as a file: its folder exists and it is not a folder."""
    if path.is_dir():
        raise BadInput(f"{flag} {str(path)!r} is a folder; allowed: a file path in an existing folder")
    if not path.parent.is_dir():
        raise BadInput(f"{flag} {str(path)!r}: folder {str(path.parent)!r} does not exist; allowed: a file path in "
                       "an existing folder")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise BadInput(f"{flag} {str(path)!r} cannot be written: permission denied")


def _write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename: a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        raise BadInput(f"{str(path)!r} cannot be written: {e.strerror or e}") from None
    finally:
        tmp.unlink(missing_ok=True)


@app.command("tune")
@_user_errors
def tune_cmd(method: str = typer.Argument(..., help="The method to tune (`unlearnlab methods`)."),
             dataset: Optional[str] = typer.Option(None, help="As for `run` (default digits)."),
             model: Optional[str] = typer.Option(None, help="As for `run` (default cnn)."),
             forget: Optional[str] = typer.Option(None, help="As for `run` (default class:3)."),
             trials: int = typer.Option(..., "--trials", help="Trials the study should have finished; a study "
                                        "that has some already runs only the missing ones."),
             objective: str = typer.Option("avg_gap", help="A stored metric with a better direction, averaged over "
                                           "the search seeds: avg_gap | ra | ta | run_time_s | speedup_vs_retrain."),
             budget: Optional[float] = typer.Option(None, help="Largest ratio of the method's run time to θ_r's "
                                                    "retraining time; a trial over it is infeasible."),
             search_seeds: str = typer.Option("3", "--search-seeds", help="A count N (seeds 1000..), a range A-B "
                                              "or a list A,B: the seeds the search runs on."),
             eval_seeds: str = typer.Option("3", "--eval-seeds", help="A count N (seeds 0..), a range A-B or a "
                                            "list A,B: the fresh seeds the chosen setting is reported on."),
             space: list[str] = typer.Option([], "--space", help="NAME=LOW:HIGH[:log] or NAME=A|B, comma-separated "
                                             "(default: derived from the method's defaults, docs/tune.md)."),
             set_: list[str] = typer.Option([], "--set", help="Training option, e.g. train.epochs=5."),
             sampler_seed: int = typer.Option(0, "--sampler-seed", help="Seed of Optuna's TPE sampler."),
             store: Optional[Path] = StoreOpt,
             device: Optional[str] = typer.Option(None, help="cpu | cuda | auto (default)."),
             json_path: Optional[Path] = typer.Option(None, "--json", help="Write the result (trials, search, "
                                                      "evaluation) as JSON."),
             html_path: Optional[Path] = typer.Option(None, "--html", help="Write a self-contained HTML report: the "
                                                      "objective against the trials, and the evaluation runs.")):
    """Search a method's hyper-parameters with Optuna on search seeds; report the best on fresh seeds."""
    method_sets, train = parse_sets(set_)
    if method_sets:
        raise BadInput(f"tune takes only train.* options with --set; got {next(iter(method_sets))}.*; give the "
                       "method's ranges with --space (e.g. --space lr=0.001:0.1:log)")
    _check_json_path(json_path)
    if html_path is not None:
        _check_output(html_path, "--html")
    from .tuning import render_tune

    result = api.tune(method, dataset=dataset, model=model, forget=forget, train=train or None, trials=trials,
                      objective=objective, search_seeds=search_seeds, eval_seeds=eval_seeds, budget=budget,
                      space=space or None, sampler_seed=sampler_seed, store=store, device=device,
                      echo=lambda line: err.print(line, highlight=False, soft_wrap=True, markup=False))
    out.print(render_tune(result), highlight=False, soft_wrap=True, markup=False)
    _write_json(json_path, result)
    if html_path is not None:
        _write_atomic(html_path, api.tune_report(result, store=store or api.default_store()))
        out.print(f"HTML report: {html_path}", highlight=False, soft_wrap=True)
    if result["best_params"] is None:
        raise UnlearnlabError(f"no feasible trial: {result['no_feasible']}")


@app.command("env")
@_user_errors
def env_cmd(as_json: bool = typer.Option(False, "--json", help="Print the whole manifest as JSON."),
            device: Optional[str] = typer.Option(None, help="cpu | cuda | auto (default).")):
    """Where numbers computed here come from: versions, CPU, kernels, threads, portable numerics."""
    from . import numerics
    from .training import pick_device

    with numerics.compute_threads():
        manifest = numerics.manifest(pick_device(device))
    if as_json:
        out.print_json(json.dumps(manifest))
        return
    num = manifest["numerics"]
    out.print(numerics.summary(manifest), highlight=False)
    state = ("in force and verified" if num["portable"] and num["verified"] else
             "in force (unverified for this torch)" if num["portable"] else
             "off (UNLEARNLAB_NUMERICS=native)" if num["mode"] == "native" else "requested, not in force")
    out.print(f"portable numerics: {state}", highlight=False)
    for note in num["notes"]:
        out.print(Text.assemble(("note:", "bold yellow"), " ", note), highlight=False, soft_wrap=True)


@app.command("presets")
@_user_errors
def presets_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Every preset (`run --preset NAME`): its paper, data set, model, recipe and forget requests."""
    listing = api.presets()
    if as_json:
        typer.echo(json.dumps(listing, indent=2, default=str))
        return
    table = Table("Preset", "Paper", "Data set", "Model", "Recipe", "Forget requests")
    for p in listing:
        table.add_row(p["name"], p["paper"], p["dataset"], p["model"], p["recipe"], ", ".join(p["forget"]))
    out.print(table)


@app.command("methods")
@_user_errors
def methods_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Every registered method with its hyper-parameters, defaults and paper."""
    listing = api.list_methods()
    if as_json:
        typer.echo(json.dumps([{"name": m["name"], "params": m["params"], "paper": m["paper"],
                                "reference_defaults": m["reference_defaults"], "uses_labels": m["uses_labels"],
                                "needs_retrain": m["needs_retrain"], "tasks": m["tasks"]} for m in listing],
                               indent=2, default=str))
        return
    table = Table("Method", "Tasks", "Hyper-parameters (default)", "Paper")
    for m in listing:
        params = ", ".join(f"{k}={v}" for k, v in m["params"].items()) or "–"
        table.add_row(m["name"], ", ".join(m["tasks"]), params, m["paper"])
    out.print(table)
    for name, reason in PLUGIN_ERRORS.items():
        err.print(f"plugin {name!r} failed to load: {reason}", highlight=False)


@app.command()
@_user_errors
def runs(store: Optional[Path] = StoreOpt,
         scenario: Optional[str] = typer.Option(None, help="Only this scenario's runs."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Stored runs, newest last."""
    with Store(store or api.default_store(), create=False) as st:
        if scenario is not None:
            st.scenario(scenario)
        records = st.runs(scenario)
        scenarios = st.scenarios()
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in records], indent=2, default=str))
        return
    requests = request_labels(scenarios)
    dated = repeats([r.to_dict() for r in records])
    # Each task's own pair of metrics (UA/TA, F-MAE/T-MAE, forget rate/kept accuracy): one store may hold all three.
    task_of = {s["id"]: get_task(s.get("task") or s.get("dataset", {}).get("task", "classification"))
               for s in scenarios}
    tasks = {task_of[r.scenario_id].name: task_of[r.scenario_id] for r in records if r.scenario_id in task_of}
    one = next(iter(tasks.values())) if len(tasks) == 1 else None
    heads = [label for _, label, _ in one.headline] if one is not None else ["Forgotten", "Kept"]
    table = Table("Run", "Scenario", *(["Started"] if dated else []), "Request", "Method", "Status", *heads,
                  "Time (s)")
    for column in table.columns[:3 if dated else 2]:  # ids and dates wrap whole rather than lose their ends
        column.overflow = "fold"

    def shown(r, key: str, label: str, percent: bool) -> str:
        v = r.metrics.get(key)
        text = "–" if v is None else (f"{100 * v:.2f}" if percent else f"{v:.3f}")
        return text if one is not None else f"{label} {text}"

    for r in records:
        task = task_of.get(r.scenario_id, get_task("classification"))
        table.add_row(r.id, r.scenario_id, *([started(r.to_dict())] if dated else []),
                      requests.get(r.scenario_id, "?"), r.method, r.status,
                      *(shown(r, *h) for h in task.headline),
                      "–" if r.run_time_s is None else f"{r.run_time_s:.2f}")
    out.print(table)


@app.command()
@_user_errors
def report(scenario: str = typer.Argument(..., help="Scenario id (see `unlearnlab runs`)."),
           fmt: str = typer.Option("markdown", "--format", help=f"{' | '.join(REPORT_FORMATS)} (html: one "
                                   "self-contained page with plots, over every stored seed of the request)."),
           store: Optional[Path] = StoreOpt,
           over_seeds: bool = typer.Option(False, "--over-seeds", help="Aggregate the stored runs of this request "
                                           "on every seed: mean, 95 % interval, n, ranking (docs/seeds.md)."),
           rank_by: str = typer.Option("avg_gap", "--rank-by", help="With --over-seeds: the metric that ranks the "
                                       "methods (avg_gap | ra | ta | run_time_s | speedup_vs_retrain).")):
    """A request's runs as a markdown, csv or LaTeX table (--over-seeds: over its seeds), or an HTML page."""
    if fmt not in REPORT_FORMATS:
        raise BadInput(f"unknown report format {fmt!r}; allowed: {', '.join(REPORT_FORMATS)}")
    sys.stdout.write(api.report(scenario, fmt, store, over_seeds=over_seeds, rank_by=rank_by))


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
@_user_errors
def serve(store: Optional[Path] = StoreOpt,
          host: str = typer.Option("127.0.0.1", help="Interface to bind; anything but loopback exposes the "
                                                     "API (which runs jobs and deletes runs) to the network."),
          port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
          data_root: Optional[Path] = typer.Option(None, "--data-root", help="Folder jobs read the standard data "
                                                   "sets from (never downloaded by the server); default "
                                                   "$UNLEARNLAB_DATA, else ~/.cache/unlearnlab/data.")):
    """Start the web workbench: the JSON API (documented at /docs), its job queue and the web UI."""
    try:
        import uvicorn

        from .server import create_app
    except ImportError as e:
        raise BadInput(f"serve needs the server dependencies ({e.name} is missing); "
                       "reinstall with `pip install -e .`") from None
    application = create_app(store or api.default_store(), allowed_hosts=None if host not in LOOPBACK else
                             ("127.0.0.1", "localhost", "::1"), warm_analyses=True, data_root=data_root)
    if host not in LOOPBACK:
        err.print(f"warning: binding {host}: anyone who can reach this port can run jobs and delete runs",
                  highlight=False)
    shown = f"[{host}]" if ":" in host else host
    out.print(f"unlearnlab at http://{shown}:{port}  (API docs: http://{shown}:{port}/docs; store "
              f"{application.state.store_root}; data root {application.state.data_root}; Ctrl+C stops it)",
              highlight=False, soft_wrap=True)
    uvicorn.run(application, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


def _pct(v: Optional[float]) -> str:
    return "–" if v is None else f"{100 * v:.2f}"


def _print_compare(res: dict[str, Any]) -> None:
    sc, models = res["scenario"], res["models"]
    a, b = (f"{models[r]['method']} ({models[r]['run_id']})" for r in ("A", "B"))
    out.print(f"{sc['dataset']} · {sc['model']} · forget {sc['forget']} ({sc['forget_size']} samples) · "
              f"scenario {sc['id']}\nA = {a}   B = {b}", highlight=False)
    pc = res["per_class"]
    table = Table("Class", *(f"{m} {s}" for s in ("train", "test") for m in ("A", "B", "B−A")),
                  title="Per-class accuracy (%)", title_justify="left")
    for c, name in enumerate(sc["class_names"]):
        table.add_row(name, *(_pct(pc[s][k][c]) for s in ("train", "test") for k in ("A", "B", "diff")))
    out.print(table)
    cka = res["cka"]
    table = Table("Block", f"forget (n={cka['n']['forget']})", f"retain (n={cka['n']['retain']})", "mean",
                  title="Linear CKA, A~B", title_justify="left")
    for i, block in enumerate(cka["blocks"]):
        vals = [cka[s]["A~B"][i] for s in ("forget", "retain")]
        known = [v for v in vals if v is not None]
        table.add_row(block, *("–" if v is None else f"{v:.3f}" for v in vals),
                      f"{sum(known) / len(known):.3f}" if known else "–")
    out.print(table)
    table = Table("Category (vs original)", "A", "B", title=f"Instances ({len(res['instances'])} sampled)",
                  title_justify="left")
    counts = {k: [sum(r[f"category_{k}"] == cat for r in res["instances"]) for cat in CATEGORIES] for k in "ab"}
    for i, cat in enumerate(CATEGORIES):
        table.add_row(cat, str(counts["a"][i]), str(counts["b"][i]))
    out.print(table)


@app.command("compare")
@_user_errors
def compare_cmd(run_a: str = typer.Argument(..., help="Run id of model A (see `unlearnlab runs`)."),
                run_b: str = typer.Argument(..., help="Run id of model B, of the same scenario."),
                store: Optional[Path] = StoreOpt,
                json_path: Optional[Path] = typer.Option(None, "--json", help="Write every analysis as JSON here."),
                n_per_class: int = typer.Option(50, help="Samples per class for CKA, embedding and instances."),
                seed: int = typer.Option(0, help="Seed of the samples and of the UMAP fit.")):
    """Compare two runs of one scenario: class-wise accuracy, layer-wise CKA, embedding, instance categories."""
    _check_json_path(json_path)
    result = api.compare(run_a, run_b, store=store, n_per_class=n_per_class, seed=seed)
    _print_compare(result)
    _write_json(json_path, result)


def _ci(stat: dict[str, Any], key: str = "value", ci: str = "ci") -> str:
    low, high = stat[ci]
    return f"{stat[key]:.3f} [{low:.3f}, {high:.3f}]"


def _print_audit(res: dict[str, Any]) -> None:
    test = res.get("test", {})
    out.print(f"Audit {res['id']} of {res['method']} (run {res['run_id']}) against {res['reference_method']} · "
              f"{res['refs']} members per ensemble · values over {res['settings']['partitions']} random "
              f"half-partitions · paired swap test with {test.get('permutations', '?')} swaps, "
              f"α = {test.get('alpha', 0.05):.2f}", highlight=False, soft_wrap=True)
    table = Table("Statistic", "Value [CI over examples]", "Null [95 % range]", "p", "Effect (z)", "Verdict",
                  title_justify="left",
                  title="Against a perfect unlearner with the same models: the null is what it scores, "
                        "p how often it scores this badly")
    verdicts = res["verdicts"]
    few_klom = verdicts.get("klom_forget_median", "") if str(verdicts.get("klom_forget_median", "")).startswith(
        "too few") else ""
    rows = [("U-LiRA accuracy", res["ulira"]["accuracy"], verdicts.get("ulira_accuracy", ""), 3),
            ("U-LiRA AUC", res["ulira"]["auc"], verdicts.get("ulira_auc", ""), 3),
            ("U-LiRA TPR @ 1% FPR", res["ulira"]["tpr_at_1pct_fpr"], "", 3),
            ("Forgetting quality F (challenge)", res["forgetting_quality"], verdicts.get("forgetting_quality", ""), 3)]
    if "forgetting_quality_two_sided" in res:
        rows.append(("F two-sided (our variant)", res["forgetting_quality_two_sided"],
                     verdicts.get("forgetting_quality_two_sided", ""), 3))
    rows += [(f"KLoM {split} {key}", res["klom"][split][key],
              verdicts.get("klom_forget_median", "") if (split, key) == ("forget", "median") else few_klom, 2)
             for split in ("forget", "retain", "test") for key in ("median", "p99")]
    rows.append(("LiRA after, online AUC", res["lira"]["after"]["online"]["auc"],
                 verdicts.get("lira_after_online_auc", ""), 3))
    for name, stat, verdict, digits in rows:
        style = {"distinguishable": "red", "not distinguished": "green", "within null": "green"}.get(verdict, "")
        if verdict.startswith("too few"):
            style = "yellow"
        value = f"{stat['value']:.{digits}f} [{stat['ci'][0]:.{digits}f}, {stat['ci'][1]:.{digits}f}]"
        null = (f"{stat['null']:.{digits}f} [{stat['null_ci'][0]:.{digits}f}, {stat['null_ci'][1]:.{digits}f}]"
                if "null" in stat else "–")
        p = f"{stat['p']:.3f}" if stat.get("p") is not None else "–"
        z = stat.get("z")
        effect = (f"{stat['effect']:+.{digits}f} ({'z ' + format(z, '+.1f') if z is not None else 'no spread'})"
                  if stat.get("effect") is not None else "–")
        if verdict.startswith("too few"):  # the numbers cannot be read: say so instead of a p-value
            p, effect = "–", "–"
        table.add_row(name, value, null, p, effect, Text(verdict, style=style))
    fs = res["final_score"]
    table.add_row("Final score F·RA/RA_r·TA/TA_r", f"{fs['value']:.3f}", f"{fs['null']:.3f}", "", "", "")
    out.print(table)
    table = Table("LiRA on D_f (IN θ_o, OUT θ_r)", "AUC [CI over examples]", "accuracy [CI]", "TPR @ 1% FPR",
                  "AUC null", "p", title_justify="left")
    for when, label in (("before", "θ_o (before unlearning)"), ("after", f"{res['method']} (after)")):
        for mode in ("online", "offline"):
            st = res["lira"][when][mode]
            auc = st["auc"]
            table.add_row(f"{label}, {mode}", _ci(st["auc"]), _ci(st["accuracy"]),
                          f"{st['tpr_at_1pct_fpr']['value']:.3f}",
                          f"{auc['null']:.3f}" if "null" in auc else "–",
                          f"{auc['p']:.3f}" if "p" in auc else "–")
    out.print(table)
    rel = res["relearn"]
    curves = rel["heldout_accuracy"]
    out.print(f"Relearning attack: {rel['steps']} SGD steps (lr {rel['lr']}) on {rel['n_relearn']} forget samples; "
              f"held-out forget accuracy {_pct(curves['unlearned'][0])} → {_pct(curves['unlearned'][-1])} % "
              f"({res['method']}) vs {_pct(curves['reference'][0])} → {_pct(curves['reference'][-1])} % "
              f"({res['reference_method']}); mean gap over the steps {100 * rel['recovered_gap']:+.1f} points; "
              f"steps to 50 %: {rel['steps_to_half']['unlearned']} vs {rel['steps_to_half']['reference']}",
              highlight=False, soft_wrap=True)
    t = res["timing"]
    out.print(f"Time: {t['total_s']:.1f} s (ensembles {t['ensembles_s']:.1f} s, statistics {t['statistics_s']:.1f} s, "
              f"relearning {t['relearn_s']:.1f} s)", highlight=False)


@app.command("audit")
@_user_errors
def audit_cmd(run_id: str = typer.Argument(..., help="Run id to audit (see `unlearnlab runs`)."),
              against: str = typer.Option("retrain", help="retrain (θ_r's ensemble) or another run id of the scenario."),
              refs: int = typer.Option(16, help="Members per ensemble (>= 6)."),
              store: Optional[Path] = StoreOpt,
              json_path: Optional[Path] = typer.Option(None, "--json", help="Write the full audit as JSON here."),
              workers: Optional[int] = typer.Option(None, help="Worker processes (default: one per CPU core)."),
              executor: str = typer.Option("process", help="process | serial | ray (docs/executors.md)."),
              address: Optional[str] = typer.Option(None, help="With --executor ray: the cluster's address "
                                                    "(default $RAY_ADDRESS; none: a local Ray)."),
              partitions: int = typer.Option(50, help="Random half-partitions a statistic's value averages over."),
              permutations: int = typer.Option(100, help="Swaps of (candidate i, reference i) pairs for each "
                                               "statistic's null and p-value (at least 19)."),
              seed: int = typer.Option(0, help="Seed of partitions, bootstrap and the relearning split."),
              force: bool = typer.Option(False, help="Recompute even if this audit is stored."),
              device: Optional[str] = typer.Option(None, help="cpu | cuda | auto (default)."),
              method_file: list[Path] = typer.Option([], "--method-file", help="A .py file registering extra methods.")):
    """Audit a run against retraining with N-member ensembles: U-LiRA, F, KLoM, LiRA and relearning."""
    for path in method_file:
        load_method_file(path)
    _check_json_path(json_path)
    result = api.audit(run_id, against=against, refs=refs, store=store, workers=workers, device=device,
                       executor=executor, address=address,
                       progress=auto_progress(err), force=force, partitions=partitions,
                       permutations=permutations, seed=seed)
    _print_audit(result)
    _write_json(json_path, result)


def _print_attacks(results: list[dict[str, Any]]) -> None:
    first = results[0]
    budget = ", ".join(f"{k} {v}" for k, v in first["settings"]["budget"].items())
    out.print(f"{first['attack']} attack on class {first['forget_class']} · scenario {first['scenario_id']} · "
              f"{first['n_samples']} samples (seed {first['seed']}) · budget: {budget}", highlight=False, soft_wrap=True)
    label = "after the attack" if first["attack"] == "embedding" else "after relearning"
    curves = any("curve" in r for r in results)
    table = Table("Run", "Method", "Forget rate %", f"Success {label} % [95 % CI]",
                  *(["On the way (step: %)"] if curves else []), "θ_r's % (same budget)",
                  "Only this / only θ_r", "p (McNemar)", "Verdict", "Time (s)", title_justify="left",
                  title="Share of the class's samples the judge assigns to it; paired with θ_r's by initial noise")
    for r in results:
        vs = r.get("versus_retrain", {})
        ci = r.get("success_ci")
        success = _pct(r["attack_success_rate"]) + (f" [{_pct(ci[0])}, {_pct(ci[1])}]" if ci else "")
        verdict = vs.get("verdict") or vs.get("note", "")
        if r.get("notes"):
            verdict = "; ".join(r["notes"].values())
        style = "red" if verdict.startswith("easier") else ("green" if verdict.startswith("not dist") else "")
        pairs = f"{vs['run_only']} / {vs['retrain_only']}" if "run_only" in vs else "–"
        curve = r.get("curve") or {}
        way = " ".join(f"{step}: {'–' if v is None else f'{100 * v:.0f}'}"
                       for step, v in zip(curve.get("steps", []), curve.get("forget_rate", [])))
        table.add_row(r["run_id"], r["method"], _pct(r["forget_rate"]), success, *([way] if curves else []),
                      _pct(vs.get("retrain_success_rate")) if vs.get("retrain_run_id") else "–", pairs,
                      f"{vs['p']:.3f}" if vs.get("p") is not None else "–", Text(verdict, style=style),
                      f"{r['seconds']:.2f}")
    out.print(table)


@app.command("attack")
@_user_errors
def attack_cmd(run_ids: list[str] = typer.Argument(None, help="Generative run ids to attack (see `unlearnlab runs`)."),
               scenario: Optional[str] = typer.Option(None, help="Attack every finished run of this generative "
                                                      "scenario instead."),
               kind: str = typer.Option("embedding", help="embedding (UnlearnDiffAtk-style) | relearn."),
               steps: Optional[int] = typer.Option(None, help="Optimiser steps (embedding: 100; relearn: 20)."),
               radius: Optional[float] = typer.Option(None, help="Embedding: the ball's radius relative to the "
                                                      "embedding table's scale, (0, 10] (default 1.0)."),
               norm: Optional[str] = typer.Option(None, help="Embedding: l2 (default) | linf."),
               lr: Optional[float] = typer.Option(None, help="Step size (embedding: relative, 0.05; relearn: 1e-3)."),
               init: Optional[str] = typer.Option(None, help="Embedding: own (default) | null."),
               images: Optional[int] = typer.Option(None, help="Training images of the class the attacker holds "
                                                    "(embedding: 16; relearn: 8)."),
               batch_size: Optional[int] = typer.Option(None, help="Images per step (embedding: 32; relearn: 8)."),
               noise_search: Optional[int] = typer.Option(None, help="Embedding: initial noises tried per sample, "
                                                          "the attacker's own classifier keeping the most class-like "
                                                          "(1, the default: no search; at most 64)."),
               n: int = typer.Option(100, "--n", help="Samples of the class read before and after."),
               seed: int = typer.Option(0, help="Seed of the initial noise and of the attacker's draws."),
               forget_class: Optional[int] = typer.Option(None, "--class", help="The class to attack when a run "
                                                          "forgot several."),
               force: bool = typer.Option(False, help="Recompute even if this attack is stored."),
               store: Optional[Path] = StoreOpt,
               json_path: Optional[Path] = typer.Option(None, "--json", help="Write the results as JSON here."),
               device: Optional[str] = typer.Option(None, help="cpu | cuda | auto (default).")):
    """Attack generative runs: can the erased class be brought back? Read against θ_r at the same budget."""
    if bool(run_ids) == (scenario is not None):
        raise BadInput("give run ids or --scenario SCENARIO (not both, not neither)")
    _check_json_path(json_path)
    budget = {k: v for k, v in (("steps", steps), ("radius", radius), ("norm", norm), ("lr", lr), ("init", init),
                                ("batch_size", batch_size), ("noise_search", noise_search)) if v is not None}
    if images is not None:
        budget["n_targets" if kind == "embedding" else "samples"] = images
    options = dict(n_samples=n, seed=seed, forget_class=forget_class, force=force, device=device)
    if scenario is not None:
        results = api.attack_scenario(scenario, kind, store=store, **options, **budget)
    else:
        from .audits.generative_audit import attack_config
        attack_config(kind, budget)  # one line before any model is loaded
        results = [api.attack(r, kind, store=store, **options, **budget) for r in run_ids]
    _print_attacks(results)
    _write_json(json_path, results)


# `unlearnlab store check`: verify (and repair) a whole store ------------------------------------------
store_app = typer.Typer(no_args_is_help=True, help="Verify the store: database, artifact checksums, leftovers.")
app.add_typer(store_app, name="store")


@store_app.command("check")
@_user_errors
def store_check_cmd(repair: bool = typer.Option(False, "--repair", help="Remove damaged cache entries and "
                                                "leftovers; mark runs with damaged or missing artifacts failed."),
                    store: Optional[Path] = StoreOpt,
                    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")):
    """Verify every artifact against its checksum; one line per problem; exit 1 while problems remain."""
    from .store import check_store

    # clean=False: opening must not tidy away the leftovers this command is asked to report
    with Store(store or api.default_store(), create=False, clean=False) as st:
        result = check_store(st, repair=repair)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for line in result.repaired:
            typer.echo(f"repaired: {line}")
        for line in result.problems:
            typer.echo(f"problem: {line}")
        unverified = f", {len(result.unverified)} unverified (written before checksums)" if result.unverified else ""
        verdict = ("healthy" if result.healthy else
                   f"{len(result.problems)} problem(s)" + ("" if repair else "; `unlearnlab store check --repair` "
                                                          "fixes what can be fixed"))
        typer.echo(f"store {result.root}: {result.verified} artifact(s) verified{unverified}"
                   f"{f', {len(result.repaired)} repaired' if result.repaired else ''}; {verdict}")
    if not result.healthy:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
