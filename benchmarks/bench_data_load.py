"""Loading a full-size CIFAR-10 from its published format: time, peak memory, fingerprint cost.

Writes 50,000 + 10,000 random 32x32x3 images as the official python batches (protocol-2 pickles,
as tests/data/formats.py writes them) into a temporary data root, lets the checksum table trust
them (the official md5s are for the real images), then, in a fresh process:

- `load_dataset("cifar10", data_root=...)`: md5 of every file, restricted unpickling, uint8 ->
  float32 normalisation (wall time, and peak RSS of the process, interpreter and torch included,
  against the 737 MB the float32 arrays hold);
- `Dataset.fingerprint` as computed now (hashing the arrays in place) against the former
  `tobytes()` copy of each array, as a ratio, both giving the same digest.

    python benchmarks/bench_data_load.py
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import hashlib, json, resource, sys, time
from pathlib import Path
import numpy as np
from unlearnlab.data import download, load_dataset

root, sums = Path(sys.argv[1]), json.loads(sys.argv[2])
base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # the interpreter with unlearnlab (and torch)
download.CHECKSUMS = {**download.CHECKSUMS, **sums}
t0 = time.perf_counter()
ds = load_dataset("cifar10", data_root=root)
load_s = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # before the copying fingerprint below
t0 = time.perf_counter()
fp = ds.fingerprint
fp_s = time.perf_counter() - t0

def copying():  # the former fingerprint: one tobytes() copy per array
    h = hashlib.sha256()
    h.update(json.dumps([ds.name, ds.num_classes, list(ds.class_names)]).encode() + b"\n")
    for key in ("x_train", "y_train", "x_test", "y_test", "groups_train"):
        a = getattr(ds, key)
        if a is None:
            h.update(f"{key}|none\n".encode()); continue
        h.update(f"{key}|{a.dtype.str}|{a.shape}|{a.nbytes}\n".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()

t0 = time.perf_counter()
old = copying()
old_s = time.perf_counter() - t0
nbytes = ds.x_train.nbytes + ds.x_test.nbytes
print(json.dumps({"load_s": load_s, "fingerprint_s": fp_s, "fingerprint_copying_s": old_s, "same": fp == old,
                  "arrays_mb": nbytes / 1e6, "peak_rss_mb": peak_mb, "base_rss_mb": base_mb,
                  "shape": list(ds.x_train.shape)}))
"""


def write(root: Path) -> dict[str, str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import numpy as np

    from tests.data.formats import py2_pickle

    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        x = rng.integers(0, 256, size=(10_000, 3072), dtype=np.uint8)
        (folder / name).write_bytes(py2_pickle({"batch_label": name, "labels": [int(v) for v in rng.integers(0, 10, 10_000)],
                                                "data": x, "filenames": [f"{i}.png" for i in range(10_000)]}))
    (folder / "batches.meta").write_bytes(py2_pickle({"label_names": [f"c{i}" for i in range(10)]}))
    return {f"cifar-10-batches-py/{p.name}": hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="unlearnlab-bench-data-"))
    try:
        sums = write(root)
        out = subprocess.run([sys.executable, "-c", CHILD, str(root), json.dumps(sums)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        assert r["same"], "the in-place fingerprint must equal the copying one"
        grown = r["peak_rss_mb"] - r["base_rss_mb"]
        print(f"cifar10 {r['shape']}: load {r['load_s']:.2f} s; peak RSS {r['peak_rss_mb']:.0f} MB, of which "
              f"{grown:.0f} MB over the {r['base_rss_mb']:.0f} MB after import, for {r['arrays_mb']:.0f} MB of "
              f"float32 arrays ({grown / r['arrays_mb']:.2f}x)")
        print(f"fingerprint {r['fingerprint_s']:.2f} s in place vs {r['fingerprint_copying_s']:.2f} s copying "
              f"({r['fingerprint_copying_s'] / r['fingerprint_s']:.2f}x), same digest")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
