"""Issue 14's property of the generation methods on the reduced request (tests/methods/generative_setup.py):
at least two of them halve θ_o's forget rate while keeping the kept-class Frechet distance near θ_r's."""

from __future__ import annotations

from tests.methods.generative_setup import setup, unlearned
from unlearnlab.methods import METHODS, method_names

#: Measured on the 2-core AMD EPYC (CPU, portable numerics), reduced request, seeds 0, 1, 2: fd_kept of the
#: method minus θ_r's (θ_r: 1.42, 1.99, 2.34; θ_o − θ_r: +0.01, +0.06, −0.16), forget rate (θ_o 0.875, 0.80,
#: 0.925):
#:   esd        +0.45, +0.11, +0.64   forget 0.00, 0.00, 0.00
#:   sfd        +0.19, +0.00, −0.18   forget 0.00, 0.00, 0.00
#:   advunlearn +0.29, +0.26, −0.10   forget 0.00, 0.00, 0.00
#:   salun_gen  +0.62, +1.74, +0.01   forget 0.00, 0.025, 0.00
#:   ft_retain  −0.15, +1.35, −0.16   forget 0.525, 0.575, 0.375 (never halves it)
#: The margin, 0.75, is above the largest gap of the three methods that met it on every seed (esd's 0.64);
#: sfd and advunlearn meet it with 0.3 or more to spare.
FD_MARGIN = 0.75


def test_at_least_two_methods_forget_and_keep_the_other_classes():
    _, _, _, _, o, r = setup(0)
    good = []
    for name in [n for n in method_names() if "generation" in METHODS.get(n).tasks]:
        e = unlearned(name, 0)
        assert e["notes"] == {}, name
        if e["forget_rate"] <= 0.5 * o["forget_rate"] and e["fd_kept"] <= r["fd_kept"] + FD_MARGIN:
            good.append(name)
    assert len(good) >= 2, good
