"""Optimizer steps as an exercise's stand-ins see them: how many, and on which gradient.

An update must call ``optimizer.zero_grad()``, then ``loss.backward()``, then
``optimizer.step()``. With zero_grad missing, PyTorch adds each backward to the gradients of
the previous updates; with it between backward and step, the step finds no gradient. Neither
shows in one update's losses. The probes of notebook 04's ``update_model`` and notebook 05's
``TD3.train`` therefore run two identical updates with a :class:`RecordingSGD` (learning
rate 0, the targets held still) and :func:`steps_finding` reads what it saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from course_lib.exercises.finding import Finding, Hint

__all__ = ["RecordingSGD", "steps_finding"]


class RecordingSGD(torch.optim.SGD):
    """SGD that records, at each ``step``, the norm of the gradient its parameters hold
    (None: no parameter has one); with ``step(closure)``, once the closure has run.

    Examples:
        >>> w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
        >>> opt = RecordingSGD([w])
        >>> (w * torch.tensor([3.0, 4.0])).sum().backward(); opt.step(); opt.step()
        >>> opt.seen
        [5.0, 5.0]
    """

    def __init__(self, params: Any, lr: float = 0.0) -> None:
        super().__init__(params, lr=lr)
        self.seen: list[float | None] = []

    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:  # step(closure): the closure computes the gradient first
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            grads = [p.grad for group in self.param_groups for p in group["params"]]
            present = [g.double().reshape(-1) for g in grads if g is not None]
            self.seen.append(float(torch.cat(present).norm()) if present else None)
            super().step()
        return loss


def steps_finding(
    net: str,
    seen: Sequence[Any],
    updates: int = 2,
    *,
    unit: str = "update",
    carry_hint: str | None = None,
) -> Finding | None:
    """What is wrong with ``net``'s optimizer steps over ``updates`` identical updates
    (``seen``: :attr:`RecordingSGD.seen`), or None.

    Examples:
        >>> print(steps_finding("critic", [2.0, 4.0]).problem)
        the critic's gradients carry over between updates: at the second of 2 identical \
updates, its step sees 2 times the first's gradient.
        >>> steps_finding("critic", [2.0, 2.0]) is None
        True
    """
    order = f"self.{net}_optimizer.zero_grad(), {net}_loss.backward(), "
    order += f"self.{net}_optimizer.step()"
    if len(seen) != updates:
        return Finding(
            f"self.{net}_optimizer.step() ran {len(seen)} times in {updates} {unit}s: the "
            f"{net} must take one step per {unit}.",
            hint=Hint("steps.update.wrong_step_count", f"each {unit}: {order}."),
        )
    if not all(seen):
        return Finding(
            f"self.{net}_optimizer.step() found no gradient: it was zeroed (or never "
            f"computed) between {net}_loss.backward() and the step.",
            hint=Hint("steps.update.zero_grad_after_backward", f"in this order: {order}."),
        )
    first = float(seen[0])
    for k, value in enumerate(seen[1:], start=2):
        ratio = float(value) / first
        if abs(ratio - 1.0) <= 1e-4:  # identical updates: the same gradient, up to rounding
            continue
        nth = {2: "second", 3: "third"}.get(k, f"{k}th")
        return Finding(
            f"the {net}'s gradients carry over between {unit}s: at the {nth} of {updates} "
            f"identical {unit}s, its step sees {ratio:.3g} times the first's gradient.",
            hint=carry_hint
            or Hint(
                "steps.update.missing_zero_grad",
                f"PyTorch adds each backward() to .grad: call self.{net}_optimizer.zero_grad() "
                f"right before {net}_loss.backward() in every update. Without it, or with it after "
                "the step, earlier gradients are added in (the actor loss's backward also reaches "
                "the critic's parameters).",
            ),
        )
    return None
