"""Regenerate README's demo tables: `unlearnlab demo` on a fresh store, rendered by `report`.

    python benchmarks/readme_tables.py            # rewrite README.md between the demo-table markers
    python benchmarks/readme_tables.py --check    # exit 1 if README differs (times excepted)

The tables carry the environment line `report` prints (machine, kernels, threads). In portable
numerics (the default) every column but Time and Speed-up is the same on any x86-64 CPU with
AVX2; `tests/test_readme.py` checks README's numbers against the test suite's own runs.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN, END = "<!-- demo-tables:begin (python benchmarks/readme_tables.py) -->", "<!-- demo-tables:end -->"
TIMED = ("Time (s)", "Speed-up")


def tables() -> str:
    import unlearnlab as ul
    from unlearnlab.api import DEMO_REQUESTS

    with tempfile.TemporaryDirectory() as store:
        results = ul.demo(store=store)
        parts = []
        for request, result in zip(DEMO_REQUESTS, results):
            sc = result.scenario
            parts.append(f"Forget `{request}` ({sc['forget_size']} of {sc['dataset']['n_train']} training samples):\n")
            parts.append(ul.report(sc["id"], "markdown", store))
    return "\n".join(parts)


def rows(table: str) -> dict[str, tuple[str, ...]]:
    """{method: its cells} of a markdown table, without padding, the "(cached)" mark (which depends on
    which request ran first) or the Time and Speed-up columns (which vary by machine)."""
    lines = [line.strip().strip("|") for line in table.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].split("|")]
    keep = [i for i, h in enumerate(header) if h not in TIMED]
    out = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.split("|")]
        out[cells[0].replace(" (cached)", "")] = tuple(cells[i] for i in keep[1:])
    return out


def sections(text: str) -> dict[str, str]:
    """README's demo tables by request ("class:3", "random:0.1"), from between the markers."""
    section = text.split(BEGIN, 1)[1].split(END, 1)[0]
    parts = re.split(r"^Forget `([^`]+)`.*$", section, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = README.read_text()
    match = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, re.S)
    if match is None:
        print(f"README.md has no {BEGIN} ... {END} section", file=sys.stderr)
        return 2
    new = tables()
    if args.check:
        ours = {k: rows(v) for k, v in sections(BEGIN + "\n" + new + END).items()}
        same = ours == {k: rows(v) for k, v in sections(text).items()}
        print("README demo tables reproduce" if same else "README demo tables differ:\n" + new)
        return 0 if same else 1
    README.write_text(text[:match.start(1)] + new + text[match.end(1):])
    print(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
