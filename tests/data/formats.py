"""Tiny files in each standard data set's published format, written the way the originals were.

CIFAR batches: what Python 2's cPickle wrote (protocol 2, every str a byte string, numpy's
reconstructor under its numpy 1 module name), so the reader meets the opcodes of the official files.
IDX: the magic numbers and big-endian sizes of MNIST's files. SVHN: a MATLAB v5 file from
`scipy.io.savemat` with X (32, 32, 3, N) and y (N, 1), digit 0 labelled 10.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
from scipy.io import savemat

from unlearnlab.data import download

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
COARSE_NAMES = [f"super{i}" for i in range(20)]
FINE_NAMES = [f"fine{i}" for i in range(100)]
FINE_NAMES[69], FINE_NAMES[2] = "rocket", "baby"
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def coarse_of(fine: np.ndarray) -> np.ndarray:
    return fine % 20  # any function of the fine label will do (the official one groups 5 per super-class)


class Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def save_bytes(self, obj: bytes) -> None:
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        self.save_bytes(obj.encode("latin-1"))

    def save_bool(self, obj: bool) -> None:  # Python 2's numpy wrote dtype flags as ints
        self.save_long(int(obj))

    def save_global(self, obj, name=None) -> None:
        if getattr(obj, "__name__", None) == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str
    dispatch[bool] = save_bool
    dispatch[type(len)] = save_global


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _images(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)


def write_cifar10(root: Path, per_batch: int = 8, n_test: int = 20, seed: int = 0) -> dict:
    """ROOT/cifar-10-batches-py as the official archive unpacks it; returns the raw arrays."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    out = {"train": [], "y_train": [], "test": None, "y_test": None}
    for i in range(1, 6):
        x = _images(rng, per_batch, (3072,))
        y = [int(v) for v in (np.arange(per_batch) + i) % 10]
        batch = {"batch_label": f"training batch {i} of 5", "labels": y, "data": x,
                 "filenames": [f"img_{i}_{j}.png" for j in range(per_batch)]}
        (folder / f"data_batch_{i}").write_bytes(py2_pickle(batch))
        out["train"].append(x)
        out["y_train"] += y
    x = _images(rng, n_test, (3072,))
    y = [int(v) for v in np.arange(n_test) % 10]
    (folder / "test_batch").write_bytes(py2_pickle({"batch_label": "testing batch 1 of 1", "labels": y, "data": x,
                                                    "filenames": [f"t{j}.png" for j in range(n_test)]}))
    out["test"], out["y_test"] = x, y
    (folder / "batches.meta").write_bytes(py2_pickle({"num_cases_per_batch": per_batch,
                                                      "label_names": CIFAR10_NAMES, "num_vis": 3072}))
    out["train"] = np.concatenate(out["train"]).reshape(-1, 3, 32, 32)
    out["test"] = out["test"].reshape(-1, 3, 32, 32)
    out["y_train"], out["y_test"] = np.array(out["y_train"]), np.array(y)
    return out


