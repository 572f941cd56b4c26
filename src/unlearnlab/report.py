"""Results tables: one row per run, the same columns in the terminal, markdown, csv and LaTeX."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import BadInput

#: (metric key, header, kind): "pct" fractions shown as percentages.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ua", "UA", "pct"), ("ra", "RA", "pct"), ("ta", "TA", "pct"), ("tua", "TUA", "pct"), ("tra", "TRA", "pct"),
    ("mia_efficacy", "MIA-Eff.", "pct"), ("privacy_score", "Privacy", "num"), ("avg_gap", "Avg. Gap", "pct"),
    ("run_time_s", "Time (s)", "sec"), ("speedup_vs_retrain", "Speed-up", "x"),
)
FORMATS = ("markdown", "csv", "latex")


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


def table_rows(runs: Sequence[Mapping[str, Any]], columns=COLUMNS) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows from runs given as dicts with method, status and metrics."""
    used = [c for c in columns if any(r["metrics"].get(c[0]) is not None for r in runs)]
    header = ["Method", "Status", *(h for _, h, _ in used)]
    rows = []
    for r in runs:
        label = r["method"] + (" (cached)" if r.get("cached") else "")
        rows.append([label, r["status"], *(_fmt(r["metrics"].get(k), kind) for k, _, kind in used)])
    return header, rows


def render(runs: Sequence[Mapping[str, Any]], fmt: str = "markdown") -> str:
    if fmt not in FORMATS:
        raise BadInput(f"unknown report format {fmt!r}; allowed: {', '.join(FORMATS)}")
    header, rows = table_rows(runs)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return buf.getvalue()
    if fmt == "latex":
        esc = lambda s: s.replace("_", r"\_").replace("%", r"\%")  # noqa: E731
        lines = [r"\begin{tabular}{ll" + "r" * (len(header) - 2) + "}", r"\toprule",
                 " & ".join(map(esc, header)) + r" \\", r"\midrule"]
        lines += [" & ".join(map(esc, row)) + r" \\" for row in rows]
        return "\n".join(lines + [r"\bottomrule", r"\end{tabular}"]) + "\n"
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join(("-" * (w + 1) + ":") if i >= 2 else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)]) + "\n"
