"""Relearning attack: how fast does forgotten knowledge come back?

Fine-tune a model for k steps on a small share of D_f and track forget accuracy after every step,
on the share itself and on the rest of D_f (held out). An unlearner that only hid the forget
set (suppressed the head, say) recovers in a few steps; θ_r, given the same steps, learns from
scratch. The attack follows the relearning evaluations of Lynch et al. 2024 (Eight Methods to
Evaluate Robust Unlearning in LLMs) and Hu et al. 2024 (Jogging the Memory of Unlearned Models),
here with the scenario's own optimiser.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..training import RunContext, TensorBatches, cross_entropy_step, fit, predict_logits, seed_everything, sgd
from ..validation import check_int, check_positive, check_range


def relearn_split(n_forget: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(relearn positions, held-out positions) into D_f: a seeded share, at least one sample each side."""
    check_range("relearn share", share, 0.0, 1.0, closed="neither")
    if n_forget < 2:
        from ..errors import BadInput

        raise BadInput(f"the relearning attack needs at least 2 forget samples; got {n_forget}")
    k = min(max(1, round(share * n_forget)), n_forget - 1)
    perm = np.random.default_rng(seed).permutation(n_forget)
    return np.sort(perm[:k]), np.sort(perm[k:])


def relearn_curve(model: nn.Module, x_relearn: torch.Tensor, y_relearn: torch.Tensor, x_eval: torch.Tensor,
                  y_eval: torch.Tensor, *, steps: int = 20, lr: float = 0.01, batch_size: int = 32,
                  seed: int = 0, device: torch.device | None = None) -> list[float]:
    """Accuracy on (x_eval, y_eval) before and after each of `steps` SGD steps on the relearn set.

    Works on a copy; the model passed in is left as it was. Returns steps + 1 accuracies.
    """
    check_int("relearn steps", steps, 1)
    check_positive(relearn_lr=lr)
    device = device or next(model.parameters()).device
    model = copy.deepcopy(model).to(device).requires_grad_(True)
    ctx = RunContext(device=device, seed=seed)
    seed_everything(seed)
    y_eval_np = y_eval.cpu().numpy()

    def accuracy(m: nn.Module) -> float:
        return float((predict_logits(m, x_eval).argmax(1) == y_eval_np).mean())

    curve = [accuracy(model)]
    batches = TensorBatches(x_relearn, y_relearn, batch_size=min(batch_size, len(x_relearn)),
                            generator=ctx.generator(7))
    fit(model, batches, cross_entropy_step, sgd(model, lr), ctx, epochs=math.ceil(steps / len(batches)),
        max_steps=steps, after_step=lambda m: curve.append(accuracy(m)), description="relearn")
    return curve


@dataclass(frozen=True)
class RelearnJob:
    """One relearning curve for an executor: a stored scenario, a model's weights and the D_f split
    (indices into the training set)."""

    scenario: Mapping[str, Any]
    weights: Mapping[str, torch.Tensor]
    relearn_idx: np.ndarray
    heldout_idx: np.ndarray
    steps: int
    lr: float
    seed: int
    device: str = "cpu"


def relearn_job(job: RelearnJob) -> list[float]:
    from .ensemble import _scenario

    scenario, device = _scenario(job.scenario), torch.device(job.device)
    model = scenario.make_model()
    model.load_state_dict(job.weights)
    x = torch.as_tensor(scenario.dataset.x_train, device=device)
    y = torch.as_tensor(scenario.dataset.y_train, device=device)
    rel, held = torch.as_tensor(job.relearn_idx, device=device), torch.as_tensor(job.heldout_idx, device=device)
    return relearn_curve(model.to(device), x[rel], y[rel], x[held], y[held], steps=job.steps, lr=job.lr,
                         seed=job.seed, device=device)
