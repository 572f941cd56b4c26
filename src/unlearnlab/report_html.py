"""A self-contained HTML report of one or more forget requests: the over-seeds table (mean, 95 % Student-t
interval of the mean, n), the ranking that ties methods whose intervals overlap (`report.aggregate_over_seeds`),
the warnings and notes, and plots drawn as inline SVG; optionally a hyper-parameter search (its trials and
the objective against trial number) and a tuning summary.

Pure rendering: run dicts (`Run.to_dict()`) and scenario specs in, one HTML string out; no store access. The
page has no script, no external URL, font or style sheet, so it opens offline as a single file, and every
string that comes from a user (labels, method names, hyper-parameters, reasons) goes through `html.escape`.
Error bars carry their interval in the metric's stored unit as `data-lo`/`data-hi`, and each plot its scale
(`data-x0`, `data-x1`, `data-px0`, `data-px1`, `data-scale`), so the drawing can be checked against the numbers.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from .analysis.seeds import MeanInterval
from .errors import BadInput
from .report import (BETTER, COLUMNS, SeedAggregate, _fmt, aggregate_over_seeds, check_rank_by, environments,
                     notes, warnings)

#: Optuna's trial states (optuna.trial.TrialState names) and INFEASIBLE: a completed trial that broke a
#: constraint (Optuna keeps those as COMPLETE with a constraint value; a tuner reports them apart).
TRIAL_STATES = ("COMPLETE", "FAIL", "PRUNED", "INFEASIBLE")
#: The metrics drawn as dot plots, when some run has them.
DOT_METRICS = ("avg_gap", "ua", "ra", "ta", "mia_efficacy")
#: Trade-off scatters (x, y): forgetting against utility, closeness to θ_r against cost.
SCATTERS = (("ta", "ua"), ("run_time_s", "avg_gap"))
_KIND = {key: kind for key, _, kind in COLUMNS}
_HEADER = {key: header for key, header, _ in COLUMNS}
_LEVEL = 0.95

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
padding:0 1em;color:#1b1b1b;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.meta{color:#555;font-size:.92em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #d0d0d0;padding:.25em .55em;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{background:#f2f2f2}
td.params{text-align:left;white-space:normal;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
ul.lines{padding-left:1.2em}li.warning{color:#9a3a00}li.ranking{font-weight:600}
.nowinner{color:#7a4b00}
.plots{display:flex;flex-wrap:wrap;gap:1.2em}
figure{margin:.4em 0;width:520px}figcaption{font-size:.85em;color:#444}
.tablewrap{overflow-x:auto}
svg text{font-size:11px;fill:#222}svg .axis{stroke:#777;stroke-width:1}svg .grid{stroke:#eee;stroke-width:1}
svg .ref{stroke:#2a7d2a;stroke-width:1.5;stroke-dasharray:5 3}svg .ebar{stroke:#1f4e9a;stroke-width:2}
svg .cap{stroke:#1f4e9a;stroke-width:2}svg .dot{fill:#1f4e9a}svg .single{fill:#fff;stroke:#1f4e9a;stroke-width:2}
svg .reference-row{fill:#2a7d2a}svg .best{fill:none;stroke:#c2410c;stroke-width:2}
svg .trial{fill:#1f4e9a}svg .fail{stroke:#b91c1c;stroke-width:2}svg .infeasible{stroke:#d97706;stroke-width:2}
svg .pruned{fill:#999}
.block{border:1px solid #ccc;border-radius:4px;padding:.2em 1em;margin:.8em 0}
.block.search{background:#fafafa}.block.evaluation{background:#f3f8f3;border-color:#7bb07b}
dl{margin:.3em 0;display:grid;grid-template-columns:max-content 1fr;gap:.15em .8em}dt{font-weight:600}
dd{margin:0}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float) -> str:
    """A coordinate or stored value as short, exact-enough text (data attributes are read back by tests)."""
    return f"{value:.6g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.6e}"


def _px(value: float) -> str:
    return f"{value:.2f}"


def _scale(key: str) -> float:
    """Display unit per stored unit: fractions are drawn as percentages, like the tables show them."""
    return 100.0 if _KIND.get(key) == "pct" else 1.0


def _unit(key: str) -> str:
    return {"pct": " (%)", "sec": "", "x": " (x)"}.get(_KIND.get(key, ""), "")


def _versions() -> tuple[str, str]:
    from . import __version__  # here: the package sets it after importing its modules (this one among them)

    try:
        torch = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch = "not installed"
    return __version__, torch


class _Axis:
    """A linear map from a value range (display units) onto a pixel range, with round ticks."""

    def __init__(self, values: Sequence[float], px0: float, px1: float):
        lo, hi = min(values), max(values)
        if hi - lo < 1e-12:  # one value (or all equal): a range around it so that it sits mid-axis
            pad = abs(lo) * 0.1 or 1.0
            lo, hi = lo - pad, hi + pad
        pad = (hi - lo) * 0.06
        self.lo, self.hi, self.px0, self.px1 = lo - pad, hi + pad, px0, px1

    def __call__(self, value: float) -> float:
        return self.px0 + (value - self.lo) * (self.px1 - self.px0) / (self.hi - self.lo)

    def ticks(self) -> list[float]:
        raw = (self.hi - self.lo) / 5
        mag = 10 ** math.floor(math.log10(raw))
        step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
        first = math.ceil(self.lo / step) * step
        return [first + i * step for i in range(int((self.hi - first) / step) + 1)]

    def attrs(self, axis: str) -> str:
        return (f' data-{axis}0="{_num(self.lo)}" data-{axis}1="{_num(self.hi)}" data-px{axis}0="{_px(self.px0)}"'
                f' data-px{axis}1="{_px(self.px1)}"')


def _tick_text(value: float) -> str:
    return f"{value:.6g}" if abs(value) >= 1e-9 else "0"


def _x_axis(axis: _Axis, y: float, top: float, title: str, title_dy: float = 30) -> list[str]:
    out = [f'<line class="axis" x1="{_px(axis.px0)}" y1="{_px(y)}" x2="{_px(axis.px1)}" y2="{_px(y)}"/>']
    for t in axis.ticks():
        x = _px(axis(t))
        out += [f'<line class="grid" x1="{x}" y1="{_px(top)}" x2="{x}" y2="{_px(y)}"/>',
                f'<text x="{x}" y="{_px(y + 14)}" text-anchor="middle">{_e(_tick_text(t))}</text>']
    out.append(f'<text x="{_px((axis.px0 + axis.px1) / 2)}" y="{_px(y + title_dy)}" text-anchor="middle">{_e(title)}</text>')
    return out


def _y_axis(axis: _Axis, x: float, right: float, title: str) -> list[str]:
    # y pixels grow downwards: px0 is the bottom
    out = [f'<line class="axis" x1="{_px(x)}" y1="{_px(axis.px0)}" x2="{_px(x)}" y2="{_px(axis.px1)}"/>']
    for t in axis.ticks():
        y = _px(axis(t))
        out += [f'<line class="grid" x1="{_px(x)}" y1="{y}" x2="{_px(right)}" y2="{y}"/>',
                f'<text x="{_px(x - 5)}" y="{y}" text-anchor="end" dominant-baseline="middle">{_e(_tick_text(t))}</text>']
    mid = (axis.px0 + axis.px1) / 2
    out.append(f'<text x="12" y="{_px(mid)}" text-anchor="middle" transform="rotate(-90 12 {_px(mid)})">{_e(title)}</text>')
    return out


def _reference(agg: SeedAggregate) -> dict[str, MeanInterval]:
    """θ_r's cells (the retrain row), empty when the request has no finished retrain."""
    return next((cells for label, cells in agg.cells if label.split(" (")[0] == "retrain"), {})


