from __future__ import annotations

import numpy as np
import pytest

from unlearnlab.errors import BadInput
from unlearnlab.metrics import (METRICS, EvalContext, ModelOutputs, compute_metrics, compute_metrics_with_notes,
                                metric_names)

EXPECTED = {"ua", "ra", "ra_class_mean", "ta", "tua", "tra", "mia_efficacy", "privacy_score"}


def small_context(forget_classes: tuple[int, ...] | None, with_reference: bool) -> EvalContext:
    rng = np.random.default_rng(0)
    k = 4
    y_forget = np.full(20, 3) if forget_classes else rng.integers(0, k, 20)
    y_retain, y_test = rng.integers(0, 3, 60), rng.integers(0, k, 40)
    outputs = ModelOutputs(*(rng.normal(size=(len(y), k)).astype(np.float32)
                             for y in (y_forget, y_retain, y_test)))
    return EvalContext(outputs=outputs, reference=outputs if with_reference else None,
                       y_forget=y_forget, y_retain=y_retain, y_test=y_test, num_classes=k,
                       forget_classes=forget_classes, seed=1)


@pytest.mark.parametrize("forget_classes", [(3,), None])
def test_compute_metrics_returns_every_registered_metric(forget_classes: tuple[int, ...] | None) -> None:
    assert EXPECTED <= set(METRICS.names())
    m, notes = compute_metrics_with_notes(small_context(forget_classes, with_reference=True))
    # every classification metric; the regression ones (tests/metrics/test_regression.py) are not computed here
    assert set(m) == set(metric_names("classification")) and EXPECTED <= set(m)
    # Random logits: the membership attacker cannot beat chance, so MIA-Efficacy is withheld, with why.
    assert set(notes) == {"mia_efficacy"} and notes["mia_efficacy"].startswith("attacker at chance")
    for name, value in m.items():
        # asr: poisoned scenarios only (tests/test_poison.py); identity_mia, nomus: group requests only
        # (tests/metrics/test_identity.py)
        if name in ("mia_efficacy", "asr", "identity_mia", "nomus") or forget_classes is None and name in ("tua", "tra"):
            assert value is None
        else:
            assert type(value) is float and 0.0 <= value <= 1.0, name
    assert m["privacy_score"] == 1.0  # θ_u's outputs are θ_r's


def test_privacy_score_needs_a_reference() -> None:
    assert compute_metrics(small_context(None, with_reference=False), ["privacy_score"]) == {
        "privacy_score": None}


def test_unknown_metric_and_mismatched_shapes_are_bad_input() -> None:
    ctx = small_context(None, with_reference=False)
    with pytest.raises(BadInput):
        compute_metrics(ctx, ["uaa"])
    with pytest.raises(BadInput):
        EvalContext(outputs=ctx.outputs, reference=None, y_forget=ctx.y_forget[:-1],
                    y_retain=ctx.y_retain, y_test=ctx.y_test, num_classes=4, forget_classes=None)
