"""Backdoor metrics of a poisoned scenario (`--poison`): the attack success rate of its trigger.

ASR is the share of test samples whose true label is not the poison's target that the model assigns to
the target once the trigger is stamped on them (Gu et al. 2017, BadNets; as reported for unlearning a
backdoor by Jia et al. 2023, "Model Sparsity Can Simplify Machine Unlearning", and in corrective unlearning,
Goel et al. 2024). Clean accuracy is TA (`ta`): the test set is never poisoned, so it is not repeated here.
"""

from __future__ import annotations

import numpy as np

from . import EvalContext, NoValue, register_metric
from .accuracy import _predictions


def attack_success_rate(triggered_logits: np.ndarray, target: int) -> float:
    """Share of the (triggered) samples classified as `target`; nan for no samples."""
    preds = _predictions(triggered_logits)
    return float(np.mean(preds == target)) if len(preds) else float("nan")


@register_metric("asr")
def asr(ctx: EvalContext) -> float | NoValue | None:
    """ASR = share of triggered non-target test samples predicted as the target (poisoned scenarios only)."""
    if ctx.poison_target is None or ctx.outputs.triggered is None:
        return None
    if len(ctx.outputs.triggered) == 0:
        return NoValue("no test sample outside the poison's target class to stamp the trigger on")
    return attack_success_rate(ctx.outputs.triggered, ctx.poison_target)
