"""What every unlearnlab model offers: penultimate features, a linear head and named blocks."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..registry import Registry

ModelFactory = Callable[..., "Classifier"]
MODELS: Registry[ModelFactory] = Registry("model")
register_model = MODELS.register


class Classifier(nn.Module):
    """`forward(x) = head(features(x))`.

    Subclasses set `self.head` (an `nn.Linear`) and list in `block_names` the sub-modules, in
    forward order, whose outputs layer-wise analyses (CKA) compare.
    """

    head: nn.Linear
    block_names: tuple[str, ...] = ()

    def features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @property
    def num_classes(self) -> int:
        return self.head.out_features

    def blocks(self) -> dict[str, nn.Module]:
        return {name: self.get_submodule(name) for name in self.block_names}


def create_model(name: str, input_shape: tuple[int, ...], num_classes: int, **kwargs) -> Classifier:
    """Build a model for inputs of `input_shape` (without the batch dim): a registered name (entry points of
    `unlearnlab.models` included) or 'package.module:factory[,head=NAME]' (models/reference.py)."""
    from .reference import resolve_model  # it imports this module

    return resolve_model(name).build(tuple(input_shape), int(num_classes), kwargs)