def _dot_plot(agg: SeedAggregate, key: str) -> str:
    """One metric: a dot per method at its mean with its 95 % interval as a horizontal bar, θ_r's mean as a
    dashed reference line."""
    scale = _scale(key)
    rows = [(label, cells[key]) for label, cells in agg.cells]
    shown = [(label, iv) for label, iv in rows if iv.mean is not None]
    missing = [label for label, iv in rows if iv.mean is None]
    ref = _reference(agg).get(key)
    if not shown:
        return ""
    values = [v * scale for _, iv in shown for v in (iv.mean, iv.lo, iv.hi) if v is not None]
    if ref is not None and ref.mean is not None:
        values.append(ref.mean * scale)
    left, width, row_h, top = 150, 520, 22, 12
    height = top + row_h * len(shown) + 44
    axis = _Axis(values, left, width - 20)
    bottom = top + row_h * len(shown)
    parts = [f'<svg class="plot dotplot" data-metric="{_e(key)}" '
             f'data-scale="{_num(scale)}"{axis.attrs("x")} width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(_HEADER.get(key, key))} by method">']
    parts += _x_axis(axis, bottom + 4, top, f"{_HEADER.get(key, key)}{_unit(key)}")
    singles = []
    for i, (label, iv) in enumerate(shown):
        y = top + row_h * i + row_h / 2
        reference_row = label.split(" (")[0] in ("original", "retrain")
        parts.append(f'<text x="{left - 8}" y="{_px(y)}" text-anchor="end" dominant-baseline="middle">{_e(label)}</text>')
        x = _px(axis(iv.mean * scale))
        if iv.lo is None:
            singles.append(label)
            parts.append(f'<circle class="single" cx="{x}" cy="{_px(y)}" r="4" data-method="{_e(label)}" '
                         f'data-mean="{_num(iv.mean)}" data-n="{iv.n}"><title>{_e(label)}: one seed, no interval'
                         '</title></circle>')
            continue
        x0, x1 = _px(axis(iv.lo * scale)), _px(axis(iv.hi * scale))
        tip = (f"{label}: {_fmt(iv.mean, _KIND.get(key, 'num'))}, 95 % interval "
               f"[{_fmt(iv.lo, _KIND.get(key, 'num'))}, {_fmt(iv.hi, _KIND.get(key, 'num'))}], n={iv.n}")
        parts += [f'<line class="ebar" x1="{x0}" y1="{_px(y)}" x2="{x1}" y2="{_px(y)}" data-method="{_e(label)}" '
                  f'data-lo="{_num(iv.lo)}" data-hi="{_num(iv.hi)}" data-mean="{_num(iv.mean)}" data-n="{iv.n}">'
                  f'<title>{_e(tip)}</title></line>',
                  f'<line class="cap" x1="{x0}" y1="{_px(y - 5)}" x2="{x0}" y2="{_px(y + 5)}"/>',
                  f'<line class="cap" x1="{x1}" y1="{_px(y - 5)}" x2="{x1}" y2="{_px(y + 5)}"/>',
                  f'<circle class="dot{" reference-row" if reference_row else ""}" cx="{x}" cy="{_px(y)}" r="4"/>']
    if ref is not None and ref.mean is not None:
        xr = _px(axis(ref.mean * scale))
        parts += [f'<line class="ref" x1="{xr}" y1="{top - 6}" x2="{xr}" y2="{_px(bottom)}" '
                  f'data-value="{_num(ref.mean)}"><title>θ_r (retrain) mean</title></line>',
                  f'<text x="{xr}" y="{top - 2}" text-anchor="middle" font-size="10">θ_r</text>']
    parts.append("</svg>")
    caption = [f"{_HEADER.get(key, key)}: mean over seeds and its 95 % Student-t interval of the mean; dashed: θ_r."]
    if singles:
        caption.append(f"one seed: no interval ({', '.join(singles)}).")
    if missing:
        caption.append(f"not plotted, no value: {', '.join(missing)}.")
    return f'<figure>{"".join(parts)}<figcaption>{_e(" ".join(caption))}</figcaption></figure>'


