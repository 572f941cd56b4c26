"""Registry-driven model tests (after timm's tests/test_models.py)."""

from __future__ import annotations

import pytest
import torch

from unlearnlab.errors import BadInput
from unlearnlab.models import MODELS, Classifier, create_model

SHAPES = {"mlp": [(1, 8, 8), (40,), (3, 5)], "cnn": [(1, 8, 8), (1, 40), (3, 16, 16)], "resnet18": [(3, 32, 32), (1, 8, 8)],
          "fastnet": [(3, 32, 32), (1, 16, 16)]}


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_has_shapes_to_test(name):
    assert name in SHAPES


@pytest.mark.parametrize("name,shape", [(n, s) for n in MODELS.names() for s in SHAPES.get(n, [])])
def test_forward_features_and_named_blocks(name, shape):
    torch.manual_seed(0)
    model = create_model(name, shape, 7)
    assert isinstance(model, Classifier) and model.num_classes == 7
    x = torch.randn(2, *shape)
    model.eval()
    logits = model(x)
    feats = model.features(x)
    assert logits.shape == (2, 7)
    assert feats.shape == (2, model.head.in_features)
    assert torch.allclose(model.head(feats), logits)
    blocks = model.blocks()
    assert list(blocks) == list(model.block_names) and blocks["head"] is model.head
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: seen.append(n)) for n, m in blocks.items()]
    model(x)
    for h in hooks:
        h.remove()
    assert seen == list(model.block_names), "blocks must be listed in forward order"


def test_resnet18_is_the_cifar_variant():
    model = create_model("resnet18", (3, 32, 32), 10)
    stem = model.conv1[0]
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
    assert 11.0e6 < sum(p.numel() for p in model.parameters()) < 11.3e6
    assert model.block_names[1:9] == ("layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1",
                                      "layer4.0", "layer4.1")


def test_unknown_model_and_bad_shape():
    with pytest.raises(BadInput, match="unknown model 'vgg'.*allowed: mlp, cnn, resnet18"):
        create_model("vgg", (1, 8, 8), 10)
    with pytest.raises(BadInput, match=r"'cnn' needs inputs shaped"):
        create_model("cnn", (64,), 10)
