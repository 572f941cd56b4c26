"""Datasets: an immutable in-memory train/test split, a registry of loaders and the built-in loaders."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import random
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import BadInput
from ..registry import Registry
from ..tasks import TASKS, Task, get_task
from ..validation import check_int, check_range

DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")

# numpy's legacy seeding and sklearn's random_state both reject seeds outside uint32.
_MAX_SEED = 2**32 - 1
_NPZ_KEYS = ("X", "y", "groups", "X_test", "y_test", "groups_test")


def register_dataset(name: str, *, num_classes: int | None = None
                     ) -> Callable[[Callable[..., Dataset]], Callable[..., Dataset]]:
    """Decorator that registers a loader `fn(seed=0, test_size=0.2, ...) -> Dataset` under `name`.
    `num_classes`: its class count where no parameter changes it, kept as `fn.num_classes` so that a form
    (the web UI's poison target, `declared_classes`) can check a class index without building the data."""

    if num_classes is not None:
        check_int("num_classes", num_classes, 2)

    def decorate(fn: Callable[..., Dataset]) -> Callable[..., Dataset]:
        if num_classes is not None:
            fn.num_classes = num_classes  # type: ignore[attr-defined]
        return DATASETS.register(name)(fn)

    return decorate


def declared_classes(name: str) -> int | None:
    """The class count registered with data set `name`'s loader; None where it depends on the data."""
    return getattr(DATASETS.get(name), "num_classes", None)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split held in memory. Treat the arrays as read-only: `fingerprint` is cached."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    params: dict[str, Any] = field(default_factory=dict)
    groups_train: np.ndarray | None = None
    #: The test samples' groups, where known: test samples of groups absent from training are the unseen
    #: identities that the identity MIA of a `group:` request (metrics/identity.py) compares against.
    groups_test: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    #: Fine labels under the classes (cifar20: CIFAR-100's 100 classes under its 20 super-classes),
    #: per training and test sample, and their names; what `subclass:` forget requests select by.
    fine_train: np.ndarray | None = None
    fine_test: np.ndarray | None = None
    fine_names: tuple[str, ...] = ()
    #: Facts about the data that are not loader parameters (normalisation constants, source); recorded.
    info: dict[str, Any] = field(default_factory=dict)
    #: The task type (`unlearnlab.tasks`): "classification" (integer labels, `num_classes` >= 2) or
    #: "regression" (float targets; `num_classes` is then the output width, 1).
    task: str = "classification"

    def __post_init__(self) -> None:
        # Normalise once here so every consumer can rely on dtype and layout.
        task = get_task(self.task) if isinstance(self.task, str) else None
        if task is None:
            raise BadInput(f"dataset {self.name!r}: task={self.task!r} is not allowed; it must be a task name")
        if not task.data_task:
            raise BadInput(f"dataset {self.name!r}: task={self.task!r} follows from the model, not the data; give "
                           f"the data set's own task ({', '.join(n for n in TASKS.names() if get_task(n).data_task)})")
        k = task.check_num_classes(self.num_classes, self.name)

        def set_(key: str, value: Any) -> None:
            object.__setattr__(self, key, value)  # the dataclass is frozen

        set_("num_classes", int(k))
        for part in ("train", "test"):
            x = _float_inputs(getattr(self, f"x_{part}"), f"x_{part}", self.name)
            y = task.check_targets(getattr(self, f"y_{part}"), f"y_{part}", self.name, k)
            if len(x) != len(y) or len(x) == 0:
                raise BadInput(
                    f"dataset {self.name!r}: x_{part} has {len(x)} samples and y_{part} {len(y)}; "
                    "they must be equal and >= 1"
                )
            set_(f"x_{part}", x)
            set_(f"y_{part}", y)
        if self.x_test.shape[1:] != self.x_train.shape[1:]:
            raise BadInput(
                f"dataset {self.name!r}: x_test samples have shape {self.x_test.shape[1:]}; "
                f"they must match x_train's {self.x_train.shape[1:]}"
            )
        if self.groups_train is not None:
            set_("groups_train", _groups(self.groups_train, len(self.x_train), f"dataset {self.name!r}"))
        if self.groups_test is not None:
            if self.groups_train is None:
                raise BadInput(f"dataset {self.name!r}: groups_test given without groups_train; give both or none")
            set_("groups_test", _groups(self.groups_test, len(self.x_test), f"dataset {self.name!r} (test)"))
            if (self.groups_test.dtype.kind == "U") != (self.groups_train.dtype.kind == "U"):
                raise BadInput(f"dataset {self.name!r}: groups_test has dtype {self.groups_test.dtype}; it must "
                               f"match groups_train's {self.groups_train.dtype}")
        self._check_fine(set_)
        names = tuple(str(c) for c in self.class_names) or tuple(str(i) for i in range(k))
        if len(names) != k:
            raise BadInput(
                f"dataset {self.name!r}: {len(names)} class_names given; there must be num_classes={k}"
            )
        set_("class_names", names)
        for what in ("params", "info"):
            try:
                json.dumps(getattr(self, what))
            except (TypeError, ValueError):
                raise BadInput(
                    f"dataset {self.name!r}: {what}={getattr(self, what)!r} is not JSON-serialisable"
                ) from None

    def _check_fine(self, set_: Callable[[str, Any], None]) -> None:
        given = [self.fine_train is not None, self.fine_test is not None, bool(self.fine_names)]
        if not any(given):
            return
        if not all(given):
            raise BadInput(f"dataset {self.name!r}: fine_train, fine_test and fine_names go together; "
                           "give all three or none")
        names = tuple(str(n) for n in self.fine_names)
        set_("fine_names", names)
        for part in ("train", "test"):
            fine = _int_labels(getattr(self, f"fine_{part}"), f"fine_{part}", self.name, len(names))
            if len(fine) != len(getattr(self, f"y_{part}")):
                raise BadInput(f"dataset {self.name!r}: fine_{part} has {len(fine)} labels for "
                               f"{len(getattr(self, f'y_{part}'))} samples; there must be one per sample")
            set_(f"fine_{part}", fine)

    @property
    def task_type(self) -> Task:
        """The registered task object of `task` (loss, metrics, forget kinds)."""
        return get_task(self.task)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def n_train(self) -> int:
        return len(self.x_train)

    @property
    def n_test(self) -> int:
        return len(self.x_test)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the content (not of `params` or `info`): equal data gives an equal fingerprint.

        The arrays are hashed in place (no copy: CIFAR-10's are 720 MB); fine labels count only where
        a data set has them, so the fingerprints of data sets without them did not change."""
        h = hashlib.sha256()
        head = [self.name, self.num_classes, list(self.class_names)]
        if self.task != "classification":  # only where set, so classification fingerprints did not change
            head.append(self.task)
        h.update(json.dumps(head).encode() + b"\n")
        keys = ["x_train", "y_train", "x_test", "y_test", "groups_train"]
        if self.fine_train is not None:
            h.update(json.dumps(list(self.fine_names)).encode() + b"\n")
            keys += ["fine_train", "fine_test"]
        if self.groups_test is not None:  # only where present, so other data sets' fingerprints did not change
            keys.append("groups_test")
        for key in keys:
            a = getattr(self, key)
            if a is None:
                h.update(f"{key}|none\n".encode())
                continue
            # Length-prefixed header so no two layouts can produce the same byte stream.
            h.update(f"{key}|{a.dtype.str}|{a.shape}|{a.nbytes}\n".encode())
            h.update(_bytes_view(a))
        return h.hexdigest()

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable summary for logs and run records."""
        return {
            "name": self.name,
            "params": dict(self.params),
            "n_train": self.n_train,
            "n_test": self.n_test,
            "num_classes": self.num_classes,
            "input_shape": list(self.input_shape),
            "fingerprint": self.fingerprint,
            **({"task": self.task} if self.task != "classification" else {}),
            # only where present, so that the records (and scenario ids) of other data sets are unchanged
            **({"num_fine_classes": len(self.fine_names)} if self.fine_names else {}),
            **({"info": dict(self.info)} if self.info else {}),
        }


def _bytes_view(a: np.ndarray) -> memoryview:
    """The array's bytes as hashlib reads them, without the copy `tobytes()` makes (same bytes).
    String arrays (groups) have no buffer numpy exports as bytes; they are small, so they are copied."""
    a = np.ascontiguousarray(a)
    if a.dtype.kind in "US" or a.ndim == 0:
        return memoryview(a.tobytes())
    return memoryview(a.reshape(-1).view(np.uint8))


def _float_inputs(x: Any, what: str, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "biuf" or a.ndim < 2:
        raise BadInput(
            f"dataset {name!r}: {what} has dtype {a.dtype} and shape {a.shape}; "
            "it must be numeric with shape (N, *input_shape)"
        )
    return np.ascontiguousarray(a, dtype=np.float32)


def _int_labels(y: Any, what: str, name: str, k: int) -> np.ndarray:
    return get_task("classification").check_targets(y, what, name, k)


def _groups(groups: Any, n: int, where: str) -> np.ndarray:
    g = np.asarray(groups)
    if g.dtype.kind not in "biuUS" or g.ndim != 1:
        raise BadInput(
            f"{where}: groups has dtype {g.dtype} and shape {g.shape}; it must be 1-D integers or strings"
        )
    if len(g) != n:
        raise BadInput(f"{where}: groups has {len(g)} entries; it must have one per sample ({n})")
    if g.dtype.kind == "S":
        g = g.astype(str)
    elif g.dtype.kind in "biu":
        g = g.astype(np.int64)
    return np.ascontiguousarray(g)


#: Largest file read as user data (`arrays:PATH.npz`): bigger data sets belong in a registered loader.
MAX_ARRAYS_BYTES = 2 * 1024**3
#: Largest MNIST-1D a request may generate (the generator takes about a minute per 100,000 samples).
MAX_GENERATED_SAMPLES = 200_000


def check_input_file(path: str, where: str, remedy: str, max_bytes: int) -> None:
    """A user-named input must be an existing regular file of bounded size: a FIFO or a device
    (/dev/urandom) would be read without end."""
    if not os.path.exists(path):
        raise BadInput(f"{where} does not exist; {remedy}")
    if not os.path.isfile(path):
        raise BadInput(f"{where} is not a regular file; {remedy}")
    size = os.path.getsize(path)
    if size > max_bytes:
        raise BadInput(f"{where} has {size} bytes; at most {max_bytes} are read; {remedy}")


def _check_common(seed: Any, test_size: Any) -> None:
    check_int("seed", seed, 0)
    if seed > _MAX_SEED:
        raise BadInput(f"seed={seed!r} is not allowed; it must be an integer in [0, {_MAX_SEED}]")
    check_range("test_size", test_size, 0.0, 1.0, closed="neither")


def _split(y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train/test indices; stratified where every class can appear on both sides."""
    from sklearn.model_selection import train_test_split

    n = len(y)
    n_test = int(np.ceil(test_size * n))  # sklearn's own rounding
    counts = np.unique(y, return_counts=True)[1]
    k = len(counts)
    if n_test < 1 or n - n_test < 1:
        raise BadInput(f"test_size={test_size!r} leaves an empty train or test split of {n} samples; "
                       f"it must leave >= 1 sample on each side")
    stratify = y if counts.min() >= 2 and n_test >= k and n - n_test >= k else None
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed, stratify=stratify)
    return np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)


def load_dataset(name: str, seed: int = 0, *, data_root: str | os.PathLike[str] | None = None,
                 **params: Any) -> Dataset:
    """Build the registered dataset `name`; unknown or missing parameters raise BadInput.

    `data_root` (see `data.roots`) reaches the loaders that read one (the standard data sets) and is
    ignored by the others, like `$UNLEARNLAB_DATA`."""
    loader = DATASETS.get(name)
    sig = inspect.signature(loader)
    if data_root is not None and "data_root" in sig.parameters:
        params["data_root"] = data_root
    takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    allowed = [p for p, v in sig.parameters.items() if v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY)]
    if not takes_any:
        for key in params:
            if key not in allowed:
                raise BadInput(
                    f"unknown parameter {key!r} for dataset {name!r}; allowed: {', '.join(allowed)}"
                )
    for key in allowed:
        if key != "seed" and key not in params and sig.parameters[key].default is inspect.Parameter.empty:
            raise BadInput(f"dataset {name!r} needs parameter {key!r}; allowed: {', '.join(allowed)}")
    return loader(seed=seed, **params)


def load_from_spec(spec: str, seed: int = 0, data_root: str | os.PathLike[str] | None = None) -> Dataset:
    """`load_dataset` of a CLI spec (`parse_dataset_spec`), with the data root in force, if one is given."""
    name, params = parse_dataset_spec(spec)
    if data_root is not None and "data_root" in params:
        raise BadInput(f"dataset spec {spec!r} names a data root and so does --data-root "
                       f"({os.fspath(data_root)!r}); give it once")
    if data_root is not None:
        params["data_root"] = data_root
    return load_dataset(name, seed=seed, **params)


_INT = re.compile(r"[+-]?\d+")
_ARRAYS_OPTION = re.compile(r",\s*(standardize|test_size|unseen|task)\s*=([^,=/\\]*)$")


def _parse_value(text: str) -> int | float | bool | str:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if _INT.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def parse_dataset_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """CLI form `name[:k=v,...]`, or `arrays:PATH` -> (name, params) for `load_dataset`."""
    name, sep, rest = spec.strip().partition(":")
    name = name.strip()
    form = ("allowed forms: NAME, NAME:key=value[,key=value...], "
            "arrays:PATH[,standardize=false][,test_size=F][,unseen=N][,task=regression]")
    if not name:
        raise BadInput(f"dataset spec {spec!r} has no name; {form}")
    if name == "arrays":
        # A path may hold ',' and '=' itself, so only known options are peeled off its end.
        path, options = rest.strip(), {}
        while (m := _ARRAYS_OPTION.search(path)) and m.group(1) not in options:
            options[m.group(1)] = _parse_value(m.group(2).strip())
            path = path[:m.start()].strip()
        if not path:
            raise BadInput(f"dataset spec {spec!r} has no path; {form}")
        return name, {"path": path, **dict(reversed(options.items()))}
    params: dict[str, Any] = {}
    if sep and not rest.strip():
        raise BadInput(f"dataset spec {spec!r} has nothing after ':'; {form}")
    for item in rest.split(",") if rest.strip() else ():
        key, eq, value = (s.strip() for s in item.partition("="))
        if not eq or not key.isidentifier():
            raise BadInput(f"dataset spec {spec!r}: {item.strip()!r} is not key=value; {form}")
        if key in params:
            raise BadInput(f"dataset spec {spec!r} repeats parameter {key!r}; give each once")
        if key == "seed":
            raise BadInput(f"dataset parameter 'seed' ({item.strip()}) is not allowed in the dataset spec; "
                           "the split follows the scenario seed (--seed)")
        params[key] = _parse_value(value)
    return name, params


# ---------------------------------------------------------------------------------------------------
# Built-in loaders


@register_dataset("digits", num_classes=10)
def digits(seed: int = 0, test_size: float = 0.2) -> Dataset:
    """sklearn's 8x8 handwritten digits (1797 images, bundled: no download), stratified split."""
    from sklearn.datasets import load_digits

    _check_common(seed, test_size)
    raw = load_digits()
    x = (raw.images / 16.0).astype(np.float32)[:, None]
    y = raw.target.astype(np.int64)
    train, test = _split(y, test_size, seed)
    return Dataset(
        name="digits", x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test], num_classes=10,
        params={"seed": seed, "test_size": float(test_size)}, class_names=tuple(str(i) for i in range(10)),
    )


@register_dataset("mnist1d", num_classes=10)
def mnist1d(seed: int = 0, test_size: float = 0.2, num_samples: int = 5000) -> Dataset:
    """MNIST-1D generated locally (never downloaded); the generator's own train/test split."""
    from mnist1d.data import get_dataset_args, make_dataset

    _check_common(seed, test_size)
    check_int("num_samples", num_samples, 10)
    if num_samples > MAX_GENERATED_SAMPLES:
        # the generator is pure Python at ~1 ms a sample and cannot be cancelled: a billion is days
        raise BadInput(f"num_samples={num_samples!r} is not allowed; it must be in [10, {MAX_GENERATED_SAMPLES}]")
    args = get_dataset_args()
    args.num_samples, args.seed, args.train_split = num_samples, seed, 1.0 - test_size
    # make_dataset reseeds numpy's and Python's global generators; put them back afterwards.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    if len(data["y"]) == 0 or len(data["y_test"]) == 0:
        raise BadInput(
            f"num_samples={num_samples!r} with test_size={test_size!r} leaves an empty split; "
            "increase num_samples"
        )
    return Dataset(
        name="mnist1d",
        x_train=data["x"][:, None], y_train=data["y"], x_test=data["x_test"][:, None], y_test=data["y_test"],
        num_classes=10, params={"seed": seed, "test_size": float(test_size), "num_samples": num_samples},
        class_names=tuple(str(i) for i in range(10)),
    )


@register_dataset("arrays")
def arrays(seed: int = 0, test_size: float = 0.2, *, path: str, standardize: bool = True,
           unseen: int = 0, task: str = "classification") -> Dataset:
    """User arrays from an .npz with X, y and optionally groups and X_test/y_test (and groups_test).

    `unseen=N` (with groups, without X_test) moves every sample of N groups, drawn with the seed, to the test
    split before the usual split of the rest: identities never trained on, which the identity MIA of a
    `group:` request needs (Choi & Na 2023, MUFAC: forgotten identities against unseen ones).

    `standardize` (default on) rescales every feature to mean 0 and standard deviation 1 on the training
    split, as scikit-learn's StandardScaler; see `from_arrays`. `task=regression`: y holds float targets
    (`from_arrays`).
    """
    _check_common(seed, test_size)
    _check_bool("standardize", standardize)
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise BadInput(f"path={path!r} is not allowed; give the path of an .npz file with arrays X and y")
    path = os.fspath(path)
    where = f"arrays file {path!r}"
    check_input_file(path, where, "give the path of an .npz file with arrays X and y", MAX_ARRAYS_BYTES)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise BadInput(f"{where} holds a single array, not an .npz archive; save X and y with np.savez")
        with loaded:
            found = {key: loaded[key] for key in loaded.files}
    except BadInput:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        # A text file reaches numpy's pickle branch and fails there: its advice to allow pickles is wrong here.
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "pickle" in msg:
            msg = "not a zip archive of .npy arrays"
        raise BadInput(
            f"{where} is not a readable .npz archive ({msg}); save X and y with np.savez"
        ) from None
    for key in found:
        if key not in _NPZ_KEYS:
            raise BadInput(f"{where} has unknown array {key!r}; allowed: {', '.join(_NPZ_KEYS)}")
    for key in ("X", "y"):
        if key not in found:
            raise BadInput(
                f"{where} has no array {key!r}; it needs X and y (optional: groups, X_test, y_test, groups_test)"
            )
    return _build(
        found["X"], found["y"], found.get("groups"), found.get("X_test"), found.get("y_test"),
        test_size=test_size, seed=seed, name="arrays",
        params={"path": path}, where=where, standardize=standardize,
        groups_test=found.get("groups_test"), unseen=unseen, task=task,
    )


def from_arrays(
    X: Any,
    y: Any,
    groups: Any = None,
    *,
    X_test: Any = None,
    y_test: Any = None,
    test_size: float = 0.2,
    seed: int = 0,
    name: str = "arrays",
    standardize: bool = True,
    groups_test: Any = None,
    unseen: int = 0,
    task: str = "classification",
) -> Dataset:
    """Dataset from in-memory arrays; labels (ints or strings) are mapped to 0..K-1 in sorted order.

    `standardize=True` (the default) rescales every feature (every element of `input_shape`) to mean 0
    and standard deviation 1 with statistics of the training split only, applied to both splits;
    constant features are only centred. Raw tabular features on scales like 1e3 make SGD-trained
    networks collapse to the majority class, which no metric downstream can detect. Pass
    `standardize=False` for inputs already on a common scale (e.g. images in [0, 1]). The choice is
    recorded in `params` and changes the content, hence the fingerprint. `groups_test` (with X_test) and
    `unseen` (without it) as in the `arrays` loader.

    `task="regression"`: y (and y_test) hold finite float targets, split without stratification; with
    `standardize` the targets are standardised too, with the training split's mean and standard deviation,
    which `info` records (`target_mean`, `target_std`), so errors read in standard deviations of the targets.
    """
    _check_bool("standardize", standardize)
    return _build(X, y, groups, X_test, y_test, test_size=test_size, seed=seed, name=name,
                  params={}, where="from_arrays", standardize=standardize, groups_test=groups_test,
                  unseen=unseen, task=task)


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise BadInput(f"{name}={value!r} is not allowed; it must be true or false")


def _standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x − mean) / std per feature, with the training split's statistics (float64, then float32).

    Fit on the training split only so that no test information shapes the inputs. The forget set is
    part of that split, as in any preprocessing fitted before a forget request is known.
    """
    mean = x_train.mean(axis=0, dtype=np.float64)
    std = x_train.std(axis=0, dtype=np.float64)
    # As StandardScaler: a spread at rounding level is a constant feature; dividing by it would turn
    # float noise into unit-variance signal, so such features are only centred.
    scale = np.where(std > 10 * np.finfo(np.float64).eps * np.abs(mean), std, 1.0)
    return (((x_train - mean) / scale).astype(np.float32), ((x_test - mean) / scale).astype(np.float32))


def _check_x(x: Any, key: str, where: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise BadInput(f"{where}: {key} has dtype {a.dtype}; it must be numeric (bool, int or float)")
    if a.ndim < 2 or len(a) == 0 or 0 in a.shape[1:]:
        raise BadInput(
            f"{where}: {key} has shape {a.shape}; it must be (N >= 1, *input_shape) with at least one feature, "
            "e.g. (N, 1) for one feature"
        )
    # Check after the cast: float64 values beyond float32's range turn into inf.
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(a, dtype=np.float32)
    finite = np.isfinite(out.reshape(len(out), -1)).all(axis=1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        bad = out[i][~np.isfinite(out[i])].flat[0]
        raise BadInput(f"{where}: {key} holds {bad} at sample {i}; values must be finite (no NaN or inf)")
    return out


def _check_labels(y: Any, key: str, n: int, where: str) -> np.ndarray:
    a = np.asarray(y)
    if a.ndim != 1 or a.dtype.kind not in "biufUS":
        raise BadInput(
            f"{where}: {key} has dtype {a.dtype} and shape {a.shape}; it must be 1-D integers or strings"
        )
    if a.dtype.kind == "f":
        # Labels saved through float arrays are common; whole numbers are accepted, anything else is not.
        whole = np.isfinite(a) & (a == np.round(a))
        if not whole.all():
            label = a[~whole][0].item()
            raise BadInput(f"{where}: {key} holds label {label!r}; labels must be integers or strings")
        a = a.astype(np.int64)
    elif a.dtype.kind == "S":
        a = a.astype(str)
    if len(a) != n:
        raise BadInput(f"{where}: {key} has {len(a)} labels for {n} samples; the lengths must be equal")
    return a


def _build(
    X: Any, y: Any, groups: Any, X_test: Any, y_test: Any, *,
    test_size: Any, seed: Any, name: str, params: dict[str, Any], where: str, standardize: bool,
    groups_test: Any = None, unseen: Any = 0, task: Any = "classification",
) -> Dataset:
    _check_common(seed, test_size)
    check_int("unseen", unseen, 0)
    if task not in ("classification", "regression"):
        raise BadInput(f"{where}: task={task!r} is not allowed; choose from classification, regression")
    params = {**params, "seed": int(seed), "test_size": float(test_size), "standardize": bool(standardize)}
    if unseen:  # only where used, so that other data sets' params (and scenario ids) are unchanged
        params["unseen"] = int(unseen)
    if task == "regression":  # only where set, so classification params (and scenario ids) are unchanged
        if groups is not None or groups_test is not None or unseen:
            raise BadInput(f"{where}: groups are not supported with task=regression; drop the groups arrays")
        return _build_regression(X, y, X_test, y_test, test_size=float(test_size), seed=int(seed), name=name,
                                 params={**params, "task": "regression"}, where=where, standardize=standardize)
    x = _check_x(X, "X", where)
    labels = _check_labels(y, "y", len(x), where)
    if len(x) < 2:
        raise BadInput(f"{where}: X has {len(x)} sample(s); at least 2 are needed")
    classes, codes = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise BadInput(f"{where}: y has only the class {classes.tolist()!r}; at least 2 classes are needed")
    codes = codes.astype(np.int64)
    g = None if groups is None else _groups(groups, len(x), where)
    if (X_test is None) != (y_test is None):
        alone = "X_test" if X_test is not None else "y_test"
        raise BadInput(f"{where}: {alone} given alone; give X_test and y_test together or neither")
    if groups_test is not None and X_test is None:
        raise BadInput(f"{where}: groups_test given without X_test; give X_test, y_test and groups_test "
                       "together, or groups alone")
    if unseen and (g is None or X_test is not None):
        why = "it has no groups" if g is None else "it has X_test; use groups_test there"
        raise BadInput(f"{where}: unseen={unseen} needs groups and no X_test; {why}")
    g_te = None
    if X_test is None:
        if unseen:
            train, test = _split_unseen(codes, g, int(unseen), float(test_size), seed, where)
        else:
            train, test = _split(codes, float(test_size), seed)
        x_tr, y_tr, x_te, y_te = x[train], codes[train], x[test], codes[test]
        if g is not None:
            g, g_te = g[train], g[test]
    else:
        x_te = _check_x(X_test, "X_test", where)
        if x_te.shape[1:] != x.shape[1:] or len(x_te) == 0:
            raise BadInput(
                f"{where}: X_test has shape {x_te.shape}; it must be (M >= 1, *{x.shape[1:]}) like X"
            )
        test_labels = _check_labels(y_test, "y_test", len(x_te), where)
        if (test_labels.dtype.kind == "U") != (labels.dtype.kind == "U"):
            raise BadInput(f"{where}: y_test has dtype {test_labels.dtype}; it must match y's {labels.dtype}")
        pos = np.clip(np.searchsorted(classes, test_labels), 0, len(classes) - 1)
        unseen = classes[pos] != test_labels
        if unseen.any():
            raise BadInput(
                f"{where}: y_test holds label {test_labels[unseen][0].item()!r}, which is not in y; "
                f"allowed: {', '.join(map(str, classes.tolist()))}"
            )
        x_tr, y_tr, y_te = x, codes, pos.astype(np.int64)
        if groups_test is not None:
            if g is None:
                raise BadInput(f"{where}: groups_test given without groups; give both or neither")
            g_te = _groups(groups_test, len(x_te), f"{where} (groups_test)")
    if standardize:
        x_tr, x_te = _standardize(x_tr, x_te)
    return Dataset(
        name=name, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te, num_classes=len(classes),
        params=params, groups_train=g, groups_test=g_te, class_names=tuple(str(c) for c in classes.tolist()),
    )


def _split_unseen(codes: np.ndarray, groups: np.ndarray, unseen: int, test_size: float, seed: int,
                  where: str) -> tuple[np.ndarray, np.ndarray]:
    """Train/test indices with `unseen` whole groups (drawn with the seed) in the test split, plus the usual
    split of the other groups' samples: unseen identities for the identity MIA, seen ones for TA."""
    names = np.unique(groups)
    if unseen >= len(names):
        raise BadInput(f"{where}: unseen={unseen} holds out every one of its {len(names)} groups; it must be "
                       f"in [0, {len(names) - 1}]")
    held = np.random.default_rng([seed, 0x6E]).choice(names, size=unseen, replace=False)
    out = np.isin(groups, held)
    rest = np.flatnonzero(~out)
    train, test = _split(codes[rest], test_size, seed)
    return rest[train], np.sort(np.concatenate([rest[test], np.flatnonzero(out)]))


def regression_split(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train/test indices of n regression samples: a seeded shuffle split (no classes to stratify)."""
    from sklearn.model_selection import train_test_split

    n_test = int(np.ceil(test_size * n))
    if n_test < 1 or n - n_test < 1:
        raise BadInput(f"test_size={test_size!r} leaves an empty train or test split of {n} samples; "
                       f"it must leave >= 1 sample on each side")
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    return np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)


def standardize_targets(y_train: np.ndarray, y_test: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """(y − mean) / std with the training split's statistics, and those statistics (for `info`).

    SGD with the recipe's learning rate diverges on raw targets such as diabetes' 25-346; in standard
    deviations an error of 1 is the mean predictor's."""
    mean = float(np.mean(y_train, dtype=np.float64))
    std = float(np.std(y_train, dtype=np.float64))
    if not std > 0:
        raise BadInput(f"the training targets are all {mean}; regression needs targets that vary")
    scale = lambda y: ((np.asarray(y, dtype=np.float64) - mean) / std).astype(np.float32)  # noqa: E731
    return scale(y_train), scale(y_test), {"target_mean": mean, "target_std": std}


def _build_regression(X: Any, y: Any, X_test: Any, y_test: Any, *, test_size: float, seed: int, name: str,
                      params: dict[str, Any], where: str, standardize: bool) -> Dataset:
    reg = get_task("regression")
    x = _check_x(X, "X", where)
    targets = reg.check_targets(y, "y", where, 1)
    if len(targets) != len(x):
        raise BadInput(f"{where}: y has {len(targets)} targets for {len(x)} samples; the lengths must be equal")
    if len(x) < 2:
        raise BadInput(f"{where}: X has {len(x)} sample(s); at least 2 are needed")
    if (X_test is None) != (y_test is None):
        alone = "X_test" if X_test is not None else "y_test"
        raise BadInput(f"{where}: {alone} given alone; give X_test and y_test together or neither")
    if X_test is None:
        train, test = regression_split(len(x), test_size, seed)
        x_tr, y_tr, x_te, y_te = x[train], targets[train], x[test], targets[test]
    else:
        x_te = _check_x(X_test, "X_test", where)
        if x_te.shape[1:] != x.shape[1:]:
            raise BadInput(f"{where}: X_test has shape {x_te.shape}; it must be (M >= 1, *{x.shape[1:]}) like X")
        y_te = reg.check_targets(y_test, "y_test", where, 1)
        if len(y_te) != len(x_te):
            raise BadInput(f"{where}: y_test has {len(y_te)} targets for {len(x_te)} samples; the lengths must "
                           "be equal")
        x_tr, y_tr = x, targets
    info: dict[str, Any] = {}
    if standardize:
        x_tr, x_te = _standardize(x_tr, x_te)
        y_tr, y_te, info = standardize_targets(y_tr, y_te)
    return Dataset(name=name, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te, num_classes=1, params=params,
                   class_names=("target",), info=info, task="regression")