def _scatter(agg: SeedAggregate, xkey: str, ykey: str) -> str:
    """A trade-off: each method at (mean x, mean y) with its 95 % intervals in both directions; θ_r's means as
    a dashed crosshair."""
    cells = {label: c for label, c in agg.cells}
    sx, sy = _scale(xkey), _scale(ykey)
    pts = [(label, c[xkey], c[ykey]) for label, c in cells.items()
           if c.get(xkey) is not None and c.get(ykey) is not None and c[xkey].mean is not None
           and c[ykey].mean is not None]
    missing = [label for label in cells if label not in {p[0] for p in pts}]
    if not pts:
        return ""
    xs = [v * sx for _, ix, _ in pts for v in (ix.mean, ix.lo, ix.hi) if v is not None]
    ys = [v * sy for _, _, iy in pts for v in (iy.mean, iy.lo, iy.hi) if v is not None]
    ref = _reference(agg)
    rx, ry = ref.get(xkey), ref.get(ykey)
    width, height, left, top, bottom = 520, 340, 64, 14, 290
    xaxis, yaxis = _Axis(xs, left, width - 110), _Axis(ys, bottom, top)
    parts = [f'<svg class="plot scatter" data-xmetric="{_e(xkey)}" '
             f'data-ymetric="{_e(ykey)}" data-xscale="{_num(sx)}" data-yscale="{_num(sy)}"{xaxis.attrs("x")}'
             f'{yaxis.attrs("y")} width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{_e(_HEADER.get(ykey, ykey))} against {_e(_HEADER.get(xkey, xkey))}">']
    parts += _x_axis(xaxis, bottom, top, f"{_HEADER.get(xkey, xkey)}{_unit(xkey)}")
    parts += _y_axis(yaxis, left, width - 110, f"{_HEADER.get(ykey, ykey)}{_unit(ykey)}")
    if rx is not None and rx.mean is not None and xaxis.lo <= rx.mean * sx <= xaxis.hi:
        x = _px(xaxis(rx.mean * sx))
        parts.append(f'<line class="ref" x1="{x}" y1="{top}" x2="{x}" y2="{bottom}"><title>θ_r mean</title></line>')
    if ry is not None and ry.mean is not None and yaxis.hi >= ry.mean * sy >= yaxis.lo:
        y = _px(yaxis(ry.mean * sy))
        parts.append(f'<line class="ref" x1="{left}" y1="{y}" x2="{width - 110}" y2="{y}"><title>θ_r mean</title></line>')
    singles = []
    for label, ix, iy in pts:
        cx, cy = xaxis(ix.mean * sx), yaxis(iy.mean * sy)
        if ix.lo is not None:
            parts.append(f'<line class="ebar xbar" x1="{_px(xaxis(ix.lo * sx))}" y1="{_px(cy)}" '
                         f'x2="{_px(xaxis(ix.hi * sx))}" y2="{_px(cy)}" data-method="{_e(label)}" '
                         f'data-lo="{_num(ix.lo)}" data-hi="{_num(ix.hi)}" data-n="{ix.n}"/>')
        if iy.lo is not None:
            parts.append(f'<line class="ebar ybar" x1="{_px(cx)}" y1="{_px(yaxis(iy.lo * sy))}" '
                         f'x2="{_px(cx)}" y2="{_px(yaxis(iy.hi * sy))}" data-method="{_e(label)}" '
                         f'data-lo="{_num(iy.lo)}" data-hi="{_num(iy.hi)}" data-n="{iy.n}"/>')
        single = ix.lo is None and iy.lo is None
        if single:
            singles.append(label)
        parts += [f'<circle class="{"single" if single else "dot"}" cx="{_px(cx)}" cy="{_px(cy)}" r="4" '
                  f'data-method="{_e(label)}"><title>{_e(label)}</title></circle>',
                  f'<text x="{_px(cx + 7)}" y="{_px(cy - 6)}">{_e(label)}</text>']
    parts.append("</svg>")
    caption = [f"{_HEADER.get(ykey, ykey)} against {_HEADER.get(xkey, xkey)}: means with 95 % intervals in both "
               "directions; dashed: θ_r's means."]
    if singles:
        caption.append(f"one seed: no interval ({', '.join(singles)}).")
    if missing:
        caption.append(f"not plotted, a value missing: {', '.join(missing)}.")
    return f'<figure>{"".join(parts)}<figcaption>{_e(" ".join(caption))}</figcaption></figure>'


