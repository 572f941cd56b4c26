"""AdvUnlearn on a DDPM: it erases the class; with the default weight group only the conditioning moves; bad input."""

from __future__ import annotations

import pytest

from tests.methods.generative_setup import changed, run_tiny, setup, unlearned
from unlearnlab.errors import BadInput
from unlearnlab.methods import build_method


def test_advunlearn_cuts_the_forget_rate():
    _, _, _, _, o, _ = setup(0)
    assert unlearned("advunlearn", 0)["forget_rate"] <= 0.5 * o["forget_rate"]


def test_only_the_conditioning_moves():
    original, model = run_tiny("advunlearn", steps=3)
    names = changed(original, model)
    assert names and all(n.startswith("denoiser.embed") or ".cond." in n for n in names)


@pytest.mark.parametrize("params,match", [
    ({"budget": 0}, r"^advunlearn: budget=0 is not allowed; it must be > 0$"),
    ({"attack_steps": 0}, r"^advunlearn: attack_steps=0 is not allowed; it must be an integer >= 1$"),
])
def test_bad_input_is_one_line(params, match):
    with pytest.raises(BadInput, match=match):
        build_method("advunlearn", params)
