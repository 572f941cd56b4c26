from __future__ import annotations

from torch import nn

from ..training.diffusion import diffusion_loss
from .base import Method, UnlearningTask, register_method
from .generative_common import check_common, diffusion_model, train_steps


@register_method("ft_retain", paper="Warnecke et al. 2023, Machine Unlearning of Features and Labels (NDSS); "
                                    "the generative baseline of Fan et al. 2024, SalUn (ICLR)")
class FineTuneRetain(Method):
    """Fine-tune θ_o with the DDPM loss (label dropout included) on the kept classes only, relying on
    catastrophic forgetting of the forgotten one: the generative counterpart of `ft`, and SalUn's
    retain-only baseline for DDPMs."""

    tasks = ("generation",)
    # No paper fixes a recipe for fine-tuning a DDPM on D_r, so there is no reference default. Ours: 500 steps
    # (a quarter of θ_o's 2,000) at 3e-3: at 1e-3, even 1,500 steps left the class at θ_o's forget rate on the
    # reduced digits DDPM (0.93 against 0.88, seed 0); at 3e-3 it fell to 0.53 (docs/generative_methods.md).
    reference_defaults: dict = {}

    def __init__(self, steps: int = 500, lr: float = 3e-3, batch_size: int = 128, grad_clip: float = 1.0,
                 weights: str = "all"):
        check_common(steps, lr, batch_size, grad_clip, weights)
        self.steps, self.lr, self.batch_size, self.grad_clip, self.weights = steps, lr, batch_size, grad_clip, weights

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        model, _ = diffusion_model(model, task)
        gen = task.ctx.generator(22)
        batches = task.retain_loader(min(self.batch_size, len(task.retain_idx)))
        return train_steps(model, task, batches, lambda m, b: diffusion_loss(m, b[0], b[1], gen), steps=self.steps,
                           lr=self.lr, grad_clip=self.grad_clip, weights=self.weights, description="ft_retain")
