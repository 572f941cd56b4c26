from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..validation import check_non_negative
from .base import Method, UnlearningTask, register_method
from .generative_common import (anchor_class, check_anchor, check_common, diffusion_model, drop_labels,
                                forget_retain_batches, noised, train_steps)


@register_method("sfd", paper="Chen et al. 2025, Score Forgetting Distillation: A Swift, Data-Free Method for "
                              "Machine Unlearning in Diffusion Models (ICLR)")
class SFD(Method):
    """Score Forgetting Distillation, as a score-matching distillation into the same DDPM: the forgotten
    class's score is distilled onto θ_o's score of an anchor class, ||ε_θ(x_t, c_f) − ε_o(x_t, c_a)||², and
    every other class's (and the null token's) onto θ_o's own, `retain_weight`·||ε_θ(x_t, c) − ε_o(x_t, c)||².

    The paper distils θ_o into a one-step generator (score identity distillation) and adds this score-based
    forgetting loss; its x_t are the generator's own samples, noised, so it needs no real data. Here the
    student is the DDPM itself (no second network, no fake-score network: the comparison with retraining
    is then about the same model) and x_t are training images of the forgotten and kept classes, noised
    to a uniform t. Unlike SalUn's target (the student's own detached score), the teacher is the frozen θ_o,
    so the target does not drift while the student moves.
    """

    tasks = ("generation",)
    # No reference default: the paper's optimiser settings train a different student (a one-step generator
    # distilled from θ_o), so none of them transfers to fine-tuning the DDPM itself. Ours: lr 1e-3 for 300 steps
    # of 64 forgotten and 64 kept images; the student starts at θ_o, the distillation target, so only the
    # forgotten class has far to move (docs/generative_methods.md).
    reference_defaults: dict = {}

    def __init__(self, anchor: int = -1, retain_weight: float = 1.0, steps: int = 300, lr: float = 1e-3,
                 batch_size: int = 64, grad_clip: float = 1.0, weights: str = "all"):
        check_anchor(anchor)
        check_non_negative(retain_weight=retain_weight)
        check_common(steps, lr, batch_size, grad_clip, weights)
        self.anchor, self.retain_weight, self.steps, self.lr = anchor, retain_weight, steps, lr
        self.batch_size, self.grad_clip, self.weights = batch_size, grad_clip, weights

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        model, forgotten = diffusion_model(model, task)
        anchor = anchor_class(self.anchor, forgotten, task.num_classes)
        original = task.original
        gen_f, gen_r = task.ctx.generator(26), task.ctx.generator(27)

        def loss(m, batch):
            xr, yr, xf, yf = batch
            zf, tf, _ = noised(m, xf, gen_f)
            zr, tr, _ = noised(m, xr, gen_r)
            yr = drop_labels(m, yr, gen_r)  # keeps the null branch (guidance's reference) at θ_o's too
            with torch.no_grad():
                target_f = original(zf, tf, torch.full_like(yf, anchor))
                target_r = original(zr, tr, yr)
            forget = F.mse_loss(m(zf, tf, yf), target_f)
            if not self.retain_weight:
                return forget
            return forget + self.retain_weight * F.mse_loss(m(zr, tr, yr), target_r)

        return train_steps(model, task, forget_retain_batches(task, self.batch_size), loss, steps=self.steps,
                           lr=self.lr, grad_clip=self.grad_clip, weights=self.weights, description="sfd")
