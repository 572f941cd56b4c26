"""The joint UMAP of two models' features. UMAP compiles with numba on its first call in a process
(about 20-30 s); the inputs here are small so that the calls after it are quick."""

import numpy as np
import pytest
import torch

from unlearnlab.analysis.embedding import joint_umap
from unlearnlab.errors import BadInput


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def blobs():
    """Two far-apart blobs in 8-D for model A; model B sees the same points slightly moved."""
    rng = np.random.default_rng(0)
    blob = np.repeat([0, 1], 30)
    a = rng.normal(size=(60, 8)) + 12.0 * blob[:, None]
    b = a + 0.2 * rng.normal(size=a.shape)
    return a.astype(np.float32), b.astype(np.float32), blob


@pytest.fixture(scope="module")
def embedded(blobs):
    a, b, _ = blobs
    return joint_umap(a, b, seed=3)


def test_torch_keeps_its_thread_count(blobs):
    a, b, _ = blobs
    torch.set_num_threads(1)
    assert torch.get_num_threads() == 1
    joint_umap(a[:20], b[:20])
    assert torch.get_num_threads() == 1


def test_shapes_and_same_seed_same_coordinates(blobs, embedded):
    a, b, _ = blobs
    xy_a, xy_b = embedded
    assert xy_a.shape == (60, 2) and xy_b.shape == (60, 2)
    again = joint_umap(a, b, seed=3)
    np.testing.assert_array_equal(again[0], xy_a)
    np.testing.assert_array_equal(again[1], xy_b)
    small = joint_umap(a[:25], b[:10], seed=0)  # A and B may hold different numbers of points
    assert small[0].shape == (25, 2) and small[1].shape == (10, 2)


def test_separated_clusters_stay_separated_and_the_two_models_share_the_map(blobs, embedded):
    _, _, blob = blobs
    xy_a, xy_b = embedded
    xy, group = np.concatenate([xy_a, xy_b]), np.concatenate([blob, blob])
    centres = np.array([xy[group == g].mean(axis=0) for g in (0, 1)])
    spread = max(np.linalg.norm(xy[group == g] - centres[g], axis=1).max() for g in (0, 1))
    gap = np.linalg.norm(centres[0] - centres[1])
    assert gap > 2 * spread, (gap, spread)
    # One fit: A's blob-g points and B's blob-g points are in the same place of the same map.
    for g in (0, 1):
        assert np.linalg.norm(xy_a[blob == g].mean(0) - xy_b[blob == g].mean(0)) < 0.25 * gap


def test_bad_input():
    rng = np.random.default_rng(1)
    with pytest.raises(BadInput, match="same width"):
        joint_umap(rng.normal(size=(10, 4)), rng.normal(size=(10, 5)))
    bad = rng.normal(size=(10, 4))
    bad[3, 1] = np.nan
    with pytest.raises(BadInput, match="non-finite"):
        joint_umap(bad, bad)
    with pytest.raises(BadInput, match="features_a"):
        joint_umap(rng.normal(size=(1, 4)), rng.normal(size=(5, 4)))
