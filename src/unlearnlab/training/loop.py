"""The one training loop every model and method runs through.

A caller supplies only what differs: batches, a loss `loss_fn(model, batch) -> tensor`, the
optimiser and optional hooks. The loop owns devices, AMP (bfloat16 autocast on GPUs that have it,
float16 with loss scaling on older ones), cancellation, NaN detection, progress and cost counting
(after Lightning's split between the loop and the module).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import Diverged
from .context import RunContext
from .pruning import apply_masks

LossFn = Callable[[nn.Module, tuple[torch.Tensor, ...]], torch.Tensor]
Hook = Callable[[nn.Module], None]


@dataclass
class FitResult:
    epoch_losses: list[float] = field(default_factory=list)
    steps: int = 0


def fit(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, ...]],
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    ctx: RunContext,
    *,
    epochs: int = 1,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    after_backward: Hook | None = None,
    after_step: Hook | None = None,
    train_mode: bool = True,
    description: str = "train",
    max_steps: int | None = None,
) -> FitResult:
    """Run `epochs` passes of `loss_fn` over `batches`, one optimiser step per batch.

    `scheduler` steps once per optimiser step. `after_backward` may edit gradients (saliency
    masks), `after_step` may edit weights; pruning masks in `ctx.masks` are re-applied after every
    step, so a pruned model stays pruned whatever the method does. Raises Diverged on a non-finite loss and
    Cancelled when ctx.cancel is set.
    """
    device = ctx.device
    n_batches = len(batches)  # type: ignore[arg-type]
    total = n_batches * epochs if max_steps is None else min(max_steps, n_batches * epochs)
    amp = ctx.use_amp
    amp_dtype = ctx.amp_dtype if amp else None
    # Loss scaling guards float16's narrow range; bfloat16 has float32's and needs none.
    scaler = torch.amp.GradScaler("cuda") if amp and amp_dtype == torch.float16 else None
    # Reading the loss back forces a device sync; on CUDA accumulate on the device and look every few steps.
    sync_every = 1 if device.type == "cpu" else 25
    # Batches that pair two sets (Cycled) know how many samples one of their batches holds.
    count = getattr(batches, "count", lambda b: len(b[0]))
    model.train(train_mode)
    result = FitResult()
    # Optional richer hook (the server's job progress implements it): called after every epoch with
    # the model, so a listener can report e.g. forget accuracy; plain callbacks (the Rich bar) lack it.
    epoch_end = getattr(ctx.progress, "epoch_end", None) if ctx.progress else None
    if ctx.progress:
        ctx.progress.start(description, total)
    try:
        for epoch in range(epochs):
            running = 0.0 if sync_every == 1 else torch.zeros((), device=device)
            seen = 0
            for batch in batches:
                ctx.check_cancelled()
                if batch[0].device != device:
                    batch = tuple(t.to(device, non_blocking=True) for t in batch)
                if amp:
                    with torch.autocast(device.type, dtype=amp_dtype):
                        loss = loss_fn(model, batch)
                else:
                    loss = loss_fn(model, batch)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                else:
                    loss.backward()
                if after_backward is not None:
                    after_backward(model)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                if ctx.masks:
                    apply_masks(model, ctx.masks)
                if after_step is not None:
                    after_step(model)
                if scheduler is not None:
                    scheduler.step()
                seen += 1
                if sync_every == 1:
                    value = loss.item()
                    if not math.isfinite(value):
                        _diverged(value, description, epoch)
                    running += value
                else:
                    running += loss.detach().float()
                    if seen % sync_every == 0:
                        _check_finite(running, description, epoch)
                result.steps += 1
                ctx.counters.steps += 1
                ctx.counters.samples += count(batch)
                if ctx.progress:
                    if sync_every == 1:  # the step's loss is already on the host: pass it on for free
                        ctx.progress.advance(1, epoch=epoch + 1, loss=value)
                    else:
                        ctx.progress.advance(1, epoch=epoch + 1)
                if max_steps is not None and result.steps >= max_steps:
                    break
            if seen:
                result.epoch_losses.append(_check_finite(running, description, epoch) / seen)
                if epoch_end is not None:
                    epoch_end(model, epoch=epoch + 1, epochs=epochs, loss=result.epoch_losses[-1])
            if max_steps is not None and result.steps >= max_steps:
                break
    finally:
        if ctx.progress:
            ctx.progress.stop()
    return result


def _check_finite(running: torch.Tensor | float, description: str, epoch: int) -> float:
    value = float(running)
    if not math.isfinite(value):
        _diverged(value, description, epoch)
    return value


def _diverged(value: float, description: str, epoch: int) -> None:
    raise Diverged(f"{description}: loss became {value} in epoch {epoch + 1}")
