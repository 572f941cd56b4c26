"""SSD: the selection rule and dampening factor by hand, the importance passes, and forgetting end to end."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.conftest import make_tiny_task
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method, run_method
from unlearnlab.methods.common import fisher_diagonal
from unlearnlab.methods.ssd import SelectiveSynapticDampening, dampen
from unlearnlab.models import create_model
from unlearnlab.training import RunContext, TensorBatches


def _tiny_params():
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        layer.bias.copy_(torch.tensor([5.0, 6.0]))
    return dict(layer.named_parameters())


# I_f > alpha·I_D with alpha = 2 holds for weight[0,1] (10 > 2), weight[1,0] (5 > 0.4) and bias[1] (3 > 0);
# weight[0,0] (1 > 2), weight[1,1] (0 > 0, both zero) and bias[0] (4 > 4, not strictly) stay put.
I_F = {"weight": torch.tensor([[1.0, 10.0], [5.0, 0.0]]), "bias": torch.tensor([4.0, 3.0])}
I_D = {"weight": torch.tensor([[1.0, 1.0], [0.2, 0.0]]), "bias": torch.tensor([2.0, 0.0])}


def test_dampen_scales_exactly_the_selected_weights_by_the_importance_ratio():
    params = _tiny_params()
    assert dampen(params, I_F, I_D, alpha=2.0, dampening=0.5) == 3
    # selected: θ·min(λ·I_D/I_f, 1) = 2·(0.5·1/10), 3·(0.5·0.2/5), 6·(0.5·0/3)
    assert torch.allclose(params["weight"], torch.tensor([[1.0, 0.1], [0.06, 4.0]]))
    assert torch.allclose(params["bias"], torch.tensor([5.0, 0.0]))


def test_dampen_never_grows_a_weight():
    params = _tiny_params()
    # λ = 20 makes λ·I_D/I_f = 2 for weight[0,1] and 0.8 for weight[1,0]: the first is bounded by 1.
    dampen(params, I_F, I_D, alpha=2.0, dampening=20.0)
    assert torch.allclose(params["weight"], torch.tensor([[1.0, 2.0], [2.4, 4.0]]))
    assert torch.equal(params["bias"], torch.tensor([5.0, 0.0]))


def test_importances_come_from_d_f_and_from_d_r_followed_by_d_f(tiny_data, tiny_original):
    task = make_tiny_task(tiny_data, tiny_original)
    method = SelectiveSynapticDampening(alpha=1.5, dampening=1.0, batch_size=16)
    res = run_method(method, tiny_original, task)

    model = create_model("mlp", tiny_data.input_shape, tiny_data.num_classes, hidden=(32,))
    model.load_state_dict(tiny_original.state_dict())
    (x_f, y_f), (x_r, y_r) = task.forget_data, task.retain_data
    ctx = RunContext(device=torch.device("cpu"))
    i_f = fisher_diagonal(model, TensorBatches(x_f, y_f, batch_size=16, shuffle=False), ctx)
    i_d = fisher_diagonal(model, TensorBatches(torch.cat([x_r, x_f]), torch.cat([y_r, y_f]), batch_size=16,
                                               shuffle=False), ctx)
    assert dampen(dict(model.named_parameters()), i_f, i_d, 1.5, 1.0) > 0
    for k, v in model.state_dict().items():
        assert torch.equal(res.model.state_dict()[k], v), k
    assert res.samples == len(x_f) + len(task.y_train) and res.steps == 0  # no optimiser step at all


def test_ssd_raises_the_forget_loss(tiny_data, brief_original):
    original = brief_original
    task = make_tiny_task(tiny_data, original)
    (x_f, y_f), (x_r, y_r) = task.forget_data, task.retain_data
    # D_f is a third of D here, so I_f/I_D stays below ~3: alpha must sit under that ceiling.
    model = run_method(build_method("ssd", {"alpha": 1.5}), original, task).model
    with torch.no_grad():
        before, after = (F.cross_entropy(m(x_f), y_f).item() for m in (original, model))
        assert _acc(original, x_f, y_f) > 0.8 and _acc(model, x_f, y_f) < 0.2
        assert _acc(model, x_r, y_r) > 0.85
    assert after > before + 0.3


def _acc(model, x, y):
    return (model(x).argmax(1) == y).float().mean().item()


@pytest.mark.parametrize("params, bad", [({"alpha": "0"}, r"alpha=0\.0"), ({"alpha": "-1"}, r"alpha=-1\.0"),
                                         ({"dampening": "0"}, r"dampening=0\.0"),
                                         ({"batch_size": "0"}, r"batch_size=0")])
def test_rejects_bad_hyper_parameters(params, bad):
    with pytest.raises(BadInput, match=bad):
        build_method("ssd", params)
    with pytest.raises(BadInput, match=r"alpha=0 is not allowed"):
        SelectiveSynapticDampening(alpha=0)
