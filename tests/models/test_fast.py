"""fastnet: the airbench94-style network of the fast-cifar10 preset."""

from __future__ import annotations

import pytest
import torch

from unlearnlab.errors import BadInput
from unlearnlab.models import create_model
from unlearnlab.training import RunContext, TrainConfig, seed_everything, train_classifier


def test_airbench94_layout_on_cifar_inputs():
    model = create_model("fastnet", (3, 32, 32), 10)
    assert model.stem[0].kernel_size == (2, 2) and model.stem[0].out_channels == 24
    widths = [g.conv2.out_channels for g in (model.group1, model.group2, model.group3)]
    assert widths == [64, 256, 256]
    assert model.head.bias is None and model.head.in_features == 256
    assert 1.9e6 < sum(p.numel() for p in model.parameters()) < 2.0e6  # airbench94: about 2M parameters
    spatial = []
    hooks = [g.register_forward_hook(lambda m, i, o: spatial.append(o.shape[-1]))
             for g in (model.stem, model.group1, model.group2, model.group3)]
    model.eval()(torch.randn(2, 3, 32, 32))
    for h in hooks:
        h.remove()
    assert spatial == [31, 15, 7, 3]


def test_three_by_three_convs_start_as_identity_on_their_first_channels():
    conv = create_model("fastnet", (3, 32, 32), 10).group2.conv1  # 64 -> 256
    w = conv.weight.detach()
    centre = torch.zeros(64, 64)
    centre[range(64), range(64)] = 1
    assert torch.equal(w[:64, :, 1, 1], centre) and w[:64].abs().sum() == 64
    assert w[64:].abs().sum() > 0  # the other outputs keep their random init


def test_logits_are_the_head_of_features_scaled_by_one_ninth():
    torch.manual_seed(0)
    model = create_model("fastnet", (3, 16, 16), 5, width=8).eval()
    x = torch.randn(3, 3, 16, 16)
    trunk = model.pool(model.group3(model.group2(model.group1(model.stem(x)))))
    assert torch.allclose(model.features(x), trunk / 9)
    assert torch.allclose(model(x), model.head(model.features(x)))


@pytest.mark.parametrize("shape", [(3, 8, 8), (64,), (1, 40)])
def test_inputs_too_small_or_flat_are_one_line_errors(shape):
    with pytest.raises(BadInput, match=r"'fastnet' needs image inputs shaped \(C, H, W\) of at least 9x9"):
        create_model("fastnet", shape, 10)


def test_learns_a_tiny_image_task_with_its_recipe_options():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(64) % 2
    x = torch.randn(64, 3, 12, 12, generator=g) * 0.5 + (2 * y - 1).float()[:, None, None, None]
    seed_everything(0)
    model = create_model("fastnet", (3, 12, 12), 2, width=4)
    cfg = TrainConfig(epochs=6, batch_size=16, lr=0.2, nesterov=True, schedule="onecycle", warmup=0.25,
                      label_smoothing=0.2, augment="crop_flip", crop_padding=2)
    res = train_classifier(model, x, y, cfg, RunContext(seed=0))
    assert res.epoch_losses[-1] < res.epoch_losses[0]
    assert (model.eval()(x).argmax(1) == y).float().mean() > 0.9
