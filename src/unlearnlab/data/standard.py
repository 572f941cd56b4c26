"""The field's standard image data sets: cifar10, cifar100, cifar20, mnist, fashion_mnist, svhn, and olivetti
(faces with identities, for `group:` requests).

Each is read from its published on-disk format (`formats`) under the data root (`roots`), in the
folder layout torchvision uses, so files a user already downloaded with torchvision are found:

    ROOT/cifar-10-batches-py/   data_batch_1..5, test_batch, batches.meta
    ROOT/cifar-100-python/      train, test, meta               (cifar100 and cifar20)
    ROOT/MNIST/raw/             {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
    ROOT/FashionMNIST/raw/      the same names
    ROOT/train_32x32.mat, ROOT/test_32x32.mat                   (svhn: torchvision uses ROOT itself)
    ROOT/olivettifaces.mat                                      (olivetti: the file scikit-learn downloads)

Missing files are downloaded from the official addresses and checked against the published md5s
(`download`); every file is checked against them on every load, so a corrupted or truncated file is
reported by name, never read. Offline, the error says which files to put where.

Why not torchvision's dataset classes: torchvision pins the torch build it was compiled against, so
installing it on a CPU machine pulls a multi-GB CUDA torch, and its classes return PIL images one
at a time. The formats are small and documented; reading them directly needs only NumPy and SciPy.
torchvision is not required, and not used when installed: one reader, one set of results.

The official train/test split is kept (`test_size` does not apply). Images are float32 NCHW,
`(x / 255 - mean) / std` per channel with the data set's constants, converted once from uint8; the
constants and their source are recorded in `Dataset.info`, and so with every stored run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInput
from ..registry import Registry
from ..validation import check_int
from . import download, formats
from .datasets import _MAX_SEED, MAX_ARRAYS_BYTES, Dataset, _check_common, _split, check_input_file, register_dataset
from .roots import resolve_data_root

_SALUN = ("SalUn's code (Fan et al. 2024, ICLR, github.com/OPTML-Group/Unlearn-Saliency, "
          "Classification/utils.py), as l1-sparse (Jia et al. 2023)")


@dataclass
class Parts:
    """What a reader returns: uint8 NCHW images (in chunks, converted once) and int64 labels."""

    train: list[np.ndarray]
    y_train: np.ndarray
    test: list[np.ndarray]
    y_test: np.ndarray
    class_names: tuple[str, ...]
    fine_train: np.ndarray | None = None
    fine_test: np.ndarray | None = None
    fine_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Standard:
    """One standard data set: its files under the data root, how to get and read them, its constants."""

    name: str
    title: str
    homepage: str
    folder: str                      # where its files live under the root ("" = the root itself)
    files: tuple[str, ...]           # paths under the root, each checked against download.CHECKSUMS
    #: None for a data set with its own loader (olivetti: split per person, not an official split).
    read: Callable[[Path, Standard], Parts] | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    constants_from: str
    num_classes: int
    archive: str | None = None       # a tar.gz holding `folder` (CIFAR); else each file is fetched
    doc: str = ""

    def locate(self, root: Path, rel: str) -> tuple[Path, str] | None:
        """The file standing for `rel`, with the key it is checked under; torchvision keeps MNIST's
        files both gzipped and unpacked, and either serves (only the .gz has a published md5)."""
        if (root / rel).is_file():
            return root / rel, rel
        if rel.endswith(".gz") and (root / rel[:-3]).is_file():
            return root / rel[:-3], rel[:-3]
        return None

    def missing(self, root: Path) -> list[str]:
        return [rel for rel in self.files if self.locate(root, rel) is None]

    def instructions(self, root: Path) -> str:
        """Which files to put where, for the one-line error when they cannot be downloaded."""
        if self.archive:
            url = download.SOURCES[self.archive][0]
            return f"download {self.archive} from {url} and extract it into {root}"
        names = [rel.rsplit("/", 1)[-1] for rel in self.files]
        urls = [download.SOURCES[rel][0] for rel in self.files]
        if any(not url.endswith("/" + name) for url, name in zip(urls, names)):  # an address without the name
            return "; ".join(f"download {url} as {name} into {root / self.folder}" for url, name in zip(urls, names))
        bases = {url.rsplit("/", 1)[0] + "/" for url in urls}
        return f"download {', '.join(names)} from {' or '.join(sorted(bases))} into {root / self.folder}"


STANDARD: Registry[Standard] = Registry("standard data set")


def register_standard(spec: Standard) -> Standard:
    """Register `spec` and its loader `name(seed=0, data_root=None, test_size=None)` (test_size only
    to refuse it in words) in the data-set registry."""
    STANDARD.add(spec.name, spec)

    def loader(seed: int = 0, data_root: str | None = None, test_size: float | None = None) -> Dataset:
        return load_standard(spec, seed=seed, data_root=data_root, test_size=test_size)

    loader.__name__ = loader.__qualname__ = spec.name
    loader.__doc__ = spec.doc
    register_dataset(spec.name, num_classes=spec.num_classes)(loader)
    return spec


def available(data_root: str | os.PathLike[str] | None = None) -> list[str]:
    """The standard data sets whose files are all present under the data root (nothing is read)."""
    root = resolve_data_root(data_root).path
    return [n for n in STANDARD if root.is_dir() and not STANDARD.get(n).missing(root)]


def load_standard(spec: Standard, seed: int = 0, data_root: str | os.PathLike[str] | None = None,
                  test_size: float | None = None, progress: bool | None = None) -> Dataset:
    """Read `spec` from the data root, downloading missing files first; BadInput (one line) otherwise."""
    check_int("seed", seed, 0)
    if seed > _MAX_SEED:
        raise BadInput(f"seed={seed!r} is not allowed; it must be an integer in [0, {_MAX_SEED}]")
    if test_size is not None:
        raise BadInput(f"test_size={test_size!r} does not apply to dataset {spec.name!r}: it keeps the official "
                       "train/test split; leave test_size out")
    root = _root_with(spec, data_root, progress)
    assert spec.read is not None, f"{spec.name} has its own loader"
    try:
        parts = spec.read(root, spec)
    except BadInput as exc:
        raise BadInput(f"{spec.name}: {exc}") from None
    mean, std = np.asarray(spec.mean, np.float32), np.asarray(spec.std, np.float32)
    return Dataset(
        name=spec.name, x_train=_normalised(parts.train, mean, std), y_train=parts.y_train,
        x_test=_normalised(parts.test, mean, std), y_test=parts.y_test, num_classes=spec.num_classes,
        params={"data_root": str(root)}, class_names=parts.class_names,
        fine_train=parts.fine_train, fine_test=parts.fine_test, fine_names=parts.fine_names,
        info={"source": f"{spec.title}, {spec.homepage}", "split": "official",
              "normalize": {"mean": list(spec.mean), "std": list(spec.std), "from": spec.constants_from}},
    )


def _root_with(spec: Standard, data_root: str | os.PathLike[str] | None, progress: bool | None) -> Path:
    """The data root, with `spec`'s files in it: downloaded (and verified) first where some are missing."""
    resolved = resolve_data_root(data_root)
    if resolved.path.is_dir() and not spec.missing(resolved.path):
        return resolved.path
    root = resolved.check()  # BadInput if the folder the user named is missing; the cache is created
    _obtain(spec, root, progress)
    return root


