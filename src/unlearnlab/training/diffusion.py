"""Training a class-conditional diffusion model by the shared loop: θ_o on every class, θ_r without the
forgotten ones (the generative gold standard).

The loss is DDPM's simplified objective ||ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t, c)||² with t uniform (Ho
et al. 2020), with the label replaced by the null token for a `p_uncond` share of samples (classifier-
free guidance, Ho & Salimans 2022); AdamW with gradient clipping, and the sampled weights are an
exponential moving average of the trained ones (as in DDPM and every later diffusion recipe). Every
random draw of the loss (t, ε, label dropout) comes from the run's own generator, so the same seed gives
the same bits (`numerics.compute_threads`).

θ_r: the same recipe on the training split without `exclude_classes`, from an independent seed stream
(SeedSequence([seed, 1]), as the classifier runner's `retrain_seed="independent"`); its `class_known`
buffer marks the excluded classes, which it then conditions as the null token (models/diffusion.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import numerics
from ..data import load_from_spec
from ..errors import BadInput
from ..models import MODELS
from ..models.diffusion import DiffusionConfig, DiffusionModel, create_generative
from ..registry import Registry
from ..validation import check_int, check_non_negative, check_positive, check_range
from .batches import TensorBatches
from .context import RunContext, pick_device, seed_everything
from .loop import fit
from .train import TrainConfig

#: Generator offsets of the loss's draws and of the batch order (independent streams of one seed).
LOSS_STREAM, BATCH_STREAM = 11, 12
#: Version of the recipe in cache keys: bump when training changes what it computes.
RECIPE_VERSION = 1


@dataclass(frozen=True)
class DiffusionTrainConfig:
    """How a diffusion model is trained (validated). Defaults: the digits recipe of unlearning-spec §6
    (AdamW 1e-3, batch 128, EMA 0.999) for `steps` optimiser steps."""

    steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    ema: float = 0.999
    grad_clip: float = 1.0

    def __post_init__(self):
        check_int("diffusion_train.steps", self.steps, minimum=1)
        if self.steps > 1_000_000:
            raise BadInput(f"diffusion_train.steps={self.steps!r} is not allowed; it must be an integer in [1, 1000000]")
        check_int("diffusion_train.batch_size", self.batch_size, minimum=1)
        check_positive(**{"diffusion_train.lr": self.lr})
        check_non_negative(**{"diffusion_train.weight_decay": self.weight_decay,
                              "diffusion_train.grad_clip": self.grad_clip})
        check_range("diffusion_train.ema", self.ema, 0.0, 1.0, closed="left")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DiffusionRecipe:
    """A data set's defaults for a generative request: the denoiser (`model`), its training (`train`) and the
    judge's classifier recipe (`judge`, metrics/generative.py). Explicit options override single fields
    (`--set gen.width=...`, `--set train.steps=...`); the resolved values, not the recipe's name, are what a
    scenario stores, so a run reproduces whatever the registry later says."""

    model: DiffusionConfig = field(default_factory=DiffusionConfig)
    train: DiffusionTrainConfig = field(default_factory=DiffusionTrainConfig)
    judge: TrainConfig = field(default_factory=TrainConfig)
    #: The judge's registered classifier and its keyword arguments; its penultimate features are the space of
    #: the Frechet distances, so keep them few (32: ~36 held-out digits a class must fit a covariance).
    judge_model: str = "cnn"
    judge_kwargs: Mapping[str, Any] = field(default_factory=lambda: {"width": 8})
    why: str = ""

    def __post_init__(self):
        for name, kind in (("model", DiffusionConfig), ("train", DiffusionTrainConfig), ("judge", TrainConfig)):
            if not isinstance(getattr(self, name), kind):
                raise BadInput(f"DiffusionRecipe.{name}={getattr(self, name)!r} is not allowed; it must be a "
                               f"{kind.__name__}")
        if self.judge_model not in MODELS:
            raise BadInput(f"DiffusionRecipe.judge_model={self.judge_model!r} is not allowed; it must be a registered "
                           f"classifier: {', '.join(MODELS.names())}")
        object.__setattr__(self, "judge_kwargs", dict(self.judge_kwargs))

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model.to_dict(), "train": self.train.to_dict(), "judge": self.judge.to_dict(),
                "judge_model": self.judge_model, "judge_kwargs": dict(self.judge_kwargs), "why": self.why}


#: Data set name -> its DiffusionRecipe. A data set without an entry gets DEFAULT_RECIPE.
RECIPES: Registry[DiffusionRecipe] = Registry("diffusion recipe")

#: The digits recipe (docs/generative.md): width 256 x 3 blocks (0.76M parameters on 64 inputs), 2,000 steps,
#: the judge by the classifier recipe (20 epochs).
DEFAULT_RECIPE = DiffusionRecipe(why="sized for the 8x8 digits (64 inputs): ~50 s for θ_o on the 2-core CPU")


def register_recipe(dataset: str, recipe: DiffusionRecipe) -> DiffusionRecipe:
    """Make `recipe` the defaults of generative requests on data set `dataset` (a registered data set's name)."""
    if not isinstance(recipe, DiffusionRecipe):
        raise BadInput(f"recipe {recipe!r} is not allowed; register a DiffusionRecipe")
    RECIPES.add(dataset, recipe)
    return recipe


def recipe_for(dataset: str) -> DiffusionRecipe:
    """The recipe registered for data set name `dataset`, else DEFAULT_RECIPE (the digits one)."""
    return RECIPES.get(dataset) if dataset in RECIPES else DEFAULT_RECIPE


register_recipe("digits", DEFAULT_RECIPE)

# MNIST / Fashion-MNIST: 784 inputs, 60,000 training images. An ε-network must rebuild a 784-d ε from its residual
# stream and DDIM's x_0 amplifies what it misses: on 28x28 inputs its samples were saturated noise (forget rate 0,
# kept accuracy at chance), so the network predicts v (DiffusionConfig.prediction) and ε ≈ z_t comes through a skip;
# the width doubles (the 512 x 4 of unlearning-spec §6's measurements). The digits judge (cnn, width 8) sees ~10x10
# pixels before its global pooling: on digits resized into MNIST's 28x28 layout it read 0.87 and 0.57 of the test
# set (seeds 0, 1), fastnet at width 8 (32 features, the same dimension) 0.997 and 0.992. Its 20 epochs would be
# ~19,000 steps on 60,000 images, where a CNN reads MNIST after a few epochs: 3. The 10,000 steps are a guess, not
# validated: no run on the real files was possible, and on digits resized to 28x28 5,000 steps did worse than 2,000.
# Measurements: docs/generative.md, "MNIST / Fashion-MNIST".
_MNIST_RECIPE = DiffusionRecipe(
    model=DiffusionConfig(width=512, depth=4, prediction="v"),
    train=DiffusionTrainConfig(steps=10_000),
    judge=TrainConfig(epochs=3),
    judge_model="fastnet",
    judge_kwargs={"width": 8},
    why="sized for 28x28 (784 inputs, 60,000 images): v-prediction, width 512 x 4 blocks, 10,000 steps (~21 "
        "epochs at batch 128); judge fastnet width 8, 3 epochs")
register_recipe("mnist", _MNIST_RECIPE)
register_recipe("fashion_mnist", _MNIST_RECIPE)


@dataclass
class TrainedDiffusion:
    """A trained model (EMA weights, eval mode) and how it was made."""

    model: DiffusionModel
    meta: dict[str, Any] = field(default_factory=dict)


def diffusion_loss(model: DiffusionModel, x0: torch.Tensor, y: torch.Tensor, generator: torch.Generator,
                   p_uncond: float | None = None) -> torch.Tensor:
    """DDPM's simple loss on one batch (`x0` in the data set's space), with classifier-free label dropout.
    Draws come from `generator` (CPU) and move to the batch's device."""
    dev = x0.device
    p = model.config.p_uncond if p_uncond is None else p_uncond
    z0 = model.to_model_space(x0)
    n = len(z0)
    t = torch.randint(0, model.timesteps, (n,), generator=generator).to(dev)
    eps = torch.randn(z0.shape, generator=generator).to(dev)
    drop = (torch.rand(n, generator=generator) < p).to(dev)
    y = torch.where(drop, torch.full_like(y, model.null_class), y)
    abar = model.alphas_cumprod[t][:, None]
    zt = abar.sqrt() * z0 + (1 - abar).sqrt() * eps
    return nn.functional.mse_loss(model(zt, t, y), eps)


def retrain_seed(seed: int) -> int:
    """θ_r's seed: an independent stream of `seed` (the classifier runner's `retrain_seed="independent"`)."""
    return int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])


