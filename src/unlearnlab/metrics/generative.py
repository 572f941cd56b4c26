"""Metrics of class erasure in a generative model, read by a held-out classifier (the judge).

- Forget rate: the share of samples generated for the forgotten class that the judge assigns to it
  (the "unlearning accuracy" of ESD, Gandikota et al. 2023, and SalUn's generative experiments, Fan et
  al. 2024, read by a classifier as UnlearnDiffAtk, Zhang et al. 2024, reads its attack). θ_o is high;
  θ_r, which never saw the class, is low.
- Frechet distance (FID's formula, Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule
  Converge to a Local Nash Equilibrium") between Gaussians fitted to the judge's penultimate features of
  generated and real held-out samples, per kept class and over all kept classes: the quality the
  erasure must not cost. Beside it, the floor: the same distance between real training images and the
  held-out reference, i.e. what a perfect generator of that many samples would score.

Degenerate input says so instead of giving a number: a judge at chance (its test accuracy's exact
binomial interval reaches the majority-class rate, metrics/chance.py) reads nothing, and a Gaussian
fitted to fewer samples than the feature dimension + 1 has a singular covariance, so its distance is
reported as missing with the reason (`notes`).

The judge is a registered classifier named by the data set's diffusion recipe (`training.diffusion.recipe_for`):
on digits the `cnn` at width 8 (32 features, so that the ~36 held-out digits of a class estimate a full-rank
covariance); on 28x28 MNIST / Fashion-MNIST `fastnet` at width 8 (32 features too), because the cnn's ~10x10
pixel view before its global pooling cannot read digits of that size (0.57-0.87 test accuracy on digits resized to
28x28, against fastnet's 0.99). It is trained by the recipe's classifier recipe on the training split, once per
(data set, seed, recipe): cached in-process and, given a `Store`, content-addressed in its model cache
as θ_o and θ_r are.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .. import numerics
from ..errors import BadInput
from ..models import create_model
from ..models.base import Classifier
from ..models.diffusion import DiffusionModel, SampleConfig, sample
from ..training import RunContext, TrainConfig, seed_everything, train_classifier
from ..training.diffusion import recipe_for
from .chance import ChanceCheck, model_chance_check

#: The digits judge (the default recipe's); a data set's recipe may name another (training.diffusion.RECIPES).
JUDGE_MODEL = "cnn"
JUDGE_KWARGS = {"width": 8}
#: Bump when the judge's training changes what it computes (cache keys carry it).
JUDGE_VERSION = 1


# ---------------------------------------------------------------------------------------------------
# Pure functions


@dataclass(frozen=True)
class Reading:
    """A metric's value, or None with the reason it cannot be read."""

    value: float | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, **({"note": self.note} if self.note else {})}


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||μ1 − μ2||² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) between N(μ1, Σ1) and N(μ2, Σ2).

    tr (Σ1 Σ2)^½ is computed as tr (Σ1^½ Σ2 Σ1^½)^½, a symmetric PSD matrix with the same eigenvalues
    as Σ1 Σ2, so only symmetric eigendecompositions are needed (no complex parts to discard, as
    scipy.linalg.sqrtm leaves on near-singular inputs)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise BadInput(f"frechet_distance needs means of one length d and d x d covariances; got {mu1.shape}, "
                       f"{mu2.shape}, {s1.shape}, {s2.shape}")
    r1 = _sqrt_psd(s1)
    cross = np.linalg.eigvalsh(r1 @ s2 @ r1)
    trace_sqrt = float(np.sqrt(np.clip(cross, 0, None)).sum())
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)
    return max(value, 0.0)  # rounding can take an exact 0 a hair below


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, np.float64)
    return f.mean(0), np.cov(f, rowvar=False, ddof=1).reshape(f.shape[1], f.shape[1])


