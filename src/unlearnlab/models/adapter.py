"""Any `nn.Module` classifier as a unlearnlab `Classifier`: its final linear layer is the head, the
head's input (read by a forward hook) the penultimate features, and named sub-modules the blocks.

What the methods and analyses use, and how the adapter gives it:
- `model.head` (Boundary Expanding widens it and puts it back, LAF+R trains it alone on features):
  the wrapped model's own `nn.Linear`; assigning `model.head` replaces that layer inside the wrapped
  model, so its forward uses the new one. The head is also registered first under the name `head`, so
  parameter names (pruning masks, SalUn's saliency masks) read `head.weight` as for the built-in models.
- `model.features(x)` (LAF, the embedding analysis): the head's input, caught by a forward pre-hook
  that lives only for that call (a deep copy of the model must not carry a hook that writes into the
  original).
- `model.blocks()` (layer-wise CKA, which hooks each block's output): by default the wrapped model's
  sub-modules that hold parameters, with `nn.Sequential` / `nn.ModuleList` / `nn.ModuleDict` opened
  (a torchvision ResNet gives conv1, bn1, layer1.0 ... layer4.1, fc), in forward order when an example
  input was traced; or the names given.
- `state_dict()` / `load_state_dict()` use the wrapped model's own keys, so stored weights load into
  the user's model as they are, and a user's state dict loads into the adapter.

The model's output must be the head's output, unchanged (`forward(x) = head(features(x))`, the
contract every method relies on); tracing an example input checks it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import BadInput
from .base import Classifier

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _linears(net: nn.Module) -> list[str]:
    return [name for name, m in net.named_modules() if isinstance(m, nn.Linear) and name]


def _default_blocks(net: nn.Module, prefix: str = "") -> list[str]:
    """Sub-modules holding parameters, containers opened, in registration order."""
    out = []
    for name, child in net.named_children():
        path = f"{prefix}{name}"
        if isinstance(child, _CONTAINERS):
            out += _default_blocks(child, path + ".")
        elif any(True for _ in child.parameters()):
            out.append(path)
    return out


def _set_submodule(root: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, leaf = path.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, module)


class Adapter(Classifier):
    """Wrap `net` (any classifier whose forward returns logits from a final `nn.Linear`).

    `head`: the dotted name of that layer in `net` ("fc", "classifier.6"); found when omitted: the only
    `nn.Linear`, or, with an `example` input, the one whose output is the model's output. `blocks`:
    dotted names for layer-wise analyses (default: see the module docstring). `example`: a batch of
    inputs (>= 2 samples) to trace: checks that the output is the head's output, resolves an ambiguous
    head and puts the default blocks in forward order. Bad input raises BadInput naming what to pass.
    """

    def __init__(self, net: nn.Module, head: str | None = None, blocks: Sequence[str] | None = None,
                 example: torch.Tensor | None = None):
        super().__init__()
        if not isinstance(net, nn.Module):
            raise BadInput(f"the adapter wraps an nn.Module; got {type(net).__name__}")
        linears = _linears(net)
        if head is not None and not isinstance(_get(net, head, "head"), nn.Linear):
            raise BadInput(f"head={head!r} is a {type(net.get_submodule(head)).__name__}, not an nn.Linear; "
                           f"name the final linear layer ({', '.join(linears) or 'the model has none'})")
        kind = type(net).__name__
        found = (f"{len(linears)} linear layers ({', '.join(linears[:6])}{', ...' if len(linears) > 6 else ''})"
                 if linears else "no nn.Linear layer")
        traced = _trace(net, example, linears) if example is not None else None
        if traced and traced["head"] is None and linears:
            raise BadInput(f"the output of {kind} is not the output of any of its {found}: the adapter needs "
                           "forward(x) to return the final linear layer's output unchanged (no softmax or scaling after it)")
        if head is None:
            head = traced["head"] if traced else linears[0] if len(linears) == 1 else None
        if head is None:
            raise BadInput(f"cannot tell the final linear layer of {kind}: it has {found}; pass head='NAME' naming "
                           "the layer whose output is the logits (CLI: --model REF,head=NAME)")
        if traced and traced["head"] != head:
            raise BadInput(f"the output of {kind} is the output of {traced['head']!r}, not of head={head!r}: "
                           "forward(x) must return the head's output unchanged; name the final linear layer in head=")
        # `head` first, so named_parameters() (which lists a shared module once, by its first name) says head.*
        self._modules["head"] = net.get_submodule(head)
        self.net = net
        self.head_path = head
        names = list(blocks) if blocks is not None else _default_blocks(net)
        for name in names:
            _get(net, name, "block")
        if blocks is None and traced:  # forward order; blocks never called (an unused auxiliary head) dropped
            names = [n for n in traced["order"] if n in names]
        self.block_names = tuple(names)

    def __setattr__(self, name: str, value: Any) -> None:
        # nn.Module.__setattr__ would register a new child `head` and leave the wrapped model using the old layer.
        if name == "head" and "head_path" in self.__dict__:
            _set_submodule(self.net, self.head_path, value)
            self._modules["head"] = value
            return
        super().__setattr__(name, value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        caught: list[torch.Tensor] = []
        handle = self.head.register_forward_pre_hook(lambda _m, inputs: caught.append(inputs[0]))
        try:
            self.net(x)
        finally:
            handle.remove()
        return caught[-1]

    def blocks(self) -> dict[str, nn.Module]:
        return {name: self.net.get_submodule(name) for name in self.block_names}

    # The wrapped model's keys, not "net.*" and "head.*": weights move between it and the adapter as they are.
    def state_dict(self, *args, **kwargs):
        return self.net.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        return self.net.load_state_dict(state_dict, strict=strict, assign=assign)

    def extra_repr(self) -> str:
        return f"head={self.head_path!r}"


def _get(net: nn.Module, name: str, what: str) -> nn.Module:
    try:
        return net.get_submodule(name)
    except AttributeError:
        known = [n for n, _ in net.named_modules() if n]
        raise BadInput(f"{what}={name!r} is not a sub-module of {type(net).__name__}; its sub-modules are "
                       f"{', '.join(known[:12])}{', ...' if len(known) > 12 else ''}") from None


@torch.no_grad()
def _trace(net: nn.Module, example: torch.Tensor, linears: Iterable[str]) -> dict[str, Any]:
    """One eval-mode forward of `example`: which linear layer produced the output, and the order in
    which sub-modules ran. Draws no random numbers and leaves the model's modes as they were."""
    outputs: dict[str, torch.Tensor] = {}
    order: list[str] = []
    linear_set = set(linears)
    handles = []
    for name, module in net.named_modules():
        if not name:
            continue

        def hook(_m, _inputs, output, name=name):
            if name not in order:
                order.append(name)
            if name in linear_set:
                outputs[name] = output
        handles.append(module.register_forward_hook(hook))
    modes = [(m, m.training) for m in net.modules()]
    try:
        net.eval()
        out = net(example)
    except Exception as err:
        raise BadInput(f"{type(net).__name__} fails on inputs shaped {tuple(example.shape[1:])}: "
                       f"{type(err).__name__}: {err}") from None
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    if not isinstance(out, torch.Tensor):
        raise BadInput(f"{type(net).__name__} returns a {type(out).__name__}; unlearnlab needs a model whose "
                       "forward returns the logits as one tensor")
    head = next((n for n, o in outputs.items() if o is out), None)
    return {"head": head, "order": order, "output": out}


def adapt(model: nn.Module, input_shape: Sequence[int], num_classes: int, *, head: str | None = None,
          blocks: Sequence[str] | None = None, what: str = "the model") -> Classifier:
    """`model` as a Classifier for inputs of `input_shape` and `num_classes` logits: a Classifier is
    checked, anything else wrapped in an `Adapter` (traced on a batch of zeros). BadInput when it does
    not fit: wrong output shape, no head to be found, a forward that fails on such inputs."""
    example = torch.zeros(2, *input_shape)
    if isinstance(model, Classifier):
        if head is not None or blocks is not None:
            raise BadInput(f"{what} is already a unlearnlab Classifier (its head and blocks are its own); "
                           "head= and blocks= apply to other models")
        out = _trace(model, example, ())["output"]
    else:
        model = Adapter(model, head=head, blocks=blocks, example=example)
        out = _trace(model.net, example, ())["output"]
    if tuple(out.shape) != (2, num_classes):
        raise BadInput(f"{what} returns shape {tuple(out.shape[1:])} per sample for inputs shaped "
                       f"{tuple(input_shape)}; "
                       f"the data set has {num_classes} classes, so it must return ({num_classes},): build it with "
                       f"num_classes={num_classes}")
    return model
