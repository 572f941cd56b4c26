"""Ray's overhead: 64 small jobs (θ_o ensemble members of a tiny scenario) through `ray` vs `process`.

Both executors get the same number of workers and are started (and warmed by one job) before the
timed batch, so the ratio measures what each adds per job: scheduling, serialising the job and
returning its result (logits + weights) through the object store, against a process pool's pipes.
Start-up times (Ray's local cluster, the process pool) are printed separately. Goal: ratio <= 1.15.
The jobs are the same in both (member seeds 0..63), and their results are compared bit for bit.

    python benchmarks/bench_executors.py [--jobs 64] [--workers 2] [--epochs 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

import unlearnlab as ul
from unlearnlab import numerics
from unlearnlab.audits.ensemble import MemberJob, member_job
from unlearnlab.executors import make_executor
from unlearnlab.store import Store

GOAL = 1.15


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1, help="Training epochs of each member (job size).")
    parser.add_argument("--rounds", type=int, default=3, help="Timed batches per executor (best one counts).")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="unlearnlab-bench-executors-")
    try:
        comparison = ul.run(forget="class:3", methods=["ft"], train={"epochs": args.epochs}, store=root)
        spec = Store(root).scenario(comparison.scenario["id"])
        jobs = [MemberJob(spec, "original", seed, "cpu") for seed in range(args.jobs)]
        print(f"machine: {numerics._cpu_name()}, {os.cpu_count()} cores; {args.jobs} jobs (θ_o members, "
              f"{args.epochs} epoch(s) of the default digits scenario), {args.workers} workers")

        executors, timings, results = {}, {"process": [], "ray": []}, {}
        try:
            for name in timings:
                executors[name] = executor = make_executor(name, args.workers)
                start = time.perf_counter()
                list(executor.run(member_job, jobs[:1]))  # start-up: the pool / the local Ray, one job
                print(f"{name:8s} start-up + first job {time.perf_counter() - start:6.2f} s")
                list(executor.run(member_job, jobs[:args.workers]))  # every worker warm
            # alternate the executors, so a load from elsewhere on the machine does not favour one
            for r in range(args.rounds):
                for name in (("process", "ray") if r % 2 == 0 else ("ray", "process")):
                    start = time.perf_counter()
                    results[name] = dict(executors[name].run(member_job, jobs))
                    timings[name].append(time.perf_counter() - start)
        finally:
            for executor in executors.values():
                executor.close()
        best = {name: min(t) for name, t in timings.items()}
        for name, t in timings.items():
            print(f"{name:8s} {args.jobs} jobs: best {best[name]:7.2f} s ({best[name] / args.jobs * 1000:6.1f} ms "
                  f"per job); rounds: {', '.join(f'{x:.2f}' for x in t)} s")

        same = all(np.array_equal(results["ray"][i]["outputs"][s], results["process"][i]["outputs"][s])
                   for i in range(args.jobs) for s in ("forget", "retain", "test"))
        ratio = best["ray"] / best["process"]
        verdict = "ok" if ratio <= GOAL else "OVER GOAL"
        print(f"ray / process time ratio: {ratio:.3f} (goal <= {GOAL}: {verdict}); same bits: {same}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
