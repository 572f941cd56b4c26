"""The reduced generative request the generation methods' tests share: digits, forget class 3, θ_o and θ_r of
the reduced recipe (width 128, depth 2, 800 steps at lr 3e-3, as tests/training/test_diffusion.py), the judge,
and a reading of 40 samples a class at 10 DDIM steps. Cached per process, so each test file pays once."""

from __future__ import annotations

from functools import lru_cache

import torch

from unlearnlab import numerics
from unlearnlab.data import load_dataset
from unlearnlab.methods import build_method, run_method
from unlearnlab.methods.generative_common import make_generation_task
from unlearnlab.metrics.generative import evaluate, train_judge
from unlearnlab.models.diffusion import DiffusionConfig, SampleConfig
from unlearnlab.training import RunContext
from unlearnlab.training.diffusion import DiffusionTrainConfig, train_diffusion

FORGET = 3
CONFIG = DiffusionConfig(width=128, depth=2)
TRAIN = DiffusionTrainConfig(steps=800, lr=3e-3)
SAMPLING = SampleConfig(steps=10)


@lru_cache(maxsize=None)
def setup(seed: int = 0):
    """(dataset, θ_o, θ_r, judge, θ_o's reading, θ_r's reading)."""
    ds = load_dataset("digits", seed=seed)
    original = train_diffusion(ds, (), seed=seed, config=CONFIG, train=TRAIN).model
    retrained = train_diffusion(ds, (FORGET,), seed=seed, config=CONFIG, train=TRAIN).model
    judge = train_judge(ds, seed)
    return ds, original, retrained, judge, read(original, ds, judge), read(retrained, ds, judge)


def read(model, ds, judge) -> dict:
    return evaluate(model, judge, ds, [FORGET], n_per_class=40, seed=0, sampling=SAMPLING)


@lru_cache(maxsize=None)
def unlearned(name: str, seed: int = 0) -> dict:
    """The method's reading on the reduced request (defaults), with its seconds."""
    ds, original, _, judge, _, _ = setup(seed)
    with numerics.compute_threads():
        task = make_generation_task(ds.x_train, ds.y_train, [FORGET], original, RunContext(seed=seed))
        result = run_method(build_method(name), original, task)
    return {**read(result.model, ds, judge), "seconds": result.seconds}


@lru_cache(maxsize=None)
def tiny():
    """(dataset, θ_o) of a DDPM too small to generate anything (width 32, T = 20, 30 steps): for properties of
    the weights a method may move, which do not need a model that generates."""
    ds = load_dataset("digits", seed=0)
    return ds, train_diffusion(ds, seed=0, config=DiffusionConfig(width=32, depth=1, timesteps=20),
                               train=DiffusionTrainConfig(steps=30, batch_size=32)).model


def run_tiny(name: str, **params):
    """The method with `params` on the tiny DDPM, forgetting class 3; returns (θ_o, unlearned model)."""
    ds, original = tiny()
    with numerics.compute_threads():
        task = make_generation_task(ds.x_train, ds.y_train, [FORGET], original, RunContext(seed=0))
        return original, run_method(build_method(name, params), original, task).model


def changed(original, model) -> set[str]:
    """Names of the parameters that moved."""
    a = dict(original.named_parameters())
    return {n for n, p in model.named_parameters() if not torch.equal(p, a[n])}