def _table(agg: SeedAggregate, single_seed: bool) -> str:
    head = ["Method", "Done", *(h for _, h, _ in agg.columns)]
    out = ["<div class=\"tablewrap\"><table class=\"over-seeds\"><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for (label, rs), (_, cells), done in zip(agg.groups, agg.cells, agg.done):
        row = [label, f"{done}/{len(rs)}"]
        for key, _, kind in agg.columns:
            iv = cells[key]
            text = _fmt(iv.mean, kind) + ("" if iv.lo is None else f" ± {_fmt(iv.half_width, kind)}")
            if not single_seed and iv.mean is not None and (iv.n < 2 or iv.n != done):
                text += f" (n={iv.n})"
            row.append(text)
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _lines(items: Sequence[tuple[str, str]]) -> str:
    if not items:
        return ""
    return '<ul class="lines">' + "".join(
        f'<li class="{kind}"><strong>{_e(kind)}:</strong> {_e(text)}</li>' for kind, text in items) + "</ul>"


def _request(index: int, request: Mapping[str, Any], rank_by: str) -> str:
    runs = sorted(request["runs"], key=lambda r: {"original": 0, "retrain": 1}.get(r["method"], 2))
    label = request["label"]
    out = [f'<section class="request" id="request-{index}"><h2>{_e(label)}</h2>']
    if not runs:
        out.append("<p>No runs are stored for this request.</p></section>")
        return "".join(out)
    agg = aggregate_over_seeds(runs, rank_by, _LEVEL)
    single = len(agg.seeds) < 2
    sids = sorted({r.get("scenario_id") for r in runs if r.get("scenario_id")})
    out.append(f'<p class="meta">Seeds: {_e(", ".join(map(str, agg.seeds)))}'
               + f" · scenarios: {_e(', '.join(sids) or request['scenario'].get('id', '?'))}</p>")
    out.append(_table(agg, single))
    lines: list[tuple[str, str]] = []
    if single:
        lines.append(("note", f"one seed ({', '.join(map(str, agg.seeds))}) of this request: values, no interval over "
                              "seeds and no ranking; add runs with other --seed values"))
    else:
        lines.append(("note", f"over seeds {', '.join(map(str, agg.seeds))}: mean ± half-width of the "
                              f"{100 * agg.level:g} % Student-t interval of the mean (docs/seeds.md); (n=k): only k "
                              "seeds have the value, (n=1): one value, no interval; Done: seeds whose run finished"))
    lines += [("note", u) for u in agg.unfinished]
    if not single:
        lines += [("ranking", r) for r in agg.ranking]
    lines += [("warning", w) for w in warnings(runs)] + [("note", n) for n in notes(runs)]
    lines += [("environment", e) for e in environments(runs)]
    html_lines = _lines(lines)
    # "no winner" is the ranking's most important word: marked so that it stands out
    html_lines = html_lines.replace("no winner", '<span class="nowinner">no winner</span>')
    out.append(html_lines)
    present = {k for k, _, _ in agg.columns}
    plots = [_dot_plot(agg, k) for k in DOT_METRICS if k in present]
    plots += [_scatter(agg, x, y) for x, y in SCATTERS if x in present and y in present]
    plots = [p for p in plots if p]
    if plots:
        out.append('<h3>Plots</h3><div class="plots">' + "".join(plots) + "</div>")
    out.append("</section>")
    return "".join(out)


def _check_trials(trials: Any) -> list[Mapping[str, Any]]:
    if not isinstance(trials, Sequence) or isinstance(trials, (str, bytes)):
        raise BadInput(f"trials must be a list of trial dicts, got {type(trials).__name__}")
    for t in trials:
        if not isinstance(t, Mapping):
            raise BadInput(f"trial {t!r} is not a dict; allowed: a dict with number, value, state, params, seconds")
        if not isinstance(t.get("number"), int) or isinstance(t.get("number"), bool):
            raise BadInput(f"trial number {t.get('number')!r} is not an integer; allowed: Optuna's trial.number")
        if t.get("state") not in TRIAL_STATES:
            raise BadInput(f"trial {t['number']} state {t.get('state')!r} is unknown; allowed: {', '.join(TRIAL_STATES)}")
        value = t.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise BadInput(f"trial {t['number']} value {value!r} is not a finite number or None")
    return sorted(trials, key=lambda t: t["number"])


def _direction(tune: Mapping[str, Any] | None) -> str:
    """'lower' or 'higher': the tuner's declared direction, else the objective's declared one, else lower."""
    tune = tune or {}
    given = str(tune.get("direction", "")).lower()
    if given in ("minimize", "lower"):
        return "lower"
    if given in ("maximize", "higher"):
        return "higher"
    return BETTER.get(str(tune.get("objective", "")), "lower")


def _trials_plot(trials: Sequence[Mapping[str, Any]], direction: str, objective: str) -> str:
    """Objective against trial number: completed trials as dots, the best so far as a step line, infeasible
    trials as orange crosses at their value, pruned as grey triangles, failed (no value) as red crosses in a
    strip under the axis."""
    valued = [t for t in trials if t.get("value") is not None]
    numbers = [t["number"] for t in trials]
    width, left, top, bottom = 620, 64, 14, 250
    strip = bottom + 30  # trials without a value are drawn here, under the tick labels
    height = bottom + 60
    xaxis = _Axis(numbers, left, width - 20)
    yaxis = _Axis([t["value"] for t in valued] or [0.0], bottom, top)
    parts = [f'<svg class="plot trials"{xaxis.attrs("x")}{yaxis.attrs("y")} '
             f'data-direction="{direction}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="objective against trial number">']
    parts += _x_axis(xaxis, bottom, top, "trial number", title_dy=50)
    parts += _y_axis(yaxis, left, width - 20, objective)
    parts.append(f'<text x="{left - 5}" y="{strip}" text-anchor="end" dominant-baseline="middle">no value</text>')
    best, path, pick = None, [], (min if direction == "lower" else max)
    for t in trials:
        if t["state"] != "COMPLETE" or t.get("value") is None:
            continue
        x = xaxis(t["number"])
        new = t["value"] if best is None else pick(best, t["value"])
        if best is not None:
            path.append(f"L{_px(x)},{_px(yaxis(best))}")
        path.append(f"{'M' if best is None else 'L'}{_px(x)},{_px(yaxis(new))}")
        best = new
    if path:
        path.append(f"L{_px(xaxis.px1)},{_px(yaxis(best))}")
        parts.append(f'<path class="best" d="{" ".join(path)}" data-best="{_num(best)}"><title>best so far '
                     f"({direction} is better)</title></path>")
    for t in trials:
        x, state, value = xaxis(t["number"]), t["state"], t.get("value")
        y = strip if value is None else yaxis(value)
        tip = _e(f"trial {t['number']}: {state}, value {'–' if value is None else _num(value)}")
        common = f'data-number="{t["number"]}" data-state="{state}"'
        if state == "COMPLETE" and value is not None:
            parts.append(f'<circle class="trial" cx="{_px(x)}" cy="{_px(y)}" r="3.5" {common}><title>{tip}</title></circle>')
        elif state == "PRUNED":
            parts.append(f'<path class="pruned" d="M{_px(x)},{_px(y - 5)} L{_px(x - 4.5)},{_px(y + 3.5)} '
                         f'L{_px(x + 4.5)},{_px(y + 3.5)} Z" {common}><title>{tip}</title></path>')
        else:  # FAIL, INFEASIBLE, or COMPLETE without a value
            cls = "infeasible" if state == "INFEASIBLE" else "fail"
            parts.append(f'<path class="{cls}" d="M{_px(x - 4)},{_px(y - 4)} L{_px(x + 4)},{_px(y + 4)} '
                         f'M{_px(x - 4)},{_px(y + 4)} L{_px(x + 4)},{_px(y - 4)}" {common}><title>{tip}</title></path>')
    parts.append("</svg>")
    counts = {s: sum(t["state"] == s for t in trials) for s in TRIAL_STATES}
    caption = (f"{objective} against trial number ({direction} is better): dots completed trials, line the best "
               f"so far; orange crosses infeasible, grey triangles pruned, red crosses failed (those without a value "
               f"in the strip under the axis). {', '.join(f'{n} {s.lower()}' for s, n in counts.items() if n)}.")
    return f'<figure>{"".join(parts)}<figcaption>{_e(caption)}</figcaption></figure>'


def _trials_table(trials: Sequence[Mapping[str, Any]]) -> str:
    out = ['<table class="trials"><thead><tr><th>Trial</th><th>State</th><th>Value</th><th>Seconds</th>'
           "<th>Params</th></tr></thead><tbody>"]
    for t in trials:
        value, secs = t.get("value"), t.get("seconds")
        params = t.get("params") or {}
        text = (", ".join(f"{k}={_short(v)}" for k, v in params.items()) if isinstance(params, Mapping)
                else _short(params))
        out.append(f"<tr><td>{t['number']}</td><td>{_e(t['state'])}</td><td>{'–' if value is None else _e(_num(value))}"
                   f"</td><td>{_e(f'{secs:.2f}') if isinstance(secs, (int, float)) else '–'}</td>"
                   f'<td class="params">{_e(text) or "–"}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (str, int, bool)) or value is None:
        return str(value)
    return json.dumps(value, default=str, sort_keys=True)


def _generic(value: Any, depth: int = 0) -> str:
    """Any JSON-like value as HTML: dicts as definition lists, lists of dicts as tables, the rest as text;
    nested past a few levels, as JSON text."""
    if depth > 4:
        return f"<code>{_e(json.dumps(value, default=str, sort_keys=True))}</code>"
    if isinstance(value, Mapping):
        if not value:
            return "–"
        return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_generic(v, depth + 1)}</dd>" for k, v in value.items()) + "</dl>"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, Mapping) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            return ("<table><thead><tr>" + "".join(f"<th>{_e(k)}</th>" for k in keys) + "</tr></thead><tbody>"
                    + "".join("<tr>" + "".join(f"<td>{_e(_short(v.get(k))) if k in v else '–'}</td>" for k in keys)
                              + "</tr>" for v in value) + "</tbody></table>")
        return _e(", ".join(_short(v) for v in value)) or "–"
    return _e(_short(value))


