"""θ_o and θ_r of the class-conditional diffusion model: training time, forget rate and Frechet distance.

For each seed: the judge (trained once per data set and seed), θ_o on every class, θ_r without the
forgotten class (same recipe, independent seed stream), then `n` samples per class from each (the same
initial noise for both) read by the judge. Prints the machine it ran on.

    python benchmarks/bench_diffusion.py [--dataset digits] [--forget 3] [--seeds 0,1,2] [--steps 2000]
        [--width 256] [--depth 3] [--n 100] [--guidance 2] [--sample-steps 50]

MNIST / Fashion-MNIST run where their files are in the data root (`--dataset mnist`).
"""

from __future__ import annotations

import argparse
import statistics
import time

from unlearnlab import numerics
from unlearnlab.data import load_from_spec
from unlearnlab.metrics.generative import evaluate, train_judge
from unlearnlab.models.diffusion import DiffusionConfig, SampleConfig
from unlearnlab.training.diffusion import DiffusionTrainConfig, train_diffusion


def _fmt(v, digits=2):
    return "n/a" if v is None else f"{v:.{digits}f}"


def add_recipe_args(ap: argparse.ArgumentParser, n_help: str = "samples per class") -> None:
    """The options every generative benchmark takes: data, forgotten class, seeds, the DDPM recipe, sampling."""
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--forget", type=int, default=3)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=DiffusionTrainConfig.steps)
    ap.add_argument("--width", type=int, default=DiffusionConfig.width)
    ap.add_argument("--depth", type=int, default=DiffusionConfig.depth)
    ap.add_argument("--n", type=int, default=100, help=n_help)
    ap.add_argument("--guidance", type=float, default=SampleConfig.guidance)
    ap.add_argument("--sample-steps", type=int, default=SampleConfig.steps)


def recipe(args: argparse.Namespace) -> tuple[DiffusionConfig, DiffusionTrainConfig, SampleConfig]:
    """(model config, training recipe, sampling) from `add_recipe_args`'s options."""
    return (DiffusionConfig(width=args.width, depth=args.depth), DiffusionTrainConfig(steps=args.steps),
            SampleConfig(guidance=args.guidance, steps=args.sample_steps))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_recipe_args(ap)
    args = ap.parse_args()
    env = numerics.manifest("cpu")
    print(f"machine: {env.get('cpu')} ({env.get('cpu_count')} cores), 1 torch thread (compute_threads), "
          f"numerics {numerics.identity(env)}, torch {env['versions'].get('torch')}")
    config, train, sampling = recipe(args)
    print(f"model {config.to_dict()}; train {train.to_dict()}; sampling {sampling}; forget class {args.forget}; "
          f"{args.n} samples per class")
    print("seed model      train_s  sample+read_s forget_rate kept_acc fd_kept fd_class_mean fd_floor_mean")
    rows: dict[str, list[dict]] = {"θ_o": [], "θ_r": []}
    for seed in [int(s) for s in args.seeds.split(",")]:
        ds = load_from_spec(args.dataset, seed=seed)
        start = time.perf_counter()
        judge = train_judge(ds, seed)
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
