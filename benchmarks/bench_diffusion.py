"""θ_o and θ_r of the class-conditional diffusion model: training time, forget rate and Frechet distance.

For each seed: the judge (trained once per data set and seed), θ_o on every class, θ_r without the
forgotten class (same recipe, independent seed stream), then `n` samples per class from each (the same
initial noise for both) read by the judge. Prints the machine it ran on.

    python benchmarks/bench_diffusion.py [--dataset digits] [--data-root DIR] [--forget 3] [--seeds 0,1,2]
        [--steps N] [--width N] [--depth N] [--prediction eps|v] [--n 100] [--guidance 2] [--sample-steps 50] [--resize S] [--recipe NAME]
        [--judge-epochs N]

`--steps`, `--width`, `--depth` and `--prediction` default to the data set's recipe (`training.diffusion.recipe_for`: 2,000
steps of a 256 x 3 network on digits, 10,000 of 512 x 4 on MNIST / Fashion-MNIST), and the judge is the
recipe's (model and training); `--recipe NAME` takes another data set's recipe. MNIST / Fashion-MNIST are read from `--data-root` (or $UNLEARNLAB_DATA), in
torchvision's layout (ROOT/MNIST/raw/, ROOT/FashionMNIST/raw/).

`--resize 28` puts every image of the data set into MNIST's layout (resized bilinearly to 20x20, centred in
28x28 on the background value, as LeCun et al. size-normalised and centred MNIST's digits): real digits of
MNIST's shape where the MNIST files are not at hand (with `--recipe mnist`: MNIST's network and judge;
`--judge-epochs 20`: the judge's 3 epochs are sized for MNIST's 60,000 images, not digits' 1,437).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import numpy as np
import torch

from unlearnlab import numerics
from unlearnlab.data import Dataset, load_from_spec, parse_dataset_spec
from unlearnlab.metrics.generative import Judge, evaluate, train_judge
from unlearnlab.models.diffusion import DiffusionConfig, SampleConfig
from unlearnlab.training.diffusion import DiffusionRecipe, DiffusionTrainConfig, recipe_for, train_diffusion


def _fmt(v, digits=2):
    return "n/a" if v is None else f"{v:.{digits}f}"


def add_recipe_args(ap: argparse.ArgumentParser, n_help: str = "samples per class") -> None:
    """The options every generative benchmark takes: data, forgotten class, seeds, the DDPM recipe, sampling."""
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--data-root", default=None, help="folder of the standard data sets (mnist, fashion_mnist)")
    ap.add_argument("--forget", type=int, default=3)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: the data set's recipe)")
    ap.add_argument("--width", type=int, default=None, help="denoiser width (default: the data set's recipe)")
    ap.add_argument("--depth", type=int, default=None, help="residual blocks (default: the data set's recipe)")
    ap.add_argument("--prediction", choices=("eps", "v"), default=None,
                    help="what the network predicts (default: the data set's recipe)")
    ap.add_argument("--n", type=int, default=100, help=n_help)
    ap.add_argument("--guidance", type=float, default=SampleConfig.guidance)
    ap.add_argument("--sample-steps", type=int, default=SampleConfig.steps)
    ap.add_argument("--resize", type=int, default=None, metavar="S",
                    help="images resized into MNIST's layout at SxS (S >= 8: a 5/7 box centred on the background)")
    ap.add_argument("--recipe", default=None, help="whose recipe (a data set's name; default --dataset's)")
    ap.add_argument("--judge-epochs", type=int, default=None,
                    help="the judge's training epochs (default: the recipe's; MNIST's 3 are sized for 60,000 images)")


def recipe_of(args: argparse.Namespace) -> DiffusionRecipe:
    """The recipe the options start from: `--recipe`, else `--dataset`'s."""
    return recipe_for(args.recipe or parse_dataset_spec(args.dataset)[0])


def judge_of(args: argparse.Namespace, ds: Dataset, seed: int, store=None) -> Judge:
    """The judge of `ds` by the recipe's judge model and training."""
    r = recipe_of(args)
    train = r.judge if args.judge_epochs is None else replace(r.judge, epochs=args.judge_epochs)
    return train_judge(ds, seed, store=store, train=train, model=r.judge_model, kwargs=r.judge_kwargs)


def recipe(args: argparse.Namespace) -> tuple[DiffusionConfig, DiffusionTrainConfig, SampleConfig]:
    """(model config, training recipe, sampling): the data set's recipe with `add_recipe_args`'s options over it."""
    base = recipe_of(args)
    given = {k: v for k, v in (("width", args.width), ("depth", args.depth), ("prediction", args.prediction))
             if v is not None}
    train = base.train if args.steps is None else replace(base.train, steps=args.steps)
    return (replace(base.model, **given), train, SampleConfig(guidance=args.guidance, steps=args.sample_steps))


