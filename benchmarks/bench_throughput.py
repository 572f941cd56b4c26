"""Images/s of θ_o training with the shared loop (`train_classifier`) for ResNet-18 (or `--model fastnet`) on
CIFAR-shaped random data (3x32x32, 10 classes), against a minimal hand-written PyTorch loop with the same
settings, in one process.

Both loops get the same model initialisation, data, batch size, optimiser (SGD 0.9, wd 5e-4), cosine
schedule and epochs; they alternate over several rounds after a warm-up round and the best time of each is
compared (goal: shared / hand-written <= 1.05). Then, on the shared loop:
- the cost of the crop-and-flip augmentation (train.augment=crop_flip);
- on CUDA, each speed switch added in turn with its gain: data resident on the device (against batches
  copied from host memory), bf16 autocast (train.amp), channels_last, and torch.compile with --compile.
Peak memory is printed (GPU allocator peak, or the process's peak RSS on the CPU). On the CPU the times are the
process's CPU time (images per CPU-second), so that other work on a shared machine does not decide the ratio.

    python benchmarks/bench_throughput.py                 # CUDA if present, else the CPU at a reduced size
    python benchmarks/bench_throughput.py --images 512 --epochs 2 --rounds 3 --compile
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from collections.abc import Callable

import unlearnlab  # noqa: F401, I001  (first: it pins the CPU kernels before NumPy and torch compute)

import torch
import torch.nn.functional as F

from unlearnlab import numerics
from unlearnlab.models import create_model
from unlearnlab.training import RunContext, TensorBatches, TrainConfig, pick_device, seed_everything, train_classifier


def hand_loop(model, x, y, config: TrainConfig, device: torch.device, generator: torch.Generator) -> None:
    """What a person writes by hand: shuffle, slice, forward, backward, step, schedule."""
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    steps = -(-len(x) // config.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs * steps)
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(x), generator=generator).to(device)
        for i in range(steps):
            idx = order[i * config.batch_size:(i + 1) * config.batch_size]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()


def shared_loop(model, x, y, config: TrainConfig, device: torch.device, generator: torch.Generator) -> None:
    train_classifier(model, x, y, config, RunContext(device=device, seed=0, amp=config.amp))


def timed(loop: Callable, model, x, y, config: TrainConfig, device: torch.device) -> float:
    # On the CPU the process's CPU time, not the wall clock: other processes sharing the cores would otherwise
    # decide the ratio (the loops run on one intra-op thread in portable numerics).
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = clock()
    loop(model, x, y, config, device, RunContext(seed=0).generator(1))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return clock() - start


def best_of(loops: dict[str, tuple[Callable, TrainConfig, torch.Tensor]], y, device, rounds: int,
            net: tuple[str, int]):
    """Best time of each variant; the order alternates round by round, round 0 only warms up. Each variant keeps
    its model (same initialisation for all) across rounds, so torch.compile compiles once, in round 0."""
    times: dict[str, list[float]] = {k: [] for k in loops}
    models = {}
    for name in loops:
        seed_everything(0)
        models[name] = create_model(net[0], (3, 32, 32), 10, width=net[1]).to(device)
    names = list(loops)
    for r in range(rounds + 1):
        for name in (names if r % 2 else names[::-1]):
            loop, config, x = loops[name]
            t = timed(loop, models[name], x, y, config, device)
            if r:
                times[name].append(t)
    return {k: min(v) for k, v in times.items()}


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    env = numerics.manifest(device)
    return f"{numerics.summary(env)}; {platform.machine()}"


def peak_memory(device: torch.device) -> str:
    if device.type == "cuda":
        return f"peak GPU memory allocated {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB"
    return f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default=None, help="cpu | cuda | auto (default)")
    ap.add_argument("--images", type=int, default=None, help="training images (default: 50,000 on CUDA, 256 on CPU)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per timed run (default: 2 on CUDA, 1 on CPU)")
    ap.add_argument("--batch-size", type=int, default=None, help="default: 256 on CUDA, 64 on CPU")
    ap.add_argument("--model", default="resnet18", help="resnet18 (default) or fastnet")
    ap.add_argument("--width", type=int, default=64, help="base width (64: the standard ResNet-18 and fastnet)")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds after the warm-up round")
    ap.add_argument("--compile", action="store_true", help="also time train.compile=true (torch.compile)")
    args = ap.parse_args()
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    n = args.images or (50_000 if cuda else 256)
    epochs = args.epochs or (2 if cuda else 1)
    batch = args.batch_size or (256 if cuda else 64)
    g = torch.Generator().manual_seed(0)
    x_host = torch.randn(n, 3, 32, 32, generator=g)
    y_host = torch.randint(0, 10, (n,), generator=g)
    x, y = x_host.to(device), y_host.to(device)
    base = TrainConfig(epochs=epochs, batch_size=batch, lr=0.1)
    size = "" if cuda else " (reduced size for the CPU)"
    net = (args.model, args.width)
    print(f"{args.model} (width {args.width}) on {n} random 3x32x32 images, 10 classes, batch {batch}, {epochs} "
          f"epoch(s) per run, best of {args.rounds} rounds{size}")
    with numerics.compute_threads():
        print(f"device: {device.type}; {machine(device)}")
        best = best_of({"hand-written": (hand_loop, base, x), "shared": (shared_loop, base, x),
                        "shared+crop_flip": (shared_loop, TrainConfig(**{**base.to_dict(), "augment": "crop_flip"}),
                                             x)}, y, device, args.rounds, net)
        images = n * epochs
        unit = "s" if cuda else "s of CPU time"
        for name, t in best.items():
            print(f"  {name:<18} {images / t:10.1f} images/{'s' if cuda else 'CPU-s'}  ({t:.2f} {unit})")
        ratio = best["shared"] / best["hand-written"]
        print(f"overhead of the shared loop: time ratio shared / hand-written = {ratio:.3f} (goal <= 1.05)")
        print(f"crop_flip augmentation: time ratio {best['shared+crop_flip'] / best['shared']:.3f} against none")
        if cuda:
            steps = [("host data (copied per batch)", base, x_host),
                     ("+ data resident on the device", base, x),
                     ("+ bf16 autocast (train.amp)", TrainConfig(**{**base.to_dict(), "amp": True}), x),
                     ("+ channels_last", TrainConfig(**{**base.to_dict(), "amp": True, "channels_last": True}), x)]
            if args.compile:
                steps.append(("+ torch.compile (train.compile)",
                              TrainConfig(**{**base.to_dict(), "amp": True, "channels_last": True, "compile": True}),
                              x))
            previous = None
            for label, config, data in steps:
                t = best_of({label: (shared_loop, config, data)}, y, device, args.rounds, net)[label]
                gain = f"  x{previous / t:.2f} over the line above" if previous else ""
                print(f"  {label:<34} {images / t:10.1f} images/s{gain}")
                previous = t
    print(peak_memory(device))


if __name__ == "__main__":
    main()
