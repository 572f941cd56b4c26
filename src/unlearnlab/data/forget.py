"""Forget requests: which training samples to unlearn, parsed from `class:..`, `random:..`, `indices:..`,
`subclass:..` (one fine class inside its super-class, on a data set with fine labels such as cifar20) or
`poison` / `poison:F` (the samples a `--poison` stamped, or the share F of them found: corrective unlearning,
Goel et al. 2024) or `group:G[,G...]` (every training sample of a person, on a data set with groups: the
identity unlearning of Choi & Na 2023, "Towards Machine Unlearning Benchmarks: Forgetting the Personal
Identities in Facial Recognition Systems", MUFAC/MUCAC), or `target:LO..HI` (the training samples
whose regression target lies in [LO, HI], in the data's own units: the forget sets of Tarun et al. 2023, Deep
Regression Unlearning, e.g. every person aged 0-30), or the selected kinds `worst:N` / `worst:F` (the forget
set hardest to unlearn: Fan et al. 2024, "Challenging Forgets", ECCV) and `memorised:N` (the most memorised
training points: Feldman & Zhang 2020, "What Neural Networks Memorize and Why"). The selected kinds are parsed
and sized here; choosing their indices trains models, which this layer does not: `analysis.selection` does it,
reached from `runner.resolve_selection`."""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import BadInput
from ..validation import check_int
from .datasets import Dataset, check_input_file

#: Largest forget-indices file read (a text file of 100 million indices is about 1 GB).
MAX_INDICES_BYTES = 1024**3

ForgetKind = Literal["class", "random", "indices", "subclass", "poison", "group", "target", "worst", "memorised"]
KINDS: tuple[str, ...] = ("class", "random", "indices", "subclass", "poison", "group", "target", "worst", "memorised")
#: Kinds whose indices a selector chooses by training models (`analysis.selection`), not this module.
SELECTED_KINDS: tuple[str, ...] = ("worst", "memorised")
#: The options of each selected kind: name -> (type, default, allowed values or (low, high) bounds, inclusive).
SELECTION_OPTIONS: dict[str, dict[str, tuple[type, object, tuple]]] = {
    # by: bilevel (the paper's search) or loss (the proxy: θ_o's lowest per-sample losses); method: the
    # unlearning the search plays against (weighted fine-tuning or gradient ascent); rounds: outer iterations.
    "worst": {"by": (str, "bilevel", ("bilevel", "loss")), "method": (str, "ft", ("ft", "ga")),
              "rounds": (int, 5, (1, 100))},
    # k: subset models (at least 4: a point is ranked only with 2 models IN and 2 OUT of its subsets);
    # subset: the share of the training set each one trains on (Feldman & Zhang use 0.7).
    "memorised": {"k": (int, 16, (4, 1024)), "subset": (float, 0.7, (0.05, 0.95))},
}
_FORMS = ("allowed: class:C[,C...], random:F (0<F<1 or P%), random:N (count >= 1), indices:PATH, "
          "subclass:FINE[,FINE...] (fine class index or name, e.g. cifar20's rocket), "
          "poison or poison:F (0<F<=1; with --poison), group:G[,G...] (on a data set with groups), "
          "target:LO..HI (regression targets in [LO, HI]; one side may be left open), "
          "worst:N|F[,by=bilevel|loss][,method=ft|ga][,rounds=R], memorised:N|F[,k=K][,subset=S]")
_INT = re.compile(r"[+-]?\d+")


def _as_int(name: str, value: object, minimum: int) -> int:
    # numpy integers are fine here (they come from label arrays), but bools are not.
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    check_int(name, value, minimum)
    assert isinstance(value, int)
    return value


