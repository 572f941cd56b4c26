from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInput
from ..validation import check_non_negative, check_range, check_sgd
from .base import Method, UnlearningTask, register_method
from .common import frozen


@register_method("oracle_matching", paper="Georgiev et al. 2024, Attribute-to-Delete: Machine Unlearning via "
                                          "Datamodel Matching (OM baseline)")
class OracleMatching(Method):
    """Fine-tune θ_o so its logits match the retrained model θ_r's (mean squared error) on D_f plus a
    seeded sample of D_r `retain_multiplier` times the size of D_f.

    An ORACLE upper bound, not a deployable method: it reads the gold standard θ_r, whose existence
    makes unlearning unnecessary. It shows how close output matching can get.
    """

    needs_retrain = True
    reference_defaults = {"lr": 1e-4, "epochs": 4, "batch_size": 512, "retain_multiplier": 3.0, "lr_decay": 0.95}

    def __init__(self, lr: float = 3e-3, epochs: int = 4, batch_size: int = 64, retain_multiplier: float = 3.0,
                 lr_decay: float = 0.95):
        check_sgd(lr, epochs, batch_size)
        check_non_negative(retain_multiplier=retain_multiplier)
        check_range("lr_decay", lr_decay, 0, 1, closed="right")
        self.lr, self.epochs, self.batch_size = lr, epochs, batch_size
        self.retain_multiplier, self.lr_decay = retain_multiplier, lr_decay

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        if task.retrained is None:
            raise BadInput("oracle_matching needs the retrained model θ_r (task.retrained); none was given")
        oracle = frozen(task.retrained).to(task.ctx.device)
        x_f, x_r = task.forget_data[0], task.retain_data[0]
        n_r = min(len(x_r), int(self.retain_multiplier * len(x_f)))
        pick = torch.randperm(len(x_r), generator=task.ctx.generator(13))[:n_r].to(x_r.device)
        x = torch.cat([x_f, x_r.index_select(0, pick)])

        def match(m: nn.Module, batch):
            xb = batch[0]
            with torch.no_grad():
                target = oracle(xb)
            return F.mse_loss(m(xb), target)

        batches = task.batches(x, batch_size=self.batch_size, stream=6)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        # the reference decays the learning rate by lr_decay after every epoch; the loop steps per batch
        per_epoch = len(batches)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: self.lr_decay ** (step // per_epoch))
        task.fit(model, batches, match, opt, epochs=self.epochs, scheduler=sched, description="oracle_matching")
        return model
