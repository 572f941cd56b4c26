"""Every generation method on one class-forgetting request of the DDPM: forget rate, kept-class Frechet
distance (θ_r's beside it), time and speed-up against training θ_r.

For each seed: the judge, θ_o and θ_r (the bench_diffusion recipe, cached in `--store`), then every
registered generation method at its defaults on a copy of θ_o, each read like θ_o and θ_r (`n` samples per
class, the same initial noise for every model). Times are the method's end to end (every pre-pass) against
θ_r's training time in the same run. Prints the machine it ran on.

    python benchmarks/bench_generative_methods.py [--dataset digits] [--data-root DIR] [--forget 3]
        [--seeds 0,1,2] [--methods esd,...] [--steps N] [--width N] [--depth N] [--n 100] [--sample-steps 50]
        [--resize S] [--recipe NAME] [--store PATH]

The recipe options default to the data set's (bench_diffusion.py). A distance that cannot be read (fewer
samples than the judge's 32 features + 1, e.g. `--n 10`) prints n/a, and the means skip it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from unlearnlab import numerics
from unlearnlab.methods import METHODS, build_method, method_names, run_method
from unlearnlab.methods.generative_common import make_generation_task
from unlearnlab.metrics.generative import evaluate
from unlearnlab.store import Store
from unlearnlab.training import RunContext
from unlearnlab.training.diffusion import train_diffusion

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_diffusion import add_recipe_args, judge_of, load, recipe  # noqa: E402  (a sibling script, not a package)


def _fmt(v, digits=2):
    return "n/a" if v is None else f"{v:.{digits}f}"


def _mean(values) -> float | None:
    """Mean of the readable values (None: a metric that could not be read), None when there is none."""
    vals = [v for v in values if v is not None]
    return statistics.mean(vals) if vals else None


def main() -> None:
    generation = [n for n in method_names() if "generation" in METHODS.get(n).tasks]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_recipe_args(ap)
    ap.add_argument("--methods", default=",".join(generation))
    ap.add_argument("--store", default=None, help="cache θ_o, θ_r and the judge here (times are the first run's)")
    args = ap.parse_args()
    methods = args.methods.split(",")
    for m in methods:
        if m not in generation:
            ap.error(f"method {m!r} is not a generation method; choose from {', '.join(generation)}")
    env = numerics.manifest("cpu")
    print(f"machine: {env.get('cpu')} ({env.get('cpu_count')} cores), 1 torch thread (compute_threads), "
          f"numerics {numerics.identity(env)}, torch {env['versions'].get('torch')}")
    config, train, sampling = recipe(args)
    print(f"model {config.to_dict()}; train {train.to_dict()}; sampling {sampling}; forget class {args.forget}; "
          f"{args.n} samples per class")
    print("seed model       seconds speed-up forget_rate kept_acc fd_kept (θ_r) fd_class_mean (θ_r)")
    store = Store(args.store) if args.store else None
    table: dict[str, list[tuple[float, ...]]] = {}
    try:
        for seed in [int(s) for s in args.seeds.split(",")]:
            ds = load(args, seed)
            judge = judge_of(args, ds, seed, store=store)
            trained = {label: train_diffusion(ds, exclude, seed=seed, config=config, train=train, store=store)
                       for label, exclude in (("θ_o", ()), ("θ_r", (args.forget,)))}
            retrain_s = trained["θ_r"].meta["seconds"]

            def read(model):
                e = evaluate(model, judge, ds, [args.forget], n_per_class=args.n, seed=seed, sampling=sampling)
                return e, _mean(e["fd_class"].values())

            ref, ref_class = read(trained["θ_r"].model)
            rows = [(label, t.meta["seconds"], t.model) for label, t in trained.items()]
            for name in methods:
                with numerics.compute_threads():
                    task = make_generation_task(ds.x_train, ds.y_train, [args.forget], trained["θ_o"].model,
                                                RunContext(seed=seed))
                    result = run_method(build_method(name), trained["θ_o"].model, task)
                rows.append((name, result.seconds, result.model))
            for label, seconds, model in rows:
                e, fd_class = (ref, ref_class) if label == "θ_r" else read(model)
                speed = retrain_s / seconds
                print(f"{seed:>4} {label:<11} {seconds:7.1f} {speed:8.1f} {_fmt(e['forget_rate']):>11} "
                      f"{_fmt(e['kept_accuracy'], 3):>8} {_fmt(e['fd_kept']):>7} ({_fmt(ref['fd_kept'])}) "
                      f"{_fmt(fd_class):>13} ({_fmt(ref_class)})", flush=True)
                table.setdefault(label, []).append((seconds, speed, e["forget_rate"], e["fd_kept"], ref["fd_kept"]))
    finally:
        if store is not None:
            store.close()
    print("\nmean over seeds: model seconds speed-up forget_rate fd_kept (θ_r)")
    for label, vals in table.items():
        means = [_mean(v[i] for v in vals) for i in range(5)]
        print(f"  {label:<11} {means[0]:7.1f} {means[1]:8.1f} {_fmt(means[2]):>11} {_fmt(means[3]):>7} "
              f"({_fmt(means[4])})")


if __name__ == "__main__":
    main()
