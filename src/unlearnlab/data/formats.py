"""Readers for the standard data sets' published file formats, to uint8 arrays.

- CIFAR-10/100 "python version": pickled dicts (written by Python 2's cPickle, protocol 2) holding a
  uint8 array `data` of shape (N, 3072) (1024 red, 1024 green, 1024 blue values per image, row-major)
  and label lists; `batches.meta` / `meta` hold the class names (https://www.cs.toronto.edu/~kriz/cifar.html).
- MNIST and Fashion-MNIST: IDX files, gzipped or not (http://yann.lecun.com/exdb/mnist/): a big-endian
  header (two zero bytes, type code 0x08 = unsigned byte, the number of dimensions) and the sizes.
- SVHN "cropped digits": MATLAB v5 files with `X` of shape (32, 32, 3, N) and `y` of shape (N, 1),
  digit 0 labelled 10 (http://ufldl.stanford.edu/housenumbers/), read with `scipy.io.loadmat`.

A file in a data root is not trusted: a pickle is loaded with an Unpickler that resolves only the
three numpy names an array needs (a pickle can otherwise call any importable function), and every
reader checks sizes against the header before it allocates. Every failure is a BadInput naming the file.
"""

from __future__ import annotations

import gzip
import math
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInput

try:  # numpy >= 2 moved it; the official files name the numpy 1 module
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]

#: The only globals a CIFAR batch refers to: numpy's array reconstructor, ndarray and dtype.
_SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
#: Largest IDX payload read (the MNIST training images are 47 MB); a header claiming more is corrupt.
MAX_IDX_BYTES = 1 << 30
IMAGE_BYTES = 3 * 32 * 32
_FIX = "delete it to have it downloaded again, or replace it with the official file"


def corrupt(path: Path, detail: str) -> BadInput:
    return BadInput(f"{path} is corrupted or truncated ({detail}); {_FIX}")


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a data batch never does") from None


def read_pickle(path: Path) -> Any:
    """A pickle of plain data and numpy arrays, read as the official files are (`encoding="bytes"`:
    Python 2 strings stay bytes, numpy's raw array bytes stay untouched)."""
    try:
        with open(path, "rb") as fh:
            return _ArraysOnly(fh, encoding="bytes").load()
    except OSError as exc:
        raise _unreadable(path, exc, "not a readable pickle") from None
    except Exception as exc:  # noqa: BLE001 - a damaged pickle raises nearly any type from C code
        raise corrupt(path, f"not a readable pickle: {_first_line(exc)}") from None