@dataclass(frozen=True)
class ForgetRequest:
    """What to forget; `select_forget` turns it into training-set indices for one dataset."""

    kind: ForgetKind
    classes: tuple[int, ...] = ()
    fraction: float | None = None
    count: int | None = None
    path: str | None = None
    #: Fine classes (`subclass:`), as given: an index ("69") or a name ("rocket"), resolved per data set.
    subclasses: tuple[str, ...] = ()
    #: Groups (`group:`, e.g. identities), as written: matched against a data set's groups as text.
    groups: tuple[str, ...] = ()
    #: Options of a selected kind (`worst:`, `memorised:`), sorted by name, defaults left out (one canonical form).
    options: tuple[tuple[str, object], ...] = ()
    #: `target:` bounds (inclusive) in the data's own units; None is an open side.
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BadInput(f"unknown forget kind {self.kind!r}; {_FORMS}")
        object.__setattr__(self, "classes", tuple(_as_int("forget class", c, 0) for c in self.classes))
        object.__setattr__(self, "subclasses", tuple(_fine_token(t) for t in self.subclasses))
        object.__setattr__(self, "groups", tuple(_group_token(t) for t in self.groups))
        object.__setattr__(self, "options", _check_options(self.kind, self.options))
        given = {"classes": bool(self.classes), "fraction": self.fraction is not None,
                 "count": self.count is not None, "path": self.path is not None,
                 "subclasses": bool(self.subclasses), "groups": bool(self.groups),
                 "range": self.low is not None or self.high is not None}
        if self.kind == "class":
            needed: tuple[str, ...] = ("classes",)
        elif self.kind == "subclass":
            needed = ("subclasses",)
        elif self.kind == "indices":
            needed = ("path",)
        elif self.kind == "group":
            needed = ("groups",)
        elif self.kind == "target":
            needed = ("range",)
        elif self.kind == "poison":
            needed = ("fraction",)
        else:  # random and the selected kinds: a share or a count
            needed = ("fraction",) if given["fraction"] else ("count",)
        extra = [k for k, v in given.items() if v and k not in needed]
        # `poison` alone forgets every poisoned sample: its fraction is optional.
        if extra or (not given[needed[0]] and self.kind != "poison"):
            got = ", ".join(k for k, v in given.items() if v) or "nothing"
            want = ("one of 'fraction', 'count'" if self.kind in ("random", *SELECTED_KINDS)
                    else repr(needed[0]))
            raise BadInput(f"forget kind {self.kind!r} takes exactly {want}; got {got}")
        if len(set(self.classes)) != len(self.classes):
            dup = next(c for c in self.classes if self.classes.count(c) > 1)
            raise BadInput(f"forget class {dup} is repeated in {self.spec()!r}; give each class once")
        if len(set(self.subclasses)) != len(self.subclasses):
            dup_fine = next(c for c in self.subclasses if self.subclasses.count(c) > 1)
            raise BadInput(f"fine class {dup_fine!r} is repeated in {self.spec()!r}; give each fine class once")
        if len(set(self.groups)) != len(self.groups):
            dup_group = next(g for g in self.groups if self.groups.count(g) > 1)
            raise BadInput(f"group {dup_group!r} is repeated in {self.spec()!r}; give each group once")
        if self.fraction is not None and self.kind == "poison":
            f = self.fraction
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 < f <= 1.0:
                raise BadInput(f"forget fraction {f!r} of the poisoned set is not allowed; it must be in (0, 1]")
            # poison:1 is the whole poisoned set: one canonical spelling, so one scenario id.
            object.__setattr__(self, "fraction", None if f == 1 else float(f))
        elif self.fraction is not None:
            f = self.fraction
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 < f < 1.0:
                raise BadInput(f"forget fraction {f!r} is not allowed; it must be in (0, 1)")
            object.__setattr__(self, "fraction", float(f))
        if self.count is not None:
            object.__setattr__(self, "count", _as_int("forget count", self.count, 1))
        if self.path is not None and (not isinstance(self.path, str) or not self.path):
            raise BadInput(f"forget indices path {self.path!r} is not allowed; it must be a non-empty path")
        for side in ("low", "high"):
            v = getattr(self, side)
            if v is not None:
                if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                    raise BadInput(f"forget target bound {v!r} is not allowed; it must be a finite number")
                object.__setattr__(self, side, float(v))
        if self.low is not None and self.high is not None and not self.low < self.high:
            what = "empty" if self.low == self.high else "inverted"
            raise BadInput(f"forget range target:{_bound(self.low)}..{_bound(self.high)} is {what}; LO must be below HI, "
                           "e.g. target:0..30")

    @property
    def is_classwise(self) -> bool:
        return self.kind == "class"

    @property
    def is_selected(self) -> bool:
        """Whether a selector chooses the indices by training models (`worst:`, `memorised:`)."""
        return self.kind in SELECTED_KINDS

    def option(self, name: str) -> object:
        """A selected kind's option, its default where not given."""
        return dict(self.options).get(name, SELECTION_OPTIONS[self.kind][name][1])

    def spec(self) -> str:
        """Canonical form: `parse_forget(r.spec()) == r`."""
        if self.kind == "class":
            return "class:" + ",".join(str(c) for c in self.classes)
        if self.kind == "indices":
            return f"indices:{self.path}"
        if self.kind == "subclass":
            return "subclass:" + ",".join(self.subclasses)
        if self.kind == "group":
            return "group:" + ",".join(self.groups)
        if self.kind == "poison":
            return "poison" if self.fraction is None else f"poison:{self.fraction!r}"
        if self.kind == "target":
            return f"target:{_bound(self.low)}..{_bound(self.high)}"
        # repr of a float is the shortest string that reads back to the same float.
        amount = f"{self.fraction!r}" if self.fraction is not None else f"{self.count}"
        extra = "".join(f",{k}={v!r}" if isinstance(v, float) else f",{k}={v}" for k, v in self.options)
        return f"{self.kind}:{amount}{extra}"


