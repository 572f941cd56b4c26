"""Results tables: one row per run, the same columns in the terminal, markdown, csv and LaTeX, and
under them the notes that say what a number cannot show: request-level warnings (θ_o at chance),
metrics withheld on degenerate input, and the terms an Avg. Gap averaged."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import numerics
from .analysis.seeds import MeanInterval, dominance_ranks, t_interval
from .errors import BadInput
from .tasks import TASKS

#: (metric key, header, kind): "pct" fractions shown as percentages.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ua", "UA", "pct"), ("ra", "RA", "pct"), ("ta", "TA", "pct"), ("tua", "TUA", "pct"), ("tra", "TRA", "pct"),
    # only on poisoned scenarios (--poison), where it is the trigger's attack success rate
    ("asr", "ASR", "pct"),
    # only on group requests (group:G): the MUFAC identity MIA (0.5 = forgotten) and NoMUS (Choi & Na 2023)
    ("identity_mia", "ID-MIA", "pct"), ("nomus", "NoMUS", "num"),
    ("mia_efficacy", "MIA-Eff.", "pct"), ("privacy_score", "Privacy", "num"),
    # only on regression requests (Tarun et al. 2023): mean absolute errors in the targets' units, test R², the
    # forget error's distance to θ_r's and the loss MIA's balanced accuracy (0.5 = D_f looks unseen)
    ("forget_mae", "F-MAE", "num"), ("retain_mae", "R-MAE", "num"), ("test_mae", "T-MAE", "num"),
    ("test_r2", "T-R²", "num"), ("forget_gap", "F-Gap", "num"), ("loss_mia", "Loss-MIA", "pct"),
    # only on generative requests (--model ddpm, docs/generative.md): the judge's share of the forgotten class's
    # samples read as it, of kept-class samples read as their class, and the Frechet distance of the kept classes
    ("forget_rate", "Forget rate", "pct"), ("kept_accuracy", "Kept acc.", "pct"), ("fd_kept", "FD kept", "num"),
    ("fd_class_mean", "FD/class", "num"),
    ("avg_gap", "Avg. Gap", "pct"),
    ("run_time_s", "Time (s)", "sec"), ("speedup_vs_retrain", "Speed-up", "x"),
)
FORMATS = ("markdown", "csv", "latex")
#: What `api.report` and `unlearnlab report` accept: the table renderers above, and a self-contained HTML page
#: (`report_html`, always over every seed of the request).
REPORT_FORMATS = (*FORMATS, "html")


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{100 * value:.2f}"
    if kind == "sec":
        return f"{value:.2f}"
    if kind == "x":
        return f"{value:.1f}x"
    return f"{value:.3f}"


def _details(run: Mapping[str, Any]) -> Mapping[str, Any]:
    return run.get("details") or {}


def started(run: Mapping[str, Any]) -> str:
    """When the run started, local time to the second (runs repeated in a minute stay apart)."""
    created = run.get("created")
    return "–" if created is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))


def repeats(runs: Sequence[Mapping[str, Any]]) -> bool:
    """Whether two runs share scenario, method, hyper-parameters and seed (e.g. after `--rerun`), so
    that their rows can only be told apart by run id and date."""
    keys = [(r.get("scenario_id"), r["method"], json.dumps(r.get("hparams"), sort_keys=True, default=str),
             r.get("seed")) for r in runs]
    return len(set(keys)) < len(keys)


def table_rows(runs: Sequence[Mapping[str, Any]], columns=COLUMNS) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows from runs given as dicts with method, status and metrics. A column
    is shown when some run has a value for it, or a note saying why it has none; the run id and
    start date when some rows repeat."""
    used = [c for c in columns if any(r["metrics"].get(c[0]) is not None
                                      or c[0] in _details(r).get("metric_notes", {}) for r in runs)]
    ids = repeats(runs)
    header = ["Method", "Status", *(["Run", "Started"] if ids else []), *(h for _, h, _ in used)]
    rows = []
    for r in runs:
        label = r["method"] + (" (cached)" if r.get("cached") else "")
        run = [r.get("id") or r.get("run_id") or "–", started(r)] if ids else []
        rows.append([label, r["status"], *run, *(_fmt(r["metrics"].get(k), kind) for k, _, kind in used)])
    return header, rows


