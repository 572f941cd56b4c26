"""Twin embeddings of two models' penultimate features in ONE 2-D map.

The Unlearning Comparator fits one UMAP per model with an unset random state, so its two plots
are neither reproducible nor comparable. Here UMAP (McInnes et al. 2018) is fitted once on both
models' features stacked, with a fixed random state: the same inputs give the same coordinates,
and a point of model A and a point of model B sit in the same space.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from numpy.typing import ArrayLike

from ..errors import BadInput
from ..validation import check_int, check_range

#: The Comparator's UMAP settings (n_neighbors 9, min_dist 0.45).
N_NEIGHBORS = 9
MIN_DIST = 0.45


def _features(a: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float32)
    if arr.ndim != 2 or len(arr) < 2:
        raise BadInput(f"{name} must be shaped (n_samples >= 2, features); got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise BadInput(f"{name} holds non-finite values; a diverged model cannot be embedded")
    return arr


def joint_umap(features_a: ArrayLike, features_b: ArrayLike, *, seed: int = 0, n_neighbors: int = N_NEIGHBORS,
               min_dist: float = MIN_DIST) -> tuple[np.ndarray, np.ndarray]:
    """2-D UMAP coordinates (float32) of A's rows and of B's rows, from one fit on both stacked.

    A and B must have the same feature width (the same architecture). Deterministic for a given
    `seed` (UMAP then runs single-threaded). `n_neighbors` is capped at the number of points − 1.
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise BadInput(f"features_a and features_b must have the same width; got {a.shape[1]} and {b.shape[1]}")
    check_int("seed", seed, 0)
    check_int("n_neighbors", n_neighbors, 2)
    check_range("min_dist", min_dist, 0.0, 1.0)
    stacked = np.concatenate([a, b])
    threads = torch.get_num_threads()
    with warnings.catch_warnings():
        # "Tensorflow not installed" (ParametricUMAP, unused) and "n_jobs value 1 overridden to 1 by
        # setting random_state" (single-threaded is the price of reproducibility) are not news.
        warnings.filterwarnings("ignore", message=".*(Tensorflow|n_jobs).*")
        import umap  # slow to import (numba): only when an embedding is asked for

        # Spectral initialisation needs more graph nodes than eigenvectors; tiny inputs start at random.
        reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, len(stacked) - 1), min_dist=min_dist,
                            random_state=seed, init="spectral" if len(stacked) > 16 else "random")
        try:
            xy = reducer.fit_transform(stacked).astype(np.float32)
        finally:
            # numba's OpenMP layer can reset the process's OpenMP thread count, which torch shares.
            torch.set_num_threads(threads)
    return xy[:len(a)], xy[len(a):]


__all__ = ["MIN_DIST", "N_NEIGHBORS", "joint_umap"]
