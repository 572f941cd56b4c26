"""A small fast CIFAR network in the style of the speed-run trainers (Keller Jordan's airbench94, itself after
hlb-CIFAR10 and Page's DAWNBench ResNet-9): a 2x2 stem, three conv groups, global max pool, a scaled linear head.

airbench94 reports 94.01 % CIFAR-10 test accuracy (mean of 1,000 runs) in 3.83 s on one A100, with tricks this
model leaves out because our shared loop, metrics and methods expect a plain `Classifier`: a stem frozen at the
whitening of the data's 2x2 patches, lookahead weight averaging, per-group learning rates and test-time flips.
The architecture is written here rather than taken from the `airbench` package because that package trains
through its own loader and loop and pulls in torchvision.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import BadInput
from ..validation import check_int
from .base import Classifier, register_model


class ConvGroup(nn.Module):
    """conv -> max-pool(2) -> BN -> GELU -> conv -> BN -> GELU (airbench's ConvGroup)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(cout)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.norm1(self.pool(self.conv1(x))))
        return self.act(self.norm2(self.conv2(x)))


class FastNet(Classifier):
    """stem (2x2 conv, 24 channels for RGB) -> groups of width w, 4w, 4w -> global max pool / 9 -> linear."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 64):
        super().__init__()
        stem = 2 * in_channels * 4  # airbench: twice the 2x2 patch dimension (its whitening keeps ± eigenvectors)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem, 2, bias=True), nn.GELU())
        self.group1 = ConvGroup(stem, width)
        self.group2 = ConvGroup(width, 4 * width)
        self.group3 = ConvGroup(4 * width, 4 * width)
        self.pool = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten())
        self.head = nn.Linear(4 * width, num_classes, bias=False)
        self.block_names = ("stem", "group1", "group2", "group3", "head")
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
                # airbench: identity (Dirac) init of the first input channels, an implicit residual at the start
                with torch.no_grad():
                    nn.init.dirac_(m.weight[:min(m.in_channels, m.out_channels)])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        # airbench scales the logits by 1/9 (the head starts nearly uniform, its effective step is small); the
        # head has no bias, so scaling its input instead keeps forward(x) = head(features(x))
        return self.pool(self.group3(self.group2(self.group1(self.stem(x))))) / 9.0


@register_model("fastnet")
def fastnet(input_shape: tuple[int, ...], num_classes: int, width: int = 64) -> FastNet:
    check_int("width", width, minimum=1)
    if len(input_shape) != 3 or min(input_shape[1:]) < 9:
        raise BadInput(f"model 'fastnet' needs image inputs shaped (C, H, W) of at least 9x9 (three 2x poolings "
                       f"after a 2x2 stem); got {input_shape}")
    return FastNet(input_shape[0], num_classes, width=width)
