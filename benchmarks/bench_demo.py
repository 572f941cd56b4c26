"""`unlearnlab demo` end to end, as a user runs it: a cold run on an empty store, then a warm one
that reuses the cached θ_o and θ_r. Targets on the 2-core CI CPU: cold <= 60 s, warm <= 15 s.

    python benchmarks/bench_demo.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

TARGETS = {"cold": 60.0, "warm": 15.0}


def main() -> None:
    store = tempfile.mkdtemp(prefix="unlearnlab-bench-")
    cmd = [sys.executable, "-m", "unlearnlab.cli", "demo", "--store", store]
    try:
        for label in ("cold", "warm"):
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "160"})
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                sys.exit(f"demo failed ({label}):\n{proc.stderr}")
            verdict = "ok" if seconds <= TARGETS[label] else "OVER TARGET"
            print(f"demo {label:4s}: {seconds:6.1f} s  (target <= {TARGETS[label]:.0f} s: {verdict})")
    finally:
        shutil.rmtree(store, ignore_errors=True)
    print(f"cpu cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