def read_cifar_batch(path: Path, label_keys: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(images uint8 (N, 3, 32, 32), {key: labels int64 (N,)}) from one CIFAR python batch."""
    batch = read_pickle(path)
    if not isinstance(batch, dict):
        raise corrupt(path, f"holds a {type(batch).__name__}, not a CIFAR batch dict")
    data = batch.get(b"data")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != IMAGE_BYTES or len(data) == 0:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise corrupt(path, f"'data' is {got}; a CIFAR batch holds uint8 of shape (N, {IMAGE_BYTES})")
    labels = {}
    for key in label_keys:
        raw = batch.get(key.encode())
        try:
            y = np.asarray(raw)
        except (ValueError, TypeError):
            y = np.asarray(None)
        if y.dtype.kind not in "iu" or y.shape != (len(data),):
            raise corrupt(path, f"{key!r} does not hold {len(data)} integer labels")
        labels[key] = y.astype(np.int64)
    return data.reshape(len(data), 3, 32, 32), labels


def read_names(path: Path, key: str, count: int) -> tuple[str, ...]:
    """`count` class names under `key` of a CIFAR meta file."""
    meta = read_pickle(path)
    names = meta.get(key.encode()) if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != count or not all(isinstance(n, bytes) for n in names):
        raise corrupt(path, f"{key!r} does not hold {count} class names")
    return tuple(n.decode("latin-1") for n in names)


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX array of unsigned bytes with `ndim` dimensions, from a plain or gzipped file."""
    try:
        with open(path, "rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as fh:
            head = fh.read(4)
            if len(head) < 4 or head[:3] != b"\x00\x00\x08" or head[3] != ndim:
                raise corrupt(path, f"header {head.hex() or 'empty'}; an IDX file of unsigned bytes with "
                                    f"{ndim} dimension(s) starts 00000800{ndim:02x}")
            sizes = fh.read(4 * ndim)
            if len(sizes) < 4 * ndim:
                raise corrupt(path, "the header ends early")
            dims = struct.unpack(f">{ndim}I", sizes)
            n = math.prod(dims)
            if n == 0 or n > MAX_IDX_BYTES:
                raise corrupt(path, f"the header gives sizes {dims}")
            body = fh.read(n + 1)  # bounded: one byte more reveals trailing data
    except BadInput:
        raise
    except OSError as exc:
        raise _unreadable(path, exc, "not a readable gzip file") from None
    except (EOFError, zlib.error) as exc:
        raise corrupt(path, f"the gzip stream ends early: {_first_line(exc)}") from None
    if len(body) != n:
        holds = f"{len(body)}" if len(body) < n else "more"
        raise corrupt(path, f"the header promises {n} data bytes for sizes {dims}; the file holds {holds}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels int64 0-9) from an SVHN cropped-digits .mat file."""
    from scipy.io import loadmat

    try:
        mat = loadmat(path, variable_names=["X", "y"])
    except OSError as exc:
        raise _unreadable(path, exc, "not a readable MATLAB file") from None
    except Exception as exc:  # noqa: BLE001 - scipy's MAT parser raises ValueError, TypeError, zlib errors...
        raise corrupt(path, f"not a readable MATLAB file: {_first_line(exc)}") from None
    x, y = mat.get("X"), mat.get("y")
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 4 or x.shape[:3] != (32, 32, 3) \
            or x.shape[3] == 0:
        got = f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else "nothing"
        raise corrupt(path, f"'X' is {got}; SVHN holds uint8 of shape (32, 32, 3, N)")
    n = x.shape[3]
    if not isinstance(y, np.ndarray) or y.dtype.kind not in "iuf" or y.size != n:
        raise corrupt(path, f"'y' does not hold {n} labels")
    labels = y.reshape(-1)
    if not np.all((labels >= 1) & (labels <= 10) & (labels == np.round(labels))):
        raise corrupt(path, "'y' holds labels outside 1-10")
    # SVHN labels the digit 0 as 10 (as torchvision, map it back); images go (H, W, C, N) -> (N, C, H, W).
    return np.transpose(x, (3, 2, 0, 1)), (labels.astype(np.int64) % 10)


def read_olivetti_mat(path: Path) -> np.ndarray:
    """Olivetti faces float32 (400, 64, 64) in [0, 1], image i of person i // 10, from `olivettifaces.mat`
    (the file scikit-learn's `fetch_olivetti_faces` downloads): 'faces' holds one column-major 64x64 image
    per column; scaled to [0, 1] by its minimum and maximum, as scikit-learn does."""
    from scipy.io import loadmat

    try:
        mat = loadmat(path, variable_names=["faces"])
    except OSError as exc:
        raise _unreadable(path, exc, "not a readable MATLAB file") from None
    except Exception as exc:  # noqa: BLE001 - scipy's MAT parser raises ValueError, TypeError, zlib errors...
        raise corrupt(path, f"not a readable MATLAB file: {_first_line(exc)}") from None
    faces = mat.get("faces")
    if not isinstance(faces, np.ndarray) or faces.dtype.kind not in "uif" or faces.shape != (4096, 400):
        got = f"{faces.dtype} {faces.shape}" if isinstance(faces, np.ndarray) else "nothing"
        raise corrupt(path, f"'faces' is {got}; the Olivetti file holds numbers of shape (4096, 400)")
    x = faces.T.astype(np.float32)
    if not np.isfinite(x).all() or x.max() == x.min():
        raise corrupt(path, "'faces' is constant or not finite")
    x -= x.min()
    x /= x.max()
    # MATLAB stores each image column by column: transposing each 64x64 block puts the faces upright.
    return np.ascontiguousarray(x.reshape(400, 64, 64).transpose(0, 2, 1))


def _unreadable(path: Path, exc: OSError, what: str) -> BadInput:
    """An OSError with an errno is the file system's (permissions, I/O); one without is a parser's
    complaint about the content (gzip's BadGzipFile, scipy's 'could not read bytes')."""
    if exc.errno is not None:
        return BadInput(f"{path} cannot be read ({exc.strerror or type(exc).__name__})")
    return corrupt(path, f"{what}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
