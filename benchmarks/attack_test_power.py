"""Power (and size) of the generative attacks' verdict: the exact one-sided McNemar test that reads an attacked
run against θ_r attacked with the same settings, paired by initial noise (audits/generative_audit.paired_test).

Simulated paired outcomes: θ_r is regenerated with probability p_r, the run with p_r + Δ; a share ρ of the pairs
share one draw (the same noise tends to give the same outcome for both models), the rest are independent. For
each n (samples of the class) and Δ, the share of simulated requests whose verdict is "easier to attack than θ_r"
(Δ = 0: the false-positive rate, at most α = 0.05).

    python benchmarks/attack_test_power.py [--reps 2000] [--n 50,100,200,400] [--seed 0]
"""

from __future__ import annotations

import argparse
import numpy as np

from unlearnlab import numerics
from unlearnlab.audits.generative_audit import EASIER, paired_test


def simulate(rng, n: int, p_ref: float, delta: float, rho: float) -> tuple[np.ndarray, np.ndarray]:
    shared = rng.random(n) < rho
    u = rng.random(n)  # one uniform for both where shared: a coupled pair with the right marginals
    ref = np.where(shared, u < p_ref, rng.random(n) < p_ref)
    run = np.where(shared, u < p_ref + delta, rng.random(n) < p_ref + delta)
    return run, ref


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--n", default="50,100,200,400")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ns = [int(v) for v in args.n.split(",")]
    deltas = (0.0, 0.05, 0.1, 0.2, 0.3)
    env = numerics.manifest("cpu")
    print(f"machine: {env.get('cpu')} ({env.get('cpu_count')} cores), numpy {np.__version__}; {args.reps} simulated "
          f"requests per cell, α = 0.05, share of verdicts 'easier to attack than θ_r'")
    for p_ref in (0.1, 0.5):
        for rho in (0.0, 0.5):
            print(f"\nθ_r's success p_r = {p_ref}, coupled share ρ = {rho}")
            print("n      " + "  ".join(f"Δ={d:<5}" for d in deltas))
            for n in ns:
                rng = np.random.default_rng([args.seed, n, int(100 * p_ref), int(10 * rho)])
                row = []
                for d in deltas:
                    hits = sum(paired_test(*simulate(rng, n, p_ref, d, rho))["verdict"] == EASIER
                               for _ in range(args.reps))
                    row.append(hits / args.reps)
                print(f"{n:<6} " + "  ".join(f"{v:<7.3f}" for v in row))


if __name__ == "__main__":
    main()
