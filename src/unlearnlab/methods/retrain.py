from __future__ import annotations

from torch import nn

from ..training import train_classifier
from .base import Method, UnlearningTask, register_method


@register_method("retrain", paper="Exact unlearning: retrain from scratch on D_r (the gold standard θ_r)")
class Retrain(Method):
    """Train a freshly initialised model on the retain set with the original training recipe.

    Its hyper-parameters are the scenario's training config, stored with the scenario.
    """

    tasks = ("classification", "regression")

    def unlearn(self, model: nn.Module, task: UnlearningTask) -> nn.Module:
        fresh = task.make_model().to(task.ctx.device)
        train_classifier(fresh, *task.retain_data, task.train_config, task.ctx, description="retrain",
                         task=task.task_type)
        return fresh
