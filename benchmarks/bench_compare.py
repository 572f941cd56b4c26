"""The comparison analyses (issue 4) of one pair of runs of the default class-wise scenario:
(original, rl) cold in a fresh process (imports and UMAP's numba compilation included), then warm
in that same process, all with the store's cache bypassed, then a cache hit. Target on the 2-core
CI CPU: every analysis of one pair <= 10 s warm.

    python benchmarks/bench_compare.py [--store PATH] [--threads N]

Without --store, $UNLEARNLAB_STORE is used if it holds the demo's class-wise scenario; otherwise a
temporary store is made with the demo's requests and only the methods compared (rl, ft): θ_o, θ_r
and rl are the same as in the full demo, every method being seeded on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

TARGET_WARM_S = 10.0
STAGES = ("load", "activations", "per_class", "matrices", "cka", "umap", "instances")


def find_runs(store_path: str) -> dict[str, str] | None:
    """Run ids (by method) of the demo's class-wise scenario in the store, or None."""
    from unlearnlab.store import Store

    if not os.path.isfile(os.path.join(store_path, "unlearnlab.db")):
        return None
    st = Store(store_path, create=False)
    for sc in st.scenarios():
        if sc["dataset"]["name"] == "digits" and sc["model"]["name"] == "cnn" and sc["forget"] == "class:3" \
                and sc["seed"] == 0 and not sc.get("prune"):
            runs = {r.method: r.id for r in st.runs(sc["id"], status="done")}
            if {"original", "retrain", "rl", "ft"} <= set(runs):
                return runs
    return None


def child(store_path: str, threads: int | None) -> None:
    """Runs in a fresh process: everything it times starts from a cold interpreter."""
    start = time.perf_counter()
    import torch

    if threads:
        torch.set_num_threads(threads)
    from unlearnlab.analysis.compare import compare, compute, resolve_runs
    from unlearnlab.store import Store

    imports = time.perf_counter() - start
    st = Store(store_path, create=False)
    runs = find_runs(store_path)
    rows = []
    for label, a, b in (("cold (original, rl)", "original", "rl"), ("warm (original, rl)", "original", "rl"),
                        ("warm (rl, ft)", "rl", "ft")):
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        result = compute(st, resolve_runs(st, runs[a], runs[b]), timings=timings)
        rows.append((label, time.perf_counter() - t0, timings, len(json.dumps(result).encode())))
    t0 = time.perf_counter()
    compare(st, runs["original"], runs["rl"])  # computes and stores (or finds a stored one)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    compare(st, runs["original"], runs["rl"])
    hit = time.perf_counter() - t0

    print(f"imports (torch, unlearnlab): {imports:.2f} s; torch threads: {torch.get_num_threads()}; "
          f"cpu cores: {os.cpu_count()}")
    print(f"| pair | total (s) | {' | '.join(STAGES)} | payload (kB) |")
    print(f"|---|---:|{'---:|' * len(STAGES)}---:|")
    for label, total, timings, size in rows:
        stages = " | ".join(f"{timings.get(s, 0.0):.2f}" for s in STAGES)
        print(f"| {label} | {total:.2f} | {stages} | {size / 1000:.0f} |")
    warm = max(total for label, total, _, _ in rows if label.startswith("warm"))
    verdict = "ok" if warm <= TARGET_WARM_S else "OVER TARGET"
    print(f"warm, slowest pair: {warm:.2f} s (target <= {TARGET_WARM_S:.0f} s: {verdict})")
    print(f"compare() through the store: first call {first:.2f} s, cache hit {hit * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.store, args.threads)
        return

    store = args.store or os.environ.get("UNLEARNLAB_STORE")
    tmp = None
    if not store or find_runs(store) is None:
        if args.store:
            sys.exit(f"{args.store} holds no finished class-wise demo scenario with original, retrain, rl and ft")
        import unlearnlab as ul

        tmp = store = tempfile.mkdtemp(prefix="unlearnlab-bench-compare-")
        t0 = time.perf_counter()
        ul.api.demo(store=store, methods=["rl", "ft"])
        print(f"made a demo store in {time.perf_counter() - t0:.1f} s: {store}")
    try:
        cmd = [sys.executable, __file__, "--child", "--store", store]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"compare failed:\n{proc.stderr}")
        print(proc.stdout, end="")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
