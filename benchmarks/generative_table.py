"""Every generative method on the default request, with both attacks, over several seeds: the table of
docs/generative.md, made through the stored path a user takes (`unlearnlab run --model ddpm --forget class:3`,
then `unlearnlab attack --scenario SID` and `--kind relearn`).

For each seed: `ul.run(model="ddpm", forget="class:3", seed=s)` (digits, the default recipe and every registered
generation method), then `ul.attack_scenario` with the embedding attack (UnlearnDiffAtk-style, default budget:
100 steps, L2 radius 1.0) and with the relearning attack (20 steps on 8 images), each model read against θ_r
attacked with the same settings (paired by initial noise, exact one-sided McNemar test at α = 0.05).

    python benchmarks/generative_table.py [--seeds 0 1 2] [--out docs/generative.md] [--store DIR]

Only the text between the generative_table markers of `--out` is replaced.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import unlearnlab as ul  # first: it pins the CPU kernels before NumPy and torch load

from unlearnlab import numerics

sys.path.insert(0, str(Path(__file__).resolve().parent))
from methods_table import machine  # noqa: E402  (sibling scripts, not a package)
from scenarios_table import check_out, write  # noqa: E402

MARKERS = ("<!-- generative_table:start -->", "<!-- generative_table:end -->")
ORDER = ("retrain", "original")


def seeds_cell(values, fmt=lambda v: f"{100 * v:.0f}") -> str:
    return ", ".join("–" if v is None else fmt(v) for v in values)


def verdicts_cell(attacks) -> str:
    """How many seeds read the model as easier to attack than θ_r, with the p-values."""
    vs = [a.get("versus_retrain", {}) for a in attacks]
    ps = [v.get("p") for v in vs]
    if all(p is None for p in ps):
        return "baseline" if all("note" in v for v in vs) else "–"
    easier = sum(str(v.get("verdict", "")).startswith("easier") for v in vs)
    return f"{easier}/{len(vs)} (p {', '.join('–' if p is None else f'{p:.3f}' for p in ps)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("docs/generative.md"))
    ap.add_argument("--store", type=Path, default=None, help="reuse a store (cached runs); default: a fresh temp one")
    args = ap.parse_args()
    check_out(args.out, MARKERS)
    store = args.store or Path(tempfile.mkdtemp(prefix="generative-table-"))
    runs: dict[str, list] = defaultdict(list)
    attacks: dict[str, dict[str, list]] = {"embedding": defaultdict(list), "relearn": defaultdict(list)}
    t0 = time.perf_counter()
    fresh = 0
    for seed in args.seeds:
        result = ul.run(model="ddpm", forget="class:3", seed=seed, store=store)
        fresh += sum(not r.cached for r in result.runs)
        for r in result.runs:
            runs[r.method].append(r.metrics if r.status == "done" else {})
        for kind in attacks:
            for a in ul.attack_scenario(result.scenario["id"], kind, store=store, n_samples=100, seed=seed):
                attacks[kind][a["method"]].append(a)
        print(f"seed {seed} done after {time.perf_counter() - t0:.0f} s", flush=True)
    methods = sorted(runs, key=lambda m: (ORDER.index(m) if m in ORDER else len(ORDER), m))
    head = ("| model | time (s) | forget rate % | FD kept | embedding attack: success % | easier than θ_r? | "
            "relearning: success % | easier than θ_r? |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for m in methods:
        ms = runs[m]
        emb, rel = attacks["embedding"].get(m, []), attacks["relearn"].get(m, [])
        name = {"retrain": "θ_r (retrain)", "original": "θ_o"}.get(m, m)
        lines.append(f"| {name} | {seeds_cell([x.get('run_time_s') for x in ms], lambda v: f'{v:.0f}')} | "
                     f"{seeds_cell([x.get('forget_rate') for x in ms])} | "
                     f"{seeds_cell([x.get('fd_kept') for x in ms], lambda v: f'{v:.2f}')} | "
                     f"{seeds_cell([a['attack_success_rate'] for a in emb])} | {verdicts_cell(emb)} | "
                     f"{seeds_cell([a['attack_success_rate'] for a in rel])} | {verdicts_cell(rel)} |")
    env = numerics.manifest("cpu")
    text = "\n".join([
        f"`python benchmarks/generative_table.py --seeds {' '.join(map(str, args.seeds))}` "
        f"({time.perf_counter() - t0:.0f} s{'' if fresh else ', every run read from the store'}). Digits, class 3 forgotten, the default recipe and every generation "
        "method at its defaults; per cell the seeds' values in order. Forget rate and the attacks' success: the share "
        "of 100 samples of class 3 the judge reads as a 3. Embedding attack: 100 steps, L2 radius 1.0 of the "
        "embedding table's scale; relearning: 20 steps on 8 images. \"easier than θ_r?\": seeds whose paired exact "
        "McNemar test (α = 0.05) reads the model as easier to attack than θ_r attacked the same way, and the "
        f"p-values. {machine(env)}",
        "",
        *lines,
    ])
    write(args.out, text, MARKERS)
    print(text)


if __name__ == "__main__":
    main()
