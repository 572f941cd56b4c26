"""A full audit of one method on the default request with N = 16, as `unlearnlab audit` runs it.

Phase 1 (not the target): train the reference ensembles (16 θ_o + 16 θ_r) into a fresh store.
Phase 2 (target <= 3 min on the 2-core CI CPU, references cached): audit RL: its 16-member
ensemble in worker processes, U-LiRA / F / KLoM with their nulls, LiRA and relearning.
Phase 3: the same method ensemble again on one serial worker, for the parallel speed-up ratio.
Then the peak memory of this process and of the largest worker.

    python benchmarks/bench_audit.py [--method rl] [--refs 16]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time

import unlearnlab as ul
from unlearnlab.audits import EnsembleBuilder
from unlearnlab.executors import make_executor
from unlearnlab.methods import build_method
from unlearnlab.store import Store

TARGET_S = 180.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", default="rl")
    parser.add_argument("--refs", type=int, default=16)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="unlearnlab-bench-audit-")
    try:
        comparison = ul.run(forget="class:3", methods=[args.method], store=root)
        store = Store(root)
        run_id, scenario_id = comparison.run(args.method).run_id, comparison.scenario["id"]

        executor = make_executor("process")
        start = time.perf_counter()
        EnsembleBuilder(store, scenario_id, executor=executor).references(args.refs)
        executor.close()
        print(f"reference ensembles ({2 * args.refs} models, {executor.workers} workers): "
              f"{time.perf_counter() - start:6.1f} s (one-off, cached)")

        start = time.perf_counter()
        res = ul.audit(run_id, refs=args.refs, store=store)
        total = time.perf_counter() - start
        t = res["timing"]
        verdict = "ok" if total <= TARGET_S else "OVER TARGET"
        print(f"audit of {args.method}, N={args.refs}: {total:6.1f} s (target <= {TARGET_S:.0f} s: {verdict})\n"
              f"  method ensemble {t['ensembles_s']:.1f} s (incl. worker start-up), statistics {t['statistics_s']:.1f} s,"
              f" relearning {t['relearn_s']:.1f} s")

        # the same method ensemble on one worker, for the speed-up of the worker processes
        builder = EnsembleBuilder(store, scenario_id, executor=make_executor("serial"))
        params = build_method(args.method).get_params()
        for i in range(args.refs):
            key = builder._method_key(args.method, params, i, build_method(args.method).needs_retrain)
            for suffix in (".npz", ".json"):
                (store.cache_dir / "members" / f"{key}{suffix}").unlink()
        start = time.perf_counter()
        builder.ensemble(args.method, None, args.refs)
        serial = time.perf_counter() - start
        print(f"method ensemble on 1 worker: {serial:.1f} s; worker processes: {t['ensembles_s']:.1f} s "
              f"(ratio {serial / t['ensembles_s']:.2f}x)")
        print(f"verdicts: {res['verdicts']}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"cpu cores: {os.cpu_count()}")
    # ru_maxrss is in KiB on Linux; for children, the largest one that ended (a worker process)
    parent, worker = (resource.getrusage(who).ru_maxrss / 1024 for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    print(f"peak RSS: this process {parent:.0f} MiB, largest worker {worker:.0f} MiB")


if __name__ == "__main__":
    main()