def frechet_features(a: np.ndarray, b: np.ndarray, min_samples: int | None = None) -> Reading:
    """Frechet distance between Gaussians fitted to feature sets `a` and `b` (n x d each), or None when a set
    has fewer than `min_samples` rows (default d + 1: fewer cannot give a full-rank covariance)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise BadInput(f"frechet_features needs two n x d feature arrays of one d; got {a.shape} and {b.shape}")
    need = a.shape[1] + 1 if min_samples is None else int(min_samples)
    need = max(need, 2)
    small = min(len(a), len(b))
    if small < need:
        return Reading(None, f"too few samples for a covariance: {small} < {need} (feature dimension {a.shape[1]} + 1)")
    return Reading(frechet_distance(*gaussian_stats(a), *gaussian_stats(b)))


def forget_rate(predictions: np.ndarray, forgotten_class: int) -> Reading:
    """Share of `predictions` (the judge's classes for samples generated for `forgotten_class`) equal to it."""
    p = np.asarray(predictions)
    if p.ndim == 2:
        p = p.argmax(1)
    if len(p) == 0:
        return Reading(None, "no samples")
    return Reading(float((p == forgotten_class).mean()))


# ---------------------------------------------------------------------------------------------------
# The judge


@dataclass
class Judge:
    """A held-out classifier of the data set and its test accuracy (against chance)."""

    model: Classifier
    check: ChanceCheck
    key: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def test_accuracy(self) -> float:
        return self.check.accuracy

    @property
    def usable(self) -> Reading:
        if self.check.at_chance:
            return Reading(None, f"the judge is at chance ({self.check.describe()}): it cannot read generated classes")
        return Reading(self.check.accuracy)

    @torch.no_grad()
    def read(self, x: torch.Tensor | np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """(predicted classes, penultimate features) of images `x` in the data set's space."""
        x = torch.as_tensor(np.asarray(x, np.float32))
        preds, feats = [], []
        with numerics.compute_threads():
            for i in range(0, len(x), batch_size):
                f = self.model.features(x[i:i + batch_size])
                feats.append(f.numpy())
                preds.append(self.model.head(f).argmax(1).numpy())
        return np.concatenate(preds), np.concatenate(feats).astype(np.float64)


_JUDGES: dict[str, Judge] = {}


def judge_key(dataset, seed: int, train: TrainConfig, model: str = JUDGE_MODEL,
              kwargs: Mapping[str, Any] | None = None) -> str:
    src = {"kind": "judge", "version": JUDGE_VERSION, "dataset": dataset.fingerprint, "model": model,
           "kwargs": dict(JUDGE_KWARGS if kwargs is None else kwargs), "train": train.to_dict(), "seed": seed,
           "numerics": numerics.identity(numerics.manifest("cpu"))}
    return hashlib.sha256(json.dumps(src, sort_keys=True).encode()).hexdigest()


def train_judge(dataset, seed: int = 0, *, store=None, train: TrainConfig | None = None, model: str | None = None,
                kwargs: Mapping[str, Any] | None = None) -> Judge:
    """The judge of `dataset` for `seed`: the registered classifier `model(**kwargs)` trained once (CPU, the
    classifier recipe `train`) on the training split, then read from the cache. Its test accuracy is in `check`.

    Each of `train`, `model`, `kwargs` defaults to the data set's diffusion recipe (`training.diffusion.recipe_for`):
    `cnn` width 8 and TrainConfig() on digits, `fastnet` width 8 for 3 epochs on MNIST / Fashion-MNIST."""
    recipe = recipe_for(dataset.name)
    train = train or recipe.judge
    model_name = model or recipe.judge_model
    kwargs = dict(recipe.judge_kwargs if kwargs is None else kwargs)
    key = judge_key(dataset, seed, train, model_name, kwargs)
    if key in _JUDGES:
        return _JUDGES[key]
    with numerics.compute_threads():
        seed_everything(seed)
        model = create_model(model_name, dataset.input_shape, dataset.num_classes, **kwargs)
        hit = store.cache_get(key) if store is not None else None
        if hit is not None:
            model.load_state_dict(hit[0])
            meta = {**hit[1], "cached": True}
        else:
            ctx = RunContext(device=torch.device("cpu"), seed=seed)
            start = time.perf_counter()
            train_classifier(model, torch.as_tensor(dataset.x_train), torch.as_tensor(dataset.y_train), train, ctx,
                             description="judge")
            meta = {"seconds": time.perf_counter() - start, "steps": ctx.counters.steps, "seed": seed,
                    "model": model_name, "kwargs": kwargs, "train": train.to_dict()}
            if store is not None:
                store.cache_put(key, model.state_dict(), meta)
        model.eval().requires_grad_(False)
        with torch.no_grad():
            pred = model(torch.as_tensor(dataset.x_test)).argmax(1).numpy()
    judge = Judge(model, model_chance_check(pred, dataset.y_test), key, meta)
    _JUDGES[key] = judge
    return judge


# ---------------------------------------------------------------------------------------------------
# One model, read end to end


def evaluate(model: DiffusionModel, judge: Judge, dataset, forget_classes: Sequence[int], *, n_per_class: int = 100,
             seed: int = 0, sampling: SampleConfig | None = None) -> dict[str, Any]:
    """Sample `n_per_class` images of every class (seeded: every model gets the same initial noise) and read them.

    Returns `forget_rate` (over the forgotten classes' samples), `kept_accuracy` (the judge agreeing with the
    intended kept class), `fd_kept` (all kept classes together against the held-out kept images), `fd_class`
    and `fd_floor` per kept class (floor: the class's first `n_per_class` real training images against the
    same reference), `chance` (1 / K, a judge's rate for samples unrelated to the class) and `notes`, each
    unreadable value's reason.
    """
    k = dataset.num_classes
    forget = sorted({int(c) for c in forget_classes})
    for c in forget:
        if not 0 <= c < k:
            raise BadInput(f"forget class {c!r} is not allowed; classes are integers in [0, {k - 1}]")
    kept = [c for c in range(k) if c not in forget]
    notes: dict[str, str] = {}
    with numerics.compute_threads():
        x, y = sample(model, list(range(k)), n_per_class, seed, config=sampling)
    y = y.numpy()
    pred, feats = judge.read(x)
    real_feats = judge.read(dataset.x_test)[1]
    # Only the floor's images are read (the first n_per_class of each kept class): all of MNIST's 60,000 would
    # cost the judge ~30x the samples it reads.
    floor_idx = {c: np.flatnonzero(dataset.y_train == c)[:n_per_class] for c in kept}
    floor_all = np.concatenate(list(floor_idx.values()))
    floor_feats = judge.read(dataset.x_train[floor_all])[1]
    bounds = np.cumsum([0, *(len(i) for i in floor_idx.values())])
    floor_of = {c: floor_feats[bounds[j]:bounds[j + 1]] for j, c in enumerate(floor_idx)}
    out: dict[str, Any] = {"judge_accuracy": judge.test_accuracy, "chance": 1.0 / k, "n_per_class": n_per_class,
                           "forget_classes": forget}
    usable = judge.usable
    if usable.value is None:
        notes["judge"] = usable.note or ""
        out.update(forget_rate=None, kept_accuracy=None)
    else:
        on_forget = np.isin(y, forget)
        out["forget_rate"] = float(np.isin(pred[on_forget], forget).mean()) if on_forget.any() else None
        if not on_forget.any():
            notes["forget_rate"] = "no forgotten class"
        on_kept = np.isin(y, kept)
        out["kept_accuracy"] = float((pred[on_kept] == y[on_kept]).mean()) if on_kept.any() else None
    ref_kept = np.isin(dataset.y_test, kept)
    r = frechet_features(feats[np.isin(y, kept)], real_feats[ref_kept])
    out["fd_kept"] = r.value
    if r.note:
        notes["fd_kept"] = r.note
    fd_class, fd_floor = {}, {}
    for c in kept:
        ref = real_feats[dataset.y_test == c]
        r = frechet_features(feats[y == c], ref)
        fd_class[c] = r.value
        if r.note:
            notes[f"fd_class[{c}]"] = r.note
        fd_floor[c] = frechet_features(floor_of[c], ref).value
    out["fd_class"], out["fd_floor"] = fd_class, fd_floor
    out["notes"] = notes
    return out


__all__ = ["JUDGE_MODEL", "Judge", "Reading", "evaluate", "forget_rate", "frechet_distance", "frechet_features",
           "gaussian_stats", "judge_key", "train_judge"]
