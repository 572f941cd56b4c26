"""A multi-layer perceptron; flattens any input shape."""

from __future__ import annotations

import math

from torch import nn

from ..validation import check_int
from .base import Classifier, register_model


class MLP(Classifier):
    def __init__(self, in_features: int, num_classes: int, hidden: tuple[int, ...] = (256, 128)):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers.append(nn.Sequential(nn.Linear(width, h), nn.ReLU()))
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)
        self.block_names = tuple(f"body.{i}" for i in range(1, len(layers))) + ("head",)

    def features(self, x):
        return self.body(x)


@register_model("mlp")
def mlp(input_shape: tuple[int, ...], num_classes: int, hidden: tuple[int, ...] = (256, 128)) -> MLP:
    for h in hidden:
        check_int("hidden", h, minimum=1)
    return MLP(math.prod(input_shape), num_classes, tuple(hidden))
