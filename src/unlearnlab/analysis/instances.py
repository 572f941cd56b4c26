"""Instance categories of the Unlearning Comparator's instance-level view.

Convention: model A is the original (pre-unlearning) model θ_o, model B the unlearned θ_u.

Categories (convention "strict", the default):
- "target forgotten": forget instance, A correct and B wrong (B unlearned something A knew);
- "not forgotten": forget instance, B still correct;
- "correctly kept": retain instance, B correct;
- "over-forgotten": retain instance, A correct and B wrong;
- "already wrong": A and B both wrong (forget or retain): nothing was learned, so nothing was
  forgotten.

Convention "comparator" follows the Comparator's embedding highlights (frontend VIEW_MODES and
their filters), which look at the displayed model alone: a forget instance that model B
misclassifies is "Correctly Forgotten" whatever A did, a retain instance it misclassifies is
"Overly Forgotten"; so no "already wrong" there. The Comparator has no "correctly kept" mode
(its other modes are "All" and "Target to Forget" = every forget instance); it is the rest of the
retain instances. It selects forget instances by forget class; here by `forget_mask`, so random
forgetting works too.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ..errors import BadInput

TARGET_FORGOTTEN = "target forgotten"
NOT_FORGOTTEN = "not forgotten"
CORRECTLY_KEPT = "correctly kept"
OVER_FORGOTTEN = "over-forgotten"
ALREADY_WRONG = "already wrong"
CATEGORIES = (TARGET_FORGOTTEN, NOT_FORGOTTEN, CORRECTLY_KEPT, OVER_FORGOTTEN, ALREADY_WRONG)


def instance_categories(y: ArrayLike, pred_a: ArrayLike, pred_b: ArrayLike, forget_mask: ArrayLike, *,
                        convention: Literal["strict", "comparator"] = "strict") -> np.ndarray:
    """The category (one of `CATEGORIES`) of each instance, as an object array of str.

    `y`: true labels; `pred_a`: the original model's predicted labels; `pred_b`: the unlearned
    model's; `forget_mask`: True for forget instances. See the module docstring for conventions.
    """
    if convention not in ("strict", "comparator"):
        raise BadInput(f"convention={convention!r} is not allowed; use 'strict' or 'comparator'")
    arrays = [np.asarray(a).ravel() for a in (y, pred_a, pred_b, forget_mask)]
    if len({len(a) for a in arrays}) != 1:
        raise BadInput(f"y, pred_a, pred_b and forget_mask must have the same length; got "
                       f"{[len(a) for a in arrays]}")
    y_, a_, b_, mask = arrays
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise BadInput("forget_mask must be boolean (or 0/1)")
        mask = mask.astype(bool)
    a_ok, b_ok = a_ == y_, b_ == y_
    b_wrong_forget = TARGET_FORGOTTEN if convention == "comparator" else np.where(a_ok, TARGET_FORGOTTEN, ALREADY_WRONG)
    b_wrong_retain = OVER_FORGOTTEN if convention == "comparator" else np.where(a_ok, OVER_FORGOTTEN, ALREADY_WRONG)
    out = np.where(mask, np.where(b_ok, NOT_FORGOTTEN, b_wrong_forget),
                   np.where(b_ok, CORRECTLY_KEPT, b_wrong_retain))
    return out.astype(object)


__all__ = ["ALREADY_WRONG", "CATEGORIES", "CORRECTLY_KEPT", "NOT_FORGOTTEN", "OVER_FORGOTTEN",
           "TARGET_FORGOTTEN", "instance_categories"]