def parse_forget(spec: str) -> ForgetRequest:
    """`class:3`, `class:1,7`, `random:0.1`, `random:10%`, `random:200`, `indices:forget.txt`,
    `subclass:rocket`, `subclass:69,baby`, `poison`, `poison:0.5`, `poison:50%`, `group:3`, `group:ann,bob`."""
    kind, sep, arg = spec.strip().partition(":")
    kind, arg = kind.strip(), arg.strip()
    if kind == "poison":
        return _parse_poison_forget(spec, arg if sep else None)
    if not sep:
        raise BadInput(f"forget spec {spec!r} has no ':'; {_FORMS}")
    if kind not in KINDS:
        raise BadInput(f"unknown forget kind {kind!r} in {spec!r}; {_FORMS}")
    if not arg:
        raise BadInput(f"forget spec {spec!r} has nothing after ':'; {_FORMS}")
    if kind == "indices":
        return ForgetRequest("indices", path=arg)
    if kind == "subclass":
        return ForgetRequest("subclass", subclasses=tuple(part.strip() for part in arg.split(",")))
    if kind == "group":
        return ForgetRequest("group", groups=tuple(part.strip() for part in arg.split(",")))
    if kind == "target":
        return _parse_target(spec, arg)
    if kind == "class":
        classes = []
        for part in arg.split(","):
            if not _INT.fullmatch(part.strip()):
                raise BadInput(f"forget class {part.strip()!r} in {spec!r} is not an integer; {_FORMS}")
            classes.append(int(part))
        return ForgetRequest("class", classes=tuple(classes))
    options: dict[str, str] = {}
    if kind in SELECTED_KINDS:
        arg, *parts = [p.strip() for p in arg.split(",")]
        for part in parts:
            name, eq, value = (t.strip() for t in part.partition("="))
            if not eq or not name or not value:
                raise BadInput(f"option {part!r} in {spec!r} is not NAME=VALUE; {kind} takes "
                               f"{_allowed_options(kind)}")
            if name in options:
                raise BadInput(f"option {name!r} is given twice in {spec!r}; give it once")
            options[name] = value
    elif "," in arg:
        raise BadInput(f"forget spec {spec!r} takes one amount, not a list; {_FORMS}")
    if _INT.fullmatch(arg):
        return ForgetRequest(kind, count=int(arg), options=tuple(options.items()))  # type: ignore[arg-type]
    fraction = _fraction(spec, arg, "forget amount")
    if not (math.isfinite(fraction) and 0.0 < fraction < 1.0):
        raise BadInput(f"forget fraction {arg!r} is not allowed; it must be in (0, 1) or (0%, 100%)")
    return ForgetRequest(kind, fraction=fraction, options=tuple(options.items()))  # type: ignore[arg-type]