def _tune(tune: Mapping[str, Any]) -> str:
    if not isinstance(tune, Mapping):
        raise BadInput(f"tune must be a dict (method, objective, best_params, search, evaluation), got "
                       f"{type(tune).__name__}")
    out = ['<div class="tune">']
    head = {k: tune[k] for k in ("method", "objective", "direction", "best_params") if k in tune}
    if head:
        out.append(_generic(head))
    if "search" in tune:
        out.append('<div class="block search"><h4>Search (not for reporting)</h4>'
                   "<p class=\"meta\">Scores on the seeds the search tuned on: optimistic, because the best of "
                   "many trials was picked on them.</p>" + _generic(tune["search"]) + "</div>")
    if "evaluation" in tune:
        out.append('<div class="block evaluation"><h4>Evaluation on fresh seeds (report these)</h4>'
                   + _generic(tune["evaluation"]) + "</div>")
    rest = {k: v for k, v in tune.items() if k not in (*head, "search", "evaluation")}
    if rest:
        out.append("<h4>Other</h4>" + _generic(rest))
    out.append("</div>")
    return "".join(out)


def _check_requests(requests: Any) -> None:
    if not isinstance(requests, Sequence) or isinstance(requests, (str, bytes)):
        raise BadInput(f"requests must be a list of {{scenario, label, runs}} dicts, got {type(requests).__name__}")
    for r in requests:
        if not isinstance(r, Mapping) or not {"scenario", "label", "runs"} <= set(r):
            raise BadInput(f"request {str(r)[:80]!r} lacks scenario, label or runs; allowed: a dict with those keys")
        if not isinstance(r["scenario"], Mapping) or not isinstance(r["label"], str) \
                or not isinstance(r["runs"], Sequence):
            raise BadInput(f"request {r['label']!r}: scenario must be a spec dict, label a string, runs a list")


