"""The grader's verdict on an observation, and the default judge: same structure, numbers
within tolerance (:func:`~course_lib.exercises.compare.first_difference`).

What is wrong is an exercise's :class:`~course_lib.exercises.finding.Finding`; a verdict is
what the grader scores from it (:mod:`.judges`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from course_lib.exercises.compare import first_difference

__all__ = ["Judge", "Verdict", "close"]


@dataclass(frozen=True)
class Verdict:
    """The fraction of an observation's credit earned (0..1), why, and the stable name of the
    known mistake behind a lost point when the judge recognised one."""

    fraction: float
    message: str = ""
    mistake: str | None = None

    @property
    def passed(self) -> bool:
        return self.fraction >= 1.0


Judge = Callable[[Any, Any], Verdict]
"""A judge: (the student's observation, the reference's) -> a :class:`Verdict`."""


def close(student: Any, reference: Any, *, rtol: float = 1e-4, atol: float = 1e-5) -> Verdict:
    """Same structure as the reference, numbers equal within tolerance."""
    found = first_difference(reference, student, "", rtol, atol)
    return Verdict(1.0, "matches the reference") if found is None else Verdict(0.0, found)
