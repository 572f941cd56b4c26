"""SalUn on a DDPM: it erases the class; weights outside the saliency mask stay exactly at θ_o; bad input."""

from __future__ import annotations

import pytest
import torch

from tests.methods.generative_setup import run_tiny, setup, unlearned
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method


def test_salun_gen_cuts_the_forget_rate():
    _, _, _, _, o, _ = setup(0)
    assert unlearned("salun_gen", 0)["forget_rate"] <= 0.5 * o["forget_rate"]


def test_only_the_salient_share_moves():
    original, model = run_tiny("salun_gen", ratio=0.1, steps=5)
    a = dict(original.named_parameters())
    moved = sum(int((p != a[n]).sum()) for n, p in model.named_parameters())
    total = sum(p.numel() for p in model.parameters())
    assert 0 < moved <= 0.1 * total + 1
    _, full = run_tiny("salun_gen", ratio=1.0, steps=5)
    assert sum(int((p != a[n]).sum()) for n, p in full.named_parameters()) > moved


@pytest.mark.parametrize("params,match", [
    ({"ratio": 0}, r"^salun_gen: ratio=0 is not allowed; it must be in \(0\.0, 1\.0\]$"),
    ({"alpha": -1}, r"^salun_gen: alpha=-1 is not allowed; it must be >= 0$"),
    ({"anchor": -2}, r"^salun_gen: anchor=-2 is not allowed; it must be an integer >= -1$"),
])
def test_bad_input_is_one_line(params, match):
    with pytest.raises(BadInput, match=match):
        build_method("salun_gen", params)


def test_the_anchor_must_be_a_kept_class():
    with pytest.raises(BadInput, match=r"^anchor=3 is not allowed; it must be a kept class in \[0, 9\] or -1"):
        run_tiny("salun_gen", anchor=3, steps=1)
    assert torch.is_tensor(run_tiny("salun_gen", anchor=5, steps=1)[1].denoiser.embed.weight)
