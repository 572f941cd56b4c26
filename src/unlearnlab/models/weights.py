"""Weights trained elsewhere (a given θ_o or θ_r): read a state dict from a file, hash it, and check
that it fits a model, each failure one line naming the file and what is wrong.

Formats, by suffix: `.safetensors` (read with safetensors: no code runs) and `.pt` / `.pth` / `.bin`
(a PyTorch state dict, read with `torch.load(weights_only=True)`, which refuses anything but tensors
and plain containers, so a pickled module, whose loading would run arbitrary code, is refused). A
training checkpoint that holds the state dict under "state_dict", "model_state_dict" or "model" (the
form the SalUn and l1-sparse code saves) is opened; the "module." prefix of nn.DataParallel is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import BadInput

#: The largest weights file read (a ViT-L state dict in fp32 is ~1.2 GB).
MAX_WEIGHTS_BYTES = 4 << 30
_CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")


@dataclass(frozen=True)
class GivenWeights:
    """A state dict given by the user: its file, the file's sha256 and (once read) its tensors.

    Rebuilt from a stored scenario it has only the hash (`state` is None): the file is not needed to
    reload stored runs, whose weights are in the store."""

    sha256: str
    path: str | None = None
    state: Mapping[str, torch.Tensor] | None = None

    def spec(self) -> dict[str, str]:
        return {"sha256": self.sha256}

    def describe(self) -> str:
        name = Path(self.path).name if self.path else "a file"
        return f"{name}, sha256 {self.sha256[:12]}"


def _read_safetensors(path: Path) -> Mapping[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path), device="cpu")


def _read_torch(path: Path) -> object:
    return torch.load(path, map_location="cpu", weights_only=True)


READERS: dict[str, Callable[[Path], object]] = {
    ".safetensors": _read_safetensors, ".pt": _read_torch, ".pth": _read_torch, ".bin": _read_torch}


def _is_state_dict(obj: object) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def read_state_dict(path: str | Path, where: str) -> GivenWeights:
    """The state dict in `path` with the file's sha256. The caller checks the path first
    (`data.datasets.check_input_file`); `where` names it in messages (e.g. "--original 'w.pt'")."""
    p = Path(path)
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        raise BadInput(f"{where}: unknown weights format {p.suffix or '(no suffix)'!r}; allowed: "
                       f"{', '.join(READERS)} (a safetensors file or a PyTorch state dict)")
    digest = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    try:
        obj = reader(p)
    except Exception as err:  # a pickled module, a damaged or truncated file: one line, no traceback
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            raise BadInput(f"{where} holds a pickled object, not a state dict (it would run code to load); "
                           "save model.state_dict() instead (torch.save or safetensors)") from None
        raise BadInput(f"{where} cannot be read as {p.suffix} weights: {type(err).__name__}: {text[:200]}") from None
    if isinstance(obj, Mapping) and not _is_state_dict(obj):
        inner = next((obj[k] for k in _CHECKPOINT_KEYS if _is_state_dict(obj.get(k))), None)
        obj = inner if inner is not None else obj
    if not _is_state_dict(obj):
        raise BadInput(f"{where} holds a {type(obj).__name__}, not a state dict of named tensors; save "
                       "model.state_dict()")
    state = dict(obj)
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return GivenWeights(digest.hexdigest(), str(p), state)


def check_fits(model: nn.Module, state: Mapping[str, torch.Tensor], where: str, model_name: str) -> None:
    """BadInput naming the first key that does not fit `model` (missing, unexpected or of another shape)."""
    own = model.state_dict()
    problems = []
    for key, value in own.items():
        if key not in state:
            problems.append(f"key {key!r} is missing from the file")
        elif tuple(state[key].shape) != tuple(value.shape):
            problems.append(f"key {key!r} has shape {tuple(state[key].shape)} in the file; the model expects "
                            f"{tuple(value.shape)}")
    problems += [f"key {key!r} in the file is not in the model" for key in state if key not in own]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BadInput(f"{where} does not fit model {model_name!r}: {problems[0]}{more}")
