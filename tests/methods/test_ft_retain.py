"""Fine-tuning a DDPM on the kept classes: it lowers the forget rate (catastrophic forgetting) and never touches
the forgotten class's embedding row."""

from __future__ import annotations

import pytest
import torch

from tests.methods.generative_setup import FORGET, run_tiny, setup, unlearned
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method


def test_ft_retain_lowers_the_forget_rate():
    _, _, _, _, o, _ = setup(0)
    assert unlearned("ft_retain", 0)["forget_rate"] <= o["forget_rate"] - 0.15


def test_the_forgotten_class_row_is_never_trained():
    # D_r has no sample of the class: its row gets zero gradients, and Adam leaves a weight with zero moments put.
    original, model = run_tiny("ft_retain", steps=5)
    row = model.denoiser.embed.weight[FORGET]
    assert torch.equal(row, original.denoiser.embed.weight[FORGET])
    assert not torch.equal(model.denoiser.out.weight, original.denoiser.out.weight)


def test_bad_input_is_one_line():
    with pytest.raises(BadInput, match=r"^ft_retain: lr=0 is not allowed; it must be > 0$"):
        build_method("ft_retain", {"lr": 0})
