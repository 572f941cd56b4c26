"""Random vs worst-case (proxy and bi-level search) vs memorised forget sets of one size, on the default
(digits, cnn): how far each method lands from θ_r on each, over seeds, and how much the proxy's selection
overlaps the search's. The table in docs/scenarios.md ("Worst-case and memorised forget sets") comes from it.

    python benchmarks/worst_case.py [--size 50] [--seeds 0,1,2] [--methods ft,ga] [--model cnn]

Per request and method: UA (1 - accuracy on D_f), |UA - UA(θ_r)| and Avg. Gap, mean ± std over the seeds;
then θ_r's own UA and the selection's cost (seconds, models trained).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

import unlearnlab as ul


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=50)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default="ft,ga")
    ap.add_argument("--model", default="cnn")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    n = args.size
    requests = {"random": f"random:{n}", "worst (proxy: θ_o loss)": f"worst:{n},by=loss",
                "worst (bi-level, vs ft)": f"worst:{n}", "memorised (k=16)": f"memorised:{n}"}
    rows: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    costs: dict[str, list[float]] = {}
    chosen: dict[tuple[str, int], set[int]] = {}
    with tempfile.TemporaryDirectory() as store:
        for seed in seeds:
            for label, spec in requests.items():
                t0 = time.perf_counter()
                res = ul.run("digits", args.model, spec, methods, seed=seed, store=store)
                costs.setdefault(label, []).append(time.perf_counter() - t0)
                chosen[(label, seed)] = set(res.scenario.get("forget_indices") or [])
                gold = res.run("retrain").metrics["ua"]
                for m in ["retrain", *methods]:
                    r = res.run(m)
                    if r.status != "done":
                        continue
                    ua = r.metrics["ua"]
                    rows.setdefault((label, m), []).append((ua, abs(ua - gold), r.metrics.get("avg_gap") or 0.0))

    def ms(values: list[float]) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{100 * statistics.mean(values):.1f} ± {100 * sd:.1f}"

    print(f"digits/{args.model}, forget sets of {n}, seeds {args.seeds}; % (mean ± std over seeds)")
    print("| request | method | UA | UA gap to θ_r | Avg. Gap |")
    print("|---|---|---|---|---|")
    for (label, m), vals in rows.items():
        ua, gap, avg = zip(*vals)
        print(f"| {label} | {m} | {ms(list(ua))} | {ms(list(gap))} | {ms(list(avg))} |")
    print()
    for label, secs in costs.items():
        print(f"{label}: {statistics.mean(secs):.1f} s per request (selection, θ_r and the methods; θ_o cached)")
    overlaps = [len(chosen[("worst (proxy: θ_o loss)", s)] & chosen[("worst (bi-level, vs ft)", s)]) / n
                for s in seeds]
    mem_worst = [len(chosen[("memorised (k=16)", s)] & chosen[("worst (bi-level, vs ft)", s)]) / n for s in seeds]
    print(f"overlap proxy vs bi-level: {', '.join(f'{100 * o:.0f} %' for o in overlaps)} "
          f"(mean {100 * np.mean(overlaps):.0f} %); memorised vs bi-level: "
          f"{', '.join(f'{100 * o:.0f} %' for o in mem_worst)}")


if __name__ == "__main__":
    main()