def _allowed_options(kind: str) -> str:
    return ", ".join(f"{name}=" + ("|".join(map(str, allowed)) if typ is str else
                                   f"{typ.__name__} in [{allowed[0]}, {allowed[1]}]")
                     for name, (typ, _, allowed) in SELECTION_OPTIONS[kind].items())


def _check_options(kind: str, options: object) -> tuple[tuple[str, object], ...]:
    """The options of a selected kind, typed and checked, sorted, without those equal to their default."""
    items = list(dict(options).items()) if isinstance(options, Mapping) else list(options or ())  # type: ignore
    if not items:
        return ()
    if kind not in SELECTED_KINDS:
        raise BadInput(f"forget kind {kind!r} takes no options; got {', '.join(str(k) for k, _ in items)}")
    known = SELECTION_OPTIONS[kind]
    out: dict[str, object] = {}
    for item in items:
        name, value = item
        if name not in known:
            raise BadInput(f"unknown option {name!r} of {kind}:; allowed: {_allowed_options(kind)}")
        typ, default, allowed = known[name]
        if typ is str:
            if str(value) not in allowed:
                raise BadInput(f"{kind} option {name}={value!r} is not allowed; allowed: {', '.join(allowed)}")
            value = str(value)
        else:
            try:
                if isinstance(value, bool):
                    raise ValueError
                num = typ(value) if typ is float or isinstance(value, numbers.Integral) else None
                if typ is int and isinstance(value, str) and _INT.fullmatch(value.strip()):
                    num = int(value)
                if num is None or (typ is float and not math.isfinite(num)):
                    raise ValueError
            except (TypeError, ValueError):
                raise BadInput(f"{kind} option {name}={value!r} is not a{'n integer' if typ is int else ' number'}; "
                               f"it must be in [{allowed[0]}, {allowed[1]}]") from None
            if not allowed[0] <= num <= allowed[1]:
                raise BadInput(f"{kind} option {name}={value!r} is out of range; it must be in "
                               f"[{allowed[0]}, {allowed[1]}]")
            value = num
        if value != default:
            out[name] = value
    return tuple(sorted(out.items()))


def selection_size(request: ForgetRequest, n: int) -> int:
    """How many of `n` training samples a `random:` or selected request forgets; BadInput unless in [1, n-1]."""
    size = request.count if request.count is not None else round((request.fraction or 0.0) * n)
    if size < 1:
        raise BadInput(f"forget {request.spec()!r} selects 0 of {n} training samples; "
                       f"it must select between 1 and {n - 1}")
    if size >= n:
        raise BadInput(f"forget {request.spec()!r} selects all {n} training samples; "
                       f"it must select between 1 and {n - 1}")
    return size


def _bound(v: float | None) -> str:
    """A `target:` bound as written back: the shortest repr, without a trailing '.0' on whole numbers."""
    if v is None:
        return ""
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _parse_target(spec: str, arg: str) -> ForgetRequest:
    lo, sep, hi = arg.partition("..")
    if not sep:
        raise BadInput(f"forget spec {spec!r} is not a range; write target:LO..HI, e.g. target:0..30 "
                       "(target:..30 and target:200.. leave one side open)")
    bounds = []
    for text in (lo.strip(), hi.strip()):
        if not text:
            bounds.append(None)
            continue
        try:
            bounds.append(float(text))
        except ValueError:
            raise BadInput(f"forget target bound {text!r} in {spec!r} is not a number; write target:LO..HI, "
                           "e.g. target:0..30") from None
    if bounds == [None, None]:
        raise BadInput(f"forget spec {spec!r} leaves both sides of the range open, selecting everything; give LO, "
                       "HI or both, e.g. target:0..30")
    return ForgetRequest("target", low=bounds[0], high=bounds[1])


