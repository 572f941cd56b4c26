"""How far each method's class-wise outcome moves with the seed AND the CPU kernels.

Runs the default class-wise request (`ul.run(forget="class:3", seed=s)`: digits, small CNN, every
registered method) for each seed under each kernel setting, every setting in its own fresh process
(the switches are read when torch and NumPy load), and writes per method and setting the mean, min
and max of UA, TA and RA over seeds, how often UA < 0.9, the mean over seeds 0-2 (what
tests/test_runner.py computes) and the lowest mean over ANY three seeds: a different CPU's kernels
re-draw a seed's outcome, so every triple of seeds is a run the test could see somewhere.

    python benchmarks/method_spread.py [--seeds 0 1 ... 9] [--settings portable native ...]
        [--jsonl benchmarks/results/method_spread.jsonl] [--out docs/method_spread.md] [--jobs 2]

Results are appended to the JSONL as each seed finishes (one line per setting, seed and method) and
a rerun skips what is already there, so an interrupted measurement resumes (delete the JSONL after
changing a method, the data or torch); `--report-only` rewrites the tables from the JSONL alone.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

#: name -> (environment set for the worker, what it means on an AVX-512 machine)
SETTINGS: dict[str, tuple[dict[str, str], str]] = {
    "portable": ({}, "the default: AVX2 kernels in every library, one thread (same bits on any x86-64 CPU with AVX2)"),
    "native": ({"UNLEARNLAB_NUMERICS": "native"}, "this CPU's fastest kernels (AVX-512 here), 2 threads"),
    "aten_default": ({"ATEN_CPU_CAPABILITY": "default"},
                     "portable, but ATen on its non-vectorised kernels (as `isa-check` runs `default`)"),
    "avx2_native": ({"ATEN_CPU_CAPABILITY": "avx2", "UNLEARNLAB_NUMERICS": "native"},
                    "ATen pinned to AVX2, every other library native (oneDNN AVX-512), 2 threads"),
}
#: Every switch numerics.py knows; cleared in a worker unless its setting sets it.
SWITCHES = ("UNLEARNLAB_NUMERICS", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "OPENBLAS_CORETYPE",
            "NPY_DISABLE_CPU_FEATURES")
KEYS = ("ua", "ra", "ta", "tua", "mia_efficacy", "privacy_score")
BAR = 0.9
#: "Far below the bar": a run under this UA leaves over a quarter of the class recognised. A method with
#: such a run AND a run at UA >= BAR changes outcome with the seed or the kernels: it is fragile.
FLIP = 0.75
#: Largest mean TA drop (over all runs) of a method that keeps θ_o's accuracy on the other classes.
TA_DROP = 0.05
GOLD_FAILED_RA = 0.5
READS_RETRAIN = ("oracle_matching",)


def worker(setting: str, seeds: list[int], jsonl: Path, store: Path) -> None:
    """Runs in the fresh process: every seed of one setting, appended to `jsonl` as it finishes."""
    import unlearnlab as ul
    from unlearnlab import numerics

    for seed in seeds:
        start = time.perf_counter()
        comparison = ul.run(forget="class:3", seed=seed, store=store)
        env = comparison.runs[0].details.get("environment") or numerics.manifest()
        lines = []
        for run in comparison.runs:
            rec = {"setting": setting, "seed": seed, "method": run.method, "status": run.status,
                   **{k: run.metrics.get(k) for k in KEYS}}
            lines.append(json.dumps(rec))
        meta = {"setting": setting, "seed": seed, "method": "_environment", "summary": numerics.summary(env),
                "cpu": env.get("cpu"), "torch": env.get("versions", {}).get("torch"),
                "numerics": env.get("numerics"), "threads": env.get("threads"),
                "seconds": round(time.perf_counter() - start, 1)}
        # one write() of the whole seed: workers of other settings append to the same file
        fd = os.open(jsonl, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, ("\n".join([*lines, json.dumps(meta)]) + "\n").encode())
        finally:
            os.close(fd)
        print(f"{setting} seed {seed}: {meta['seconds']} s ({meta['summary']})", flush=True)


def load(jsonl: Path) -> list[dict]:
    if not jsonl.exists():
        return []
    return [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]


def done_seeds(records: list[dict]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for r in records:
        if r["method"] == "_environment":
            out[r["setting"]].add(r["seed"])
    return out


def summarise(records: list[dict]) -> dict:
    """{method: {setting: stats}} plus the environment of each setting."""
    data: dict[str, dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    envs: dict[str, dict] = {}
    for r in records:
        if r["method"] == "_environment":
            envs[r["setting"]] = r
        else:
            data[r["method"]][r["setting"]][r["seed"]] = r
    ta_o = {s: {seed: r["ta"] for seed, r in runs.items()} for s, runs in data.get("original", {}).items()}
    # θ_r at chance on its retained classes: a failed gold standard (its UA of 1 is then meaningless)
    failed_gold = sorted((s, seed) for s, runs in data.get("retrain", {}).items() for seed, r in runs.items()
                         if r["ra"] is not None and r["ra"] < GOLD_FAILED_RA)
    out: dict = {"methods": {}, "environments": envs, "failed_gold": failed_gold}
    for method, by_setting in data.items():
        out["methods"][method] = {}
        for setting, runs in by_setting.items():
            if method in READS_RETRAIN:  # its outcome follows θ_r: a failed θ_r is not the method's failure
                runs = {seed: r for seed, r in runs.items() if (setting, seed) not in failed_gold}
            seeds = sorted(runs)
            ua = [runs[s]["ua"] for s in seeds]
            ta = [runs[s]["ta"] for s in seeds]
            ra = [runs[s]["ra"] for s in seeds]
            drop = [ta_o[setting][s] - runs[s]["ta"] for s in seeds if s in ta_o.get(setting, {})]
            triples = list(itertools.combinations(range(len(seeds)), 3))
            first3 = [i for i, s in enumerate(seeds) if s in (0, 1, 2)]

            def mean(xs):
                return sum(xs) / len(xs) if xs else None

            out["methods"][method][setting] = {
                "seeds": seeds, "ua": ua, "ta": ta, "ra": ra, "ta_drop": drop,
                "failed": [s for s in seeds if runs[s]["status"] != "done"],
                "ua_mean": mean(ua), "ua_min": min(ua), "ua_max": max(ua),
                "ta_mean": mean(ta), "ta_min": min(ta), "ta_max": max(ta),
                "ra_mean": mean(ra), "ra_min": min(ra), "ra_max": max(ra),
                "ta_drop_mean": mean(drop), "ta_drop_max": max(drop) if drop else None,
                "ua_below_bar": sum(u < BAR for u in ua),
                "ua_mean_seeds_0_2": mean([ua[i] for i in first3]) if len(first3) == 3 else None,
                "ta_drop_mean_seeds_0_2": mean([drop[i] for i in first3]) if len(first3) == 3 and drop else None,
                "ua_worst_triple_mean": min(mean([ua[i] for i in t]) for t in triples) if triples else None,
                "ta_drop_worst_triple_mean": (max(mean([drop[i] for i in t]) for t in triples)
                                              if triples and len(drop) == len(seeds) else None),
            }
    return out


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def rows(methods: dict, settings: list[str], cell, width: int) -> list[str]:
    """One table row per method: `cell(stats)` ("a | b | ...", `width` columns) for each setting."""
    out = []
    for m, by in methods.items():
        cells = [cell(by[s]) if s in by else " | ".join(["–"] * width) for s in settings]
        out.append(f"| `{m}` | " + " | ".join(cells) + " |")
    return out


def markdown(summary: dict, command: str) -> str:
    envs = summary["environments"]
    settings = [s for s in SETTINGS if s in envs]
    any_env = next(iter(envs.values()), {})
    lines = [
        "# How each method's class-wise outcome moves with seed and CPU kernels",
        "",
        f"Generated by `{command}`. The default class-wise request (`ul.run(forget=\"class:3\", seed=s)`: digits, "
        "the small CNN, every registered method with its defaults); each setting ran in its own process. "
        f"Machine: {any_env.get('cpu', '?').replace(' (2 cores)', '')} (2 cores, native ATen capability "
        f"{envs.get('native', {}).get('numerics', {}).get('aten_cpu_capability', '?')}), torch {any_env.get('torch', '?')} "
        "(CPU build). "
        "Accuracies in %. `UA<90` counts the seeds whose UA is below 90 %. `0-2` is the mean over seeds 0-2 (what "
        "`tests/test_runner.py` computes); `worst 3` is the lowest mean UA over any three of the seeds: another "
        "CPU's kernels re-draw a seed's outcome, so any triple is a result the test could see somewhere. "
        "`TA drop` is θ_o's TA minus the method's, same seed (positive: the method lost accuracy); `max 3` is the "
        "largest mean drop over any three seeds.",
        "",
        "| Setting | Environment | Kernels as run | Seeds |",
        "|---|---|---|---|",
    ]
    for s in settings:
        env_vars = " ".join(f"`{k}={v}`" for k, v in SETTINGS[s][0].items()) or "(none)"
        seeds = sorted(summary["methods"].get("original", {}).get(s, {}).get("seeds", []))
        seed_txt = f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ", ".join(map(str, seeds))
        recorded = ", ".join(part for part in envs[s].get("summary", "?").split(", ") if not part.startswith("data "))
        lines.append(f"| `{s}` | {env_vars} | {SETTINGS[s][1]}; recorded: {recorded} | {seed_txt} |")
    lines += ["", "Seeds run one after another in each setting's process, with `OMP_WAIT_POLICY=PASSIVE` (idle OpenMP "
              "threads sleep instead of spinning, which makes 2-thread runs on a busy 2-core machine many times "
              "faster and changes no bit: same threads, same split of every reduction; checked on seed 0 of both "
              "2-thread settings). The raw numbers are in `benchmarks/results/method_spread.jsonl`; "
              "`python benchmarks/method_spread.py --report-only` rewrites this page from them, and a rerun adds "
              "only the seeds and settings missing there.",
              "",
              "How the tests use it: `tests/test_runner.py::test_every_method_forgets_the_default_class_unless_"
              "declared_weak_or_fragile` runs seeds 0-2 and compares 3-seed means with bounds placed below the worst "
              "3-seed mean measured here (any triple of seeds, any setting), with the numbers in its comments; the "
              "declarations in the Verdicts table decide which property a method gets.",
              "", "## UA (forget class 3), % over seeds", "",
              "| Method | " + " | ".join(f"`{s}` mean [min, max] | UA<90 | 0-2 | worst 3" for s in settings) + " |",
              "|---|" + "---:|---:|---:|---:|" * len(settings)]
    methods = summary["methods"]
    lines += rows(methods, settings, lambda st: (
        f"{pct(st['ua_mean'])} [{pct(st['ua_min'])}, {pct(st['ua_max'])}] | {st['ua_below_bar']}/{len(st['seeds'])} | "
        f"{pct(st['ua_mean_seeds_0_2'])} | {pct(st['ua_worst_triple_mean'])}"), 4)
    lines += ["", "## TA (retained classes) and TA drop against θ_o, % over seeds", "",
              "| Method | " + " | ".join(f"`{s}` TA mean [min, max] | drop mean (max) | drop 0-2 | drop max 3"
                                          for s in settings) + " |",
              "|---|" + "---:|---:|---:|---:|" * len(settings)]
    lines += rows(methods, settings, lambda st: (
        f"{pct(st['ta_mean'])} [{pct(st['ta_min'])}, {pct(st['ta_max'])}] | {pct(st['ta_drop_mean'])} "
        f"({pct(st['ta_drop_max'])}) | {pct(st['ta_drop_mean_seeds_0_2'])} | {pct(st['ta_drop_worst_triple_mean'])}"), 4)
    lines += ["", "## RA (retain set), % over seeds", "",
              "| Method | " + " | ".join(f"`{s}` mean [min, max]" for s in settings) + " |",
              "|---|" + "---:|" * len(settings)]
    lines += rows(methods, settings, lambda st: f"{pct(st['ra_mean'])} [{pct(st['ra_min'])}, {pct(st['ra_max'])}]", 1)
    lines += ["", "## Across all settings", "",
              "Per method, over every setting and seed: the lowest UA, the number of runs with UA < 90 %, the lowest "
              "mean UA over any three seeds of one setting, and the largest mean TA drop over any three seeds.", "",
              "| Method | runs | UA min | UA<90 | worst 3-seed mean UA | worst 3-seed mean TA drop |",
              "|---|---:|---:|---:|---:|---:|"]
    for m, by in methods.items():
        sts = [by[s] for s in settings if s in by]
        n = sum(len(st["seeds"]) for st in sts)
        drops = [st["ta_drop_worst_triple_mean"] for st in sts if st["ta_drop_worst_triple_mean"] is not None]
        triples = [st["ua_worst_triple_mean"] for st in sts if st["ua_worst_triple_mean"] is not None]
        lines.append(f"| `{m}` | {n} | {pct(min(st['ua_min'] for st in sts))} | "
                     f"{sum(st['ua_below_bar'] for st in sts)} | {pct(min(triples)) if triples else '–'} | "
                     f"{pct(max(drops)) if drops else '–'} |")
    lines += verdicts(summary, settings)
    return "\n".join(lines) + "\n"


def measured_verdict(sts: list[dict]) -> tuple[str, str]:
    """("strong" | "fragile" | "weak" | "fragile, weak", why) from every run of one method."""
    ua = [u for st in sts for u in st["ua"]]
    drop = [d for st in sts for d in st["ta_drop"]]
    mean_drop = sum(drop) / len(drop)
    labels, why = [], []
    if min(ua) < FLIP and max(ua) >= BAR:
        labels.append("fragile")
        why.append(f"UA from {pct(min(ua))} to {pct(max(ua))}: below {pct(FLIP)} in {sum(u < FLIP for u in ua)}, "
                   f"below {pct(BAR)} in {sum(u < BAR for u in ua)} of {len(ua)} runs")
    if max(ua) < BAR:
        labels.append("weak")
        why.append(f"UA never reaches {pct(BAR)} (max {pct(max(ua))})")
    if mean_drop > TA_DROP:
        labels.append("weak")
        why.append(f"TA down {pct(mean_drop)} points on average (max {pct(max(drop))})")
    if not labels:
        why.append(f"UA >= {pct(min(ua))} in all {len(ua)} runs, TA down {pct(mean_drop)} points on average "
                   f"(max {pct(max(drop))})")
    return ", ".join(dict.fromkeys(labels)) or "strong", "; ".join(why)


def verdicts(summary: dict, settings: list[str]) -> list[str]:
    try:
        from unlearnlab.methods import METHODS, ensure_loaded

        ensure_loaded()
    except ImportError:  # pragma: no cover
        METHODS = None
    lines = ["", "## Verdicts", "",
             f"Measured over every run above: **fragile** when some run leaves UA below {pct(FLIP)} % (far below the "
             f"{pct(BAR)} % bar: over a quarter of the class still recognised) while another reaches {pct(BAR)} %, i.e. "
             f"the outcome changes with the seed or the kernels; **weak** when UA never reaches {pct(BAR)} % or TA "
             f"falls more than {pct(TA_DROP)} points on average; **strong** otherwise. Declared: the method's "
             "`fragile_at_default_scale` / `weak_at_default_scale` (src/unlearnlab/methods/), which "
             "`tests/test_runner.py` reads to choose the property it asserts.", ""]
    if summary.get("failed_gold"):
        runs = ", ".join(f"{s} seed {seed}" for s, seed in summary["failed_gold"])
        lines += [f"θ_r failed to train (RA < {pct(GOLD_FAILED_RA)} %) in: {runs}; those runs are left out of "
                  f"{', '.join(f'`{m}`' for m in READS_RETRAIN)} (it imitates θ_r), nowhere else.", ""]
    lines += ["| Method | measured | why | declared |", "|---|---|---|---|"]
    for m, by in summary["methods"].items():
        if m in ("original", "retrain"):
            continue
        sts = [by[s] for s in settings if s in by]
        verdict, why = measured_verdict(sts)
        declared = "?"
        if METHODS is not None and m in METHODS:
            cls = METHODS.get(m)
            declared = ", ".join(label for label, text in (("fragile", cls.fragile_at_default_scale),
                                                           ("weak", cls.weak_at_default_scale)) if text) or "strong"
        mark = "" if declared in (verdict, "?") else " (differs)"
        lines.append(f"| `{m}` | {verdict} | {why} | {declared}{mark} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--jsonl", type=Path, default=Path("benchmarks/results/method_spread.jsonl"))
    ap.add_argument("--out", type=Path, default=Path("docs/method_spread.md"))
    ap.add_argument("--summary-json", type=Path, default=None,
                    help="also write the summary as JSON here (it is derived from --jsonl)")
    ap.add_argument("--jobs", type=int, default=2, help="settings measured at once (each its own process)")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--worker", choices=list(SETTINGS), help=argparse.SUPPRESS)
    ap.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.seeds, args.jsonl, args.store)
        return
    args.jsonl.parent.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        have = done_seeds(load(args.jsonl))
        todo = [(s, [x for x in args.seeds if x not in have.get(s, set())]) for s in args.settings]
        todo = [(s, seeds) for s, seeds in todo if seeds]
        running: list[subprocess.Popen] = []
        stores: list[Path] = []
        for setting, seeds in todo:
            while len(running) >= args.jobs:
                running = [p for p in running if p.poll() is None]
                time.sleep(1)
            env = {k: v for k, v in os.environ.items() if k not in SWITCHES}
            env.update(SETTINGS[setting][0])
            # Idle OpenMP threads sleep instead of spinning: the bits do not change (same threads, same split
            # of each reduction), but a 2-thread run on a shared 2-core machine is many times faster.
            env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            store = Path(tempfile.mkdtemp(prefix=f"unlearnlab-spread-{setting}-"))
            cmd = [sys.executable, __file__, "--worker", setting, "--jsonl", str(args.jsonl), "--store", str(store),
                   "--seeds", *map(str, seeds)]
            running.append(subprocess.Popen(cmd, env=env))
            stores.append(store)
        for p in running:
            p.wait()
        for store in stores:  # θ_o / θ_r caches of this measurement only
            shutil.rmtree(store, ignore_errors=True)
    summary = summarise(load(args.jsonl))
    command = "python benchmarks/method_spread.py"
    if args.seeds != list(range(10)):
        command += " --seeds " + " ".join(map(str, args.seeds))
    text = markdown(summary, command)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary, indent=1))
    print(text)


if __name__ == "__main__":
    main()
