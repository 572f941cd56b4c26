"""`unlearnlab demo` end to end, as a user runs it: a cold run on an empty store; a warm one, which finds
every run stored and reuses it; and warm runs with `--rerun` (θ_o and θ_r from the cache, every method run
again), with the methods in a process pool (the default, `--executor process`) and one after another here
(`--executor serial`), alternated over rounds (best of each). Targets on the 2-core CI CPU: cold <= 60 s,
warm <= 15 s, methods rerun through the pool <= 15 s; the pool / serial ratio is printed.

    python benchmarks/bench_demo.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

TARGETS = {"cold": 60.0, "warm": 15.0, "rerun process": 15.0}


def _demo(store: str, *extra: str) -> float:
    cmd = [sys.executable, "-m", "unlearnlab.cli", "demo", "--store", store, *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "160"})
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"demo {' '.join(extra)} failed:\n{proc.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2, help="Rounds of the two --rerun runs (best counts).")
    args = parser.parse_args()
    store = tempfile.mkdtemp(prefix="unlearnlab-bench-")
    times: dict[str, float] = {}
    try:
        times["cold"] = _demo(store)
        times["warm"] = _demo(store)
        for _ in range(args.rounds):
            for executor in ("process", "serial"):
                t = _demo(store, "--rerun", "--executor", executor)
                times[f"rerun {executor}"] = min(times.get(f"rerun {executor}", t), t)
    finally:
        shutil.rmtree(store, ignore_errors=True)
    for label, seconds in times.items():
        target = TARGETS.get(label)
        verdict = "" if target is None else f"  (target <= {target:.0f} s: {'ok' if seconds <= target else 'OVER TARGET'})"
        print(f"demo {label:14s}: {seconds:6.1f} s{verdict}")
    print(f"methods rerun, process pool / serial: {times['rerun process'] / times['rerun serial']:.3f}")
    from unlearnlab import numerics

    print(f"machine: {numerics.manifest()['cpu']}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