def resized(ds: Dataset, size: int) -> Dataset:
    """`ds` with every image resized bilinearly to round(size * 5/7) square and centred in size x size on the
    background (the training split's minimum): MNIST's layout, 20x20 in 28x28."""
    if size < 8:
        raise SystemExit(f"--resize {size} is not allowed; it must be an integer >= 8")
    inner = round(size * 5 / 7)
    lo = float(ds.x_train.min())
    pad = (size - inner) // 2

    def one(x: np.ndarray) -> np.ndarray:
        y = torch.nn.functional.interpolate(torch.as_tensor(x), size=(inner, inner), mode="bilinear",
                                            align_corners=False)
        out = torch.full((len(x), x.shape[1], size, size), lo)
        out[:, :, pad:pad + inner, pad:pad + inner] = y
        return out.numpy()

    return Dataset(f"{ds.name}_{size}x{size}", one(ds.x_train), ds.y_train, one(ds.x_test), ds.y_test,
                   ds.num_classes, class_names=ds.class_names)


def load(args: argparse.Namespace, seed: int) -> Dataset:
    """The benchmark's data set for `seed` (`--dataset`, `--data-root`, `--resize`)."""
    ds = load_from_spec(args.dataset, seed=seed, data_root=args.data_root)
    return ds if args.resize is None else resized(ds, args.resize)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_recipe_args(ap)
    args = ap.parse_args()
    env = numerics.manifest("cpu")
    print(f"machine: {env.get('cpu')} ({env.get('cpu_count')} cores), 1 torch thread (compute_threads), "
          f"numerics {numerics.identity(env)}, torch {env['versions'].get('torch')}")
    config, train, sampling = recipe(args)
    print(f"recipe {args.recipe or args.dataset}: model {config.to_dict()}; train {train.to_dict()}; sampling {sampling}; forget class {args.forget}; "
          f"{args.n} samples per class")
    print("seed model      train_s  sample+read_s forget_rate kept_acc fd_kept fd_class_mean fd_floor_mean")
    rows: dict[str, list[dict]] = {"θ_o": [], "θ_r": []}
    for seed in [int(s) for s in args.seeds.split(",")]:
        ds = load(args, seed)
        start = time.perf_counter()
        judge = judge_of(args, ds, seed)
        print(f"{seed:>4} judge     {time.perf_counter() - start:7.1f}  test accuracy {judge.check.describe()}")
        for label, exclude in (("θ_o", ()), ("θ_r", (args.forget,))):
            trained = train_diffusion(ds, exclude, seed=seed, config=config, train=train)
            start = time.perf_counter()
            ev = evaluate(trained.model, judge, ds, [args.forget], n_per_class=args.n, seed=seed, sampling=sampling)
            read_s = time.perf_counter() - start
            fd_c = [v for v in ev["fd_class"].values() if v is not None]
            fd_f = [v for v in ev["fd_floor"].values() if v is not None]
            row = {"train_s": trained.meta["seconds"], "read_s": read_s, **ev,
                   "fd_class_mean": statistics.mean(fd_c) if fd_c else None,
                   "fd_floor_mean": statistics.mean(fd_f) if fd_f else None}
            rows[label].append(row)
            print(f"{seed:>4} {label:<9} {row['train_s']:7.1f}  {read_s:13.1f} {_fmt(ev['forget_rate']):>11} "
                  f"{_fmt(ev['kept_accuracy'], 3):>8} {_fmt(ev['fd_kept']):>7} {_fmt(row['fd_class_mean']):>13} "
                  f"{_fmt(row['fd_floor_mean']):>13}" + (f"  notes: {ev['notes']}" if ev["notes"] else ""), flush=True)
    print("mean over seeds:")
    for label, rs in rows.items():
        def m(key):
            vals = [r[key] for r in rs if r[key] is not None]
            return (f"{statistics.mean(vals):.2f} [{min(vals):.2f}, {max(vals):.2f}]") if vals else "n/a"
        print(f"  {label}: train {m('train_s')} s, forget rate {m('forget_rate')}, kept accuracy {m('kept_accuracy')}, "
              f"FD kept {m('fd_kept')}, per-class FD {m('fd_class_mean')} (floor {m('fd_floor_mean')})")


if __name__ == "__main__":
    main()
