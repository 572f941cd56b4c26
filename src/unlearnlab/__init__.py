"""unlearnlab: run machine-unlearning methods on forget requests and audit them against retraining."""

# First, before NumPy or torch compute anything: pin the CPU kernels (see numerics.py).
from . import numerics

numerics.apply()


from .api import attack, attack_scenario, audit, compare, demo, list_methods, report, run, sweep, sweep_report, tune
from .data import Dataset, ForgetRequest, from_arrays, load_dataset
from .errors import BadInput, Cancelled, Diverged, UnlearnlabError
from .methods import Method, UnlearningTask, register_method
from .presets import Preset, get_preset, register_preset
from .report import render
from .runner import Comparison, RunResult, execute, prepare
from .store import Store
from .training import TrainConfig

__version__ = "0.1.0"

__all__ = [
    "attack", "attack_scenario", "audit",
    "BadInput", "Cancelled", "Comparison", "Dataset", "Diverged", "ForgetRequest", "Method", "RunResult", "Store",
    "TrainConfig", "UnlearningTask", "UnlearnlabError", "compare", "demo", "execute", "from_arrays", "list_methods",
    "load_dataset", "prepare", "register_method", "render", "report", "run", "sweep", "sweep_report", "tune",
    "Preset", "get_preset", "register_preset",
]
