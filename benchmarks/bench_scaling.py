"""Scaling on paper: what a K-reference audit on CIFAR-10 costs with the `fast-cifar10` recipe, from per-job
times measured here.

An audit of one method run with K references trains K θ_o members, K θ_r members (on D_r) and runs the
method on each θ_o member (docs/audits.md), so on G devices that each run one job at a time

    T(G) = ceil(K / G) * (t_o + t_r + t_m) * r

with t_o = E * N * c (E epochs over the N training images at c seconds per image), t_r = E * (N - |D_f|) * c,
t_m the method's own time and r the executor's overhead ratio (`bench_executors.py`: ray / process).
This measures c (and t_m) on the device it runs on, on CIFAR-shaped random data (the cost of a step does
not depend on the pixel values) at `--images` images, and prints t_o, t_r, t_m and T(1), T(8) for K = 512
(the NeurIPS 2023 challenge's 512 retrained models per method). On a CPU the measured size is small and
extrapolated linearly in the images, which holds for a fixed batch size (the steps are the same size).

    python benchmarks/bench_scaling.py                       # CUDA if present, else the CPU (1,024 images)
    python benchmarks/bench_scaling.py --images 50000 --refs 512 --overhead 1.008
"""

from __future__ import annotations

import argparse
import math
import os
import time

import unlearnlab  # noqa: F401, I001  (first: it pins the CPU kernels before NumPy and torch compute)

import numpy as np
import torch

from unlearnlab import numerics
from unlearnlab.methods import UnlearningTask, build_method, run_method
from unlearnlab.models import create_model
from unlearnlab.presets import resolve
from unlearnlab.training import RunContext, TrainConfig, pick_device, seed_everything, train_classifier

N_TRAIN, N_FORGET = 50_000, 4_500  # CIFAR-10's training set; the preset's `random:4500` request


def _data(n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, 32, 32, generator=g).to(device), torch.randint(0, 10, (n,), generator=g).to(device)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=None, help="Images timed (default 50,000 on CUDA, 1,024 "
                        "on the CPU).")
    parser.add_argument("--refs", type=int, default=512)
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--method", default="ft", help="The method whose time t_m is measured.")
    parser.add_argument("--overhead", type=float, default=1.008, help="Executor overhead ratio r (measured: "
                        "python benchmarks/bench_executors.py).")
    args = parser.parse_args()
    device = pick_device(None)
    if device.type == "cpu":  # as an executor's job runs it: one thread (G below is then the workers)
        torch.set_num_threads(1)
    n = args.images or (N_TRAIN if device.type == "cuda" else 1024)
    chosen = resolve("fast-cifar10")
    config = chosen.train if isinstance(chosen.train, TrainConfig) else TrainConfig(**chosen.train)
    x, y = _data(n, device)

    def model() -> torch.nn.Module:
        return create_model(chosen.model, (3, 32, 32), 10).to(device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    seed_everything(0)
    warm = model()
    train_classifier(warm, x[:config.batch_size], y[:config.batch_size],
                     TrainConfig(**{**config.to_dict(), "epochs": 1}), RunContext(device=device))
    seed_everything(0)
    original = model()
    sync()
    start = time.perf_counter()
    train_classifier(original, x, y, config, RunContext(device=device))
    sync()
    per_image = (time.perf_counter() - start) / (config.epochs * n)  # c
    method = build_method(args.method, chosen.overrides.get(args.method))
    forget = np.arange(int(n * N_FORGET / N_TRAIN))
    original.eval().requires_grad_(False)
    task = UnlearningTask(x, y, forget, 10, original, model, config, RunContext(device=device))
    t_method = run_method(method, original, task).seconds * N_TRAIN / n  # linear in the images it passes over
    t_o, t_r = config.epochs * N_TRAIN * per_image, config.epochs * (N_TRAIN - N_FORGET) * per_image
    job = t_o + t_r + t_method
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{numerics.manifest()['cpu']} " \
        f"({torch.get_num_threads()} threads, {os.cpu_count()} cores)"
    print(f"device: {name}; fast-cifar10: {chosen.model}, {config.epochs} epochs, batch {config.batch_size}; "
          f"timed on {n} images")
    print(f"c = {per_image * 1e3:.3f} ms per image-epoch; t_o = {t_o:.1f} s, t_r = {t_r:.1f} s, "
          f"t_m ({args.method}) = {t_method:.1f} s; one reference: {job:.1f} s")
    for g in args.devices:
        total = math.ceil(args.refs / g) * job * args.overhead
        print(f"K = {args.refs} references on {g} device(s): T = ceil({args.refs}/{g}) x {job:.1f} s x "
              f"{args.overhead} = {total:.0f} s = {total / 3600:.2f} h")


if __name__ == "__main__":
    main()
