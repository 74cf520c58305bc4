"""Shared pieces of the probes (not a public API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

Record = dict[str, Any]
"""A probe's observation: plain data (numbers, strings, lists, mappings)."""
Run = tuple[Record, BaseException | None]
"""A record and the exception the student's code raised, if any."""


def error_text(exc: BaseException) -> str:
    """``"TypeError: ..."``, at most 300 characters: what a record keeps of an exception."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."


def number(value: Any) -> float | str:
    """A plain number as a float; anything else (a tensor, a bool) as ``<type name>``."""
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        return f"<{type(value).__name__}>"
    return float(value)


def rng_and_torch(seed: int) -> tuple[np.random.Generator, torch.Generator]:
    """Independent numpy and torch generators for one probe; global RNGs stay untouched."""
    return np.random.default_rng(seed), torch.Generator().manual_seed(seed)


def reward_lists(rng: np.random.Generator) -> list[tuple[list[float], float]]:
    """Episodes of lengths 0, 1, 2, 7 and 40 with gamma 0, 1 and random values."""
    cases = []
    for length, gamma in [(0, 0.99), (1, 0.9), (2, 0.0), (7, 1.0), (7, None), (40, None)]:
        g = float(rng.uniform(0.8, 0.999)) if gamma is None else gamma
        cases.append(([float(r) for r in rng.normal(0.5, 1.0, size=length).round(3)], g))
    return cases


def loss_and_grads(
    fn: Callable[..., Any], inputs: list[torch.Tensor], n_outputs: int = 1
) -> dict[str, Any]:
    """Call ``fn(*inputs)`` and record each output's value and gradient w.r.t. each input."""
    out = fn(*inputs)
    outputs = list(out) if n_outputs > 1 else [out]
    record: dict[str, Any] = {"values": [], "grads": []}
    for o in outputs:
        record["values"].append(float(o.detach()) if o.numel() == 1 else o.detach().tolist())
        if o.requires_grad:
            gs = torch.autograd.grad(o.sum(), inputs, retain_graph=True, allow_unused=True)
        else:
            gs = (None,) * len(inputs)
        pairs = zip(inputs, gs, strict=True)
        record["grads"].append(
            [torch.zeros_like(x).tolist() if g is None else g.tolist() for x, g in pairs]
        )
    return record
