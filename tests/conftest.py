"""Shared fixtures: a tiny scenario for contract tests and the default scenario run once per session."""

from __future__ import annotations

# unlearnlab first: it pins the CPU kernels (numerics.apply) before NumPy loads its BLAS.
import unlearnlab  # noqa: F401, I001

import numpy as np
import pytest
import torch

from unlearnlab.data import from_arrays
from unlearnlab.methods import UnlearningTask
from unlearnlab.models import create_model
from unlearnlab.training import RunContext, TrainConfig, seed_everything, train_classifier


@pytest.fixture(scope="session")
def tiny_data():
    """Three well-separated Gaussian classes in 2-D images of 1x4x4: trains in well under a second."""
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, size=(3, 1, 4, 4))
    y = np.repeat(np.arange(3), 40)
    x = centers[y] + rng.normal(0, 1, size=(len(y), 1, 4, 4))
    # raw features: the method tests' bounds were set on these separations (from_arrays standardises by default)
    return from_arrays(x.astype(np.float32), y, test_size=0.25, seed=0, standardize=False)


@pytest.fixture(scope="session")
def tiny_original(tiny_data):
    seed_everything(0)
    model = create_model("mlp", tiny_data.input_shape, tiny_data.num_classes, hidden=(32,))
    train_classifier(model, torch.as_tensor(tiny_data.x_train), torch.as_tensor(tiny_data.y_train),
                     TrainConfig(epochs=5, batch_size=16), RunContext(seed=0))
    model.eval()
    return model


@pytest.fixture(scope="session")
def brief_original(tiny_data):
    """θ_o after one slow epoch: a saturated model (loss ~1e-8) gives gradient-based methods nothing to follow."""
    seed_everything(0)
    model = create_model("mlp", tiny_data.input_shape, tiny_data.num_classes, hidden=(32,))
    train_classifier(model, torch.as_tensor(tiny_data.x_train), torch.as_tensor(tiny_data.y_train),
                     TrainConfig(epochs=1, lr=0.01, batch_size=16), RunContext(seed=0))
    model.eval()
    return model


@pytest.fixture(scope="session")
def tiny_regression_data():
    """A noisy linear target of 6 features, 160 samples: the regression twin of `tiny_data`."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 6))
    y = x @ rng.normal(size=6) + 0.3 * rng.normal(size=160)
    return from_arrays(x.astype(np.float32), y, test_size=0.25, seed=0, task="regression")


@pytest.fixture(scope="session")
def tiny_regression_original(tiny_regression_data):
    d = tiny_regression_data
    seed_everything(0)
    model = create_model("mlp", d.input_shape, d.num_classes, hidden=(32,))
    train_classifier(model, torch.as_tensor(d.x_train), torch.as_tensor(d.y_train),
                     TrainConfig(epochs=5, batch_size=16, lr=0.02), RunContext(seed=0), task="regression")
    model.eval()
    return model


def make_tiny_task(data, original, seed=0, cancel=None, retrained=None) -> UnlearningTask:
    """Classification: forget class 1; regression: forget the 20 samples with the largest targets."""
    classes = data.task_type.has_classes
    forget = np.flatnonzero(data.y_train == 1) if classes else np.sort(np.argsort(data.y_train)[-20:])

    def make_model():
        return create_model("mlp", data.input_shape, data.num_classes, hidden=(32,))

    return UnlearningTask(
        x_train=torch.as_tensor(data.x_train), y_train=torch.as_tensor(data.y_train), forget_idx=forget,
        num_classes=data.num_classes, original=original, make_model=make_model,
        train_config=TrainConfig(epochs=2, batch_size=16), ctx=RunContext(seed=seed, cancel=cancel),
        forget_classes=(1,) if classes else None, retrained=retrained if retrained is not None else original,
        task_type=data.task,
    )


@pytest.fixture(scope="session")
def default_store(tmp_path_factory):
    return tmp_path_factory.mktemp("default-store")


@pytest.fixture(scope="session")
def default_classwise(default_store):
    """The default class-wise request (digits, cnn, forget class 3) with every method, full defaults."""
    import unlearnlab as ul

    return ul.run(forget="class:3", store=default_store)


@pytest.fixture(scope="session")
def default_random(default_store):
    import unlearnlab as ul

    return ul.run(forget="random:0.1", store=default_store)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models train several times faster on one intra-op thread than on two on a 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def isolated_methods():
    """Methods a test registers (say, from a method file that crashes its process) leave the registry, and
    their files the list workers load, afterwards: a later run of every registered method would run them."""
    from unlearnlab.methods import METHODS, plugins

    saved, files = dict(METHODS._items), list(plugins.LOADED_FILES)
    yield
    METHODS._items.clear()
    METHODS._items.update(saved)
    plugins.LOADED_FILES[:] = files