def _target_mask(request: ForgetRequest, dataset: Dataset) -> tuple[np.ndarray, str]:
    """Training samples whose target lies in the request's range (in the data's own units: the standardised
    targets are mapped back with `info`'s target_mean / target_std where the loader recorded them), and the
    targets' span in those units, for messages."""
    y = dataset.y_train
    mean, std = dataset.info.get("target_mean"), dataset.info.get("target_std")
    scaled = mean is not None and std is not None

    def stored(v: float) -> np.float32:
        # The bound goes through the loader's own float64 map and float32 cast, so a target equal to a bound in
        # the data's units equals it here too (mapping the float32 targets back would be off by rounding).
        return np.float32((v - float(mean)) / float(std)) if scaled else np.float32(v)

    mask = np.ones(len(y), dtype=bool)
    if request.low is not None:
        mask &= y >= stored(request.low)
    if request.high is not None:
        mask &= y <= stored(request.high)
    lo, hi = (float(v) * float(std) + float(mean) if scaled else float(v) for v in (y.min(), y.max()))
    return mask, f"its training targets span [{lo:.6g}, {hi:.6g}]"


def _fraction(spec: str, arg: str, what: str) -> float:
    """`arg` as a fraction: a number, or a percentage ending in %; BadInput naming `what` if it is neither."""
    text = arg[:-1].strip() if arg.endswith("%") else arg
    try:
        value = float(text)
    except ValueError:
        raise BadInput(f"{what} {arg!r} in {spec!r} is not a number; {_FORMS}") from None
    return value / 100.0 if arg.endswith("%") else value


def _parse_poison_forget(spec: str, arg: str | None) -> ForgetRequest:
    if arg is None:
        return ForgetRequest("poison")
    fraction = _fraction(spec, arg, "forget fraction")
    if not (math.isfinite(fraction) and 0.0 < fraction <= 1.0):
        raise BadInput(f"forget fraction {arg!r} of the poisoned set is not allowed; it must be in (0, 1] "
                       "or (0%, 100%]")
    return ForgetRequest("poison", fraction=fraction)


def _token(token: object, what: str, example: str) -> str:
    """A fine class or group as written: integers in canonical decimal (so `03` is 3), else the text; no ','
    (the spec's separator)."""
    if isinstance(token, numbers.Integral) and not isinstance(token, bool):
        token = str(int(token))
    if not isinstance(token, str) or not token.strip() or "," in token:
        raise BadInput(f"{what} {token!r} is not allowed; {example}")
    token = token.strip()
    return str(int(token)) if _INT.fullmatch(token) else token


def _fine_token(token: object) -> str:
    return _token(token, "fine class", "give a fine class index or name, e.g. 69 or rocket")


def _group_token(token: object) -> str:
    return _token(token, "group", "give a group as stored in the data set, e.g. 3 or ann")


def _stored_groups(groups: np.ndarray) -> np.ndarray:
    """Each sample's group as the text a `group:` token matches (integers in canonical decimal)."""
    if groups.dtype.kind in "iub":
        return groups.astype(np.int64).astype(str)
    text = np.char.strip(groups.astype(str))
    return np.array([str(int(t)) if _INT.fullmatch(t) else t for t in text.tolist()], dtype=str)


def group_names(groups: np.ndarray) -> list[str]:
    """The distinct groups of a groups array as `group:` tokens, in stored order (numbers numerically)."""
    return list(dict.fromkeys(_stored_groups(np.unique(groups)).tolist()))


def _group_mask(request: ForgetRequest, dataset: Dataset) -> np.ndarray:
    """Training samples in the request's groups; BadInput for data without groups or a group not in it."""
    g = dataset.groups_train
    if g is None:
        raise BadInput(f"forget {request.spec()!r} needs a data set with groups (a 'groups' array in "
                       f"arrays:PATH.npz, or olivetti); dataset {dataset.name!r} has none: use class:C, "
                       "random:F or indices:PATH there")
    known = group_names(g)
    present = set(known)
    stored = _stored_groups(g)
    for token in request.groups:
        if token not in present:
            if dataset.groups_test is not None and token in set(_stored_groups(dataset.groups_test).tolist()):
                raise BadInput(f"group {token!r} of dataset {dataset.name!r} is in its test split only (an unseen "
                               f"identity), so there is nothing to forget; choose one of its {len(known)} "
                               f"training groups, e.g. {known[0]}")
            shown = ", ".join(known[:5]) + (", ..." if len(known) > 5 else "")
            raise BadInput(f"group {token!r} is not in dataset {dataset.name!r}; its training set has "
                           f"{len(known)} groups: {shown}")
    return np.isin(stored, list(request.groups))