def write_cifar100(root: Path, n_train: int = 40, n_test: int = 20, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for part, n in (("train", n_train), ("test", n_test)):
        x = _images(rng, n, (3072,))
        fine = np.arange(n) % 40 if part == "train" else np.arange(n) % 100
        fine[0] = 69
        if part == "train":
            fine[5] = 69
        coarse = coarse_of(fine)
        (folder / part).write_bytes(py2_pickle({
            "filenames": [f"{part}{j}.png" for j in range(n)], "batch_label": f"{part}ing batch 1 of 1",
            "fine_labels": [int(v) for v in fine], "coarse_labels": [int(v) for v in coarse], "data": x}))
        out[part], out[f"fine_{part}"], out[f"coarse_{part}"] = x.reshape(-1, 3, 32, 32), fine, coarse
    (folder / "meta").write_bytes(py2_pickle({"fine_label_names": FINE_NAMES, "coarse_label_names": COARSE_NAMES}))
    return out


def idx_bytes(a: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.astype(np.uint8).tobytes()


def write_idx_set(root: Path, folder: str, n_train: int = 30, n_test: int = 12, seed: int = 0,
                  gz: bool = True, plain: bool = False) -> dict:
    """ROOT/<folder>/raw/*-ubyte.gz (and/or unpacked, as torchvision keeps both)."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    arrays = {"train-images-idx3-ubyte": _images(rng, n_train, (28, 28)),
              "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
              "t10k-images-idx3-ubyte": _images(rng, n_test, (28, 28)),
              "t10k-labels-idx1-ubyte": (np.arange(n_test)[::-1] % 10).astype(np.uint8)}
    for name, a in arrays.items():
        if gz:
            (raw / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(a), mtime=0))
        if plain:
            (raw / name).write_bytes(idx_bytes(a))
    return {"train": arrays["train-images-idx3-ubyte"][:, None], "y_train": arrays["train-labels-idx1-ubyte"],
            "test": arrays["t10k-images-idx3-ubyte"][:, None], "y_test": arrays["t10k-labels-idx1-ubyte"]}


def class_patterns(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """uint8 28x28 images a classifier can tell apart: class c is a bright 5x5 square in the c-th cell of a 4x3 grid
    (class 9 in the middle of the last row), with random intensities and background noise (no two images equal)."""
    x = rng.integers(0, 48, size=(len(labels), 28, 28), dtype=np.uint8)
    for i, c in enumerate(labels):
        r, col = 3 + 6 * (int(c) // 3), 5 + 6 * (int(c) % 3 if int(c) < 9 else 1)
        x[i, r:r + 5, col:col + 5] = rng.integers(170, 256, size=(5, 5), dtype=np.uint8)
    return x


def write_idx_patterns(root: Path, folder: str, n_train: int = 30, n_test: int = 12, seed: int = 0) -> dict:
    """ROOT/<folder>/raw/*-ubyte.gz in MNIST's format holding `class_patterns` images (10 classes in turn):
    learnable, unlike `write_idx_set`'s random pixels, for tests that train on them."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    y_train, y_test = (np.arange(n_train) % 10).astype(np.uint8), (np.arange(n_test) % 10).astype(np.uint8)
    arrays = {"train-images-idx3-ubyte": class_patterns(rng, y_train), "train-labels-idx1-ubyte": y_train,
              "t10k-images-idx3-ubyte": class_patterns(rng, y_test), "t10k-labels-idx1-ubyte": y_test}
    for name, a in arrays.items():
        (raw / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(a), mtime=0))
    return {"train": arrays["train-images-idx3-ubyte"][:, None], "y_train": y_train,
            "test": arrays["t10k-images-idx3-ubyte"][:, None], "y_test": y_test}


def write_svhn(root: Path, n_train: int = 24, n_test: int = 10, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for part, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
        digits = np.arange(n) % 10
        y = np.where(digits == 0, 10, digits).astype(np.uint8).reshape(n, 1)  # SVHN labels 0 as 10
        savemat(root / f"{part}_32x32.mat", {"X": x, "y": y})
        out[part], out[f"y_{part}"] = np.transpose(x, (3, 2, 0, 1)), digits
    return out


def write_olivetti(root: Path, seed: int = 0) -> dict:
    """olivettifaces.mat as scikit-learn downloads it: 'faces', one column-major 64x64 image per column
    (4096, 400), person i // 10 in column i; the pixels are random, the layout is the real one."""
    rng = np.random.default_rng(seed)
    faces = rng.integers(0, 256, size=(400, 64, 64), dtype=np.uint8)  # upright images, as read back
    faces[0, 0, 0], faces[0, 0, 1] = 0, 255  # the full range, so min-max scaling is x / 255
    root.mkdir(parents=True, exist_ok=True)
    savemat(root / "olivettifaces.mat", {"faces": faces.transpose(0, 2, 1).reshape(400, 4096).T})
    return {"images": faces}


WRITERS = {
    "cifar10": write_cifar10,
    "cifar100": write_cifar100,
    "cifar20": write_cifar100,
    "mnist": lambda root, **kw: write_idx_set(root, "MNIST", **kw),
    "fashion_mnist": lambda root, **kw: write_idx_set(root, "FashionMNIST", **kw),
    "svhn": write_svhn,
    "olivetti": write_olivetti,
}


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def trust(monkeypatch, root: Path) -> None:
    """Let the checksum table list the md5s of the tiny files under `root` (the official ones stay
    for every other path); what the loader verifies is unchanged."""
    table = dict(download.CHECKSUMS)
    for p in root.rglob("*"):
        if p.is_file():
            table[p.relative_to(root).as_posix()] = md5(p)
    monkeypatch.setattr(download, "CHECKSUMS", table)


def tiny(name: str, root: Path, monkeypatch) -> dict:
    """The tiny files of data set `name` under `root`, trusted by the checksum table; their raw arrays."""
    raw = WRITERS[name](root)
    trust(monkeypatch, root)
    return raw


def tar_gz(folder: Path, dest: Path, extra: dict[str, bytes] | None = None) -> Path:
    """An archive holding `folder/` (as the official CIFAR archives do), plus `extra` members."""
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest
