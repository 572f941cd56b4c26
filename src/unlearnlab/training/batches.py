"""In-memory mini-batches. Small data sets live on the device as tensors, so a batch is one
index-select instead of a DataLoader worker round-trip."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from .augment import Augment

class TensorBatches:
    """Seeded shuffled batches over tensors that share their first dimension; re-shuffled each pass.

    `augment(x, generator)` (see `training.augment`), when given, is applied to the first tensor of every batch
    with draws from `generator`, after that pass's shuffle draw: the same seed gives the same batches.
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, shuffle: bool = True,
                 generator: torch.Generator | None = None, drop_last: bool = False,
                 augment: Augment | None = None):
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("TensorBatches needs tensors of one length")
        self.tensors = tensors
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.generator = generator
        self.drop_last = drop_last
        self.augment = augment

    @property
    def num_samples(self) -> int:
        return len(self.tensors[0])

    def count(self, batch: tuple[torch.Tensor, ...]) -> int:
        return len(batch[0])

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = self.num_samples
        device = self.tensors[0].device
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(device)
        for i in range(len(self)):
            if self.shuffle:
                idx = order[i * self.batch_size:(i + 1) * self.batch_size]
                batch = tuple(t.index_select(0, idx) for t in self.tensors)
            else:
                batch = tuple(t[i * self.batch_size:(i + 1) * self.batch_size] for t in self.tensors)
            if self.augment is not None:
                batch = (self.augment(batch[0], self.generator), *batch[1:])
            yield batch


class Cycled:
    """Pairs every batch of `main` with the next batch of `other`, restarting `other` when it runs out
    (NegGrad+ style: the retain pass sets the epoch length, the forget set is cycled)."""

    def __init__(self, main: TensorBatches, other: TensorBatches):
        self.main, self.other = main, other

    @property
    def num_samples(self) -> int:
        return self.main.num_samples

    def __len__(self) -> int:
        return len(self.main)

    def count(self, batch: tuple[torch.Tensor, ...]) -> int:
        return len(batch[0]) + len(batch[len(self.main.tensors)])

    def __iter__(self):
        it = iter(self.other)
        for batch in self.main:
            try:
                extra = next(it)
            except StopIteration:
                it = iter(self.other)
                extra = next(it)
            yield batch + extra
