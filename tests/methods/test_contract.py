"""Contract tests generated from the method registry: every method, built-in or plugin, gets them."""

from __future__ import annotations

import threading

import pytest
import torch

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput, Cancelled
from pathlib import Path

from unlearnlab.methods import METHODS, build_method, load_method_file, method_names, run_method

# The example plugin takes the same contract tests as the built-ins.
EXAMPLE = Path(__file__).resolve().parents[2] / "examples/custom_method/src/unlearnlab_example/__init__.py"
if "bounded_forget" not in METHODS:
    load_method_file(EXAMPLE)
ALL = method_names()
#: Each method on the first task it declares: the classification-only ones on `tiny_data`, the regression ones
#: (blindspot, gaussian_amnesiac) on `tiny_regression_data`.
_FIXTURES = {"classification": ("tiny_data", "tiny_original"),
             "regression": ("tiny_regression_data", "tiny_regression_original")}


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
    task = make_tiny_task(method_data, method_original)
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
    runs = [run_method(build_method(name), method_original, make_tiny_task(method_data, method_original, seed=3))
            for _ in range(2)]
    a, b = (r.model.state_dict() for r in runs)
    for k in a:
        assert torch.equal(a[k], b[k]), f"{name} is not deterministic in {k}"


@pytest.mark.parametrize("name", ALL)
def test_honours_cancellation(name, method_data, method_original):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        run_method(build_method(name), method_original, make_tiny_task(method_data, method_original, cancel=cancel))


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


@pytest.mark.parametrize("name", [n for n in ALL if n not in REGRESSION][:3])
def test_a_classification_only_method_refuses_regression_in_one_line(name, tiny_regression_data,
                                                                      tiny_regression_original):
    task = make_tiny_task(tiny_regression_data, tiny_regression_original)
    with pytest.raises(BadInput, match=rf"^method '{name}' needs classification; regression supports: retrain, "):
        run_method(build_method(name), tiny_regression_original, task)