#: Spec keys that follow from the others (sizes, hashes, the data's fingerprint): named only when
#: scenarios differ in nothing else.
_DERIVED = ("id", "created", "forget_size", "forget_classes", "forget_indices_sha256", "forget_indices",
            "dataset.fingerprint", "dataset.n_train", "dataset.n_test", "dataset.num_classes", "dataset.input_shape")


def _flat(spec: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in spec.items():
        # "dataset.params.num_samples" reads as "dataset.num_samples", "model.kwargs.width" as "model.width"
        name = prefix if key in ("params", "kwargs") else f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            flat.update(_flat(value, name))
        else:
            flat[name] = value
    return flat


def _setting(key: str, value: Any) -> str:
    if key == "dataset.fingerprint" and isinstance(value, str):
        value = value[:12]
    text = "none" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
    return f"{key}={text}"


def request_labels(scenarios: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each scenario's request ('digits/cnn class:3') by id, followed, where scenarios share it, by
    the settings in which they differ (e.g. '· prune=0.5' and '· prune=none'), so that no two read alike."""
    text = {s["id"]: f"{s.get('dataset', {}).get('name', '?')}/{s.get('model', {}).get('name', '?')} "
                     f"{s.get('forget', '')}" for s in scenarios}
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for s in scenarios:
        groups.setdefault(text[s["id"]], []).append(s)
    labels = dict(text)
    for same in groups.values():
        if len(same) < 2:
            continue
        flats = [_flat(s) for s in same]
        keys = sorted({k for f in flats for k in f})
        differ = [k for k in keys if len({json.dumps(f.get(k), sort_keys=True, default=str) for f in flats}) > 1]
        shown = [k for k in differ if k not in _DERIVED] or [k for k in differ if k not in ("id", "created")]
        for s, flat in zip(same, flats):
            labels[s["id"]] += " · " + ", ".join(_setting(k, flat.get(k)) for k in shown)
    return labels


_HEADERS = {key: header for key, header, _ in COLUMNS}


def warnings(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Request-level warnings of the runs (e.g. θ_o at chance: the request is unusable), each once."""
    return list(dict.fromkeys(w for r in runs for w in _details(r).get("warnings", [])))


def notes(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per metric withheld on degenerate input (which run, which metric, why), then one per
    group of runs whose Avg. Gap left terms out (their gap is not comparable with a full one)."""
    # Runs withheld for the same kind of reason (the text before its first ':') share one line, with
    # retrain's full reason (or the first run's) as the example; each run's own is in its details.
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for r in runs:
        for key, why in _details(r).get("metric_notes", {}).items():
            groups.setdefault((key, why.split(":", 1)[0]), []).append((r["method"], why))
    lines = []
    for (key, _), members in groups.items():
        method, why = next((m for m in members if m[0] == "retrain"), members[0])
        if len(members) == 1:
            lines.append(f"{method}: {_HEADERS.get(key, key)} withheld: {why}")
        else:
            lines.append(f"{_HEADERS.get(key, key)} withheld for {', '.join(dict.fromkeys(m for m, _ in members))} "
                         f"({len(members)} runs); e.g. {method}: {why}")
    partial: dict[tuple[str, ...], list[str]] = {}
    for r in runs:
        keys = _details(r).get("avg_gap_keys")
        if keys is not None and tuple(keys) != _full_gap_keys(keys) and r["metrics"].get("avg_gap") is not None:
            partial.setdefault(tuple(keys), []).append(r["method"])
    for keys, methods in partial.items():
        left_out = [_HEADERS.get(k, k) for k in _full_gap_keys(keys) if k not in keys]
        averaged = ", ".join(_HEADERS.get(k, k) for k in keys) or "nothing"
        lines.append(f"Avg. Gap of {', '.join(dict.fromkeys(methods))} averages {averaged} only: {', '.join(left_out)} "
                     "withheld for the run or for retrain")
    skipped: dict[str, list[str]] = {}
    for r in runs:
        for method, why in _details(r).get("skipped_methods", {}).items():
            # "method 'x' needs classification; regression supports: ..." -> grouped by what they need
            need = why.split(" needs ", 1)[1] if " needs " in why else why
            if method not in skipped.setdefault(need, []):
                skipped[need].append(method)
    for need, methods in skipped.items():
        lines.append(f"not run: {', '.join(methods)}: they need {need}")
    return lines


def _full_gap_keys(keys: Sequence[str]) -> tuple[str, ...]:
    """The terms Avg. Gap averages on the task whose terms `keys` are drawn from (classification's by default)."""
    for task in TASKS:
        full = TASKS.get(task).avg_gap_keys
        if keys and set(keys) <= set(full):
            return full
    return TASKS.get("classification").avg_gap_keys


def environments(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Where the numbers were computed (numerics.summary): one line when every run shares it, else one
    line per environment with its runs and the manifest keys in which it differs from the first."""
    groups: dict[str, tuple[Mapping[str, Any], list[str]]] = {}
    for r in runs:
        env = _details(r).get("environment")
        if env:
            groups.setdefault(numerics.summary(env), (env, []))[1].append(r["method"])
    if len(groups) <= 1:
        return list(groups)
    (first, _), *_ = groups.values()
    return [f"{', '.join(methods)}: {line}"
            + (f" (differs in {', '.join(numerics.differences(first, env))})" if env is not first else "")
            for line, (env, methods) in groups.items()]


def render(runs: Sequence[Mapping[str, Any]], fmt: str = "markdown", more: Sequence[str] = ()) -> str:
    """The table in `fmt`, with the warnings and notes (and `more` lines) under it."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown report format {fmt!r}; allowed: {', '.join(FORMATS)}")
    header, rows = table_rows(runs)
    below = ([f"warning: {w}" for w in warnings(runs)] + [f"note: {n}" for n in notes(runs)] + list(more)
             + [f"environment: {e}" for e in environments(runs)])
    return _emit(header, rows, below, fmt)


#: The direction of each metric a ranking may use, declared once ("lower" or "higher" is better). UA,
#: MIA-Eff. and the privacy score have none: what matters there is closeness to θ_r, which Avg. Gap measures.
BETTER = {"avg_gap": "lower", "ra": "higher", "ta": "higher", "asr": "lower", "nomus": "higher", "run_time_s": "lower", "speedup_vs_retrain": "higher"}
_REFERENCE = ("original", "retrain")


def _hp(run: Mapping[str, Any]) -> str:
    return json.dumps(run.get("hparams"), sort_keys=True, default=str)


def _draw(run: Mapping[str, Any]) -> Any:
    """Which draw of the request a run belongs to: its scenario (the seed, and any seed stream set apart from
    it: `Scenario.seeds`), else its seed."""
    return run.get("scenario_id") or run.get("seed")


def draw_labels(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The draws among `runs`, named by seed where each has its own (else by scenario id)."""
    by_draw = {_draw(r): r.get("seed") for r in runs}
    seeds = list(by_draw.values())
    if len(set(map(str, seeds))) == len(seeds):
        return [str(s) for s in sorted(seeds, key=str)]
    return sorted(f"scenario {d} (seed {s})" for d, s in by_draw.items())


def seed_groups(runs: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """Runs of one request over seeds, grouped by method and hyper-parameters (label, one run per seed),
    in order of first appearance. A seed run twice (`--rerun`) is not a second draw: its latest finished
    run stands for it (else its latest run). A method run with several hyper-parameter settings is
    labelled by the settings in which they differ."""
    groups: dict[tuple[str, str], dict[Any, Mapping[str, Any]]] = {}
    for r in runs:
        per_seed = groups.setdefault((r["method"], _hp(r)), {})
        kept = per_seed.get(_draw(r))
        if kept is None or r["status"] == "done" or kept["status"] != "done":
            per_seed[_draw(r)] = r
    settings: dict[str, list[dict[str, Any]]] = {}
    for method, hp in groups:
        settings.setdefault(method, []).append(json.loads(hp) or {})
    out = []
    for (method, hp), per_seed in groups.items():
        label, others = method, settings[method]
        if len(others) > 1:
            mine = json.loads(hp) or {}
            differ = sorted(k for k in {k for o in others for k in o}
                            if len({json.dumps(o.get(k), default=str) for o in others}) > 1)
            label += " (" + ", ".join(_setting(k, mine.get(k)) for k in differ) + ")"
        out.append((label, list(per_seed.values())))
    return out


def _ranking(aggregated: list[tuple[str, dict[str, MeanInterval]]], key: str, level: float) -> list[str]:
    lower = BETTER[key] == "lower"
    ivs = {label: cells[key] for label, cells in aggregated if label.split(" (")[0] not in _REFERENCE}
    ranks = dominance_ranks(ivs, lower_is_better=lower)
    head = f"by {_HEADERS[key]} ({BETTER[key]} is better; methods whose {100 * level:g} % intervals overlap share a rank)"
    if not ranks:
        return [f"{head}: no method has it on 2 or more seeds, so none is ranked"]
    order = sorted(ranks, key=lambda k: (ranks[k], ivs[k].mean if lower else -ivs[k].mean))
    by_rank: dict[int, list[str]] = {}
    for label in order:
        by_rank.setdefault(ranks[label], []).append(label)
    parts = [f"{rank}. {', '.join(labels)}" + (" (intervals overlap: no winner between them)" if len(labels) > 1 else "")
             for rank, labels in by_rank.items()]
    lines = [f"{head}: {'; '.join(parts)}"]
    if len(by_rank.get(1, [])) > 1:
        lines.append(f"no winner by {_HEADERS[key]}: the intervals of {', '.join(by_rank[1])} overlap; "
                     "more seeds narrow them")
    unranked = [label for label in ivs if label not in ranks]
    if unranked:
        lines.append(f"not ranked (fewer than 2 seeds with {_HEADERS[key]}): {', '.join(unranked)}")
    return lines


def check_rank_by(key: str) -> str:
    """`key` when a ranking can use it (it has a declared direction), else BadInput."""
    if key not in BETTER:
        raise BadInput(f"cannot rank by {key!r}: it has no better direction; allowed: {', '.join(BETTER)}")
    return key


@dataclass(frozen=True)
class SeedAggregate:
    """Runs of one request aggregated over seeds (`aggregate_over_seeds`): what every over-seeds renderer
    (the tables here, `report_html`) shows, computed once."""

    seeds: list[Any]  # the seeds of the runs, sorted
    groups: list[tuple[str, list[Mapping[str, Any]]]]  # `seed_groups`: label, one run per seed
    columns: list[tuple[str, str, str]]  # the COLUMNS some run has a value for
    cells: list[tuple[str, dict[str, MeanInterval]]]  # label, metric key -> mean and interval over seeds
    done: list[int]  # per group, the seeds whose run finished
    unfinished: list[str]  # one line per group with no finished run (why, from one of its runs)
    ranking: list[str]  # `_ranking`'s lines
    rank_by: str
    level: float


def aggregate_over_seeds(runs: Sequence[Mapping[str, Any]], rank_by: str = "avg_gap",
                         level: float = 0.95) -> SeedAggregate:
    """Each method's (and hyper-parameter setting's) metrics over the seeds of one request: mean, a `level`
    Student-t interval of the mean (`analysis.seeds.t_interval`; n = the seeds whose finished run has the
    value) and the ranking by `rank_by` that ties methods whose intervals overlap. With one seed every n is
    1 or 0: means without intervals, nobody ranked."""
    check_rank_by(rank_by)
    seeds = draw_labels(runs)
    groups = seed_groups(runs)
    used = [c for c in COLUMNS if any(r["metrics"].get(c[0]) is not None for _, rs in groups for r in rs)]
    cells = [(label, {k: t_interval([r["metrics"].get(k) for r in rs if r["status"] == "done"], level)
                      for k in {*(k for k, _, _ in used), rank_by}})
             for label, rs in groups]
    done = [sum(r["status"] == "done" for r in rs) for _, rs in groups]
    unfinished = []
    for (label, rs), finished in zip(groups, done):
        if not finished:
            why = next((r.get("reason") for r in rs if r.get("reason")), "no reason stored")
            unfinished.append(f"{label}: no run finished on any of its {len(rs)} seeds (e.g. {why}): nothing to average")
    return SeedAggregate(seeds, groups, used, cells, done, unfinished, _ranking(cells, rank_by, level), rank_by, level)


def render_over_seeds(runs: Sequence[Mapping[str, Any]], fmt: str = "markdown", rank_by: str = "avg_gap",
                      level: float = 0.95) -> str:
    """Runs of one request over several seeds, one row per method and hyper-parameters: each metric's mean
    with a `level` Student-t interval of the mean (`aggregate_over_seeds`), then a ranking by `rank_by` that
    ties methods whose intervals overlap. With one seed, the ordinary table (nothing to aggregate) and a note
    saying so."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown report format {fmt!r}; allowed: {', '.join(FORMATS)}")
    check_rank_by(rank_by)
    seeds = draw_labels(runs)
    if len(seeds) < 2:
        return render(runs, fmt, more=[f"note: one seed ({', '.join(map(str, seeds)) or 'none'}) of this request "
                                       "is stored: no interval over seeds; add runs with other --seed values"])
    agg = aggregate_over_seeds(runs, rank_by, level)
    header, rows = ["Method", "Done"], []
    for (label, rs), (_, cells), done in zip(agg.groups, agg.cells, agg.done):
        row = [label, f"{done}/{len(rs)}"]
        for key, _, kind in agg.columns:
            iv = cells[key]
            if fmt == "csv":
                row += [_fmt(iv.mean, kind), _fmt(iv.lo, kind), _fmt(iv.hi, kind), str(iv.n)]
                continue
            text = _fmt(iv.mean, kind) + ("" if iv.lo is None else f" ± {_fmt(iv.half_width, kind)}")
            row.append(text + (f" (n={iv.n})" if iv.mean is not None and (iv.n < 2 or iv.n != done) else ""))
        rows.append(row)
    for _, h, _ in agg.columns:
        header += [h, f"{h} lo", f"{h} hi", f"{h} n"] if fmt == "csv" else [h]
    shown = ("mean, then the interval's ends (lo, hi) and n" if fmt == "csv"
             else "mean ± half-width of the interval; (n=k): only k seeds have the value, (n=1): one value, no interval")
    below = [f"note: over seeds {', '.join(map(str, agg.seeds))}: {shown}; {100 * level:g} % Student-t interval of "
             "the mean (docs/seeds.md); Done: seeds whose run finished"]
    below += [f"note: {line}" for line in agg.unfinished]
    below += [f"ranking: {line}" for line in agg.ranking]
    below += ([f"warning: {w}" for w in warnings(runs)] + [f"note: {n}" for n in notes(runs)]
              + [f"environment: {e}" for e in environments(runs)])
    return _emit(header, rows, below, fmt)


def _emit(header: list[str], rows: list[list[str]], below: list[str], fmt: str) -> str:
    """A table and the lines under it in `fmt`."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        # Rows as wide as the table whose first cell starts with '#': readers that skip comments
        # (pandas: comment="#") still get a clean table, and every row keeps the header's width.
        writer.writerows([f"# {line}", *[""] * (len(header) - 1)] for line in below)
        return buf.getvalue()
    if fmt == "latex":
        def esc(text: str) -> str:
            return re.sub(r"[\\&%$#_{}]", lambda m: r"\textbackslash{}" if m[0] == "\\" else "\\" + m[0], text)

        lines = [r"\begin{tabular}{ll" + "r" * (len(header) - 2) + "}", r"\toprule",
                 " & ".join(map(esc, header)) + r" \\", r"\midrule"]
        # after escaping: "±" in a cell is LaTeX's \pm
        lines += [" & ".join(esc(c).replace("±", r"$\pm$") for c in row) + r" \\" for row in rows]
        lines += [r"\bottomrule"]
        lines += [rf"\multicolumn{{{len(header)}}}{{l}}{{{esc(line)}}} \\" for line in below]
        return "\n".join(lines + [r"\end{tabular}"]) + "\n"
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join(("-" * (w + 1) + ":") if i >= 2 else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    table = "\n".join([line(header), sep, *(line(r) for r in rows)]) + "\n"
    return table + ("\n" + "".join(f"- **{b.split(':', 1)[0]}:**{b.split(':', 1)[1]}\n" for b in below)
                    if below else "")
