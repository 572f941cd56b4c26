"""What every training or unlearning run shares: device, seed, cancellation, progress and cost counters."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from ..errors import BadInput, Cancelled


class ProgressCallback(Protocol):
    """Receives progress; the CLI shows Rich bars in a terminal and plain lines in logs and pipes
    (`unlearnlab.progress`), the server streams events.

    `fit` calls `advance(1, epoch=E)` after every step, with `loss=L` too where the step's loss is
    already on the host (CPU). A callback may also define the optional
    `epoch_end(model, *, epoch, epochs, loss)`, called after each epoch with the model being trained
    and the epoch's mean loss; it must leave the model (modes, weights, RNG draws) as it found it.
    The runner also calls, where defined, `stage(name, index, total)` before each model of a request
    (θ_o, θ_r, then each method; cached ones too), and `api.demo` calls `request(index, total, label)`
    before each request.
    """

    def start(self, description: str, total_steps: int) -> None: ...

    def advance(self, steps: int = 1, **info: float) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Counters:
    """Hardware-free cost of a run: optimiser steps taken and samples pushed through the model
    (forward passes of pre-passes included)."""

    steps: int = 0
    samples: int = 0


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """`auto` (or None) takes CUDA when present; an unknown or absent device is BadInput."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise BadInput(f"device {device!r} is not allowed; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise BadInput(f"device {device!r} is not available on this machine; use auto or cpu")
    if dev.type not in ("cpu", "cuda"):
        raise BadInput(f"device {device!r} is not supported; use auto, cpu, cuda or cuda:N")
    return dev


def seed_everything(seed: int) -> None:
    """Seed every global RNG a model initialiser or a method might draw from."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class RunContext:
    device: torch.device = field(default_factory=pick_device)
    seed: int = 0
    amp: bool = False
    cancel: threading.Event | None = None
    progress: ProgressCallback | None = None
    counters: Counters = field(default_factory=Counters)
    #: Pruning masks (parameter name -> 0/1 tensor) that every optimiser step keeps in force.
    masks: dict[str, torch.Tensor] | None = None

    @property
    def use_amp(self) -> bool:
        return self.amp and self.device.type == "cuda"

    @property
    def amp_dtype(self) -> torch.dtype:
        """bfloat16 where the GPU has it (Ampere and later: no loss scaling needed), float16 elsewhere."""
        if self.device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16

    def check_cancelled(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("cancelled by request")

    def generator(self, offset: int = 0) -> torch.Generator:
        """A CPU generator seeded from the run seed; `offset` separates independent streams."""
        g = torch.Generator()
        g.manual_seed(self.seed * 1_000_003 + offset)
        return g
