import numpy as np
import pytest
import torch

from unlearnlab.analysis import layerwise_activations, layerwise_cka, linear_cka
from unlearnlab.errors import BadInput
from unlearnlab.models import create_model


def _hsic_cka(x, y):
    # Direct HSIC form with the centring matrix, for comparison with both code paths.
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = x @ x.T, y @ y.T
    hsic = lambda a, b: np.trace(a @ h @ b @ h)
    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


def test_cka_of_a_representation_with_itself_is_one():
    x = np.random.default_rng(0).normal(size=(50, 10))
    assert linear_cka(x, x) == pytest.approx(1.0)


def test_cka_invariant_to_orthogonal_transform_and_isotropic_scaling():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 8))
    y = x[:, :5] @ rng.normal(size=(5, 6)) + 0.5 * rng.normal(size=(60, 6))
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    base = linear_cka(x, y)
    assert 0.2 < base < 0.99
    assert linear_cka(x, 3.7 * y @ q) == pytest.approx(base)
    assert linear_cka(0.01 * x, y) == pytest.approx(base)


def test_cka_matches_the_hsic_formula_in_both_paths():
    rng = np.random.default_rng(2)
    for n, p in ((40, 3), (10, 30)):  # feature form, then Gram form
        x, y = rng.normal(size=(n, p)), rng.normal(size=(n, p + 1))
        assert linear_cka(x, y) == pytest.approx(_hsic_cka(x, y))


def test_cka_of_independent_features_is_small():
    rng = np.random.default_rng(3)
    assert linear_cka(rng.normal(size=(1000, 5)), rng.normal(size=(1000, 5))) < 0.05


def test_cka_edge_cases():
    assert np.isnan(linear_cka(np.ones((5, 3)), np.random.default_rng(0).normal(size=(5, 2))))
    with pytest.raises(BadInput):
        linear_cka(np.zeros((5, 3)), np.zeros((6, 3)))


def test_layerwise_activations_of_the_small_cnn():
    torch.manual_seed(0)
    model = create_model("cnn", (1, 8, 8), 10)
    model.train()
    x = torch.randn(37, 1, 8, 8)
    acts = layerwise_activations(model, x, batch_size=16)
    assert list(acts) == ["conv1", "conv2", "conv3", "head"]
    assert all(a.shape[0] == 37 and a.ndim == 2 for a in acts.values())
    assert acts["conv1"].shape[1] == 16 * 8 * 8
    with torch.no_grad():
        np.testing.assert_allclose(acts["head"], model(x).numpy(), rtol=1e-5, atol=1e-5)
    assert model.training  # mode restored
    assert all(not m._forward_hooks for m in model.blocks().values())  # hooks removed
    model.eval()
    sub = layerwise_activations(model, x.numpy(), block_names=["conv3"])
    assert list(sub) == ["conv3"] and not model.training
    with pytest.raises(BadInput):
        layerwise_activations(model, x, block_names=["nope"])


def test_layerwise_cka_compares_every_common_block():
    torch.manual_seed(0)
    a = create_model("cnn", (1, 8, 8), 10)
    b = create_model("cnn", (1, 8, 8), 10)
    x = torch.randn(64, 1, 8, 8)
    acts_a, acts_b = layerwise_activations(a, x), layerwise_activations(b, x)
    same = layerwise_cka(acts_a, acts_a)
    assert list(same) == ["conv1", "conv2", "conv3", "head"]
    assert all(v == pytest.approx(1.0) for v in same.values())
    diff = layerwise_cka(acts_a, acts_b)
    assert all(0.0 <= v <= 1.0 for v in diff.values())
    assert diff["head"] < 0.999
