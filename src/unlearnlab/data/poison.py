"""Poisoned training data for corrective unlearning: a registry of poisons, `badnets` first.

A poison changes the training set before θ_o is trained; the forget request `poison` (or `poison:F`, the
"discovered" share F of it) then asks a method to undo it, as in corrective unlearning (Goel et al. 2024,
"Corrective Machine Unlearning", TMLR). `badnets` is the trigger-patch backdoor of Gu et al. 2017 ("BadNets:
Identifying Vulnerabilities in the Machine Learning Model Supply Chain"), used as an unlearning benchmark by
Jia et al. 2023 ("Model Sparsity Can Simplify Machine Unlearning", NeurIPS, its backdoor experiment: the
poisoned samples are the forget set, scored by attack success rate and clean accuracy). "Expose Before You
Defend" (Expose Before You Defend: Unifying and Enhancing Backdoor Defenses via Exposed Models) attacks with the
same triggers but unlearns the other way round (clean features, to expose the backdoor); docs/scenarios.md.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..errors import BadInput
from ..registry import Registry
from .datasets import Dataset

_INT = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Poisoning:
    """A poison applied to one data set: the poisoned training indices and how to stamp the trigger."""

    spec: str
    #: Sorted int64 indices into x_train of the stamped and relabelled samples.
    indices: np.ndarray
    target: int
    #: The data set before poisoning (its description is what a scenario records, and reloads).
    clean: Dataset
    #: x -> a copy of x with the trigger stamped (inputs shaped like x_train).
    stamp: Callable[[np.ndarray], np.ndarray]

    def describe(self) -> dict:
        return {"spec": self.spec, "target": self.target, "count": int(len(self.indices)),
                "indices_sha256": hashlib.sha256(self.indices.astype(np.int64).tobytes()).hexdigest()}


class Poison:
    """Base of a registered poison: parsed from `NAME:ARGS`, it turns a clean data set into a poisoned one."""

    name = ""
    paper = ""
    #: The accepted text, `NAME:ARGS` spelled out (the web API lists it with the poison).
    form = ""
    #: The class the poisoned samples are relabelled to (None for a poison that keeps labels).
    target: int | None = None

    def spec(self) -> str:  # pragma: no cover
        raise NotImplementedError

    def apply(self, dataset: Dataset, seed: int) -> tuple[Dataset, Poisoning]:  # pragma: no cover
        raise NotImplementedError


POISONS: Registry[Callable[[str], Poison]] = Registry("poison")


def register_poison(name: str) -> Callable[[type[Poison]], type[Poison]]:
    """Class decorator: registers a poison whose `parse(args)` classmethod reads the text after `NAME:`."""

    def decorate(cls: type[Poison]) -> type[Poison]:
        cls.name = name
        POISONS.add(name, cls.parse)  # type: ignore[attr-defined]
        return cls

    return decorate


def parse_poison(spec: str | Poison) -> Poison:
    """`badnets:0.1`, `badnets:0.1,target=0`, `badnets:5%,target=3`."""
    if isinstance(spec, Poison):
        return spec
    if not isinstance(spec, str):
        raise BadInput(f"poison {spec!r} is not allowed; give NAME:ARGS, e.g. badnets:0.1,target=0")
    name, _, args = spec.strip().partition(":")
    return POISONS.get(name.strip())(args.strip())


def _trigger_corner(shape: tuple[int, ...]) -> tuple[tuple[slice, ...], int]:
    """Where the patch goes in one sample: the bottom-right corner of its spatial axes, 2 wide on inputs of 8
    or fewer pixels a side (digits), 3 otherwise (BadNets used a small corner pattern on 28x28 MNIST)."""
    spatial = shape[1:] if len(shape) >= 2 else shape  # (C, H, W) / (C, L), or flat features
    size = 2 if min(spatial) <= 8 else 3
    where = tuple(slice(max(0, d - size), d) for d in spatial)
    return ((slice(None),) if len(shape) >= 2 else ()) + where, size


@register_poison("badnets")
@dataclass(frozen=True)
class BadNets(Poison):
    """BadNets (Gu et al. 2017): a max-intensity square patch in the bottom-right corner stamped on a share
    `rate` of the training samples whose label is not `target`, which are relabelled to `target`."""

    rate: float = 0.1
    target: int = 0
    paper = "Gu et al. 2017, BadNets: Identifying Vulnerabilities in the Machine Learning Model Supply Chain"
    form = "badnets:RATE[,target=C] (RATE in (0, 1) or (0%, 100%), C a class index)"

    def __post_init__(self) -> None:
        r = self.rate
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not (math.isfinite(r) and 0.0 < r < 1.0):
            raise BadInput(f"poison rate {r!r} is not allowed; it must be in (0, 1), e.g. badnets:0.1")
        if isinstance(self.target, bool) or not isinstance(self.target, (int, np.integer)) or self.target < 0:
            raise BadInput(f"poison target {self.target!r} is not allowed; it must be a class index >= 0")
        object.__setattr__(self, "rate", float(r))
        object.__setattr__(self, "target", int(self.target))

    @classmethod
    def parse(cls, args: str) -> BadNets:
        form = cls.form
        parts = [p.strip() for p in args.split(",")] if args else []
        if not parts or not parts[0]:
            raise BadInput(f"poison 'badnets:{args}' has no rate; allowed: {form}")
        text = parts[0][:-1].strip() if parts[0].endswith("%") else parts[0]
        try:
            rate = float(text) / (100.0 if parts[0].endswith("%") else 1.0)
        except ValueError:
            raise BadInput(f"poison rate {parts[0]!r} is not a number; allowed: {form}") from None
        if not (math.isfinite(rate) and 0.0 < rate < 1.0):
            raise BadInput(f"poison rate {parts[0]!r} is not allowed; it must be in (0, 1) or (0%, 100%)")
        target = 0
        for part in parts[1:]:
            key, eq, value = (s.strip() for s in part.partition("="))
            if key != "target" or not eq:
                raise BadInput(f"poison option {part!r} is not allowed; allowed: {form}")
            if not _INT.fullmatch(value):
                raise BadInput(f"poison target {value!r} is not an integer; allowed: {form}")
            target = int(value)
        return cls(rate, target)

    def spec(self) -> str:
        return f"badnets:{self.rate!r},target={self.target}"

    def apply(self, dataset: Dataset, seed: int) -> tuple[Dataset, Poisoning]:
        k = dataset.num_classes
        if self.target >= k:
            raise BadInput(f"poison target {self.target} is out of range; it must be in [0, {k - 1}] on "
                           f"{dataset.name!r}")
        eligible = np.flatnonzero(dataset.y_train != self.target)
        count = round(self.rate * len(eligible))
        if count < 1:
            raise BadInput(f"poison {self.spec()!r} stamps 0 of the {len(eligible)} eligible training samples; "
                           "raise the rate")
        # Its own stream of the scenario seed, so the poisoned set does not move with a random forget set.
        rng = np.random.default_rng([int(seed), 0xBAD])
        idx = np.sort(rng.choice(eligible, size=count, replace=False)).astype(np.int64)
        where, _ = _trigger_corner(dataset.input_shape)
        x = dataset.x_train
        # "Max intensity" in the data set's own (normalised) units: the training maximum, per channel on images.
        if x.ndim >= 3:
            value = x.max(axis=tuple(i for i in range(x.ndim) if i != 1)).reshape(-1, *([1] * (x.ndim - 2)))
        else:
            value = np.asarray(x.max(), dtype=np.float32)

        def stamp(inputs: np.ndarray) -> np.ndarray:
            out = np.array(inputs, dtype=np.float32, copy=True)
            out[(slice(None), *where)] = value
            return out

        x_train = x.copy()
        x_train[idx] = stamp(x[idx])
        y_train = dataset.y_train.copy()
        y_train[idx] = self.target
        poisoned = replace(dataset, x_train=x_train, y_train=y_train)
        return poisoned, Poisoning(self.spec(), idx, self.target, dataset, stamp)


def poison_dataset(dataset: Dataset, poison: str | Poison, seed: int = 0) -> tuple[Dataset, Poisoning]:
    """(the poisoned data set, what was poisoned); deterministic for a seed. The clean data set is unchanged."""
    return parse_poison(poison).apply(dataset, int(seed))
