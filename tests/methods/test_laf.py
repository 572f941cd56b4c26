"""LAF: label-free by construction, its two losses by hand, the head untouched."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from unlearnlab.errors import BadInput
from unlearnlab.methods import METHODS, UnlearningTask, build_method, run_method
from unlearnlab.methods.laf import EmbeddingVAE, alignment_loss, reconstruction_energy, vae_loss
from unlearnlab.training import RunContext, global_magnitude_masks


def _task(data, original, y):
    forget = np.flatnonzero(data.y_train == 1)
    return UnlearningTask(x_train=torch.as_tensor(data.x_train), y_train=y, forget_idx=forget,
                          num_classes=data.num_classes, original=original, make_model=lambda: None,
                          ctx=RunContext(seed=0, device=torch.device("cpu")))


def test_never_reads_a_label(tiny_data, tiny_original):
    y = torch.as_tensor(tiny_data.y_train)
    scrambled = [y[torch.randperm(len(y), generator=torch.Generator().manual_seed(s))] for s in (1, 2)]
    assert not torch.equal(scrambled[0], scrambled[1])
    wa, wb = (run_method(build_method("laf"), tiny_original, _task(tiny_data, tiny_original, ys)).model.state_dict()
              for ys in scrambled)
    before = tiny_original.state_dict()
    assert list(wa) == list(before) and all(wa[n].shape == before[n].shape for n in before)
    assert all(torch.equal(wa[n], wb[n]) for n in wa)
    assert METHODS.get("laf").uses_labels is False


def test_trains_the_extractor_and_never_the_head(tiny_data, tiny_original):
    task = _task(tiny_data, tiny_original, torch.as_tensor(tiny_data.y_train))
    out = run_method(build_method("laf", {"epochs": 2}), tiny_original, task)
    before, after = tiny_original.state_dict(), out.model.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in ("head.weight", "head.bias"))
    assert not torch.equal(after["body.1.0.weight"], before["body.1.0.weight"])
    # both LAF steps run on every batch pair: 2 epochs x ceil(|D_f| / 32) pairs, plus 50 steps per VAE
    pairs = 2 * math.ceil(len(task.forget_idx) / 32)
    assert out.steps == 2 * 50 + 2 * pairs


class _Fixed(nn.Module):
    """A stand-in VAE that reconstructs every embedding as `value`."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, e):
        return self.value.expand_as(e), None, None


def test_reconstruction_energy_by_hand():
    e = torch.tensor([[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]])
    m = torch.tensor([5.0, 0.0, 9.0])  # squared distances to the reconstruction (0, 0)
    expected = sum(math.exp(v / (v + 1)) for v in m.tolist())  # exp(5/6) + exp(0) + exp(9/10)
    assert reconstruction_energy(_Fixed(torch.zeros(2)), e).item() == pytest.approx(expected)


def test_alignment_loss_by_hand():
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    e_r = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # cosines to θ_o's: 1, 1/√2
    e_f = torch.tensor([[0.0, 1.0], [0.0, 2.0]])  # cosines to θ_o's: 0, 1
    d_r = [0.0, 1 - 1 / math.sqrt(2)]
    lse = math.log(math.exp(1 / 5) + math.exp(0 / 5))  # d_f = (1, 0), τ = 5
    expected = sum(d - lse for d in d_r)
    assert alignment_loss(e_r, t, e_f, t, 5.0).item() == pytest.approx(expected)
    # retain embeddings nearer θ_o's and forget embeddings farther from them both lower the loss
    assert alignment_loss(t, t, e_f, t, 5.0) < alignment_loss(e_r, t, e_f, t, 5.0)
    assert alignment_loss(e_r, t, -t, t, 5.0) < alignment_loss(e_r, t, t, t, 5.0)


def test_vae_loss_is_reconstruction_plus_a_small_kl():
    torch.manual_seed(0)
    vae = EmbeddingVAE(4, 2)
    with torch.no_grad():  # μ = 0 and log σ² = 0: KL is 0 and the loss is the squared error per sample
        for layer in (vae.mu, vae.log_var):
            layer.weight.zero_()
            layer.bias.zero_()
    e = torch.rand(3, 4)
    torch.manual_seed(1)
    out = vae(e)[0]
    torch.manual_seed(1)
    assert vae_loss(vae, e).item() == pytest.approx(((out - e) ** 2).sum().item() / 3, rel=1e-5)


def test_a_pruned_model_stays_pruned_and_the_vaes_train_unmasked(tiny_data, tiny_original):
    task = _task(tiny_data, tiny_original, torch.as_tensor(tiny_data.y_train))
    masks = global_magnitude_masks(tiny_original, 0.5)
    task.ctx.masks = masks
    out = run_method(build_method("laf", {"epochs": 2}), tiny_original, task).model
    for name, mask in masks.items():
        assert (out.get_parameter(name)[mask == 0] == 0).all(), name


@pytest.mark.parametrize("key,value", [("temperature", "0"), ("align_lr", "-1"), ("latent_dims", "0"),
                                       ("vae_steps", "0"), ("vae_batch_size", "0"), ("lr", "-0.1")])
def test_bad_hyper_parameters_are_named(key, value):
    with pytest.raises(BadInput, match=rf"{key}={value}"):
        build_method("laf", {key: value})
