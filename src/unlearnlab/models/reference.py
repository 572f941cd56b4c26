"""Where a scenario's model comes from: a registered name, a reference `package.module:factory`, an
entry point of the `unlearnlab.models` group, or (Python API) an `nn.Module` or a callable.

The factory contract (references, entry points, callables): the factory is called with keyword
arguments only: `input_shape` (the per-sample shape, e.g. (3, 32, 32)) if its signature names it,
`num_classes` if its signature names it or takes `**kwargs` (torchvision's `resnet18(num_classes=10)`),
and the scenario's model kwargs; a factory taking neither gets no arguments and must return a model
with the data set's number of outputs (checked). It returns a new `nn.Module` on every call, freshly
initialised from the global torch generator (θ_o and θ_r are seeded before each call). A unlearnlab
`Classifier` is used as it is; any other module is wrapped by `Adapter` (models/adapter.py).

An `nn.Module` instance (Python API) is never shared: each model (θ_o, θ_r, a retraining method) is a
deep copy whose parameters are re-initialised by `reset_parameters()` on every sub-module that has one
(PyTorch's default initialisation, not a custom one of the model's `__init__`: pass a factory, e.g. the
class, to keep that). A parameter owned by a module without `reset_parameters()` cannot be
re-initialised: BadInput asks for a factory.

In the scenario spec a registered built-in model is `{"name", "kwargs"}` as before; any other model adds
`source` ("reference", "entry point", "in memory") and `architecture`, a hash of its parameter names,
shapes and dtypes (so a changed model is another scenario). A reference or entry point is recorded by
its string, which `load_scenario` imports again; an in-memory model cannot be rebuilt by name (its
stored runs' weights still load from the store with `Store.load_weights`).
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import EntryPoint
from typing import Any

from torch import nn

from ..errors import BadInput
from ..registry import load_entry_points
from .adapter import Adapter, adapt
from .base import MODELS, Classifier
from .diffusion import GENERATIVE_MODELS

ENTRY_POINT_GROUP = "unlearnlab.models"
#: Entry points that failed to load: name -> reason (the others still load).
PLUGIN_ERRORS: dict[str, str] = {}
#: Models registered by entry points: name -> the entry point's value ("package.module:factory").
PLUGIN_MODELS: dict[str, str] = {}
_loaded = False
#: Options a model string may carry after a comma: `REF,head=fc`.
OPTIONS = ("head",)


def ensure_loaded() -> None:
    """Load every installed `unlearnlab.models` entry point once per process (as methods/plugins.py does):
    a module is imported (its `@register_model` factories join), a callable is registered under the
    entry point's name with the factory contract above. A failing plugin is recorded, not raised."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    load_entry_points(ENTRY_POINT_GROUP, _register_entry_point, PLUGIN_ERRORS)


def _register_entry_point(ep: EntryPoint) -> None:
    obj = ep.load()
    if inspect.ismodule(obj):  # importing it ran its @register_model decorators
        return
    if not callable(obj):
        raise TypeError(f"{ep.value} is neither a module nor a callable model factory")
    if ep.name not in MODELS:
        MODELS.add(ep.name, _registered(obj, ep.name))
        PLUGIN_MODELS[ep.name] = ep.value


def _registered(factory: Callable[..., nn.Module], name: str) -> Callable[..., nn.Module]:
    """A contract factory in the registry's calling convention `(input_shape, num_classes, **kwargs)`."""
    build = partial(_factory, factory, f"model {name!r}")
    build.__doc__ = factory.__doc__
    return build


def call_factory(factory: Callable[..., Any], input_shape: Sequence[int], num_classes: int,
                 kwargs: Mapping[str, Any], what: str = "the model factory") -> nn.Module:
    """Call `factory` by the contract above; BadInput when it fails or returns no nn.Module."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin without a signature: call it as documented, without arguments
        params = {}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    args = dict(kwargs)
    if "input_shape" in params:
        args["input_shape"] = tuple(input_shape)
    if "num_classes" in params or takes_any:
        args["num_classes"] = int(num_classes)
    try:
        model = factory(**args)
    except BadInput:
        raise
    except Exception as err:
        raise BadInput(f"{what} failed when called with {', '.join(args) or 'no arguments'}: "
                       f"{type(err).__name__}: {err}") from None
    if not isinstance(model, nn.Module):
        raise BadInput(f"{what} returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def import_reference(ref: str) -> Callable[..., Any]:
    """The object named by 'package.module:attr' (attr may be dotted); BadInput naming what failed."""
    module_name, _, attr = ref.partition(":")
    form = "expected package.module:factory"
    if not module_name or not attr or not all(p.isidentifier() for p in module_name.split(".") + attr.split(".")):
        raise BadInput(f"model reference {ref!r} is malformed; {form}")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as err:
        hint = (" (is it installed, or on PYTHONPATH? the current directory is not searched by the `unlearnlab` "
                "command: run PYTHONPATH=. unlearnlab ...)") if isinstance(err, ModuleNotFoundError) else ""
        raise BadInput(f"model reference {ref!r} does not import: {type(err).__name__}: {err}{hint}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise BadInput(f"model reference {ref!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj) and not isinstance(obj, nn.Module):
        raise BadInput(f"model reference {ref!r} names a {type(obj).__name__}, not a factory or nn.Module")
    return obj


def fresh_copy(module: nn.Module) -> nn.Module:
    """A deep copy of `module` with every parameter re-initialised by its owner's reset_parameters()."""
    twin = copy.deepcopy(module)
    stuck = [f"{name or type(twin).__name__}.{p}" for name, m in twin.named_modules()
             if not callable(getattr(m, "reset_parameters", None)) for p in m._parameters
             if m._parameters[p] is not None]
    if stuck:
        raise BadInput(f"the model instance cannot be re-initialised for training from scratch: parameter "
                       f"{stuck[0]!r} belongs to a module without reset_parameters(); pass a factory instead "
                       "(the class, or a zero-argument function returning a new model)")
    for m in twin.modules():
        if callable(getattr(m, "reset_parameters", None)):
            m.reset_parameters()
    return twin