def _obtain(spec: Standard, root: Path, progress: bool | None) -> None:
    """Download what is missing, one process at a time per data root; BadInput (one line) saying
    which files to put where if that fails. Folders made for the files are removed again if empty."""
    from filelock import FileLock, Timeout

    where = root / spec.folder
    # the lock lives in the temporary folder, not in the user's data root
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    lock = FileLock(os.path.join(tempfile.gettempdir(), f"unlearnlab-download-{digest}.lock"), timeout=24 * 3600)
    made = [p for p in (where, *where.parents) if root in p.parents and not p.exists()]  # deepest first
    try:
        with lock:
            if spec.missing(root):  # else another process finished it while this one waited
                _fetch_missing(spec, root, progress)
    except (download.DownloadFailed, OSError, Timeout) as exc:
        for p in made:
            with contextlib.suppress(OSError):
                p.rmdir()
        reason = str(exc) if isinstance(exc, download.DownloadFailed) else \
            f"{root} cannot be written: {getattr(exc, 'strerror', None) or type(exc).__name__}"
        raise BadInput(f"{spec.name}: files not found under {where} and the download failed ({reason}); "
                       f"{spec.instructions(root)}") from None
    left = spec.missing(root)
    if left:  # an archive that lacks a file
        raise BadInput(f"{spec.name}: {root / left[0]} is still missing after the download; "
                       f"{spec.instructions(root)}")