def render_html(requests: list[dict], *, title: str, rank_by: str = "avg_gap", trials: list[dict] | None = None,
                tune: dict | None = None) -> str:
    """The report as one self-contained HTML page (no script, no external resource).

    `requests`: each {"scenario": spec (with "id"), "label": str, "runs": run dicts of that request, every seed}:
    its over-seeds table (means with 95 % Student-t intervals, Student 1908), the ranking by `rank_by` (methods
    whose intervals overlap share a rank: "no winner"), warnings and notes, a dot plot per metric with θ_r as
    reference and trade-off scatters. `trials`: an Optuna study's trials as {"number", "value", "state",
    "params", "seconds"} (Akiba et al. 2019, "Optuna"), drawn against trial number with the best so far and
    listed. `tune`: {"method", "objective", "best_params", "search", "evaluation"}, shown as what the search saw
    and what fresh seeds gave. Bad input raises BadInput."""
    if not isinstance(title, str):
        raise BadInput(f"title {title!r} is not a string")
    check_rank_by(rank_by)
    _check_requests(requests)
    checked = _check_trials(trials) if trials is not None else None
    ours, torch = _versions()
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
           f"<header><h1>{_e(title)}</h1>",
           f'<p class="meta">Generated {_e(time.strftime("%Y-%m-%d %H:%M:%S %Z"))} · unlearnlab {_e(ours)} · '
           f"torch {_e(torch)} · ranked by {_e(_HEADER.get(rank_by, rank_by))} ({_e(BETTER[rank_by])} is better)</p>"]
    if requests:
        out.append("<p>Requests:</p><ol>" + "".join(f'<li><a href="#request-{i}">{_e(r["label"])}</a></li>'
                                                    for i, r in enumerate(requests, 1)) + "</ol>")
    if checked is not None or tune is not None:
        out.append('<p><a href="#search">Hyper-parameter search</a></p>')
    out.append("</header><main>")
    out += [_request(i, r, rank_by) for i, r in enumerate(requests, 1)]
    if checked is not None or tune is not None:
        out.append('<section id="search"><h2>Hyper-parameter search</h2>')
        if tune is not None:
            out.append(_tune(tune))
        if checked is not None:
            objective = str((tune or {}).get("objective", "objective"))
            if checked:
                out.append(_trials_plot(checked, _direction(tune), objective))
            out.append(f"<h3>Trials ({len(checked)})</h3>" + _trials_table(checked))
        out.append("</section>")
    out.append("</main></body></html>\n")
    return "\n".join(out)