def architecture(model: nn.Module) -> str:
    """sha256 of the model's class and its state dict's names, shapes and dtypes."""
    raw = model.net if isinstance(model, Adapter) else model
    layout = [type(raw).__module__ + "." + type(raw).__qualname__,
              [[k, list(v.shape), str(v.dtype)] for k, v in model.state_dict().items()]]
    return hashlib.sha256(json.dumps(layout).encode()).hexdigest()


@dataclass(eq=False)
class ModelSource:
    """How to build fresh models of a scenario: `build(input_shape, num_classes, kwargs)` -> Classifier."""

    name: str
    #: "registered" (built-in), "entry point", "reference" or "in memory".
    source: str
    factory: Callable[..., nn.Module] = field(repr=False)
    head: str | None = None
    #: Resolved on the first build (the adapter's traced blocks), reused for every later one.
    _blocks: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def reloadable(self) -> bool:
        return self.source != "in memory"

    def build(self, input_shape: Sequence[int], num_classes: int, kwargs: Mapping[str, Any]) -> Classifier:
        what = f"model {self.name!r}"
        raw = self.factory(tuple(input_shape), int(num_classes), **kwargs)
        if self.source == "registered" and isinstance(raw, Classifier):
            return raw
        model = adapt(raw, input_shape, num_classes, head=None if isinstance(raw, Classifier) else self.head,
                      blocks=None if isinstance(raw, Classifier) else self._blocks, what=what)
        if self._blocks is None and not isinstance(raw, Classifier):
            self._blocks = tuple(model.block_names)
        return model

    def spec(self, kwargs: Mapping[str, Any], architecture: str | None) -> dict[str, Any]:
        """The scenario spec's `model` entry: a built-in's is `{"name", "kwargs"}` as it always was."""
        out: dict[str, Any] = {"name": self.name, "kwargs": dict(kwargs)}
        if self.source != "registered":
            out.update(source=self.source, architecture=architecture)
        return out


def parse_model_spec(text: str) -> tuple[str, dict[str, str]]:
    """'REF_OR_NAME[,head=NAME]' -> (reference or name, options)."""
    name, *items = (s.strip() for s in text.split(","))
    options: dict[str, str] = {}
    for item in items:
        key, eq, value = (s.strip() for s in item.partition("="))
        if not eq or key not in OPTIONS or not value:
            raise BadInput(f"model option {item!r} in {text!r} is not allowed; allowed: "
                           f"{', '.join(k + '=NAME' for k in OPTIONS)} (e.g. mypkg.models:resnet,head=fc)")
        if key in options:
            raise BadInput(f"model option {key!r} is given twice in {text!r}")
        options[key] = value
    if not name:
        raise BadInput(f"model {text!r} has no name; give a registered model ({', '.join(MODELS.names())}) or "
                       "package.module:factory")
    return name, options


def resolve_model(model: str | nn.Module | Callable[..., Any]) -> ModelSource:
    """A ModelSource for a registered name or reference string (with options), an nn.Module instance or a
    callable. BadInput for a name that is not registered, a reference that does not import, bad options."""
    if isinstance(model, nn.Module):
        return ModelSource(type(model).__name__, "in memory", partial(_instance, model))
    if not isinstance(model, str):
        if not callable(model):
            raise BadInput(f"model must be a name, a 'package.module:factory' reference, an nn.Module or a "
                           f"callable returning one; got {type(model).__name__}")
        name = getattr(model, "__qualname__", None) or type(model).__name__
        return ModelSource(name, "in memory", partial(_factory, model, f"model {name!r}"))
    name, options = parse_model_spec(model)
    if ":" not in name:
        ensure_loaded()
        if name in PLUGIN_ERRORS and name not in MODELS:
            raise BadInput(f"model plugin {name!r} (entry point of {ENTRY_POINT_GROUP}) failed to load: "
                           f"{PLUGIN_ERRORS[name]}")
        if name not in MODELS and name in GENERATIVE_MODELS:
            raise BadInput(f"model {name!r} is a generative model (models/diffusion.py); a classifier scenario needs "
                           f"a classifier: {', '.join(MODELS.names())}")
        factory = MODELS.get(name)  # BadInput: unknown model, with the allowed names
        source = "entry point" if name in PLUGIN_MODELS else "registered"
        if source == "registered" and options:
            raise BadInput(f"model {name!r} is a built-in unlearnlab model; {', '.join(options)}= applies to "
                           "other models")
        return ModelSource(model.strip(), source, factory, head=options.get("head"))
    target = import_reference(name)
    build = partial(_instance, target) if isinstance(target, nn.Module) else \
        partial(_factory, target, f"model reference {name!r}")
    return ModelSource(model.strip(), "reference", build, head=options.get("head"))


# Module-level builders (partials of them pickle, lambdas would not): `(input_shape, num_classes, **kwargs)`.
def _factory(factory: Callable[..., Any], what: str, input_shape: Sequence[int], num_classes: int,
             **kwargs: Any) -> nn.Module:
    return call_factory(factory, input_shape, num_classes, kwargs, what=what)


def _instance(template: nn.Module, input_shape: Sequence[int], num_classes: int, **kwargs: Any) -> nn.Module:
    if kwargs:
        raise BadInput(f"model kwargs {', '.join(kwargs)} cannot be passed to a model instance; pass a factory")
    return fresh_copy(template)
