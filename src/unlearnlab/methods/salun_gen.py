from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..training.diffusion import diffusion_loss
from ..validation import check_non_negative, check_range
from .base import Method, UnlearningTask, register_method
from .common import masked_update
from .generative_common import (anchor_class, check_anchor, check_common, diffusion_model, forget_batches,
                                forget_retain_batches, noised, train_steps)
from .salun import saliency_mask


@register_method("salun_gen", paper="Fan et al. 2024, SalUn: Empowering Machine Unlearning via Gradient-based "
                                    "Weight Saliency in Both Image Classification and Generation (ICLR)")
class SalUnGen(Method):
    """SalUn for a class-conditional DDPM: a saliency mask from |∇θ| of the diffusion loss on the forgotten
    class (the `ratio` share of weights with the largest, ranked globally), then only those weights learn to
    denoise the forgotten class as the anchor class: ||ε_θ(x_t, c_f) − sg[ε_θ(x_t, c_a)]||² on noised D_f,
    plus `alpha` times the DDPM loss on D_r. The rest stay exactly at θ_o.

    As in the authors' DDPM code (OPTML-Group/Unlearn-Saliency, DDPM/, method `rl`): the pseudo class is
    (c_f + 1) mod K (`anchor=-1`), its score is the current model's, detached, and the mask is built from the
    plain diffusion loss on D_f (no label dropout: the gradient of the class's own conditional score).
    """

    tasks = ("generation",)
    # Their CIFAR-10 command (DDPM/README.md): --alpha 1e-3 --method rl with a saliency mask; the ratio 0.5 is
    # their masks' (with_0.5). Ours: alpha 1 at lr 1e-3 for 300 steps: at alpha 1e-3 the retain term is too weak
    # for this small DDPM, whose kept classes collapsed (reduced digits request, seed 0: kept accuracy 0.23,
    # kept-class FD 23.4 against θ_r's 1.42; alpha 1: 0.93 and 2.04; docs/generative_methods.md).
    reference_defaults = {"ratio": 0.5, "alpha": 1e-3}

    def __init__(self, ratio: float = 0.5, alpha: float = 1.0, anchor: int = -1, steps: int = 300, lr: float = 1e-3,
                 batch_size: int = 64, grad_clip: float = 1.0):
        check_range("ratio", ratio, 0.0, 1.0, closed="right")
        check_non_negative(alpha=alpha)
        check_anchor(anchor)
        check_common(steps, lr, batch_size, grad_clip, "all")
        self.ratio, self.alpha, self.anchor, self.steps, self.lr = ratio, alpha, anchor, steps, lr
        self.batch_size, self.grad_clip = batch_size, grad_clip

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        model, forgotten = diffusion_model(model, task)
        pseudo = anchor_class(self.anchor, forgotten, task.num_classes)
        mask = saliency_mask(diffusion_saliency(model, task, self.batch_size), self.ratio)
        theta_o = {n: p.detach().clone() for n, p in model.named_parameters()}
        params = dict(model.named_parameters())
        gen_f, gen_r = task.ctx.generator(23), task.ctx.generator(24)

        mask_grads, restore_unmasked = masked_update(params, mask, theta_o)

        def loss(m, batch):
            xr, yr, xf, yf = batch
            zt, t, _ = noised(m, xf, gen_f)
            with torch.no_grad():
                target = m(zt, t, torch.full_like(yf, pseudo))
            forget = F.mse_loss(m(zt, t, yf), target)
            return forget + self.alpha * diffusion_loss(m, xr, yr, gen_r) if self.alpha else forget

        return train_steps(model, task, forget_retain_batches(task, self.batch_size), loss, steps=self.steps,
                           lr=self.lr, grad_clip=self.grad_clip, weights="all", description="salun_gen",
                           after_backward=mask_grads, after_step=restore_unmasked)


def diffusion_saliency(model, task: UnlearningTask, batch_size: int) -> dict[str, torch.Tensor]:
    """|Σ_batches ∇θ L_DDPM| over D_f (no label dropout), one pass; a pre-pass, so it counts samples and can be
    cancelled. Its draws come from their own stream."""
    gen = task.ctx.generator(25)
    params = dict(model.named_parameters())
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    for x, y in forget_batches(task, batch_size):
        task.ctx.check_cancelled()
        x, y = x.to(task.ctx.device), y.to(task.ctx.device)
        loss = diffusion_loss(model, x, y, gen, p_uncond=0.0)
        grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        for n, g in zip(params, grads):
            if g is not None:
                total[n] += g
        task.ctx.counters.samples += len(x)
    return {n: g.abs() for n, g in total.items()}
