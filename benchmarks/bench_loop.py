"""Our shared training loop against a minimal hand-written PyTorch loop, measured in one process.

Same model, data (digits train split), batch size, optimiser and epochs; the two loops alternate
over several rounds and the best time of each is compared.

    python benchmarks/bench_loop.py [--model cnn] [--epochs 5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from unlearnlab.data import load_dataset
from unlearnlab.models import create_model
from unlearnlab.training import RunContext, TensorBatches, cross_entropy_step, fit, pick_device


def raw_loop(model, x, y, batch_size, epochs, lr, generator):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    model.train()
    n = len(x)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator).to(x.device)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    if x.device.type == "cuda":
        torch.cuda.synchronize()


def our_loop(model, x, y, batch_size, epochs, lr, generator, device):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    batches = TensorBatches(x, y, batch_size=batch_size, generator=generator)
    fit(model, batches, cross_entropy_step, opt, RunContext(device=device), epochs=epochs)
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="cnn")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    device = pick_device(args.device)
    ds = load_dataset("digits")
    x = torch.as_tensor(ds.x_train, device=device)
    y = torch.as_tensor(ds.y_train, device=device)
    times = {"raw": [], "ours": []}
    for r in range(args.rounds + 1):  # round 0 warms up kernels and allocators
        for name in ("raw", "ours") if r % 2 else ("ours", "raw"):
            torch.manual_seed(0)
            model = create_model(args.model, ds.input_shape, ds.num_classes).to(device)
            g = torch.Generator().manual_seed(0)
            start = time.perf_counter()
            if name == "raw":
                raw_loop(model, x, y, args.batch_size, args.epochs, 0.05, g)
            else:
                our_loop(model, x, y, args.batch_size, args.epochs, 0.05, g, device)
            if r:
                times[name].append(time.perf_counter() - start)
    raw, ours = min(times["raw"]), min(times["ours"])
    steps = args.epochs * -(-len(x) // args.batch_size)
    print(f"device {device}, model {args.model}, {steps} steps of batch {args.batch_size}, best of {args.rounds}")
    print(f"raw PyTorch loop : {raw:.3f} s ({steps / raw:.0f} steps/s)")
    print(f"unlearnlab fit   : {ours:.3f} s ({steps / ours:.0f} steps/s)")
    print(f"ratio ours/raw   : {ours / raw:.3f}  (target <= 1.10)")


if __name__ == "__main__":
    main()
