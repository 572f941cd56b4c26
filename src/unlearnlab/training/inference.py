"""Batched forward passes in eval mode; outputs come back as NumPy for the metrics."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .context import RunContext


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, ctx: RunContext | None = None,
                   batch_size: int = 1024) -> np.ndarray:
    """Logits (float32) of `model` on `x`, in eval mode, restoring the model's mode afterwards."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [model(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    if ctx is not None:
        ctx.counters.samples += len(x)
    if not out:
        return np.zeros((0, getattr(model, "num_classes", 0)), dtype=np.float32)
    return torch.cat(out).numpy()
