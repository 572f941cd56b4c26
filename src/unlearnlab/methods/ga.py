from __future__ import annotations

from torch import nn

from ..training import sgd
from ..validation import check_sgd
from .base import Method, UnlearningTask, register_method


@register_method("ga", paper="Thudi et al. 2022, Unrolling SGD: Understanding Factors Influencing Machine Unlearning (EuroS&P)")
class GradientAscent(Method):
    """NegGrad: gradient ascent on the forget set, i.e. minimise −CE on D_f (−MSE on regression). Reads only D_f.

    Unbounded ascent has a cliff: on the default, lr 3e-3 leaves class 3 mostly remembered
    (UA 0.27), 4e-3 forgets it (UA 1.0, TA -3 points), 5e-3 collapses other classes too.
    """

    tasks = ("classification", "regression")
    reference_defaults = {"lr": 1e-4, "epochs": 5, "batch_size": 256}
    fragile_at_default_scale = ("unbounded ascent has a cliff: a run either forgets the class or barely moves; over 40 runs (seeds 0-9 x 4 kernel settings, docs/method_spread.md) UA spans 0.08-1.00, below 0.9 in 29 and below 0.75 in 27")

    def __init__(self, lr: float = 4e-3, epochs: int = 5, batch_size: int = 64, momentum: float = 0.9,
                 weight_decay: float = 5e-4):
        check_sgd(lr, epochs, batch_size, momentum, weight_decay)
        self.lr, self.epochs, self.batch_size = lr, epochs, batch_size
        self.momentum, self.weight_decay = momentum, weight_decay

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        def ascent(m: nn.Module, batch):
            return -task.loss(m(batch[0]), batch[1])

        opt = sgd(model, self.lr, self.momentum, self.weight_decay)
        task.fit(model, task.forget_loader(self.batch_size), ascent, opt, epochs=self.epochs, description="ga")
        return model
