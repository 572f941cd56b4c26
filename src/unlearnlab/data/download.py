"""Downloads of the standard data sets' official files: checksum-verified, atomic, with a progress bar.

`CHECKSUMS` maps a path under the data root to its md5, the values torchvision lists
(torchvision/datasets/cifar.py, mnist.py, svhn.py), or to its sha256 (64 hex digits: Olivetti's, as
scikit-learn lists it in sklearn/datasets/_olivetti_faces.py); `SOURCES` maps the files that are fetched to the
addresses they are published at, tried in order. Both are read-only here; tests point them at their
own tiny files by replacing the module attributes (pytest's monkeypatch), never by switching a check
off: a file with no entry in `CHECKSUMS` is never downloaded.

A download goes to a hidden temporary file beside its destination, is verified while it streams, and
is renamed into place only when its length and md5 match; an archive is extracted into a temporary
folder and moved into place the same way. A failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, Mapping
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

from ..errors import BadInput

CHUNK = 1 << 20
#: Seconds without data before a download is given up.
TIMEOUT_S = 60

_CIFAR = "https://www.cs.toronto.edu/~kriz/"
# The S3 mirror first: yann.lecun.com now often refuses (torchvision changed its order too).
_MNIST = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_FASHION = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")
_SVHN = "http://ufldl.stanford.edu/housenumbers/"
_OLIVETTI = "https://ndownloader.figshare.com/files/5976027"  # scikit-learn's address for olivettifaces.mat
_IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz")

CHECKSUMS: Mapping[str, str] = MappingProxyType({
    "cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a",
    "cifar-10-batches-py/data_batch_1": "c99cafc152244af753f735de768cd75f",
    "cifar-10-batches-py/data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "cifar-10-batches-py/data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "cifar-10-batches-py/data_batch_4": "634d18415352ddfa80567beed471001a",
    "cifar-10-batches-py/data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "cifar-10-batches-py/test_batch": "40351d587109b95175f43aff81a1287e",
    "cifar-10-batches-py/batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
    "cifar-100-python.tar.gz": "eb9058c3a382ffc7106e4002c42a8d85",
    "cifar-100-python/train": "16019d7e3df5f24257cddd939b257f8d",
    "cifar-100-python/test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
    "cifar-100-python/meta": "7973b15100ade9c7d40fb424638fde48",
    "MNIST/raw/train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "MNIST/raw/train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "MNIST/raw/t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "MNIST/raw/t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    "FashionMNIST/raw/train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "FashionMNIST/raw/train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "FashionMNIST/raw/t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    "train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
    "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3",
    "olivettifaces.mat": "b612fb967f2dc77c9c62d3e1266e0c73d5fca46a4b8906c18e454d41af987794",
})

SOURCES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "cifar-10-python.tar.gz": (_CIFAR + "cifar-10-python.tar.gz",),
    "cifar-100-python.tar.gz": (_CIFAR + "cifar-100-python.tar.gz",),
    **{f"MNIST/raw/{f}": tuple(m + f for m in _MNIST) for f in _IDX},
    **{f"FashionMNIST/raw/{f}": tuple(m + f for m in _FASHION) for f in _IDX},
    "train_32x32.mat": (_SVHN + "train_32x32.mat",),
    "test_32x32.mat": (_SVHN + "test_32x32.mat",),
    "olivettifaces.mat": (_OLIVETTI,),
})


class DownloadFailed(Exception):
    """No verified copy of a file could be had; the message says why, on one line."""


def _hasher(expected: str) -> Any:
    """The hash `expected` is written in: sha256 for 64 hex digits, else md5."""
    return hashlib.sha256() if len(expected) == 64 else hashlib.md5(usedforsecurity=False)


def _algorithm(expected: str) -> str:
    return "sha256" if len(expected) == 64 else "md5"


def md5_of(path: Path, expected: str = "") -> str:
    """The file's md5, or its sha256 when `expected` is one (64 hex digits)."""
    h = _hasher(expected)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, rel: str) -> None:
    """BadInput naming `path` unless its md5 (or sha256) is the one `CHECKSUMS` lists for `rel` (if any)."""
    expected = CHECKSUMS.get(rel)
    if expected is None:
        return
    try:
        got = md5_of(path, expected)
    except OSError as exc:
        raise BadInput(f"{path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    if got != expected:
        raise BadInput(f"{path} is corrupted or truncated ({_algorithm(expected)} {got}, the official file's is "
                       f"{expected}); "
                       "delete it to have it downloaded again, or replace it with the official file")


def fetch(rel: str, root: Path, *, progress: bool | None = None) -> Path:
    """Download `rel` (a key of `SOURCES`) to `root/rel`, trying each address in turn; DownloadFailed
    if none gives a file of the published md5. `progress`: a Rich bar on stderr (default: if a terminal)."""
    expected = CHECKSUMS.get(rel)
    if expected is None:
        raise DownloadFailed(f"no checksum is known for {rel}, so it is not downloaded")
    dest = root / rel
    reasons = []
    for url in SOURCES.get(rel, ()):
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            _download(url, dest, expected, sys.stderr.isatty() if progress is None else progress)
            return dest
        except DownloadFailed as exc:
            reasons.append(str(exc))
        except OSError as exc:
            reasons.append(f"{dest.parent} cannot be written ({exc.strerror or type(exc).__name__})")
    raise DownloadFailed("; ".join(reasons) or f"no address is known for {rel}")


def _download(url: str, dest: Path, expected: str, progress: bool) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        h, got = _hasher(expected), 0
        with os.fdopen(fd, "wb") as out, urlopen(url, timeout=TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with _bar(dest.name, total, progress) as advance:
                while chunk := response.read(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    got += len(chunk)
                    advance(len(chunk))
        if total is not None and got != total:
            raise DownloadFailed(f"{url} ended after {got} of {total} bytes")
        if h.hexdigest() != expected:
            raise DownloadFailed(f"{url} sent {got} bytes with {_algorithm(expected)} {h.hexdigest()}, not the "
                                 f"published {expected}")
        os.replace(tmp, dest)
    except HTTPError as exc:
        raise DownloadFailed(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except URLError as exc:
        raise DownloadFailed(f"{url}: URLError {_one_line(exc.reason)}") from None
    except (http.client.HTTPException, OSError, ValueError) as exc:
        raise DownloadFailed(f"{url}: {type(exc).__name__} {_one_line(exc)}".rstrip()) from None
    finally:
        tmp.unlink(missing_ok=True)


def extract(archive: Path, root: Path, folder: str) -> None:
    """Unpack the tar.gz `archive`, which must hold only `folder/` and plain files in it, so that
    every file of `folder` missing under `root` appears; a file already there is left as it is."""
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{folder}."))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for m in members:
                parts = PurePosixPath(m.name).parts
                if not parts or parts[0] != folder or ".." in parts or m.name.startswith("/") \
                        or not (m.isfile() or m.isdir()):
                    raise DownloadFailed(f"{archive.name} holds {m.name!r}, which is not a plain file in {folder}/")
            # 'data' refuses links, devices and absolute paths (Python >= 3.10.12); checked above too
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(tmp, members=members, **kwargs)  # noqa: S202 - members checked above
        target, unpacked = root / folder, tmp / folder
        if not target.exists():
            os.replace(unpacked, target)
            return
        for src in sorted(unpacked.rglob("*")):
            dst = target / src.relative_to(unpacked)
            if src.is_dir():
                dst.mkdir(exist_ok=True)
            elif not dst.exists():
                os.replace(src, dst)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise DownloadFailed(f"{archive.name} cannot be unpacked ({type(exc).__name__} {_one_line(exc)})") from None
    except OSError as exc:
        raise DownloadFailed(f"{archive.name} cannot be unpacked into {root} "
                             f"({exc.strerror or type(exc).__name__})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _bar(label: str, total: int | None, show: bool) -> Iterator[Callable[[int], None]]:
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(f"downloading {label}", total=total)
        yield lambda n: bar.advance(task, n)


def _one_line(value: object) -> str:
    text = str(value).strip().splitlines()
    return text[0] if text else ""
