from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import unlearnlab as ul
from unlearnlab.errors import BadInput
from unlearnlab.models import create_model
from unlearnlab.training import (RunContext, TensorBatches, apply_masks, fit, global_magnitude_masks, prunable_names,
                                 sparsity)


def test_masks_prune_the_globally_smallest_weights():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.1, -5.0], [0.3, 2.0]]))
        model[1].weight.copy_(torch.tensor([[-0.2, 4.0]]))
    masks = global_magnitude_masks(model, 0.5)  # 6 weights: drop 0.1, -0.2, 0.3 across both layers
    assert masks["0.weight"].tolist() == [[0, 1], [0, 1]] and masks["1.weight"].tolist() == [[0, 1]]
    apply_masks(model, masks)
    assert sparsity(model) == 0.5
    assert model[0].bias.abs().sum() > 0  # biases stay dense


@pytest.mark.parametrize("s", [0.2, 0.5, 0.95])
def test_requested_sparsity_is_reached_on_real_models(s):
    torch.manual_seed(0)
    model = create_model("cnn", (1, 8, 8), 10)
    apply_masks(model, global_magnitude_masks(model, s))
    total = sum(model.get_parameter(n).numel() for n in prunable_names(model))
    assert sparsity(model) == pytest.approx(round(s * total) / total)


def test_the_training_loop_keeps_the_mask():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    masks = global_magnitude_masks(model, 0.5)
    apply_masks(model, masks)
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    fit(model, TensorBatches(x, y, batch_size=8), lambda m, b: F.cross_entropy(m(b[0]), b[1]),
        torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=0.1), RunContext(masks=masks), epochs=3)
    assert ((model.weight == 0) == (masks["weight"] == 0)).all()


def test_bad_sparsity_is_rejected():
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(BadInput, match=f"prune={bad}"):
            global_magnitude_masks(nn.Linear(2, 2), bad)


def test_prune_first_then_unlearn_keeps_the_mask_through_retrain_and_every_method(tmp_path):
    result = ul.run(model="mlp", forget="class:3", methods=["ft", "ga", "rl"], train={"epochs": 3}, prune=0.6,
                    store=tmp_path)
    assert result.scenario["prune"] == 0.6
    store = ul.Store(tmp_path)
    masks = None
    for run in result.runs:
        assert run.status == "done", run.reason
        model = create_model("mlp", (1, 8, 8), 10)
        model.load_state_dict(store.load_weights(run.run_id))
        assert sparsity(model) == pytest.approx(0.6, abs=1e-4)
        zeros = {n: model.get_parameter(n) == 0 for n in prunable_names(model)}
        masks = masks or zeros
        assert all(torch.equal(masks[n] | zeros[n], zeros[n]) for n in zeros)  # the same mask everywhere
