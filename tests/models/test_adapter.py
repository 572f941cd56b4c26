"""The adapter: a plain torchvision-style classifier becomes a Classifier that every method and analysis can use."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from unlearnlab.analysis.cka import layerwise_activations
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method, run_method
from unlearnlab.models import Adapter, Classifier, adapt
from unlearnlab.training import TrainConfig, apply_masks, global_magnitude_masks, seed_everything, train_classifier

from ..conftest import make_tiny_task


class Block(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv(x))


class TorchvisionStyle(nn.Module):
    """The shape of torchvision's ResNet: conv1, bn1, relu, layer1 (a Sequential of blocks), avgpool, `self.fc`."""

    def __init__(self, num_classes: int = 1000, channels: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(Block(8, 8), Block(8, 16))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.layer1(self.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def sequential(num_classes: int = 3, width: int = 16) -> nn.Module:
    """A small Sequential ending in a Linear, the other common form; two linear layers."""
    return nn.Sequential(nn.Flatten(), nn.Linear(16, width), nn.ReLU(), nn.Linear(width, num_classes))


SHAPE = (1, 4, 4)


def test_torchvision_style_model_gets_head_features_and_blocks_in_forward_order():
    torch.manual_seed(0)
    net = TorchvisionStyle(num_classes=3)
    model = adapt(net, SHAPE, 3)
    assert isinstance(model, Classifier) and model.head is net.fc and model.head_path == "fc"
    assert model.num_classes == 3
    assert model.block_names == ("conv1", "bn1", "layer1.0", "layer1.1", "fc")  # containers opened, no relu/pool
    x = torch.randn(5, *SHAPE)
    model.eval()
    feats = model.features(x)
    assert feats.shape == (5, 16)
    assert torch.equal(model.head(feats), model(x)) and torch.equal(model(x), net(x))
    assert not net.fc._forward_pre_hooks  # the features hook lives only for the call
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: seen.append(n)) for n, m in model.blocks().items()]
    model(x)
    for h in hooks:
        h.remove()
    assert seen == list(model.block_names)


def test_blocks_follow_the_forward_not_the_registration_order():
    class Reordered(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 3)
            self.late = nn.Linear(8, 8)
            self.early = nn.Linear(16, 8)

        def forward(self, x):
            return self.fc(torch.relu(self.late(torch.relu(self.early(x.flatten(1))))))

    assert Adapter(Reordered(), head="fc").block_names == ("fc", "late", "early")  # untraced: registration order
    assert adapt(Reordered(), SHAPE, 3).block_names == ("early", "late", "fc")


def test_state_dict_keys_are_the_wrapped_models_own():
    torch.manual_seed(0)
    net = TorchvisionStyle(num_classes=3)
    model = adapt(copy.deepcopy(net), SHAPE, 3)
    assert list(model.state_dict()) == list(net.state_dict())
    torch.manual_seed(1)
    other = adapt(TorchvisionStyle(num_classes=3), SHAPE, 3)
    other.load_state_dict(net.state_dict())
    x = torch.randn(4, *SHAPE)
    assert torch.equal(other.eval()(x), net.eval()(x))
    # inside, the head reads head.* as in the built-in models (pruning masks, SalUn's saliency masks)
    names = [n for n, _ in model.named_parameters()]
    assert names[:2] == ["head.weight", "head.bias"] and "net.fc.weight" not in names
    assert len(list(model.parameters())) == len(list(net.parameters()))


def test_assigning_the_head_replaces_the_layer_the_wrapped_model_uses():
    net = TorchvisionStyle(num_classes=3)
    model = adapt(net, SHAPE, 3)
    wide = nn.Linear(16, 4)
    model.head = wide
    assert net.fc is wide and model.head is wide
    assert model(torch.randn(2, *SHAPE)).shape == (2, 4)
    assert "head" not in dict(model.net.named_children())


def test_a_deep_copy_is_independent():
    model = adapt(TorchvisionStyle(num_classes=3), SHAPE, 3)
    twin = copy.deepcopy(model)
    assert twin.head is twin.net.fc and twin.head is not model.head
    with torch.no_grad():
        twin.head.weight.zero_()
    assert model.head.weight.abs().sum() > 0
    twin.features(torch.randn(2, *SHAPE))
    assert not model.head._forward_pre_hooks and not twin.head._forward_pre_hooks


def test_two_linear_layers_need_a_trace_or_head():
    with pytest.raises(BadInput, match=r"cannot tell the final linear layer of Sequential: it has 2 linear layers "
                                       r"\(1, 3\); pass head='NAME'"):
        Adapter(sequential())
    assert Adapter(sequential(), head="3").head_path == "3"
    assert adapt(sequential(), SHAPE, 3).head_path == "3"  # traced: the layer whose output is the output


