"""Named presets: the data set, model, training recipe, forget requests and method hyper-parameters of a
published protocol, so that `unlearnlab run --preset NAME` (or `ul.run(preset=NAME)`) reproduces its setting.

A preset is registered with `@register_preset(name, paper=...)` on a function that returns its `Preset`; the
function runs when the preset is asked for, so method defaults are read from the method registry as it then
is. Explicit arguments given with a preset override the preset's value of that field (`resolve`), and the
overridden fields are named in the result; docs/presets.md lists the presets and what each one pins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .methods import METHODS, ensure_loaded
from .registry import Registry
from .training import TrainConfig

PRESETS: Registry[Callable[[], "Preset"]] = Registry("preset")


def register_preset(name: str, *, paper: str) -> Callable[[Callable[[], Preset]], Callable[[], Preset]]:
    """Decorator: `@register_preset("salun-cifar10", paper="...")` on a function returning the preset."""

    def decorate(fn: Callable[[], Preset]) -> Callable[[], Preset]:
        def build() -> Preset:
            return replace(fn(), name=name, paper=paper)

        build.__doc__ = fn.__doc__
        PRESETS.add(name, build)
        return fn

    return decorate


@dataclass(frozen=True)
class Preset:
    """What a published protocol pins; `methods` None means every registered method."""

    dataset: str
    model: str
    train: TrainConfig
    forget: tuple[str, ...]
    methods: tuple[str, ...] | None = None
    method_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Where this preset departs from the paper's code, and why.
    notes: str = ""
    name: str = ""
    paper: str = ""

    def recipe(self) -> str:
        """One line: optimiser, lr schedule, epochs, batch, augmentation."""
        t = self.train
        opt = f"SGD(momentum {t.momentum}{', Nesterov' if t.nesterov else ''}) lr {t.lr} wd {t.weight_decay}"
        schedule = {"multistep": f"x{t.lr_decay} at {', '.join(f'{m:g}' for m in t.milestones)} of the run",
                    "onecycle": f"one-cycle (up over {t.warmup:.0%})"}.get(t.schedule, t.schedule)
        extras = [f"label smoothing {t.label_smoothing}"] if t.label_smoothing else []
        extras.append("crop+flip (pad %d)" % t.crop_padding if t.augment == "crop_flip" else f"augment {t.augment}")
        return f"{opt}, {schedule}, {t.epochs} epochs, batch {t.batch_size}, {', '.join(extras)}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "paper": self.paper, "dataset": self.dataset, "model": self.model,
                "recipe": self.recipe(), "train": self.train.to_dict(), "forget": list(self.forget),
                "methods": list(self.methods) if self.methods is not None else None,
                "method_params": {m: dict(p) for m, p in self.method_params.items()}, "notes": self.notes}


def get_preset(name: str) -> Preset:
    """The preset registered as `name`; an unknown name is BadInput listing the known ones."""
    return PRESETS.get(name)()


def list_presets() -> list[Preset]:
    return [get_preset(n) for n in PRESETS.names()]


@dataclass(frozen=True)
class Resolved:
    """A preset with the caller's explicit values applied, ready for `api.run`."""

    preset: Preset
    dataset: Any
    model: Any
    forget: tuple[str, ...]
    methods: list[str] | None
    overrides: dict[str, dict[str, Any]]
    train: dict[str, Any]
    #: The preset fields an explicit value replaced, as `field=value` (`train.epochs=2`, `ft.lr=0.1`).
    overridden: list[str]


def resolve(name: str, *, dataset: Any = None, model: Any = None, forget: Any = None,
            methods: Sequence[str] | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None,
            train: TrainConfig | Mapping[str, Any] | None = None) -> Resolved:
    """Apply explicit values over preset `name`: each one given replaces the preset's (a training option or a
    method hyper-parameter replaces only itself); None keeps the preset's. `methods` narrows the preset's
    method list, and the preset's hyper-parameters of methods not run are dropped."""
    preset = get_preset(name)
    overridden: list[str] = []
    for key, value in (("dataset", dataset), ("model", model), ("forget", forget)):
        if value is not None and not (key == "forget" and value in preset.forget):  # one of its own: a choice
            overridden.append(f"{key}={value if isinstance(value, str) else type(value).__name__}")
    explicit_train = train.to_dict() if isinstance(train, TrainConfig) else dict(train or {})
    recipe = preset.train.to_dict()
    for key, value in explicit_train.items():
        if recipe.get(key) != value:
            overridden.append(f"train.{key}={value}")
    if methods is not None:
        overridden.append(f"methods={','.join(methods)}")
    run_methods = list(methods) if methods is not None else (list(preset.methods) if preset.methods else None)
    params: dict[str, dict[str, Any]] = {m: dict(p) for m, p in preset.method_params.items()
                                         if run_methods is None or m in run_methods}
    for method, values in (overrides or {}).items():
        for key, value in values.items():
            overridden.append(f"{method}.{key}={value}")
        params.setdefault(method, {}).update(values)
    return Resolved(preset, dataset if dataset is not None else preset.dataset,
                    model if model is not None else preset.model,
                    (forget,) if forget is not None else preset.forget, run_methods, params,
                    {**recipe, **explicit_train}, overridden)


def paper_defaults(*names: str) -> dict[str, dict[str, Any]]:
    """Each method's `reference_defaults` (its paper's CIFAR-10 / ResNet-18 values)."""
    ensure_loaded()
    return {n: dict(METHODS.get(n).reference_defaults) for n in names}


