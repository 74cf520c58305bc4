"""What a diagnosis found wrong in a student's code: one type for every exercise.

A diagnosis (``record, case -> Finding | None``) returns the first problem it sees. The
visible checks raise it as a :class:`~course_lib.checks.core.CheckFailed` (its fields map
one to one); the grader's judges turn it into a verdict with :meth:`Finding.message`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Finding"]


@dataclass(frozen=True)
class Finding:
    """The first problem found: what is wrong, and the likely bug and its fix.

    Attributes:
        problem: what is wrong, in one sentence.
        hint: the likely bug and its fix, or None.
        expected, got: what the case called for and what came out, when that helps.
        where: the case or place the problem shows in.
        from_error: the problem is an exception the student's code raised.
    """

    problem: str
    hint: str | None = None
    expected: Any = None
    got: Any = None
    where: str | None = None
    from_error: bool = False

    def message(self) -> str:
        """The grader's one-line verdict: ``problem (where: ...) Likely fix: ...``."""
        text = self.problem
        if self.where:
            text += f" (where: {self.where})"
        if self.hint:
            text += f" Likely fix: {self.hint}"
        return text

    def message_where_first(self) -> str:
        """The same, led by the place: ``where: problem hint`` (notebook 05's judge)."""
        where = f"{self.where}: " if self.where else ""
        return f"{where}{self.problem} {self.hint or ''}".strip()
