"""What portable numerics cost: the same work in portable mode and in native mode, in one run.

Each mode runs in its own fresh process (the kernel switches are read when the libraries load):
θ_o and θ_r of the default request (digits, small CNN, 20 epochs) and three methods, on a fresh
store, best of `--repeats`. Native mode uses this CPU's best kernels and torch's default thread
count; portable mode pins AVX2 kernels and one thread (see src/unlearnlab/numerics.py); native on one
thread separates the two costs.

    python benchmarks/bench_numerics.py [--repeats 3] [--model cnn] [--methods ft,ga,rl]

Prints both times, their ratio, and whether each mode gave the same weights as the other (it
should not, except on an AVX2 CPU with one core) and as itself in a second process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

WORK = """
import hashlib, json, sys, tempfile, time
import unlearnlab as ul
from unlearnlab import numerics
model, methods = sys.argv[1], sys.argv[2].split(",")
with tempfile.TemporaryDirectory() as store:
    t = time.perf_counter()
    result = ul.run(model=model, forget="class:3", methods=methods, store=store)
    seconds = time.perf_counter() - t
    st = ul.Store(store)
    digest = hashlib.sha256()
    for run in result.runs:
        for tensor in st.load_weights(run.run_id).values():
            digest.update(tensor.numpy().tobytes())
env = numerics.manifest()
print(json.dumps({"seconds": seconds, "weights": digest.hexdigest()[:16], "summary": numerics.summary(env),
                  "threads": result.runs[0].details["environment"]["threads"]["torch"]}))
"""


#: mode -> environment: native on one thread separates the cost of the pinned kernels from that of the thread.
MODES = {"portable": {"UNLEARNLAB_NUMERICS": "portable"}, "native": {"UNLEARNLAB_NUMERICS": "native"},
         "native, 1 thread": {"UNLEARNLAB_NUMERICS": "native", "OMP_NUM_THREADS": "1"}}


def measure(mode: str, model: str, methods: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("UNLEARNLAB_NUMERICS", "OMP_NUM_THREADS")}
    env.update(MODES[mode])
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(WORK), model, methods], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default="cnn")
    ap.add_argument("--methods", default="ft,ga,rl")
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits both modes alike
        for mode in runs:
            runs[mode].append(measure(mode, args.model, args.methods))
    best = {mode: min(r["seconds"] for r in rs) for mode, rs in runs.items()}
    print(f"θ_o + θ_r + {args.methods} on digits/{args.model}, best of {args.repeats} fresh processes")
    for mode, rs in runs.items():
        same = len({r["weights"] for r in rs}) == 1
        print(f"  {mode:16s} {best[mode]:7.2f} s  ({rs[0]['summary']}; run on {rs[0]['threads']} thread(s); "
              f"weights identical across its {len(rs)} processes: {same})")
    print(f"  portable / native time: {best['portable'] / best['native']:.2f}x "
          f"(pinned kernels alone, against native on 1 thread: {best['portable'] / best['native, 1 thread']:.2f}x)")
    print(f"  portable and native weights identical: {runs['portable'][0]['weights'] == runs['native'][0]['weights']}")


if __name__ == "__main__":
    main()
