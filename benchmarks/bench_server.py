"""The web API over real HTTP, with 200 runs in the store (issue 5's performance targets).

Fills a store with the default class-wise scenario and 200 cheap real runs (GA over a grid of
learning rates and epochs), starts `unlearnlab serve` in a subprocess, then measures with plain
HTTP requests: the Screen payload (p95 <= 200 ms), the Contrast payload of a pair once cached
(<= 300 ms and <= 1 MB; its first, uncached computation is reported too).

    python benchmarks/bench_server.py [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

from unlearnlab.methods import build_method
from unlearnlab.runner import execute, prepare
from unlearnlab.store import Store

TARGETS = {"screen_p95_ms": 200.0, "contrast_ms": 300.0, "contrast_bytes": 1_000_000}


def fill(root: str, n_runs: int) -> tuple[str, list[str]]:
    scenario = prepare("digits", "cnn", "class:3")
    store = Store(root)
    lrs = np.geomspace(1e-4, 1e-2, n_runs // 2)
    methods = [build_method("ga", {"lr": float(lr), "epochs": e}) for lr in lrs for e in (1, 2)][:n_runs]
    comparison = execute(scenario, methods, store)
    return comparison.scenario["id"], [r.run_id for r in comparison.runs]


def get(url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read()
    return (time.perf_counter() - start) * 1000, body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="unlearnlab-bench-server-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = None
    try:
        start = time.perf_counter()
        sid, run_ids = fill(root, args.runs)
        print(f"store: {len(run_ids)} runs (θ_o, θ_r and {len(run_ids) - 2} GA runs) in {time.perf_counter() - start:.0f} s")
        server = subprocess.Popen([sys.executable, "-m", "unlearnlab.cli", "serve", "--store", root, "--port",
                                   str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                get(base + "/api/health")
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("the server did not start")

        screen = [get(f"{base}/api/scenarios/{sid}/runs") for _ in range(60)][10:]  # 10 warm-up requests
        ms = np.array([t for t, _ in screen])
        n = len(json.loads(screen[0][1])["runs"])
        p95 = float(np.percentile(ms, 95))
        print(f"Screen payload ({n} runs, {len(screen[0][1]) / 1e3:.0f} kB): median {np.median(ms):.1f} ms, "
              f"p95 {p95:.1f} ms (target <= {TARGETS['screen_p95_ms']:.0f} ms: "
              f"{'ok' if p95 <= TARGETS['screen_p95_ms'] else 'OVER TARGET'})")

        pair = f"{base}/api/compare?a={run_ids[0]}&b={run_ids[2]}"
        first, body = get(pair)
        print(f"Contrast payload, first computation right after start-up (waits for the UMAP compilation): "
              f"{first / 1e3:.1f} s")
        second, _ = get(f"{base}/api/compare?a={run_ids[0]}&b={run_ids[3]}")
        print(f"Contrast payload, first computation of another pair (worker warm): {second / 1e3:.1f} s")
        cached = np.array([get(pair)[0] for _ in range(20)])
        p95 = float(np.percentile(cached, 95))
        size_ok = len(body) <= TARGETS["contrast_bytes"]
        print(f"Contrast payload, cached: median {np.median(cached):.1f} ms, p95 {p95:.1f} ms, {len(body) / 1e3:.0f} kB "
              f"(targets <= {TARGETS['contrast_ms']:.0f} ms and <= 1 MB: "
              f"{'ok' if p95 <= TARGETS['contrast_ms'] and size_ok else 'OVER TARGET'})")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    print(f"cpu cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
