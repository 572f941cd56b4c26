"""ESD on a class-conditional DDPM: it erases the class; only the chosen weight group moves; bad input."""

from __future__ import annotations

import pytest

from tests.methods.generative_setup import changed, run_tiny, setup, unlearned
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method


def test_esd_cuts_the_forget_rate():
    _, _, _, _, o, _ = setup(0)
    assert unlearned("esd", 0)["forget_rate"] <= 0.5 * o["forget_rate"]


@pytest.mark.parametrize("weights,moved", [("conditioning", {"embed", "cond"}), ("non_conditioning", None)])
def test_only_the_chosen_weights_move(weights, moved):
    original, model = run_tiny("esd", weights=weights, steps=5)
    names = changed(original, model)
    assert names
    is_cond = {n: n.startswith("denoiser.embed") or ".cond." in n for n in names}
    assert all(is_cond.values()) if moved else not any(is_cond.values())


@pytest.mark.parametrize("params,match", [
    ({"negative_guidance": -1}, r"^esd: negative_guidance=-1 is not allowed; it must be >= 0$"),
    ({"steps": 0}, r"^esd: steps=0 is not allowed; it must be an integer >= 1$"),
    ({"weights": "unet"}, r"^esd: weights='unet' is not allowed; choose from conditioning, non_conditioning, all$"),
])
def test_bad_input_is_one_line(params, match):
    with pytest.raises(BadInput, match=match):
        build_method("esd", params)
