"""Contract tests generated from the method registry: every method, built-in or plugin, gets them."""

from __future__ import annotations

import threading

import pytest
import torch

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput, Cancelled
from pathlib import Path

from unlearnlab.methods import METHODS, build_method, load_method_file, method_names, run_method
from unlearnlab.methods.generative_common import make_generation_task
from unlearnlab.training import RunContext

# The example plugin takes the same contract tests as the built-ins.
EXAMPLE = Path(__file__).resolve().parents[2] / "examples/custom_method/src/unlearnlab_example/__init__.py"
if "bounded_forget" not in METHODS:
    load_method_file(EXAMPLE)
ALL = method_names()
#: Each method on the first task it declares: the classification-only ones on `tiny_data`, the regression ones
#: (blindspot, gaussian_amnesiac) on `tiny_regression_data`, the generation ones on a tiny DDPM of digits.
_FIXTURES = {"classification": ("tiny_data", "tiny_original"),
             "regression": ("tiny_regression_data", "tiny_regression_original"),
             "generation": ("tiny_generation_data", "tiny_generation_original")}
GENERATION = [n for n in ALL if "generation" in METHODS.get(n).tasks]


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_thread):
    """One intra-op thread, as every run gets (`numerics.compute_threads`): on the shared 2-core machine two
    threads made the DDPM runs ~50x slower (spinning threads contend with the other jobs)."""


@pytest.fixture(scope="module")
def tiny_generation_data():
    from unlearnlab.data import load_dataset

    return load_dataset("digits", seed=0)


@pytest.fixture(scope="module")
def tiny_generation_original(tiny_generation_data):
    """A DDPM too small to generate anything recognisable (width 32, T = 20, 30 steps): the contract is about
    shapes, θ_o untouched, determinism and cancellation, not about forgetting (tests/methods/test_esd.py etc.)."""
    from unlearnlab.models.diffusion import DiffusionConfig
    from unlearnlab.training.diffusion import DiffusionTrainConfig, train_diffusion

    return train_diffusion(tiny_generation_data, seed=0, config=DiffusionConfig(width=32, depth=1, timesteps=20),
                           train=DiffusionTrainConfig(steps=30, batch_size=32)).model


def make_task(data, original, seed=0, cancel=None):
    """`make_tiny_task`, or for a DDPM the generation request "forget class 1"."""
    from unlearnlab.models.diffusion import DiffusionModel

    if isinstance(original, DiffusionModel):
        return make_generation_task(data.x_train, data.y_train, [1], original, RunContext(seed=seed, cancel=cancel))
    return make_tiny_task(data, original, seed=seed, cancel=cancel)


@pytest.fixture
def method_data(name, request):
    return request.getfixturevalue(_FIXTURES[METHODS.get(name).tasks[0]][0])


@pytest.fixture
def method_original(name, request):
    return request.getfixturevalue(_FIXTURES[METHODS.get(name).tasks[0]][1])


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", ALL)
def test_returns_same_architecture_and_leaves_original_untouched(name, method_data, method_original):
    before = _state(method_original)
    task = make_task(method_data, method_original)
    result = run_method(build_method(name), method_original, task)
    after = result.model.state_dict()
    assert type(result.model) is type(method_original)
    assert {k: v.shape for k, v in after.items()} == {k: v.shape for k, v in before.items()}
    for k, v in method_original.state_dict().items():
        assert torch.equal(v, before[k]), f"{name} modified θ_o's {k}"
    assert result.seconds > 0
    assert result.samples > 0, "every method processes samples; the counters must see them"


@pytest.mark.parametrize("name", ALL)
def test_deterministic_for_a_seed(name, method_data, method_original):
    runs = [run_method(build_method(name), method_original, make_task(method_data, method_original, seed=3))
            for _ in range(2)]
    a, b = (r.model.state_dict() for r in runs)
    for k in a:
        assert torch.equal(a[k], b[k]), f"{name} is not deterministic in {k}"


@pytest.mark.parametrize("name", ALL)
def test_honours_cancellation(name, method_data, method_original):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        run_method(build_method(name), method_original, make_task(method_data, method_original, cancel=cancel))


@pytest.mark.parametrize("name", ALL)
def test_declares_paper_and_defaults(name):
    cls = METHODS.get(name)
    assert cls.name == name and cls.paper
    method = cls()
    assert method.get_params() == cls.param_defaults()
    for key in cls.reference_defaults:
        assert key in cls.param_defaults(), f"{name}: reference default for unknown parameter {key}"


@pytest.mark.parametrize("name", [n for n in ALL if "lr" in METHODS.get(n).param_defaults()])
def test_rejects_negative_learning_rate(name):
    with pytest.raises(BadInput, match=r"lr=-0\.1"):
        build_method(name, {"lr": "-0.1"})


def test_unknown_hyper_parameter_names_the_allowed_ones():
    with pytest.raises(BadInput, match=r"unknown hyper-parameter ft\.lrr; allowed: lr, epochs"):
        build_method("ft", {"lrr": 1})


def test_unknown_method():
    with pytest.raises(BadInput, match="unknown method 'fft'"):
        build_method("fft")


REGRESSION = [n for n in ALL if "regression" in METHODS.get(n).tasks]


def test_regression_has_the_papers_methods_and_the_generic_ones():
    # Tarun et al. 2023's two, and the baselines whose loss is the task's own
    assert {"retrain", "ft", "ga", "neggrad_plus", "blindspot", "gaussian_amnesiac"} <= set(REGRESSION)


@pytest.mark.parametrize("name", REGRESSION)
def test_every_regression_method_runs_on_regression_data(name, tiny_regression_data, tiny_regression_original):
    task = make_tiny_task(tiny_regression_data, tiny_regression_original)
    result = run_method(build_method(name), tiny_regression_original, task)
    out = result.model(torch.as_tensor(tiny_regression_data.x_test))
    assert out.shape == (tiny_regression_data.n_test, 1) and torch.isfinite(out).all()
    assert result.samples > 0


@pytest.mark.parametrize("name", [n for n in ALL if METHODS.get(n).tasks == ("classification",)][:3])
def test_a_classification_only_method_refuses_regression_in_one_line(name, tiny_regression_data,
                                                                      tiny_regression_original):
    task = make_tiny_task(tiny_regression_data, tiny_regression_original)
    with pytest.raises(BadInput, match=rf"^method '{name}' needs classification; regression supports: retrain, "):
        run_method(build_method(name), tiny_regression_original, task)


def test_the_generation_methods_are_the_issues_five():
    assert set(GENERATION) == {"esd", "salun_gen", "sfd", "ft_retain", "advunlearn"}
    assert all(METHODS.get(n).tasks == ("generation",) for n in GENERATION)


@pytest.mark.parametrize("name", ["ft", "salun", "blindspot"])
def test_a_classifier_method_refuses_a_generation_task_in_one_line(name, tiny_generation_data,
                                                                   tiny_generation_original):
    task = make_task(tiny_generation_data, tiny_generation_original)
    with pytest.raises(BadInput, match=rf"^method '{name}' needs (classification|regression)[a-z ]*; generation "
                                       r"supports: advunlearn, esd, ft_retain, salun_gen, sfd$") as err:
        run_method(build_method(name), tiny_generation_original, task)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", GENERATION)
def test_a_generation_method_refuses_classification_in_one_line(name, tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    with pytest.raises(BadInput,
                       match=rf"^method '{name}' needs generation; classification supports: retrain, ") as err:
        run_method(build_method(name), tiny_original, task)
    assert "\n" not in str(err.value)
