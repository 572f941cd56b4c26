"""Oracle Matching: reads θ_r, matches its logits by MSE on D_f plus a sample of D_r."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput
from unlearnlab.methods import METHODS, build_method, run_method
from unlearnlab.models import create_model
from unlearnlab.training import RunContext, TrainConfig, seed_everything, train_classifier


@pytest.fixture(scope="module")
def tiny_retrained(tiny_data):
    """θ_r of the tiny task: trained on D_r only (class 1 left out)."""
    keep = torch.as_tensor(tiny_data.y_train != 1)
    seed_everything(1)
    model = create_model("mlp", tiny_data.input_shape, tiny_data.num_classes, hidden=(32,))
    train_classifier(model, torch.as_tensor(tiny_data.x_train)[keep], torch.as_tensor(tiny_data.y_train)[keep],
                     TrainConfig(epochs=5, batch_size=16), RunContext(seed=1))
    return model.eval()


def test_declares_that_it_needs_the_retrained_model_and_is_an_oracle(tiny_data, tiny_original):
    cls = METHODS.get("oracle_matching")
    assert cls.needs_retrain is True
    assert "ORACLE upper bound" in cls.__doc__ and "not a deployable method" in cls.__doc__
    task = make_tiny_task(tiny_data, tiny_original)
    task.retrained = None
    with pytest.raises(BadInput, match="needs the retrained model"):
        run_method(build_method("oracle_matching"), tiny_original, task)


def test_matching_the_original_itself_leaves_the_model_exactly_unchanged(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original, retrained=tiny_original)
    res = run_method(build_method("oracle_matching", {"lr": 0.05}), tiny_original, task)
    assert res.steps > 0
    after = res.model.state_dict()
    for k, v in tiny_original.state_dict().items():
        assert torch.equal(after[k], v), k  # zero loss, zero gradient, zero Adam step


def _mse(model, oracle, x):
    with torch.no_grad():
        return F.mse_loss(model(x), oracle(x)).item()


def test_matching_a_different_retrained_model_pulls_the_logits_towards_it(tiny_data, tiny_original, tiny_retrained):
    task = make_tiny_task(tiny_data, tiny_original, retrained=tiny_retrained)
    model = run_method(build_method("oracle_matching", {"lr": 0.01, "epochs": 10}), tiny_original, task).model
    x_f, x_r = task.forget_data[0], task.retain_data[0]
    for x in (x_f, x_r):
        before = _mse(tiny_original, tiny_retrained, x)
        assert before > 1.0
        assert _mse(model, tiny_retrained, x) < 0.5 * before
    with torch.no_grad():  # θ_r never predicts the forgotten class, and now the model does not either
        assert (model(x_f).argmax(1) != 1).float().mean() > 0.9


@pytest.mark.parametrize("multiplier, expected", [(0.0, 0), (0.5, 15), (1.5, 45), (3.0, 60)])
def test_matches_all_of_d_f_and_a_sample_of_d_r_sized_by_the_multiplier(tiny_data, tiny_original, multiplier, expected):
    task = make_tiny_task(tiny_data, tiny_original)
    n_f, n_r = len(task.forget_idx), len(task.retain_idx)
    assert (n_f, n_r) == (30, 60)  # 3 x 30 is capped at |D_r|
    res = run_method(build_method("oracle_matching", {"epochs": 2, "retain_multiplier": multiplier}),
                     tiny_original, task)
    assert res.samples == 2 * (n_f + expected)


def _matched_inputs(data, original, seed):
    task = make_tiny_task(data, original, seed=seed)
    seen, real = {}, task.batches

    def batches(*tensors, **kwargs):
        seen["x"] = tensors[0]
        return real(*tensors, **kwargs)

    task.batches = batches
    run_method(build_method("oracle_matching", {"epochs": 1, "retain_multiplier": 0.5}), original, task)
    return task, seen["x"]


def test_the_retain_sample_is_distinct_rows_of_d_r_drawn_from_the_run_seed(tiny_data, tiny_original):
    task, x = _matched_inputs(tiny_data, tiny_original, seed=0)
    x_f, x_r = task.forget_data[0], task.retain_data[0]
    assert torch.equal(x[:30], x_f)
    match = (x[30:][:, None] == x_r[None]).flatten(2).all(2)
    assert (match.sum(1) == 1).all() and len(set(match.float().argmax(1).tolist())) == 15
    assert torch.equal(_matched_inputs(tiny_data, tiny_original, seed=0)[1], x)
    assert not torch.equal(_matched_inputs(tiny_data, tiny_original, seed=1)[1], x)


def test_bad_hyper_parameters_are_rejected_by_name():
    for params, text in [({"retain_multiplier": -1.0}, "retain_multiplier=-1.0"), ({"lr_decay": 0.0}, "lr_decay=0.0"),
                         ({"lr_decay": 1.5}, "lr_decay=1.5"), ({"epochs": 0}, "epochs=0")]:
        with pytest.raises(BadInput, match=text):
            build_method("oracle_matching", params)
