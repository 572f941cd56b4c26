"""Time per training step of a data set's diffusion recipe and of its judge, on synthetic data of the data set's
shape, and the training times they predict: an estimate for data sets whose files are not at hand (MNIST and
Fashion-MNIST on a machine without internet).

The steps are the real ones (`train_diffusion`: the shared loop, label dropout, gradient clipping, EMA;
`train_classifier` for the judge); only the pixels are random (uniform, normalised as MNIST's), which does not
change the work a step does. Each step time is the difference between two runs (`--steps` and `--steps` x 4) over
the extra steps, so set-up (model creation, the EMA copy) is left out. Also times sampling and reading one
evaluation (`--n` samples a class, the recipe's guidance and DDIM steps). Prints the machine it ran on.

    python benchmarks/bench_diffusion_steps.py [--recipe mnist] [--steps 50] [--n 100]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from unlearnlab import numerics
from unlearnlab.data import Dataset
from unlearnlab.metrics.chance import model_chance_check
from unlearnlab.metrics.generative import Judge
from unlearnlab.models import create_model
from unlearnlab.models.diffusion import SampleConfig, sample
from unlearnlab.training import RunContext, seed_everything, train_classifier
from unlearnlab.training.diffusion import RECIPES, recipe_for, train_diffusion

#: (training images, test images, classes, shape) of the data sets with recipes.
SHAPES = {"digits": (1437, 360, 10, (1, 8, 8)), "mnist": (60_000, 10_000, 10, (1, 28, 28)),
          "fashion_mnist": (60_000, 10_000, 10, (1, 28, 28))}


def _dur(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def synthetic(name: str, n_train: int, n_test: int) -> Dataset:
    k, shape = SHAPES[name][2], SHAPES[name][3]
    rng = np.random.default_rng(0)

    def images(n: int) -> np.ndarray:
        return ((rng.integers(0, 256, (n, *shape)).astype(np.float32) / 255) - 0.1307) / 0.3081

    return Dataset(f"synthetic_{name}", images(n_train), np.arange(n_train) % k, images(n_test),
                   np.arange(n_test) % k, k)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="mnist", choices=[n for n in RECIPES if n in SHAPES])
    ap.add_argument("--steps", type=int, default=50, help="the short run's steps (the long one runs 4x)")
    ap.add_argument("--n", type=int, default=100, help="samples per class of the timed evaluation")
    args = ap.parse_args()
    recipe = recipe_for(args.recipe)
    n_train, n_test, k, shape = SHAPES[args.recipe]
    env = numerics.manifest("cpu")
    print(f"machine: {env.get('cpu')} ({env.get('cpu_count')} cores), 1 torch thread (compute_threads), "
          f"numerics {numerics.identity(env)}, torch {env['versions'].get('torch')}")
    print(f"recipe {args.recipe}: model {recipe.model.to_dict()}; train {recipe.train.to_dict()}; judge "
          f"{recipe.judge_model}{recipe.judge_kwargs} for {recipe.judge.epochs} epochs at batch {recipe.judge.batch_size}")

    # The diffusion model: the data's size does not change a step's work (one batch), so a small set serves.
    ds = synthetic(args.recipe, 4 * recipe.train.batch_size * 8, 1000)
    times = {}
    for steps in (args.steps, 4 * args.steps):
        trained = train_diffusion(ds, seed=0, config=recipe.model, train=type(recipe.train)(
            **{**recipe.train.to_dict(), "steps": steps}))
        times[steps] = trained.meta["seconds"]
    step_s = (times[4 * args.steps] - times[args.steps]) / (3 * args.steps)
    params = sum(p.numel() for p in trained.model.parameters())
    est = recipe.train.steps * step_s
    print(f"diffusion ({params / 1e6:.2f}M parameters): {times[args.steps]:.1f} s for {args.steps} steps, "
          f"{times[4 * args.steps]:.1f} s for {4 * args.steps}: {1000 * step_s:.1f} ms a step; the recipe's "
          f"{recipe.train.steps:,} steps: {_dur(est)} for θ_o (θ_r the same, on 9/10 of the data)")

    # The judge: one epoch of a set sized for `jsteps` batches, twice.
    jb = recipe.judge.batch_size
    jtimes = {}
    for jsteps in (args.steps, 4 * args.steps):
        jds = synthetic(args.recipe, jsteps * jb, 10)
        with numerics.compute_threads():
            seed_everything(0)
            model = create_model(recipe.judge_model, shape, k, **recipe.judge_kwargs)
            start = time.perf_counter()
            train_classifier(model, torch.as_tensor(jds.x_train), torch.as_tensor(jds.y_train),
                             type(recipe.judge)(**{**recipe.judge.to_dict(), "epochs": 1}),
                             RunContext(device=torch.device("cpu"), seed=0), description="judge")
            jtimes[jsteps] = time.perf_counter() - start
    jstep_s = (jtimes[4 * args.steps] - jtimes[args.steps]) / (3 * args.steps)
    jsteps_total = recipe.judge.epochs * (n_train // jb)
    print(f"judge: {1000 * jstep_s:.1f} ms a step; the recipe's {recipe.judge.epochs} epochs of {n_train:,} images "
          f"({jsteps_total:,} steps): {_dur(jsteps_total * jstep_s)}")

    # One evaluation: sampling n a class (guided: two network passes a DDIM step) and the judge reading them,
    # the held-out test split and the floor's training images.
    sampling = SampleConfig()
    with numerics.compute_threads():
        start = time.perf_counter()
        x, _ = sample(trained.model, list(range(k)), args.n, 0, config=sampling)
        sample_s = time.perf_counter() - start
        model.eval()
        judge = Judge(model, model_chance_check(np.zeros(10, int), np.arange(10) % k), "timing")
        test = synthetic(args.recipe, 10, n_test).x_test
        start = time.perf_counter()
        judge.read(x)
        judge.read(test)
        judge.read(test[:len(x)])
        read_s = time.perf_counter() - start
    print(f"one evaluation: sampling {k * args.n:,} images (w = {sampling.guidance:g}, {sampling.steps} DDIM steps) "
          f"{sample_s:.1f} s; the judge reading them, {n_test:,} test and {len(x):,} training images {read_s:.1f} s")
    print(f"estimate for `unlearnlab run --model ddpm --dataset {args.recipe}` (θ_o, θ_r and the judge, before any "
          f"method): {_dur(2 * est + jsteps_total * jstep_s + 2 * (sample_s + read_s))}")


if __name__ == "__main__":
    main()
