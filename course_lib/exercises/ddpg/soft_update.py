"""The soft_update exercise: every target parameter moves tau of the way, in place

Part of :mod:`course_lib.exercises.ddpg`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from course_lib.exercises.ddpg.base import (
    Record,
    _close,
    _error,
    _short,
)
from course_lib.exercises.finding import Finding, Hint


def course_soft_update(target: torch.nn.Module, source: torch.nn.Module, tau: float) -> None:
    """The course's soft update, which the agent's exercises call in place of the student's
    (:mod:`course_lib.exercises.parts`): each target parameter moves tau of the way."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.lerp_(s, tau)


_SOFT_HINT = "target_p <- tau * source_p + (1 - tau) * target_p, in place, for every parameter."


def _update_kind(after: Any, before: Any, source: Any, tau: float) -> str:
    t0, s0, t1 = (np.asarray(x, dtype=np.float64) for x in (before, source, after))
    if t1.shape != t0.shape:
        return "other"
    if _close(t1, tau * s0 + (1 - tau) * t0):
        return "ok"
    if _close(t1, t0, atol=1e-7, rtol=1e-7):
        return "same"
    if _close(t1, s0):
        return "copy"
    if _close(t1, (1 - tau) * s0 + tau * t0):
        return "swapped"
    return "other"


def diagnose_soft_update(rec: Record, case: Record) -> Finding | None:
    """Every target parameter moves tau of the way to the source's; the source stays."""
    tau, names = float(case["tau"]), list(case["names"])
    stage, message = _error(rec)
    if stage:
        if "AttributeError" in message and "weights" in message:
            hint = Hint(
                "ddpg.soft_update.uses_weights_attribute",
                "nn.Module has no .weights: iterate over the parameters in pairs, "
                "for t, s in zip(target.parameters(), source.parameters()).",
            )
        elif "leaf Variable" in message or "requires grad" in message:
            hint = Hint(
                "ddpg.soft_update.inplace_without_no_grad",
                "wrap the loop in torch.no_grad() (or write through .data): autograd refuses "
                "in-place changes of parameters it tracks.",
            )
        else:
            hint = _SOFT_HINT
        return Finding(f"soft_update(target, source, tau) raised {message}.", hint=hint)
    target, source = rec.get("target") or [], rec.get("source") or []
    if len(target) != len(names) or len(source) != len(names):
        return Finding("the networks' parameters were not recorded whole.")
    for name, before, after in zip(names, case["source"], source, strict=True):
        if not _close(after, before, atol=1e-7, rtol=1e-7):
            return Finding(
                f"soft_update changed the source network (parameter {name}).",
                hint=Hint(
                    "ddpg.soft_update.source_modified", "only the target moves: " + _SOFT_HINT
                ),
            )
    kinds = [
        _update_kind(after, before, src, tau)
        for after, before, src in zip(target, case["target"], case["source"], strict=True)
    ]
    if all(k == "ok" for k in kinds):
        return None
    if all(k == "same" for k in kinds):
        return Finding(
            f"the target network did not change (tau={tau}).",
            hint=Hint(
                "ddpg.soft_update.not_in_place",
                "change the parameters in place: target_p.data.copy_(tau * source_p.data + "
                "(1 - tau) * target_p.data); assigning target_p = ... only rebinds a local name.",
            ),
        )
    if all(k == "copy" for k in kinds):
        return Finding(
            f"the target became a copy of the source (tau={tau}): that is a hard update.",
            hint=Hint(
                "ddpg.soft_update.hard_update",
                "interpolate, " + _SOFT_HINT + " load_state_dict copies.",
            ),
        )
    if all(k == "swapped" for k in kinds):
        return Finding(
            f"tau is on the wrong side: the target moved {1 - tau:g} of the way to the source "
            f"instead of tau={tau}.",
            hint=Hint(
                "ddpg.soft_update.tau_swapped",
                _SOFT_HINT + " tau is small, so the target follows slowly.",
            ),
        )
    if set(kinds) <= {"ok", "same"}:
        stale = [name for name, k in zip(names, kinds, strict=True) if k == "same"]
        return Finding(
            f"only some parameters were updated; unchanged: {stale}.",
            hint=Hint(
                "ddpg.soft_update.partial_parameter_loop",
                "loop over all of them: zip(target.parameters(), source.parameters()), not "
                "over some layers or the weights only.",
            ),
        )
    i = next(i for i, k in enumerate(kinds) if k != "ok")
    expected = tau * np.asarray(case["source"][i]) + (1 - tau) * np.asarray(case["target"][i])
    return Finding(
        f"parameter {names[i]} is wrong after soft_update(target, source, tau={tau}).",
        expected=_short(expected),
        got=_short(target[i]),
        hint=Hint("ddpg.soft_update.wrong_interpolation", _SOFT_HINT),
    )
