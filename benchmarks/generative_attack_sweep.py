"""The generative attacks over a grid of budgets in the tests' reduced configuration (the numbers in
docs/generative_attacks.md and in the docstrings of tests/audits/test_generative.py).

The module fixture of the tests, for one model seed: digits split by seed 0, judge of seed 0, θ_o and θ_r at
width 128, depth 2, 800 steps at lr 3e-3, and two models that hide class 3 without removing it (θ_o with the
class's row remapped to 5's, θ_o conditioning it as the null token); 40 samples, 10 DDIM steps, w = 2.
Then the embedding attack at four budgets and the relearning attack at three, attack seed = model seed.

    python benchmarks/generative_attack_sweep.py [SEED]
"""

from __future__ import annotations

import copy
import sys

import torch

from unlearnlab import numerics
from unlearnlab.audits.generative import EmbeddingAttackConfig, RelearnAttackConfig, embedding_attack, relearn_attack
from unlearnlab.data import load_dataset
from unlearnlab.metrics.generative import train_judge
from unlearnlab.models.diffusion import DiffusionConfig, SampleConfig
from unlearnlab.training.diffusion import DiffusionTrainConfig, train_diffusion

FORGET = 3


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    env = numerics.manifest("cpu")
    print(f"machine: {env.get('cpu')} ({env.get('cpu_count')} cores), numerics {numerics.identity(env)}, "
          f"torch {env['versions'].get('torch')}; model seed {seed}")
    ds = load_dataset("digits", seed=0)
    config, train = DiffusionConfig(width=128, depth=2), DiffusionTrainConfig(steps=800, lr=3e-3)
    original = train_diffusion(ds, (), seed=seed, config=config, train=train).model
    retrained = train_diffusion(ds, (FORGET,), seed=seed, config=config, train=train).model
    judge = train_judge(ds, 0)
    remap = copy.deepcopy(original)
    with torch.no_grad():
        remap.denoiser.embed.weight[FORGET] = remap.denoiser.embed.weight[5]
    nulled = copy.deepcopy(original)
    nulled.class_known[FORGET] = False
    s = SampleConfig(steps=10)
    for name, m in [("θ_r", retrained), ("remap", remap), ("null", nulled)]:
        out = []
        for radius, steps in [(0.5, 100), (1.0, 100), (1.0, 300), (2.0, 300)]:
            a = embedding_attack(m, judge, ds, FORGET, config=EmbeddingAttackConfig(radius=radius, steps=steps),
                                 n_samples=40, seed=seed, sampling=s)
            out.append(f"r{radius}/s{steps}: {a['forget_rate']:.3f}->{a['attack_success_rate']:.3f} "
                       f"L{a['loss_end']:.3f}")
        print(seed, name, " | ".join(out), flush=True)
        out = []
        for lr, steps in [(1e-3, 20), (1e-4, 50), (3e-4, 20)]:
            r = relearn_attack(m, judge, ds, FORGET, n_samples=40, seed=seed, sampling=s,
                               config=RelearnAttackConfig(steps=steps, lr=lr))
            out.append(f"lr{lr}/s{steps}: {r['forget_rate_before']:.3f}->{r['forget_rate_after']:.3f}")
        print(seed, name, "relearn", " | ".join(out), flush=True)


if __name__ == "__main__":
    main()
