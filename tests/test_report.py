"""Warnings and notes travel under the results table in every report format."""

from __future__ import annotations

import csv
import io
import re

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