def _fetch_missing(spec: Standard, root: Path, progress: bool | None) -> None:
    if not spec.archive:
        for rel in spec.missing(root):
            download.fetch(rel, root, progress=progress)
        return
    archive = root / spec.archive
    if archive.is_file():  # the user put the archive there: verify and unpack it, and keep it
        try:
            download.verify(archive, spec.archive)
        except BadInput as exc:
            raise download.DownloadFailed(str(exc)) from None
        download.extract(archive, root, spec.folder)
        return
    fetched = download.fetch(spec.archive, root, progress=progress)
    try:
        download.extract(fetched, root, spec.folder)
    finally:
        fetched.unlink(missing_ok=True)


def _file(root: Path, spec: Standard, rel: str) -> Path:
    """The present, checksum-verified file standing for `rel` (BadInput naming it otherwise)."""
    found = spec.locate(root, rel)
    if found is None:  # removed since the check
        raise BadInput(f"{root / rel} is missing; {spec.instructions(root)}")
    path, key = found
    check_input_file(str(path), str(path), spec.instructions(root), MAX_ARRAYS_BYTES)
    download.verify(path, key)
    return path


def _normalised(chunks: list[np.ndarray], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """uint8 NCHW chunks -> one float32 array, (x / 255 - mean) / std per channel, in place: the
    only full-size allocation (CIFAR-10's training images: 600 MB)."""
    n = sum(len(c) for c in chunks)
    out = np.empty((n, *chunks[0].shape[1:]), dtype=np.float32)
    at = 0
    for c in chunks:
        out[at:at + len(c)] = c
        at += len(c)
    shape = (1, -1) + (1,) * (out.ndim - 2)
    out *= (1.0 / (255.0 * std)).reshape(shape)
    out -= (mean / std).reshape(shape)
    return out


def _check_labels(y: np.ndarray, k: int, path: Path) -> np.ndarray:
    if y.size and (y.min() < 0 or y.max() >= k):
        bad = int(y[(y < 0) | (y >= k)][0])
        raise formats.corrupt(path, f"it holds label {bad}; labels are in [0, {k - 1}]")
    return y


# ---------------------------------------------------------------------------------------------------
# Readers, one per layout


def _read_cifar10(root: Path, spec: Standard) -> Parts:
    chunks, labels = {}, {}
    for part, names in (("train", [f"data_batch_{i}" for i in range(1, 6)]), ("test", ["test_batch"])):
        xs, ys = [], []
        for name in names:
            path = _file(root, spec, f"{spec.folder}/{name}")
            x, y = formats.read_cifar_batch(path, ("labels",))
            xs.append(x)
            ys.append(_check_labels(y["labels"], 10, path))
        chunks[part], labels[part] = xs, np.concatenate(ys)
    names = formats.read_names(_file(root, spec, f"{spec.folder}/batches.meta"), "label_names", 10)
    return Parts(chunks["train"], labels["train"], chunks["test"], labels["test"], names)


def _read_cifar100(root: Path, spec: Standard, coarse: bool) -> Parts:
    meta = _file(root, spec, f"{spec.folder}/meta")
    fine_names = formats.read_names(meta, "fine_label_names", 100)
    coarse_names = formats.read_names(meta, "coarse_label_names", 20)
    read = {}
    for part in ("train", "test"):
        path = _file(root, spec, f"{spec.folder}/{part}")
        x, y = formats.read_cifar_batch(path, ("fine_labels", "coarse_labels"))
        fine, sup = _check_labels(y["fine_labels"], 100, path), _check_labels(y["coarse_labels"], 20, path)
        # each fine class belongs to exactly one super-class (5 per super-class in the official files)
        pairs = np.unique(np.stack([fine, sup]), axis=1)
        split = pairs[0][np.flatnonzero(np.diff(pairs[0]) == 0)]
        if split.size:
            raise formats.corrupt(path, f"fine class {int(split[0])} appears under two super-classes")
        read[part] = (x, fine, sup)
    if not coarse:
        return Parts([read["train"][0]], read["train"][1], [read["test"][0]], read["test"][1], fine_names)
    return Parts([read["train"][0]], read["train"][2], [read["test"][0]], read["test"][2], coarse_names,
                 fine_train=read["train"][1], fine_test=read["test"][1], fine_names=fine_names)


def _read_idx_pair(root: Path, spec: Standard, prefix: str, path_of: Callable[[str], str]) -> tuple:
    images_rel, labels_rel = path_of(f"{prefix}-images-idx3-ubyte.gz"), path_of(f"{prefix}-labels-idx1-ubyte.gz")
    images_path, labels_path = _file(root, spec, images_rel), _file(root, spec, labels_rel)
    images, labels = formats.read_idx(images_path, 3), formats.read_idx(labels_path, 1)
    if len(images) != len(labels):
        raise formats.corrupt(labels_path, f"{len(labels)} labels for the {len(images)} images of {images_path.name}")
    return images[:, None], _check_labels(labels.astype(np.int64), 10, labels_path)


def _reader_idx(class_names: tuple[str, ...]) -> Callable[[Path, Standard], Parts]:
    def read(root: Path, spec: Standard) -> Parts:
        def path_of(name: str) -> str:
            return f"{spec.folder}/{name}"

        x_train, y_train = _read_idx_pair(root, spec, "train", path_of)
        x_test, y_test = _read_idx_pair(root, spec, "t10k", path_of)
        return Parts([x_train], y_train, [x_test], y_test, class_names)

    return read


def _read_svhn(root: Path, spec: Standard) -> Parts:
    x_train, y_train = formats.read_svhn_mat(_file(root, spec, "train_32x32.mat"))
    x_test, y_test = formats.read_svhn_mat(_file(root, spec, "test_32x32.mat"))
    return Parts([x_train], y_train, [x_test], y_test, tuple(str(d) for d in range(10)))


# ---------------------------------------------------------------------------------------------------
# The data sets

_CIFAR_HOME = "https://www.cs.toronto.edu/~kriz/cifar.html"
_DIGITS = tuple(str(d) for d in range(10))
_IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz")

register_standard(Standard(
    name="cifar10", title="CIFAR-10", homepage=_CIFAR_HOME, folder="cifar-10-batches-py",
    files=tuple(f"cifar-10-batches-py/{f}" for f in
                ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
                 "test_batch", "batches.meta")),
    read=_read_cifar10, archive="cifar-10-python.tar.gz", num_classes=10,
    mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616), constants_from=_SALUN,
    doc="CIFAR-10 (Krizhevsky 2009): 50,000 training and 10,000 test 32x32 colour images in 10 classes, "
        "the official split; read from DATA_ROOT/cifar-10-batches-py (downloaded when missing).",
))
# cifar100 and cifar20 read the same files with the same constants; they differ in the labels used
_CIFAR100_FILES = dict(
    homepage=_CIFAR_HOME, folder="cifar-100-python", archive="cifar-100-python.tar.gz",
    files=("cifar-100-python/train", "cifar-100-python/test", "cifar-100-python/meta"),
    mean=(0.5071, 0.4866, 0.4409), std=(0.2673, 0.2564, 0.2762), constants_from=_SALUN,
)
register_standard(Standard(
    name="cifar100", title="CIFAR-100", num_classes=100, **_CIFAR100_FILES,
    read=lambda root, spec: _read_cifar100(root, spec, coarse=False),
    doc="CIFAR-100 (Krizhevsky 2009): 50,000 training and 10,000 test 32x32 colour images in 100 fine "
        "classes, the official split; read from DATA_ROOT/cifar-100-python (downloaded when missing).",
))
register_standard(Standard(
    name="cifar20", title="CIFAR-100 (20 super-classes)", num_classes=20, **_CIFAR100_FILES,
    read=lambda root, spec: _read_cifar100(root, spec, coarse=True),
    doc="CIFAR-100's images with its 20 coarse super-classes as the classes; the 100 fine labels are kept "
        "per sample (Dataset.fine_train), so `subclass:rocket` forgets one fine class inside its "
        "super-class, the sub-class setting of Chundawat et al. 2023 (AAAI, 'Can Bad Teaching Induce "
        "Forgetting?') and Foster et al. 2024 (SSD). Same files as cifar100.",
))
register_standard(Standard(
    name="mnist", title="MNIST", homepage="http://yann.lecun.com/exdb/mnist/", folder="MNIST/raw",
    files=tuple(f"MNIST/raw/{f}" for f in _IDX_FILES), read=_reader_idx(_DIGITS), num_classes=10,
    mean=(0.1307,), std=(0.3081,),
    constants_from="PyTorch's MNIST example (github.com/pytorch/examples, mnist/main.py)",
    doc="MNIST (LeCun et al. 1998): 60,000 training and 10,000 test 28x28 grey digits, the official split; "
        "read from DATA_ROOT/MNIST/raw (IDX files, gzipped or not; downloaded when missing).",
))
register_standard(Standard(
    name="fashion_mnist", title="Fashion-MNIST", homepage="https://github.com/zalandoresearch/fashion-mnist",
    folder="FashionMNIST/raw", files=tuple(f"FashionMNIST/raw/{f}" for f in _IDX_FILES), num_classes=10,
    # the class names are not in the files; these are the data set's README's, in label order
    read=_reader_idx(("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                      "Bag", "Ankle boot")),
    mean=(0.2860,), std=(0.3530,),
    constants_from="the per-pixel mean and standard deviation of the 60,000 training images, as widely quoted",
    doc="Fashion-MNIST (Xiao et al. 2017): 60,000 training and 10,000 test 28x28 grey images of 10 kinds of "
        "clothing, the official split; read from DATA_ROOT/FashionMNIST/raw (downloaded when missing).",
))
register_standard(Standard(
    name="svhn", title="SVHN", homepage="http://ufldl.stanford.edu/housenumbers/", folder="",
    files=("train_32x32.mat", "test_32x32.mat"), read=_read_svhn, num_classes=10,
    mean=(0.4377, 0.4438, 0.4728), std=(0.1201, 0.1231, 0.1052),
    constants_from=_SALUN + "; their std is below the per-pixel std often quoted (0.198, 0.201, 0.197), "
                   "kept for parity with the papers' SVHN numbers",
    doc="SVHN cropped digits (Netzer et al. 2011): 73,257 training and 26,032 test 32x32 colour digits (the "
        "'extra' set is not used), the official split; read from DATA_ROOT/{train,test}_32x32.mat "
        "(downloaded when missing).",
))


# ---------------------------------------------------------------------------------------------------
# Olivetti faces: identities as groups

_OLIVETTI_HOME = "https://cam-orl.co.uk/facedatabase.html"
OLIVETTI = Standard(
    name="olivetti", title="Olivetti faces (AT&T / ORL)", homepage=_OLIVETTI_HOME, folder="",
    files=("olivettifaces.mat",), read=None,
    num_classes=40, mean=(0.0,), std=(1.0,), constants_from="scikit-learn's fetch_olivetti_faces: min-max to [0, 1]",
    doc="Olivetti faces (Samaria & Harter 1994, AT&T Laboratories Cambridge): 400 grey 64x64 images, 10 of "
        "each of 40 persons; read from DATA_ROOT/olivettifaces.mat (scikit-learn's file, downloaded when "
        "missing). Class and group are the person; unseen=N holds N persons out as unseen test identities.",
)
STANDARD.add(OLIVETTI.name, OLIVETTI)


@register_dataset("olivetti", num_classes=OLIVETTI.num_classes)
def olivetti(seed: int = 0, data_root: str | None = None, test_size: float = 0.2, unseen: int = 0) -> Dataset:
    """Olivetti faces with the person as class and as group (`group:P` forgets every image of person P).

    Split per person: `unseen=N` moves all 10 images of N persons, drawn with the seed, to the test split (the
    unseen identities of the MUFAC identity MIA, Choi & Na 2023); of every other person `test_size` of the
    images go to the test split (stratified), the rest is trained on. The only label in the file is the
    person, so the task is face recognition: a group request is also a class request, and the images of
    unseen persons, whose classes are never trained, count as errors in TA.
    """
    _check_common(seed, test_size)
    check_int("unseen", unseen, 0)
    if unseen > 38:
        raise BadInput(f"unseen={unseen} is not allowed for olivetti; it must be in [0, 38] (of its 40 persons, "
                       "at least 2 must be trained on)")
    root = _root_with(OLIVETTI, data_root, None)
    try:
        faces = formats.read_olivetti_mat(_file(root, OLIVETTI, "olivettifaces.mat"))
    except BadInput as exc:
        raise BadInput(f"olivetti: {exc}") from None
    person = np.arange(400, dtype=np.int64) // 10
    held = np.random.default_rng([seed, 0x6E]).choice(40, size=unseen, replace=False)
    out = np.isin(person, held)
    rest = np.flatnonzero(~out)
    train, test = _split(person[rest], float(test_size), seed)
    train, test = np.sort(rest[train]), np.sort(np.concatenate([rest[test], np.flatnonzero(out)]))
    x = faces[:, None]
    params: dict = {"data_root": str(root), "test_size": float(test_size)}
    if unseen:
        params["unseen"] = int(unseen)
    return Dataset(
        name="olivetti", x_train=x[train], y_train=person[train], x_test=x[test], y_test=person[test],
        num_classes=40, params=params, groups_train=person[train], groups_test=person[test],
        class_names=tuple(f"person{i}" for i in range(40)),
        info={"source": f"{OLIVETTI.title}, {OLIVETTI.homepage}; scikit-learn's olivettifaces.mat",
              "split": "per person: test_size of each trained person's images; unseen persons wholly in test",
              "normalize": {"min_max": [0.0, 1.0], "from": OLIVETTI.constants_from}},
    )