def _check_classes(exclude: Sequence[int], num_classes: int) -> tuple[int, ...]:
    out = []
    for c in exclude:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= int(c) < num_classes:
            raise BadInput(f"class {c!r} is not allowed; classes are integers in [0, {num_classes - 1}]")
        out.append(int(c))
    if len(set(out)) == num_classes:
        raise BadInput(f"exclude_classes={sorted(set(out))} leaves no class to train on; keep at least one")
    return tuple(sorted(set(out)))


def cache_key(dataset_fingerprint: str, model: str, config: DiffusionConfig, train: DiffusionTrainConfig,
              exclude: tuple[int, ...], seed: int, device: str) -> str:
    """Content address of a trained model: what it is trained on and how (the classifier cache's scheme)."""
    src = {"kind": "diffusion", "version": RECIPE_VERSION, "dataset": dataset_fingerprint, "model": model,
           "config": config.to_dict(), "train": train.to_dict(), "exclude": list(exclude), "seed": seed,
           "device": device, "numerics": numerics.identity(numerics.manifest(device))}
    return hashlib.sha256(json.dumps(src, sort_keys=True).encode()).hexdigest()


def train_diffusion(dataset, exclude_classes: Sequence[int] = (), seed: int = 0, config: DiffusionConfig | None = None,
                    train: DiffusionTrainConfig | None = None, *, model: str = "ddpm", device: str | None = "cpu",
                    store=None, ctx: RunContext | None = None) -> TrainedDiffusion:
    """Train θ_o (`exclude_classes=()`) or θ_r (the classes to forget left out) on `dataset`'s training split.

    `dataset` is a `Dataset` or a data set spec ("digits", "mnist", ...; split by `seed`). The model's
    initialisation draws from the global torch generator, seeded here (as the runner seeds θ_o and θ_r).
    `config` and `train` default to the data set's recipe (`recipe_for(dataset.name)`).

    `store` (a `unlearnlab.store.Store`), when given, caches the weights content-addressed (data fingerprint,
    model, both configs, excluded classes, seed, device and numerics identity), as the runner caches the
    classifiers' θ_o and θ_r. `ctx` may bring progress and cancellation; its seed is ignored (`seed` rules).
    Returns the EMA weights in eval mode; `meta` holds seconds, steps, the losses and the environment.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise BadInput(f"seed {seed!r} is not allowed; it must be an integer")
    if isinstance(dataset, str):  # a data set spec, split by `seed` as a scenario's is
        dataset = load_from_spec(dataset, seed=seed)
    recipe = recipe_for(dataset.name)
    config = config or recipe.model
    train = train or recipe.train
    if len(dataset.input_shape) not in (1, 2, 3):
        raise BadInput(f"dataset {dataset.name!r} has inputs shaped {dataset.input_shape}; a diffusion model needs "
                       "vectors or images")
    exclude = _check_classes(tuple(exclude_classes), dataset.num_classes)
    dev = pick_device(device)
    kind = "retrained" if exclude else "original"
    run_seed = retrain_seed(seed) if exclude else seed
    keep = ~np.isin(dataset.y_train, exclude)
    x, y = dataset.x_train[keep], dataset.y_train[keep]
    key = cache_key(dataset.fingerprint, model, config, train, exclude, seed, dev.type)
    env = numerics.manifest(dev, dataset.fingerprint)
    with numerics.compute_threads():
        seed_everything(run_seed)  # the initialisation draws from the global generator
        net = create_generative(model, dataset.input_shape, dataset.num_classes, config).to(dev)
        # The data set's range, not the kept classes': θ_o and θ_r map the same pixels to the same values.
        net.set_data_range(float(dataset.x_train.min()), float(dataset.x_train.max()))
        net.class_known[list(exclude)] = False
        if store is not None:
            hit = store.cache_get(key)
            if hit is not None:
                net.load_state_dict(hit[0])
                return TrainedDiffusion(net.eval().requires_grad_(False), {**hit[1], "cached": True})
        run_ctx = RunContext(device=dev, seed=run_seed, progress=ctx.progress if ctx else None,
                             cancel=ctx.cancel if ctx else None)
        xs, ys = torch.as_tensor(x, device=dev), torch.as_tensor(y, device=dev)
        batches = TensorBatches(xs, ys, batch_size=min(train.batch_size, len(xs)), drop_last=True,
                                generator=run_ctx.generator(BATCH_STREAM))
        gen = run_ctx.generator(LOSS_STREAM)
        opt = torch.optim.AdamW(net.parameters(), lr=train.lr, weight_decay=train.weight_decay)
        ema = copy.deepcopy(net).requires_grad_(False)
        ema_params = list(ema.parameters())
        done = [0]

        def update_ema(m: nn.Module) -> None:
            # The usual warm-up of the decay, min(ema, (1+k)/(10+k)): short (test) runs are not dominated by
            # the initialisation (0.999^400 would still weigh it 67 %).
            done[0] += 1
            decay = min(train.ema, (1 + done[0]) / (10 + done[0]))
            torch._foreach_lerp_(ema_params, [p.detach() for p in m.parameters()], 1 - decay)

        def clip(m: nn.Module) -> None:
            if train.grad_clip:
                nn.utils.clip_grad_norm_(m.parameters(), train.grad_clip)

        epochs = -(-train.steps // len(batches))
        start = time.perf_counter()
        result = fit(net, batches, lambda m, b: diffusion_loss(m, b[0], b[1], gen), opt, run_ctx, epochs=epochs,
                     max_steps=train.steps, after_backward=clip, after_step=update_ema, description=kind)
        seconds = time.perf_counter() - start
    meta = {"kind": kind, "seconds": seconds, "steps": result.steps, "samples": run_ctx.counters.samples,
            "epoch_losses": result.epoch_losses, "seed": run_seed, "exclude_classes": list(exclude),
            "config": config.to_dict(), "train": train.to_dict(), "model": model, "environment": env}
    if store is not None:
        store.cache_put(key, ema.state_dict(), meta)
    return TrainedDiffusion(ema.eval().requires_grad_(False), {**meta, "cached": False})


__all__ = ["DEFAULT_RECIPE", "RECIPES", "DiffusionRecipe", "DiffusionTrainConfig", "TrainedDiffusion", "cache_key",
           "diffusion_loss", "recipe_for", "register_recipe", "retrain_seed", "train_diffusion"]
