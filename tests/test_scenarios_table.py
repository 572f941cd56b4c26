"""benchmarks/scenarios_table.py: its scenario registry, the block it writes between the markers of a docs
page (the rest of the page kept), and that docs/scenarios.md holds a table of every registered scenario."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("scenarios_table", ROOT / "benchmarks" / "scenarios_table.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it is executed
    spec.loader.exec_module(module)
    return module


def test_every_scenario_names_known_metrics_and_the_docs_table_has_them_all():
    st = _script()
    for name, sc in st.SCENARIOS.items():
        assert sc.metrics and all(k in st.HEADINGS for k in sc.metrics), name
    block = (ROOT / "docs" / "scenarios.md").read_text().split(st.START, 1)[1].split(st.END, 1)[0]
    headers = [line for line in block.splitlines() if line.startswith("| Method |")]
    assert len(headers) == len(st.parts(list(st.SCENARIOS)))
    assert sum(h.count("|") - 2 for h in headers) == sum(len(sc.metrics) for sc in st.SCENARIOS.values())
    for sc in st.SCENARIOS.values():
        assert any(all(f"{sc.title}: {st.HEADINGS[k]}" in h for k in sc.metrics) for h in headers), sc.title


def test_every_scenario_is_in_one_table():
    st = _script()
    grouped = st.parts(list(st.SCENARIOS))
    flat = [n for part in grouped for n in part]
    assert sorted(flat) == sorted(st.SCENARIOS) and len(flat) == len(set(flat))
    assert st.parts(["group", "random"]) == [["random"], ["group"]]


def test_the_block_between_the_markers_is_replaced_and_the_page_kept(tmp_path):
    st = _script()
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\nbefore\n\n{st.START}\nold table\n{st.END}\n\nafter\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scenarios_table.py"), "--only", "group",
                          "--seeds", "0", "--out", str(page), "--store", str(tmp_path / "st")],
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    text = page.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n") and "old table" not in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| Method | 6 identities: ID-MIA | 6 identities: NoMUS | 6 identities: TA |")
    assert rows[1].startswith("| θ_o (`original`) |") and rows[2].startswith("| θ_r (`retrain`) |")
    assert "--seeds 0 --only group`: every registered method" in text  # a reused store: no wall time claimed


def test_a_page_without_the_markers_is_refused_before_anything_runs(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A page someone wrote\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scenarios_table.py"), "--out", str(page),
                          "--store", str(tmp_path / "st")], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 1 and "without the lines" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert page.read_text() == "# A page someone wrote\n" and not (tmp_path / "st").exists()
