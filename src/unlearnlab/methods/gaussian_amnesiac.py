from __future__ import annotations

import torch
from torch import nn

from ..validation import check_sgd
from .base import Method, UnlearningTask, register_method


@register_method("gaussian_amnesiac",
                 paper="Tarun, Chundawat, Mandal & Kankanhalli 2023, Deep Regression Unlearning (ICML)")
class GaussianAmnesiac(Method):
    """Gaussian amnesiac fine-tuning: replace every D_f target by a draw from N(mean, std) of the training
    targets, then fine-tune θ_o on D_r ∪ D_f (relabelled) with the task's loss: D_f's targets become noise the
    model can no longer fit (the regression analogue of random labels, Graves et al. 2021's amnesiac)."""

    tasks = ("regression",)
    # Authors' AgeDB notebook: 1 epoch of Adam at 1e-3, batch 256 (about 47 steps on AgeDB's 12k images). The
    # embedded diabetes has 353 training samples: batch 32 and more epochs give a comparable number of steps.
    reference_defaults = {"lr": 1e-3, "epochs": 1, "batch_size": 256}

    def __init__(self, lr: float = 1e-3, epochs: int = 4, batch_size: int = 32):
        check_sgd(lr, epochs, batch_size)
        self.lr, self.epochs, self.batch_size = lr, epochs, batch_size

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        y = task.y_train.float()
        noise = torch.randn(len(task.forget_idx), generator=task.ctx.generator(8)).to(y.device)
        targets = y.clone()
        # the authors' statistics: pandas' sample std of the training targets
        targets[torch.as_tensor(task.forget_idx, device=y.device)] = y.mean() + y.std() * noise
        batches = task.batches(task.x_train, targets.to(task.y_train.dtype), batch_size=self.batch_size, stream=8)
        task.fit(model, batches, task.loss_step, torch.optim.Adam(model.parameters(), lr=self.lr), epochs=self.epochs,
                 description="gaussian_amnesiac")
        return model
