"""What a judge returns, and the default judge: same structure, numbers within tolerance.

The base of every judge module (:mod:`.judges`, :mod:`.judges_ddpg`, :mod:`.judges_td3`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Judge", "Verdict", "close"]


@dataclass(frozen=True)
class Verdict:
    """The fraction of an observation's credit earned (0..1) and why."""

    fraction: float
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.fraction >= 1.0


Judge = Callable[[Any, Any], Verdict]
"""A judge: (the student's observation, the reference's) -> a :class:`Verdict`."""


def _diff(expected: Any, got: Any, path: str, rtol: float, atol: float) -> str | None:
    """Where ``got`` first differs from ``expected`` (None if it does not)."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{path or 'value'}: expected a mapping, got {type(got).__name__}"
        for key in expected:
            if key not in got:
                return f"{path}[{key!r}]: missing"
            found = _diff(expected[key], got[key], f"{path}[{key!r}]", rtol, atol)
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(got, list):
            return f"{path or 'value'}: expected a list, got {type(got).__name__}"
        if len(got) != len(expected):
            return f"{path or 'value'}: expected {len(expected)} items, got {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            found = _diff(e, g, f"{path}[{i}]", rtol, atol)
            if found:
                return found
        return None
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return (
            None
            if got == expected and type(got) is type(expected)
            else (f"{path or 'value'}: expected {expected!r}, got {got!r}")
        )
    if isinstance(expected, int | float):
        if isinstance(got, bool) or not isinstance(got, int | float):
            return f"{path or 'value'}: expected a number, got {got!r}"
        if not math.isclose(float(got), float(expected), rel_tol=rtol, abs_tol=atol):
            return f"{path or 'value'}: expected {expected:.6g}, got {got:.6g}"
        return None
    return f"{path or 'value'}: cannot compare {type(expected).__name__}"


def close(student: Any, reference: Any, *, rtol: float = 1e-4, atol: float = 1e-5) -> Verdict:
    """Same structure as the reference, numbers equal within tolerance."""
    found = _diff(reference, student, "", rtol, atol)
    return Verdict(1.0, "matches the reference") if found is None else Verdict(0.0, found)
