"""ResNet-18 in its CIFAR form (He et al. 2016): 3x3 stem, no max-pool, as used by the unlearning papers."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from ..errors import BadInput
from .base import Classifier, register_model


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(Classifier):
    def __init__(self, in_channels: int, num_classes: int, width: int = 64):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        stages, cin = [], width
        for i, (mult, stride) in enumerate([(1, 1), (2, 2), (4, 2), (8, 2)], start=1):
            cout = width * mult
            stage = nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1))
            setattr(self, f"layer{i}", stage)
            stages.append(f"layer{i}")
            cin = cout
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(cin, num_classes)
        # The Comparator's CKA blocks: conv1, layer1.0 ... layer4.1, fc (here: head).
        self.block_names = ("conv1", *(f"{s}.{j}" for s in stages for j in (0, 1)), "head")

    def features(self, x):
        x = self.conv1(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.pool(x)


@register_model("resnet18")
def resnet18(input_shape: tuple[int, ...], num_classes: int, width: int = 64) -> ResNet18:
    if len(input_shape) != 3:
        raise BadInput(f"model 'resnet18' needs image inputs shaped (C, H, W); got {input_shape}")
    return ResNet18(input_shape[0], num_classes, width=width)
