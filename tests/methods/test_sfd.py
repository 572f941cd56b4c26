"""Score Forgetting Distillation into the DDPM: it erases the class; the forgotten class's score moves toward
θ_o's anchor score; bad input."""

from __future__ import annotations

import pytest
import torch

from tests.methods.generative_setup import FORGET, run_tiny, setup, tiny, unlearned
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method


def test_sfd_cuts_the_forget_rate():
    _, _, _, _, o, _ = setup(0)
    assert unlearned("sfd", 0)["forget_rate"] <= 0.5 * o["forget_rate"]


def test_the_forgotten_score_moves_to_the_anchor():
    ds, original = tiny()
    _, model = run_tiny("sfd", anchor=5, steps=60)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(256, original.denoiser.inp.in_features, generator=g)
    t = torch.randint(0, original.timesteps, (256,), generator=g)
    c, a = torch.full((256,), FORGET), torch.full((256,), 5)
    with torch.no_grad():
        before = (original(z, t, c) - original(z, t, a)).pow(2).mean()
        after = (model(z, t, c) - original(z, t, a)).pow(2).mean()
    assert after < 0.5 * before


@pytest.mark.parametrize("params,match", [
    ({"retain_weight": -1}, r"^sfd: retain_weight=-1 is not allowed; it must be >= 0$"),
    ({"anchor": 1.5}, r"^sfd: anchor=1\.5 is not allowed; it must be an integer >= -1$"),
])
def test_bad_input_is_one_line(params, match):
    with pytest.raises(BadInput, match=match):
        build_method("sfd", params)
