"""Power (and false-positive rate) of the audit's calibrated tests on simulated ensembles.

φ of example e under member j: centre_e + pair_j + model_j + noise_ej (+ shift for the candidate),
with centre ~ N(0, 3²) (example difficulty), pair ~ N(0, 0.5²) shared by candidate, θ_r and θ_o
member j (one initialisation and batch order), model ~ N(0, 0.5²) per model (a model that is more
confident everywhere) and noise ~ N(0, 1). θ_o members are shifted by +3 (they trained on D_f).
The effect size is the candidate's shift in units of one model's spread around the example's
mean, sqrt(1 + 0.5² + 0.5²). Effect 0 is a perfect unlearner: its row is the false-positive rate.

A rejection is p ≤ 0.05 in the audit's test (`audits.statistics`, one-sided towards "worse than
retraining"); reported per statistic: U-LiRA AUC and accuracy, F (the challenge's notebook
scoring) and its two-sided variant, KLoM forget median, LiRA after (online AUC).

    python benchmarks/bench_audit_power.py [--reps 100] [--sizes 8,16,32] [--effects 0,0.5,1]

Speed: the benchmark uses 5 partitions and 49 swaps per test (the audit: 50 and 100), so it runs in
about ten minutes on two cores; more partitions average more pairings, so the audit has at least
this power up to the coarser p-value resolution (1/50 here, 1/101 there).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from unlearnlab.audits.statistics import challenge_audit, klom_audit, lira_audit, ulira_audit

N_EXAMPLES = 60
PAIR_SD = MODEL_SD = 0.5
SPREAD = float(np.sqrt(1 + PAIR_SD ** 2 + MODEL_SD ** 2))
OPTS = {"partitions_m": 5, "permutations": 49, "n_boot": 1}
COLUMNS = ("U-LiRA AUC", "U-LiRA acc.", "F (challenge)", "F two-sided", "KLoM median", "LiRA after")


def draw(rng: np.random.Generator, n_members: int, effect: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(candidate, θ_r, θ_o) φ arrays, (N_EXAMPLES, n_members) each."""
    centre = rng.normal(0, 3, size=(N_EXAMPLES, 1))
    pair = rng.normal(0, PAIR_SD, size=(1, n_members))

    def side(shift: float) -> np.ndarray:
        return (centre + pair + shift + rng.normal(0, MODEL_SD, size=(1, n_members))
                + rng.normal(size=(N_EXAMPLES, n_members)))

    return side(effect * SPREAD), side(0.0), side(3.0)


def rejections(c: np.ndarray, r: np.ndarray, o: np.ndarray, seed: int) -> list[bool]:
    u, _ = ulira_audit(c, r, seed=seed, **OPTS)
    f, _ = challenge_audit(c, r, seed=seed, **OPTS)
    k, _ = klom_audit(c, r, seed=seed, **OPTS)
    lira = lira_audit(o, r, c, permutations=OPTS["permutations"], n_boot=1, seed=seed)
    stats = (u["auc"], u["accuracy"], f["forgetting_quality"], f["forgetting_quality_two_sided"], k["median"],
             lira["online"]["auc"])
    return [s["p"] <= 0.05 for s in stats]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--sizes", default="8,16,32")
    parser.add_argument("--effects", default="0,0.5,1")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    effects = [float(x) for x in args.effects.split(",")]
    start = time.perf_counter()
    print(f"rejections at p <= 0.05 over {args.reps} simulated audits per row ({N_EXAMPLES} forget examples, "
          f"{OPTS['partitions_m']} partitions, {OPTS['permutations']} swaps); effect 0 = false-positive rate; "
          f"± is the Monte-Carlo standard error at 50 %: {50 / np.sqrt(args.reps):.0f} points\n")
    print("| N | effect (SD) | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for n in sizes:
        for effect in effects:
            rng = np.random.default_rng([n, int(round(effect * 1000))])
            hits = np.array([rejections(*draw(rng, n, effect), seed=rep) for rep in range(args.reps)])
            cells = " | ".join(f"{100 * v:.0f} %" for v in hits.mean(axis=0))
            print(f"| {n} | {effect:g} | {cells} |", flush=True)
    print(f"\n{time.perf_counter() - start:.0f} s; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