@pytest.mark.parametrize("make,needles", [
    (lambda: nn.Sequential(nn.Conv2d(1, 3, 4), nn.Flatten()), ["no nn.Linear layer", "head="]),
    (lambda: nn.Sequential(nn.Flatten(), nn.Linear(16, 3), nn.Softmax(dim=1)), ["is not the output of any", "softmax"]),
])
def test_models_the_adapter_cannot_read_are_refused_with_one_line(make, needles):
    with pytest.raises(BadInput) as err:
        adapt(make(), SHAPE, 3)
    assert "\n" not in str(err.value)
    for needle in needles:
        assert needle in str(err.value)


def test_bad_head_and_block_names_and_output_shapes():
    with pytest.raises(BadInput, match=r"head='relu' is a ReLU, not an nn.Linear"):
        Adapter(TorchvisionStyle(), head="relu")
    with pytest.raises(BadInput, match=r"head='nope' is not a sub-module of TorchvisionStyle; its sub-modules "
                                       r"are conv1"):
        Adapter(TorchvisionStyle(), head="nope")
    with pytest.raises(BadInput, match=r"block='layer9' is not a sub-module"):
        Adapter(TorchvisionStyle(), blocks=["conv1", "layer9"])
    with pytest.raises(BadInput, match=r"the output of Sequential is the output of '3', not of head='1'"):
        adapt(sequential(), SHAPE, 3, head="1")
    with pytest.raises(BadInput, match=r"returns shape \(1000,\) per sample .* has 3 classes, .*num_classes=3"):
        adapt(TorchvisionStyle(), SHAPE, 3)
    with pytest.raises(BadInput, match=r"fails on inputs shaped \(3, 8, 8\): RuntimeError"):
        adapt(TorchvisionStyle(num_classes=3), (3, 8, 8), 3)


def test_cka_activations_come_from_hooks_on_the_wrapped_blocks():
    torch.manual_seed(0)
    model = adapt(TorchvisionStyle(num_classes=3), SHAPE, 3)
    x = np.random.default_rng(0).normal(size=(6, *SHAPE)).astype(np.float32)
    acts = layerwise_activations(model, x)
    assert list(acts) == list(model.block_names)
    assert acts["layer1.1"].shape == (6, 16 * 4 * 4) and acts["fc"].shape == (6, 3)
    assert all(not m._forward_hooks for m in model.blocks().values())


@pytest.fixture(scope="module")
def adapted_original(tiny_data):
    seed_everything(0)
    model = adapt(sequential(tiny_data.num_classes, 32), tiny_data.input_shape, tiny_data.num_classes)
    train_classifier(model, torch.as_tensor(tiny_data.x_train), torch.as_tensor(tiny_data.y_train),
                     TrainConfig(epochs=5, batch_size=16), _ctx())
    return model.eval()


def _ctx():
    from unlearnlab.training import RunContext

    return RunContext(seed=0)


# Every method that reads the head, the features, parameter names or the architecture beyond forward().
@pytest.mark.parametrize("method", ["boundary_expand", "boundary_shrink", "salun", "l1_sparse", "ssd", "laf_r",
                                    "scrub", "iu", "retrain"])
def test_methods_run_on_an_adapted_model(method, tiny_data, adapted_original):
    task = make_tiny_task(tiny_data, adapted_original)
    task.make_model = lambda: adapt(sequential(tiny_data.num_classes, 32), tiny_data.input_shape, tiny_data.num_classes)
    before = {k: v.clone() for k, v in adapted_original.state_dict().items()}
    # D_f is a third of D here: SSD selects nothing above alpha ~3 (as in tests/methods/test_ssd.py)
    params = {"laf_r": {"epochs": 1, "vae_steps": 5}, "scrub": {"epochs": 1}, "iu": {"retain_samples": 16},
              "ssd": {"alpha": 1.5}}.get(method)
    res = run_method(build_method(method, params), adapted_original, task)
    out = res.model
    assert isinstance(out, Adapter) and out.head is out.net.get_submodule("3")
    assert list(out.state_dict()) == list(before)  # same architecture returned (the head narrowed back)
    assert all(torch.equal(before[k], v) for k, v in adapted_original.state_dict().items())  # θ_o untouched
    logits = out.eval()(torch.as_tensor(tiny_data.x_test))
    assert logits.shape == (len(tiny_data.x_test), tiny_data.num_classes) and torch.isfinite(logits).all()
    assert any(not torch.equal(before[k], v) for k, v in out.state_dict().items())  # it changed something


def test_pruning_masks_reach_an_adapted_head(tiny_data, adapted_original):
    model = copy.deepcopy(adapted_original)
    masks = global_magnitude_masks(model, 0.5)
    assert "head.weight" in masks  # the name boundary_expand widens with its shadow row
    apply_masks(model, masks)
    assert float((model.net.get_submodule("3").weight == 0).float().mean()) > 0