# The methods of SalUn's Table 1 (CIFAR-10, ResNet-18), the l1-sparse ones among them; retrain is θ_r.
SALUN_TABLE_METHODS = ("ft", "rl", "ga", "iu", "boundary_expand", "boundary_shrink", "l1_sparse", "salun")


@register_preset("salun-cifar10", paper="Fan et al. 2024, SalUn (ICLR), Table 1; Jia et al. 2023, Model Sparsity "
                                        "Can Simplify Machine Unlearning (NeurIPS); code: OPTML-Group/"
                                        "Unlearn-Saliency and Unlearn-Sparse")
def salun_cifar10() -> Preset:
    """ResNet-18 on CIFAR-10 as SalUn and l1-sparse train it: `main_train.py` with their `arg_parser.py`
    defaults (SGD lr 0.1, momentum 0.9, wd 5e-4, 182 epochs, batch 256, MultiStepLR at epochs 91 and 136 x0.1,
    RandomCrop(32, padding=4) + RandomHorizontalFlip); forget class 0 (`--class_to_replace` 0) and a random
    4,500 samples (`--num_indexes_to_replace 4500`); each method at its paper's defaults."""
    return Preset(
        dataset="cifar10", model="resnet18",
        train=TrainConfig(epochs=182, lr=0.1, batch_size=256, momentum=0.9, weight_decay=5e-4, schedule="multistep",
                          milestones=(0.5, 0.75), lr_decay=0.1, augment="crop_flip", crop_padding=4, amp=True),
        forget=("class:0", "random:4500"), methods=SALUN_TABLE_METHODS,
        method_params=paper_defaults(*SALUN_TABLE_METHODS),
        notes="The papers hold out 10 % of each class as validation (45,000 training images, so 4,500 = 10 %); "
              "here the official 50,000 are kept and 4,500 is 9 %. Their θ_r is retrained for 160 epochs "
              "(README) with the same milestones; here θ_o and θ_r share one recipe, 182 epochs. AMP is bfloat16 "
              "on GPUs that have it (fp32 there), off on the CPU.")


@register_preset("comparator-cifar10", paper="Lee et al. 2025, Unlearning Comparator: A Visual Analytics System "
                                             "for Comparative Evaluation of Machine Unlearning Methods (IEEE TVCG); "
                                             "code: gnueaj/Machine-Unlearning-Comparator")
def comparator_cifar10() -> Preset:
    """The Comparator's ResNet-18 / CIFAR-10 setting (backend `config/settings.py`, `services/train.py`,
    `unlearn_retrain.py`): SGD lr 0.1, Nesterov momentum 0.9, wd 5e-4, batch 128, 200 epochs, cosine,
    RandomCrop(32, 4) + flip; class-wise forgetting of each of the 10 classes (its tables average them); its
    five methods at its Build view's defaults (`frontend/src/utils/config/unlearning.ts`)."""
    methods = ("ft", "rl", "ga", "scrub", "salun")
    return Preset(
        dataset="cifar10", model="resnet18",
        train=TrainConfig(epochs=200, lr=0.1, batch_size=128, momentum=0.9, nesterov=True, weight_decay=5e-4,
                          schedule="cosine", augment="crop_flip", crop_padding=4, amp=True),
        forget=tuple(f"class:{c}" for c in range(10)), methods=methods,
        method_params={"ft": {"epochs": 10, "lr": 0.01, "batch_size": 128},
                       "rl": {"epochs": 3, "lr": 0.001, "batch_size": 64},
                       "ga": {"epochs": 7, "lr": 0.0001, "batch_size": 256},
                       "scrub": {"epochs": 5, "lr": 0.01, "batch_size": 128},
                       "salun": {"epochs": 5, "lr": 0.001, "batch_size": 128}},
        notes="The Comparator normalises with std (0.2023, 0.1994, 0.2010) and steps its cosine per epoch; here "
              "the data set's own constants and a per-step cosine. Its methods keep their other hyper-parameters "
              "at ours (e.g. SCRUB's optimiser), where its code differs in details.")


@register_preset("fast-cifar10", paper="Jordan 2024, 94% on CIFAR-10 in 3.29 Seconds on a Single GPU "
                                       "(airbench94, arXiv:2404.00498); Page 2018, How to Train Your ResNet")
def fast_cifar10() -> Preset:
    """fastnet (airbench94's layout) on CIFAR-10 with a speed-run recipe for the hundreds of models an audit
    trains: 10 epochs, batch 512, SGD Nesterov 0.9 peaking at lr 0.4 on a one-cycle schedule (Page's ResNet-9
    recipe), wd 5e-4, label smoothing 0.2, crop (pad 2) + flip; the same forget requests as salun-cifar10."""
    return Preset(
        dataset="cifar10", model="fastnet",
        train=TrainConfig(epochs=10, lr=0.4, batch_size=512, momentum=0.9, nesterov=True, weight_decay=5e-4,
                          schedule="onecycle", warmup=0.25, label_smoothing=0.2, augment="crop_flip",
                          crop_padding=2, amp=True),
        forget=("class:0", "random:4500"), methods=SALUN_TABLE_METHODS,
        method_params=paper_defaults(*SALUN_TABLE_METHODS),
        notes="airbench94 reaches 94.01 % in 3.83 s on an A100 with a whitened frozen stem, lookahead averaging, "
              "per-group learning rates and test-time flips, which fastnet leaves out; its accuracy with this "
              "recipe has not been measured on CIFAR-10 (docs/presets.md). The methods keep the ResNet-18 "
              "paper defaults.")
