"""Layer-wise representation similarity by linear CKA (Kornblith et al. 2019, "Similarity of
Neural Network Representations Revisited"), as in the Unlearning Comparator's layer-wise view."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from ..errors import BadInput


def _centred(a: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim < 2:
        raise BadInput(f"{name} must be shaped (n_samples, features...); got shape {arr.shape}")
    arr = arr.reshape(len(arr), -1)
    return arr - arr.mean(axis=0, keepdims=True)


def linear_cka(x: ArrayLike, y: ArrayLike) -> float:
    """Linear CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F) on column-centred X (n, p), Y (n, q), float64.

    Equals HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) with linear kernels K = XXᵀ, L = YYᵀ; the
    n × n Gram form is used when it is the smaller one. Invariant to orthogonal transforms and
    isotropic scaling of either side. nan when either side has no variance (CKA is undefined).
    """
    xc, yc = _centred(x, "x"), _centred(y, "y")
    if len(xc) != len(yc):
        raise BadInput(f"x and y must have the same number of samples; got {len(xc)} and {len(yc)}")
    if len(xc) < 2:
        raise BadInput("linear CKA needs at least two samples")
    if len(xc) < xc.shape[1] + yc.shape[1]:
        k, l = xc @ xc.T, yc @ yc.T
        cross, nx, ny = np.vdot(k, l), np.linalg.norm(k), np.linalg.norm(l)
    else:
        cross = np.linalg.norm(yc.T @ xc) ** 2
        nx, ny = np.linalg.norm(xc.T @ xc), np.linalg.norm(yc.T @ yc)
    if nx == 0 or ny == 0:
        return float("nan")
    return float(cross / (nx * ny))


def layerwise_activations(model: nn.Module, x: ArrayLike | torch.Tensor,
                          block_names: Iterable[str] | None = None,
                          batch_size: int = 256) -> dict[str, np.ndarray]:
    """Outputs of `model.blocks()` (or the named subset, in that order) on `x`, each flattened to
    (n, features), collected by forward hooks in eval mode under `torch.no_grad()`.

    The model's train/eval mode is restored and the hooks removed afterwards, also on error.
    """
    blocks = model.blocks()
    names = list(blocks) if block_names is None else list(block_names)
    unknown = [n for n in names if n not in blocks]
    if unknown:
        raise BadInput(f"unknown block(s) {unknown}; the model's blocks are {list(blocks)}")
    if batch_size < 1:
        raise BadInput(f"batch_size={batch_size!r} is not allowed; it must be ≥ 1")
    inputs = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x), dtype=torch.float32)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    chunks: dict[str, list[np.ndarray]] = {n: [] for n in names}

    def hook_for(name: str):
        def hook(_module, _inputs, output):
            out = output[0] if isinstance(output, (tuple, list)) else output
            chunks[name].append(out.detach().reshape(out.shape[0], -1).cpu().numpy())
        return hook

    was_training = model.training
    handles = [blocks[n].register_forward_hook(hook_for(n)) for n in names]
    try:
        model.eval()
        with torch.no_grad():
            for start in range(0, len(inputs), batch_size):
                model(inputs[start:start + batch_size].to(device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {n: np.concatenate(c) if c else np.empty((0, 0), dtype=np.float32) for n, c in chunks.items()}


def layerwise_cka(acts_a: dict[str, np.ndarray], acts_b: dict[str, np.ndarray]) -> dict[str, float]:
    """Linear CKA per block over the blocks both dicts hold, in `acts_a`'s order."""
    common = [n for n in acts_a if n in acts_b]
    if not common:
        raise BadInput(f"no common block: {list(acts_a)} vs {list(acts_b)}")
    return {n: linear_cka(acts_a[n], acts_b[n]) for n in common}


__all__ = ["layerwise_activations", "layerwise_cka", "linear_cka"]