def _fine_classes(request: ForgetRequest, dataset: Dataset) -> list[int]:
    """The fine label of each `subclass:` token on `dataset`; BadInput if it has no fine labels."""
    if dataset.fine_train is None:
        raise BadInput(f"forget {request.spec()!r} needs a data set with fine labels (cifar20); "
                       f"dataset {dataset.name!r} has none: use class:C, random:F or indices:PATH there")
    names = dataset.fine_names
    ids: list[int] = []
    for token in request.subclasses:
        if _INT.fullmatch(token):
            fine = int(token)
            if not 0 <= fine < len(names):
                raise BadInput(f"fine class {fine} is out of range on {dataset.name!r}; it must be in "
                               f"[0, {len(names) - 1}] or a name such as {names[0]!r}")
        elif token in names:
            fine = names.index(token)
        else:
            near = difflib.get_close_matches(token, names, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise BadInput(f"fine class {token!r} is not one of {dataset.name!r}'s{hint}; allowed: an index "
                           f"in [0, {len(names) - 1}] or a name: {', '.join(names)}")
        if fine in ids:
            raise BadInput(f"fine class {names[fine]!r} is named twice in {request.spec()!r}; give it once")
        if not np.any(dataset.fine_train == fine):
            raise BadInput(f"fine class {names[fine]!r} has no training samples in {dataset.name!r}; "
                           "choose one that does")
        ids.append(fine)
    return ids


def read_indices(path: str) -> np.ndarray:
    """Indices from a `.npy` file or a text file of whitespace- or comma-separated integers (unchecked)."""
    where = f"forget indices file {path!r}"
    check_input_file(path, where, "give a .npy file or a text file of integers", MAX_INDICES_BYTES)
    try:
        if path.endswith(".npy"):
            a = np.load(path, allow_pickle=False)
            if not isinstance(a, np.ndarray) or a.dtype.kind not in "iu" or a.ndim != 1:
                raise BadInput(f"{where} holds {getattr(a, 'dtype', type(a).__name__)} of shape "
                               f"{getattr(a, 'shape', '?')}; it must be a 1-D integer array")
            return a.astype(np.int64)
        with open(path, encoding="utf-8") as fh:
            tokens = fh.read().replace(",", " ").split()
    except BadInput:
        raise
    except (OSError, ValueError, EOFError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(f"{where} is not readable ({msg}); give a .npy file or a text file of integers") \
            from None
    for tok in tokens:
        if not _INT.fullmatch(tok):
            raise BadInput(f"{where} holds {tok!r}, which is not an integer; it must list integer indices")
        if len(tok.lstrip("+-")) > 18:  # beyond int64: no training set is that large
            raise BadInput(f"{where} holds {tok}, which is not a valid index; indices must be below 10^18")
    return np.array([int(t) for t in tokens], dtype=np.int64)


def check_applies(request: ForgetRequest, dataset: Dataset) -> None:
    """BadInput (one line) when the request's kind does not apply to the data set's task (`tasks`)."""
    task = dataset.task_type
    if request.kind in task.forget_kinds:
        return
    if request.kind == "target":
        why = "selects by a regression target"
    elif request.kind in ("class", "subclass", "poison"):
        why = "selects by class or by poison"
    elif request.kind in SELECTED_KINDS:
        why = "is chosen by classification accuracy (memorisation or the unlearning error)"
    else:
        why = "does not apply"
    raise BadInput(f"forget {request.spec()!r} {why}, so it does not apply to {dataset.task} data set "
                   f"{dataset.name!r}; {dataset.task} supports: {', '.join(k + ':' for k in task.forget_kinds)}")


def select_forget(request: ForgetRequest, dataset: Dataset, seed: int = 0,
                  poisoned: np.ndarray | None = None) -> np.ndarray:
    """Sorted unique int64 indices into `dataset.x_train`; deterministic for a seed. `poisoned`: the indices a
    poison stamped (`data.poison`), which `poison` requests select from."""
    n, k = len(dataset.y_train), dataset.num_classes
    check_applies(request, dataset)
    if request.kind == "poison":
        if poisoned is None:
            raise BadInput(f"forget {request.spec()!r} needs poisoned training data; give --poison "
                           "(e.g. --poison badnets:0.1), or use class:C, random:F or indices:PATH")
        if request.fraction is None:
            idx = np.asarray(poisoned, dtype=np.int64)
        else:
            check_int("seed", seed, 0)
            size = round(request.fraction * len(poisoned))
            if size < 1:
                raise BadInput(f"forget {request.spec()!r} selects 0 of the {len(poisoned)} poisoned samples; "
                               "raise the fraction")
            # The "discovered" part: its own stream of the seed, independent of the poisoned set's draw.
            idx = np.sort(np.random.default_rng([seed, 0xF0]).choice(poisoned, size=size, replace=False))
    elif request.kind == "class":
        for c in request.classes:
            if c >= k:
                raise BadInput(f"forget class {c} is out of range; it must be in [0, {k - 1}]")
            if not np.any(dataset.y_train == c):
                raise BadInput(f"forget class {c} has no training samples in {dataset.name!r}; "
                               "choose a class that does")
        present = np.unique(dataset.y_train).tolist()
        kept = [c for c in present if c not in request.classes]
        if len(kept) == 1:  # none kept: the "selects all" error below
            # θ_r trained on one class is a constant predictor: UA is 100 % by construction, every
            # test metric measures the class prior, and the MIA attacker sees one label only.
            left = f"only class {kept[0]}"
            others = "use random:F, random:N or indices:PATH"
            hint = (others if len(present) <= 2 else
                    f"forget at most {len(present) - 2} of its {len(present)} classes, or {others}")
            raise BadInput(f"forget {request.spec()!r} leaves {left} in the retain set of {dataset.name!r}; "
                           f"a class request must leave at least 2 classes to learn: {hint}")
        idx = np.flatnonzero(np.isin(dataset.y_train, request.classes))
    elif request.kind == "group":
        idx = np.flatnonzero(_group_mask(request, dataset))
    elif request.kind == "subclass":
        fine = _fine_classes(request, dataset)
        idx = np.flatnonzero(np.isin(dataset.fine_train, fine))
    elif request.is_selected:
        raise BadInput(f"forget {request.spec()!r} is chosen by training models, which select_forget does not do; "
                       "prepare the scenario (runner.prepare) and resolve it (runner.resolve_selection, or execute)")
    elif request.kind == "target":
        mask, span = _target_mask(request, dataset)
        if not mask.any() or mask.all():
            what = "no" if not mask.any() else f"all {n}"
            raise BadInput(f"forget {request.spec()!r} selects {what} training samples of {dataset.name!r}; {span}: "
                           "choose a range inside it that leaves samples on both sides")
        idx = np.flatnonzero(mask)
    elif request.kind == "random":
        check_int("seed", seed, 0)
        size = selection_size(request, n)
        idx = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    else:
        assert request.path is not None
        raw = read_indices(request.path)
        bad = raw[(raw < 0) | (raw >= n)]
        if bad.size:
            raise BadInput(f"forget index {int(bad[0])} in {request.path!r} is out of range; "
                           f"it must be in [0, {n - 1}]")
        idx, counts = np.unique(raw, return_counts=True)
        if counts.size and counts.max() > 1:
            raise BadInput(f"forget index {int(idx[counts > 1][0])} is repeated in {request.path!r}; "
                           "list each index once")
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size == 0:
        raise BadInput(f"forget {request.spec()!r} selects no training samples; it must select at least 1")
    if idx.size == n:
        raise BadInput(f"forget {request.spec()!r} selects all {n} training samples, leaving nothing "
                       "to retain; it must leave at least 1")
    return idx
