"""Pieces the generative unlearning methods share: the task builder, noising, weight groups and the step loop.

Every generative method edits a copy of a class-conditional DDPM (`models/diffusion.py`) in ε space. The
papers differ in the loss; the rest is here: draws of (t, ε) from the run's own generators (same seed, same
bits), the choice of which weights may move (ESD's ESD-x / ESD-u split, AdvUnlearn's text-encoder-only
training, written for our denoiser), Adam with gradient clipping for a fixed number of steps through the
shared loop (`training.fit`), and the one-line refusals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import BadInput
from ..models.diffusion import DiffusionModel, create_generative
from ..training import RunContext, TensorBatches
from ..training.batches import Cycled
from ..validation import check_choice, check_int, check_non_negative, check_positive
from .base import UnlearningTask

#: Which weights a method may change. `conditioning`: the class embedding and each block's conditioning
#: projection (where the class enters the denoiser: the analogue of Stable Diffusion's cross-attention,
#: ESD-x, and of AdvUnlearn's text encoder); `non_conditioning`: every other weight (ESD-u); `all`.
WEIGHT_GROUPS = ("conditioning", "non_conditioning", "all")


def make_generation_task(x_train: torch.Tensor | np.ndarray, y_train: torch.Tensor | np.ndarray,
                         forget_classes: Sequence[int], original: DiffusionModel, ctx: RunContext | None = None,
                         model: str = "ddpm") -> UnlearningTask:
    """A class-forgetting request on a DDPM as an `UnlearningTask` (task_type "generation"): the training
    images (data space) and labels, D_f = every sample of `forget_classes`, θ_o frozen."""
    ctx = ctx or RunContext()
    x = torch.as_tensor(x_train).to(ctx.device)
    y = torch.as_tensor(y_train).long().to(ctx.device)
    k = original.num_classes
    classes = tuple(sorted({int(c) for c in forget_classes}))
    for c in classes:
        if not 0 <= c < k:
            raise BadInput(f"forget class {c!r} is not allowed; classes are integers in [0, {k - 1}]")
    if not classes or len(classes) == k:
        raise BadInput(f"forget classes {list(classes)} are not allowed; forget at least one class and keep one")
    forget = np.flatnonzero(np.isin(y.cpu().numpy(), classes))
    original.requires_grad_(False).eval()

    def make_model() -> DiffusionModel:
        return create_generative(model, original.input_shape, k, original.config)

    return UnlearningTask(x_train=x, y_train=y, forget_idx=forget, num_classes=k, original=original,
                          make_model=make_model, ctx=ctx, forget_classes=classes,
                          task_type="generation")


def diffusion_model(model: nn.Module, task: UnlearningTask) -> tuple[DiffusionModel, tuple[int, ...]]:
    """The model as a DDPM and the forgotten classes, or one line saying why not."""
    if not isinstance(model, DiffusionModel) or not isinstance(task.original, DiffusionModel):
        raise BadInput(f"a generation method needs a diffusion model (models/diffusion.py); got {type(model).__name__}")
    if not task.forget_classes:
        raise BadInput("a generation method needs forget_classes (class-wise forgetting of a generator)")
    return model, tuple(int(c) for c in task.forget_classes)


def check_common(steps, lr, batch_size, grad_clip, weights) -> None:
    check_int("steps", steps, minimum=1)
    check_positive(lr=lr)
    check_int("batch_size", batch_size, minimum=1)
    check_non_negative(grad_clip=grad_clip)
    check_choice("weights", weights, WEIGHT_GROUPS)


def select_weights(model: DiffusionModel, weights: str) -> list[nn.Parameter]:
    """Freeze every parameter outside the group; return the trainable ones."""
    den = model.denoiser
    cond = {id(den.embed.weight), *(id(p) for b in den.blocks for p in b.cond.parameters())}
    params = []
    for p in model.parameters():
        keep = weights == "all" or (id(p) in cond) == (weights == "conditioning")
        p.requires_grad_(keep)
        if keep:
            params.append(p)
    return params


def noised(model: DiffusionModel, x0: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """(z_t, t, ε): data-space images noised to a uniform timestep (DDPM's forward process); draws on the CPU."""
    z0 = model.to_model_space(x0)
    t = torch.randint(0, model.timesteps, (len(z0),), generator=generator).to(z0.device)
    eps = torch.randn(z0.shape, generator=generator).to(z0.device)
    abar = model.alphas_cumprod[t][:, None]
    return abar.sqrt() * z0 + (1 - abar).sqrt() * eps, t, eps


def drop_labels(model: DiffusionModel, y: torch.Tensor, generator: torch.Generator,
                p: float | None = None) -> torch.Tensor:
    """Classifier-free label dropout (the training recipe's), so the null branch stays trained too."""
    p = model.config.p_uncond if p is None else p
    drop = (torch.rand(len(y), generator=generator) < p).to(y.device)
    return torch.where(drop, torch.full_like(y, model.null_class), y)


def forget_retain_batches(task: UnlearningTask, batch_size: int) -> Cycled:
    """Pairs of (x_f, y_f, x_r, y_r): the retain set sets the epoch, the forget set is cycled."""
    return Cycled(task.retain_loader(min(batch_size, len(task.retain_idx))),
                  task.forget_loader(min(batch_size, len(task.forget_idx))))


def forget_batches(task: UnlearningTask, batch_size: int) -> TensorBatches:
    return task.forget_loader(min(batch_size, len(task.forget_idx)))


def train_steps(model: DiffusionModel, task: UnlearningTask, batches, loss_fn: Callable, *, steps: int, lr: float,
                grad_clip: float, weights: str, description: str,
                after_backward: Callable[[nn.Module], None] | None = None,
                after_step: Callable[[nn.Module], None] | None = None) -> DiffusionModel:
    """Adam on the chosen weight group for exactly `steps` optimiser steps through the shared loop."""
    params = select_weights(model, weights)
    opt = torch.optim.Adam(params, lr=lr)

    def clip(m: nn.Module) -> None:
        if after_backward is not None:
            after_backward(m)
        if grad_clip:
            nn.utils.clip_grad_norm_(params, grad_clip)

    epochs = -(-steps // len(batches))
    task.fit(model, batches, loss_fn, opt, epochs=epochs, max_steps=steps, after_backward=clip,
             after_step=after_step, description=description)
    model.requires_grad_(True)
    return model.eval()


def anchor_class(anchor: int, forgotten: tuple[int, ...], num_classes: int) -> int:
    """The class the forgotten one is mapped to: `anchor`, or with -1 the next kept class after the first
    forgotten one ((c + 1) mod K, as SalUn's DDPM code picks its pseudo class)."""
    if anchor == -1:
        c = (forgotten[0] + 1) % num_classes
        while c in forgotten:
            c = (c + 1) % num_classes
        return c
    if not 0 <= anchor < num_classes or anchor in forgotten:
        raise BadInput(f"anchor={anchor!r} is not allowed; it must be a kept class in [0, {num_classes - 1}] "
                       "or -1 (the next kept class)")
    return anchor


def check_anchor(anchor) -> None:
    check_int("anchor", anchor, minimum=-1)


def esd_target(original, zt: torch.Tensor, t: torch.Tensor, y: torch.Tensor, eta: float) -> torch.Tensor:
    """ε_o(x_t, ∅) − η[ε_o(x_t, c) − ε_o(x_t, ∅)]: θ_o's score guided away from c (ESD's eq. 5)."""
    null = torch.full_like(y, original.null_class)
    cond, uncond = original(torch.cat([zt, zt]), torch.cat([t, t]), torch.cat([y, null])).chunk(2)
    return uncond - eta * (cond - uncond)


__all__ = ["WEIGHT_GROUPS", "anchor_class", "check_anchor", "check_common", "diffusion_model", "drop_labels",
           "esd_target", "forget_batches", "forget_retain_batches", "make_generation_task", "noised",
           "select_weights", "train_steps"]
