"""A small CNN sized for the embedded default (8x8 digits); 1-D inputs get 1-D convolutions."""

from __future__ import annotations

from torch import nn

from ..errors import BadInput
from .base import Classifier, register_model


class SmallCNN(Classifier):
    """conv(w) -> conv(2w) -> pool -> conv(4w) -> global pool -> linear head.

    No batch norm, so train and eval mode compute the same function: methods that switch modes
    (SalUn's saliency pass, SCRUB's teacher) then behave exactly as written on the default.
    """

    def __init__(self, in_channels: int, num_classes: int, dims: int = 2, width: int = 16):
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv1d
        pool = nn.MaxPool2d if dims == 2 else nn.MaxPool1d
        gap = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool1d(1)
        self.conv1 = nn.Sequential(conv(in_channels, width, 3, padding=1), nn.ReLU())
        self.conv2 = nn.Sequential(conv(width, 2 * width, 3, padding=1), nn.ReLU(), pool(2))
        self.conv3 = nn.Sequential(conv(2 * width, 4 * width, 3, padding=1), nn.ReLU(), gap, nn.Flatten())
        self.head = nn.Linear(4 * width, num_classes)
        self.block_names = ("conv1", "conv2", "conv3", "head")
        # He init: with PyTorch's default (smaller) init this BN-free net sits on a plateau for epochs.
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def features(self, x):
        return self.conv3(self.conv2(self.conv1(x)))


@register_model("cnn")
def cnn(input_shape: tuple[int, ...], num_classes: int, width: int = 16) -> SmallCNN:
    if len(input_shape) not in (2, 3):
        raise BadInput(
            f"model 'cnn' needs inputs shaped (C, L) or (C, H, W); got {input_shape}; use 'mlp' for flat inputs"
        )
    return SmallCNN(input_shape[0], num_classes, dims=len(input_shape) - 1, width=width)
