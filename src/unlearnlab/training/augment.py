"""Batched on-device data augmentation: the CIFAR recipe's random crop with padding and horizontal flip.

The papers' loaders (SalUn / l1-sparse: OPTML-Group/Unlearn-Sparse `dataset.py`; the Unlearning Comparator's
`data_loader.py`) apply torchvision's `RandomCrop(32, padding=4)` and `RandomHorizontalFlip()` to each PIL image
in a DataLoader worker. Here the whole batch is augmented at once where it lives (GPU or CPU) with one gather: a
per-sample Python loop would cost more than a ResNet-18 step on a GPU.

Padding is zeros of the tensor given. Our data sets hold normalised inputs, so the border is the channel mean,
where torchvision pads black pixels before normalising; the crop positions and flips are drawn as torchvision
draws them (uniform offsets in [0, 2p], flip with probability 1/2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..registry import Registry

#: An augmentation: (input batch, generator) -> augmented batch of the same shape.
Augment = Callable[[torch.Tensor, "torch.Generator | None"], torch.Tensor]

#: name -> factory(config) returning an Augment, or None for no augmentation (`train.augment`).
AUGMENTATIONS: Registry[Callable[..., Augment | None]] = Registry("augmentation")
register_augmentation = AUGMENTATIONS.register


@dataclass(frozen=True)
class CropFlip:
    """Random crop of the input's own size from the zero-padded input, then a horizontal flip with p = 1/2."""

    padding: int = 4

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return random_crop_flip(x, self.padding, generator)


def random_crop_flip(x: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Every sample of the image batch `x` (N, C, H, W) shifted by its own random offset in [-p, p] on each
    axis (zeros come in at the border), and mirrored left-right with probability 1/2.

    The draws come from `generator` (a CPU generator: the run's seeded stream) and only they reach the device,
    as 3N small integers; the crop and the flip are one indexing op over the whole batch, so the op count does
    not depend on N.
    """
    if x.ndim != 4:
        raise ValueError(f"random_crop_flip needs an image batch (N, C, H, W); got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    offsets, flip = offsets.to(x.device, non_blocking=True), flip.to(x.device, non_blocking=True)
    padded = F.pad(x, (padding, padding, padding, padding)) if padding else x
    rows = offsets[0, :, None] + torch.arange(h, device=x.device)  # (N, H): the window's rows in `padded`
    cols = offsets[1, :, None] + torch.arange(w, device=x.device)  # (N, W)
    cols = torch.where(flip[:, None], cols.flip(1), cols)  # a mirrored window reads its columns backwards
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


@register_augmentation("none")
def _no_augmentation(config) -> None:
    return None


@register_augmentation("crop_flip")
def _crop_flip(config) -> CropFlip:
    return CropFlip(config.crop_padding)


def augmentation_for(config, *tensors: torch.Tensor) -> Augment | None:
    """The recipe's augmentation for batches of `tensors`, or None.

    Only image batches (N, C, H, W) whose other tensors are per-sample labels or flags (1-D) are augmented, as the
    papers' loaders augment (image, label) pairs: a companion tensor computed from the clean input (LAF's
    embeddings, a teacher's logits) would no longer match an augmented one.
    """
    augment = AUGMENTATIONS.get(config.augment)(config)
    if augment is None or not tensors or tensors[0].ndim != 4 or any(t.ndim != 1 for t in tensors[1:]):
        return None
    return augment
