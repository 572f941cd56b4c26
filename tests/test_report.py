"""Warnings and notes travel under the results table in every report format."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest

from unlearnlab.report import notes, render, warnings

RUNS = [
    {"method": "original", "status": "done", "metrics": {"ua": 0.1, "mia_efficacy": None, "avg_gap": 0.05},
     "details": {"warnings": ["request unusable: θ_o at 50% & more"], "avg_gap_keys": ["ua", "ra", "ta"],
                 "metric_notes": {"mia_efficacy": "attacker at chance: held-out accuracy 0.51"}}},
    {"method": "retrain", "status": "done", "metrics": {"ua": 0.2, "mia_efficacy": None, "avg_gap": 0.0},
     "details": {"warnings": ["request unusable: θ_o at 50% & more"],
                 "metric_notes": {"mia_efficacy": "attacker at chance: held-out accuracy 0.49"}}},
    {"method": "ft", "status": "done", "metrics": {"ua": 0.3, "mia_efficacy": 0.4, "avg_gap": 0.1},
     "details": {"avg_gap_keys": ["ua", "ra", "ta", "mia_efficacy"]}},
]


def test_warnings_once_and_notes_grouped() -> None:
    assert warnings(RUNS) == ["request unusable: θ_o at 50% & more"]
    lines = notes(RUNS)
    assert lines[0].startswith("MIA-Eff. withheld for original, retrain (2 runs); e.g. retrain: attacker at chance")
    assert lines[1] == ("Avg. Gap of original averages UA, RA, TA only: MIA-Eff. withheld for the run or for "
                        "retrain")
    assert len(lines) == 2  # ft averaged every term: nothing to say


def test_every_format_prints_them_under_the_table() -> None:
    md = render(RUNS, "markdown")
    assert md.index("| ft") < md.index("- **warning:** request unusable") < md.index("- **note:** MIA-Eff.")
    rows = list(csv.reader(io.StringIO(render(RUNS, "csv"))))
    assert all(len(r) == len(rows[0]) for r in rows)
    assert [r[0][:9] for r in rows[4:]] == ["# warning", "# note: M", "# note: A"]
    tex = render(RUNS, "latex")
    assert tex.rstrip().endswith(r"\end{tabular}")
    assert r"\multicolumn{5}{l}{warning: request unusable: θ\_o at 50\% \& more} \\" in tex


def test_a_column_withheld_for_every_run_still_shows() -> None:
    runs = [{**r, "metrics": {**r["metrics"], "mia_efficacy": None}} for r in RUNS]
    assert "MIA-Eff." in render(runs).splitlines()[0]


def test_report_names_the_environment_and_what_differs():
    from unlearnlab import numerics
    from unlearnlab.report import environments

    env = numerics.manifest("cpu", "a" * 64)
    other = {**env, "threads": {**env["threads"], "torch": 8}}
    same = [{"method": m, "status": "done", "metrics": {"ua": 0.5}, "details": {"environment": env}}
            for m in ("original", "retrain")]
    assert environments(same) == [numerics.summary(env)]
    assert "- **environment:** " + numerics.summary(env) in ul_render(same)
    mixed = same + [{"method": "ft", "status": "done", "metrics": {"ua": 0.5}, "details": {"environment": other}}]
    lines = environments(mixed)
    assert len(lines) == 2 and lines[0].startswith("original, retrain: ")
    assert lines[1].startswith("ft: ") and lines[1].endswith("(differs in threads.torch)")
    assert environments([{"method": "x", "status": "done", "metrics": {}}]) == []


def ul_render(runs):
    from unlearnlab.report import render

    return render(runs, "markdown")


def test_repeated_rows_carry_run_id_and_start_date_in_every_format():
    from unlearnlab.report import table_rows

    twice = [{**r, "id": f"run{i}", "created": 1_700_000_000.0 + i, "hparams": {"lr": 0.1}, "scenario_id": "s"}
             for i, r in enumerate(RUNS)]
    twice.append({**twice[2], "id": "run9", "created": 1_700_000_009.0})  # ft again, same hyper-parameters
    header, rows = table_rows(twice)
    assert header[:4] == ["Method", "Status", "Run", "Started"]
    assert [r[2] for r in rows if r[0] == "ft"] == ["run2", "run9"]
    assert rows[2][3] != rows[3][3] and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[3][3])
    for fmt in ("markdown", "csv", "latex"):
        text = render(twice, fmt)
        assert "Started" in text and "run2" in text and "run9" in text, fmt
    # rows that do not repeat keep the table as it was
    assert table_rows(twice[:3])[0][:3] == ["Method", "Status", "UA"]
    assert "Started" not in render(RUNS)


def test_scenarios_with_the_same_request_say_what_differs():
    from unlearnlab.report import request_labels

    def spec(sid, **changes):
        base = {"id": sid, "created": 1.0, "dataset": {"name": "digits", "params": {}, "fingerprint": sid * 8},
                "model": {"name": "cnn", "kwargs": {}}, "forget": "class:3", "forget_size": 180, "seed": 0,
                "train": {"epochs": 20, "lr": 0.1}, "prune": None, "retrain_seed": "independent"}
        return {**base, **changes}

    labels = request_labels([
        spec("a"), spec("b", prune=0.5), spec("c", forget="random:0.1"),
        spec("d", forget="random:0.1", train={"epochs": 5, "lr": 0.1}, model={"name": "cnn", "kwargs": {"width": 2}}),
    ])
    assert labels == {"a": "digits/cnn class:3 · prune=none", "b": "digits/cnn class:3 · prune=0.5",
                      "c": "digits/cnn random:0.1 · model.width=none, train.epochs=20",
                      "d": "digits/cnn random:0.1 · model.width=2, train.epochs=5"}
    # differing only in what follows from the rest (the data behind the same file name changed)
    only_data = request_labels([spec("e"), spec("f")])
    assert only_data == {"e": "digits/cnn class:3 · dataset.fingerprint=eeeeeeee", "f":
                         "digits/cnn class:3 · dataset.fingerprint=ffffffff"}
    assert request_labels([spec("g")]) == {"g": "digits/cnn class:3"}


# ---------------------------------------------------------------------------------------------------
# Results over seeds


def _run(method, seed, status="done", **metrics):
    return {"id": f"{method}{seed}", "method": method, "seed": seed, "status": status, "hparams": {"lr": 0.1},
            "reason": "diverged: loss nan" if status == "failed" else None, "metrics": metrics, "details": {}}


def _seed_runs():
    gaps = {"ft": [0.10, 0.12, 0.14], "ga": [0.30, 0.31, 0.29]}
    runs = [_run(m, s, avg_gap=gaps[m][s], ua=0.5 + s / 10) for s in range(3) for m in gaps]
    runs[-1]["metrics"]["ua"] = None  # ga, seed 2: UA withheld
    return runs + [_run("rl", s, "failed") for s in range(3)]


def test_over_seeds_mean_and_t_interval_with_n():
    from scipy import stats

    from unlearnlab.report import render_over_seeds

    md = render_over_seeds(_seed_runs(), "markdown")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in md.splitlines()
            if line.startswith("| ") and not line.startswith("| Method")}
    x = np.array([0.10, 0.12, 0.14])
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)
    assert rows["ft"][:3] == ["3/3", "60.00 ± 24.84", f"12.00 ± {100 * half:.2f}"]
    assert rows["ga"][1] == "55.00 ± 63.53 (n=2)"  # n counts only the runs that have the value
    assert rows["rl"] == ["0/3", "–", "–"]
    assert "rl: no run finished on any of its 3 seeds (e.g. diverged: loss nan)" in md
    assert "over seeds 0, 1, 2" in md and "±0" not in md
    # ft's and ga's intervals lie apart: ft wins; rl has no interval and is not ranked
    assert "1. ft; 2. ga" in md and "not ranked (fewer than 2 seeds with Avg. Gap): rl" in md
    assert "no winner" not in md


def test_over_seeds_ties_overlapping_methods_and_says_no_winner():
    from unlearnlab.report import render_over_seeds

    runs = [_run(m, s, avg_gap=g) for m, gs in {"ft": [0.1, 0.3], "ga": [0.15, 0.2]}.items() for s, g in enumerate(gs)]
    md = render_over_seeds(runs)
    assert "1. ga, ft (intervals overlap: no winner between them)" in md
    assert "no winner by Avg. Gap: the intervals of ga, ft overlap" in md


def test_over_seeds_n_1_shows_the_value_without_interval_and_reruns_count_once():
    from unlearnlab.report import render_over_seeds

    runs = [_run("ft", 0, avg_gap=0.1), _run("ft", 1, "failed"), _run("ft", 1, avg_gap=0.2),
            _run("ga", 0, avg_gap=0.3), {**_run("ga", 0, avg_gap=0.9), "id": "again"}]
    md = render_over_seeds(runs)
    cells = {c[0]: c[1:] for c in ([x.strip() for x in line.split("|")[1:-1]] for line in md.splitlines()
                                   if line.startswith("| "))}
    assert cells["ft"][0] == "2/2" and cells["ft"][1].startswith("15.00 ± ")  # the failed try of seed 1 is replaced
    assert cells["ga"] == ["1/1", "90.00 (n=1)"]  # the latest finished run of a seed stands for it; no ±0


def test_over_seeds_with_one_seed_is_the_ordinary_table_and_a_note():
    from unlearnlab.report import render_over_seeds

    runs = [_run("ft", 0, avg_gap=0.1), _run("ga", 0, avg_gap=0.3)]
    md = render_over_seeds(runs)
    assert md.startswith(render(runs).rstrip("\n").split("\n\n")[0])
    assert "one seed (0) of this request is stored: no interval over seeds" in md


def test_over_seeds_csv_and_latex():
    from unlearnlab.report import render_over_seeds

    rows = list(csv.reader(io.StringIO(render_over_seeds(_seed_runs(), "csv"))))
    assert rows[0] == ["Method", "Done", "UA", "UA lo", "UA hi", "UA n", "Avg. Gap", "Avg. Gap lo", "Avg. Gap hi",
                       "Avg. Gap n"]
    assert rows[1][:2] == ["ft", "3/3"] and rows[2][5] == "2" and rows[3][2:6] == ["–", "–", "–", "0"]
    assert all(len(r) == len(rows[0]) for r in rows)
    tex = render_over_seeds(_seed_runs(), "latex")
    assert r"ft & 3/3 & 60.00 $\pm$ 24.84 & 12.00 $\pm$ 4.97 \\" in tex


def test_over_seeds_rejects_a_metric_without_direction():
    from unlearnlab.errors import BadInput
    from unlearnlab.report import render_over_seeds

    with pytest.raises(BadInput, match="cannot rank by 'ua'.*allowed: avg_gap"):
        render_over_seeds(_seed_runs(), rank_by="ua")


def test_cli_report_over_three_seeds(tmp_path, monkeypatch, one_thread):
    """Three seeds of a tiny request run into one store; the report's interval is scipy's."""
    from scipy import stats
    from typer.testing import CliRunner

    from unlearnlab.cli import app
    from unlearnlab.store import Store

    monkeypatch.delenv("UNLEARNLAB_STORE", raising=False)
    store = tmp_path / "store"
    run = CliRunner()
    for seed in range(3):
        result = run.invoke(app, ["run", "--model", "mlp", "--forget", "random:0.1", "--methods", "ft,ga",
                                  "--set", "train.epochs=1", "--set", "ft.epochs=1", "--set", "ga.epochs=1",
                                  "--seed", str(seed), "--store", str(store)])
        assert result.exit_code == 0, result.output
    # another request in the same store is not mixed in
    assert run.invoke(app, ["run", "--model", "mlp", "--forget", "random:0.2", "--methods", "ft", "--set",
                            "train.epochs=1", "--set", "ft.epochs=1", "--store", str(store)]).exit_code == 0
    st = Store(store)
    sids = [s["id"] for s in st.scenarios()]
    assert len(sids) == 4
    gaps = [r.metrics["avg_gap"] for sid in sids[:3] for r in st.runs(sid) if r.method == "ft"]
    assert len(gaps) == 3
    x = 100 * np.array(gaps)
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)
    result = run.invoke(app, ["report", sids[1], "--over-seeds", "--format", "csv", "--store", str(store)])
    assert result.exit_code == 0, result.output
    rows = {r[0]: r for r in csv.reader(io.StringIO(result.stdout))}
    header = next(iter(rows.values()))
    gap = header.index("Avg. Gap")
    assert rows["ft"][1] == "3/3" and rows["ft"][gap + 3] == "3"
    assert float(rows["ft"][gap]) == pytest.approx(x.mean(), abs=0.006)
    assert float(rows["ft"][gap + 1]) == pytest.approx(x.mean() - half, abs=0.006)
    assert float(rows["ft"][gap + 2]) == pytest.approx(x.mean() + half, abs=0.006)
    assert "# note: over seeds 0, 1, 2" in result.stdout
    assert any(r[0].startswith("# ranking: by Avg. Gap") for r in rows.values())
    bad = run.invoke(app, ["report", sids[1], "--over-seeds", "--rank-by", "ua", "--store", str(store)])
    assert bad.exit_code == 2 and bad.stdout == "" and "cannot rank by 'ua'" in bad.stderr
    # without --over-seeds: that seed's runs only, as before
    plain = run.invoke(app, ["report", sids[1], "--store", str(store)]).stdout
    assert "over seeds" not in plain and plain.count("| ft ") == 1
