"""Attacks on generative unlearning: the embedding attack (UnlearnDiffAtk-style) and the relearning attack on
θ_o, θ_r, two cheap "hiders" and every registered generation method.

For each seed: the judge, θ_o and θ_r (bench_diffusion's recipe), two controls that hide the class without
removing it from the weights (θ_o with the class's embedding row remapped to another class's, `hide:remap`,
and θ_o conditioning the class as the null token, `hide:null`), then every method of the METHODS registry
whose `tasks` include "generation" run on θ_o. Each model gets its un-attacked forget rate, the embedding
attack's success rate (same initial noise) and the relearning attack's forget rate after fine-tuning.
Prints the machine it ran on.

    python benchmarks/bench_generative_attack.py [--dataset digits] [--forget 3] [--seeds 0,1,2] [--steps 2000]
        [--width 256] [--depth 3] [--n 100] [--guidance 2] [--sample-steps 50] [--attack-steps 100]
        [--radius 1.0[,0.5,...]] [--norm l2] [--relearn-steps 20] [--relearn-samples 8] [--methods esd,sfd|none]
"""

from __future__ import annotations

import argparse
import sys
import copy
import statistics
from pathlib import Path

import torch

from unlearnlab import numerics
from unlearnlab.audits.generative import EmbeddingAttackConfig, RelearnAttackConfig, embedding_attack, relearn_attack
from unlearnlab.data import load_from_spec
from unlearnlab.methods import METHODS, build_method, run_method
from unlearnlab.methods.generative_common import make_generation_task
from unlearnlab.methods.plugins import ensure_loaded
from unlearnlab.metrics.generative import train_judge
from unlearnlab.training import RunContext
from unlearnlab.training.diffusion import train_diffusion

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_diffusion import add_recipe_args, recipe  # noqa: E402  (a sibling script, not a package)


def _fmt(v, digits=2):
    return "n/a" if v is None else f"{v:.{digits}f}"


def generation_methods() -> list[str]:
    ensure_loaded()
    return [n for n in METHODS.names() if "generation" in METHODS.get(n).tasks]


def controls(original, forget: int) -> dict:
    remap = copy.deepcopy(original)
    other = (forget + 2) % original.num_classes
    with torch.no_grad():
        remap.denoiser.embed.weight[forget] = remap.denoiser.embed.weight[other]
    null = copy.deepcopy(original)
    null.class_known[forget] = False
    return {f"hide:remap->{other}": remap, "hide:null": null}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_recipe_args(ap, "samples of the forgotten class per model")
    ap.add_argument("--attack-steps", type=int, default=EmbeddingAttackConfig.steps)
    ap.add_argument("--radius", default=str(EmbeddingAttackConfig.radius),
                    help="relative L2/L∞ radius; a comma-separated list attacks at each")
    ap.add_argument("--norm", default=EmbeddingAttackConfig.norm)
    ap.add_argument("--relearn-steps", type=int, default=RelearnAttackConfig.steps)
    ap.add_argument("--relearn-samples", type=int, default=RelearnAttackConfig.samples)
    ap.add_argument("--methods", default=None, help="comma-separated generation methods, 'none', or all (default)")
    args = ap.parse_args()
    env = numerics.manifest("cpu")
    print(f"machine: {env.get('cpu')} ({env.get('cpu_count')} cores), 1 torch thread (compute_threads), "
          f"numerics {numerics.identity(env)}, torch {env['versions'].get('torch')}")
    config, train, sampling = recipe(args)
    attacks = [EmbeddingAttackConfig(steps=args.attack_steps, radius=float(r), norm=args.norm)
               for r in args.radius.split(",")]
    relearn = RelearnAttackConfig(steps=args.relearn_steps, samples=args.relearn_samples)
    found = generation_methods()
    methods = found if args.methods is None else [] if args.methods == "none" else args.methods.split(",")
    print(f"model {config.to_dict()}; train {train.to_dict()}; sampling {sampling}; forget class {args.forget}; "
          f"{args.n} samples; embedding attack {attacks[0].to_dict()} at radii {args.radius}; "
          f"relearn {relearn.to_dict()}")
    print(f"generation methods registered: {', '.join(found) or 'none'}; run: {', '.join(methods) or 'none'}")
    print("seed model              make_s forget_rate radius attack_success moved loss_end attack_s "
          "relearn_before relearn_after")
    rows: dict[str, list[dict]] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        ds = load_from_spec(args.dataset, seed=seed)
        judge = train_judge(ds, seed)
        original = train_diffusion(ds, (), seed=seed, config=config, train=train)
        retrained = train_diffusion(ds, (args.forget,), seed=seed, config=config, train=train)
        models = {"θ_o": (original.model, original.meta["seconds"]),
                  "θ_r": (retrained.model, retrained.meta["seconds"])}
        models.update({k: (m, 0.0) for k, m in controls(original.model, args.forget).items()})
        for name in methods:
            with numerics.compute_threads():
                task = make_generation_task(ds.x_train, ds.y_train, [args.forget], original.model,
                                            RunContext(device=torch.device("cpu"), seed=seed))
                result = run_method(build_method(name), original.model, task)
            models[name] = (result.model.eval().requires_grad_(False), result.seconds)
        for label, (model, seconds) in models.items():
            r = relearn_attack(model, judge, ds, args.forget, config=relearn, n_samples=args.n, seed=seed,
                               sampling=sampling)
            for attack in attacks:
                a = embedding_attack(model, judge, ds, args.forget, config=attack, n_samples=args.n, seed=seed,
                                     sampling=sampling, original=original.model)
                row = {"make_s": seconds, "forget_rate": a["forget_rate"], "asr": a["attack_success_rate"],
                       "moved": a["moved"], "loss_end": a["loss_end"], "attack_s": a["seconds"],
                       "relearn_before": r["forget_rate_before"], "relearn_after": r["forget_rate_after"]}
                key = label if len(attacks) == 1 else f"{label} r={attack.radius:g}"
                rows.setdefault(key, []).append(row)
                print(f"{seed:>4} {label:<18} {seconds:6.1f} {_fmt(row['forget_rate']):>11} {attack.radius:6.2f} "
                      f"{_fmt(row['asr']):>14} {row['moved']:5.2f} {row['loss_end']:8.3f} {row['attack_s']:8.1f} "
                      f"{_fmt(row['relearn_before']):>14} {_fmt(row['relearn_after']):>13}", flush=True)
    print("mean [min, max] over seeds:")
    for label, rs in rows.items():
        def m(key):
            vals = [r[key] for r in rs if r[key] is not None]
            return f"{statistics.mean(vals):.2f} [{min(vals):.2f}, {max(vals):.2f}]" if vals else "n/a"
        print(f"  {label}: forget rate {m('forget_rate')}, attack success {m('asr')}, relearn after "
              f"{m('relearn_after')}, attack {m('attack_s')} s")


if __name__ == "__main__":
    main()
