"""What a diagnosis found wrong in a student's code: one type for every exercise.

A diagnosis (``record, case -> Finding | None``) returns the first problem it sees. The
visible checks raise it as a :class:`~course_lib.checks.core.CheckFailed` (its fields map
one to one); the grader's judges turn it into a verdict with :meth:`Finding.message`.

A finding that recognises a known mistake names it: its hint is a :class:`Hint`, the fix's
text with the mistake's stable name (``"ddpg.ou_noise.uniform_increments"``). The name comes
from the exercise definition, never from the message, so the class report
(``course-lib report``) can count the students who made each mistake while the wording of
the message changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Finding", "Hint"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){2,}$")


class Hint(str):
    """The likely bug and its fix (the text), named by the known mistake it points at.

    ``mistake`` is ``"<assignment part>.<exercise>.<bug>"`` in snake case, e.g.
    ``"ddpg.ou_noise.uniform_increments"``: stable across releases and message rewordings.
    Two hints share a name only when they point at the same bug.

    Examples:
        >>> h = Hint("ddpg.ou_noise.no_memory", "keep the state between calls")
        >>> h, h.mistake
        ('keep the state between calls', 'ddpg.ou_noise.no_memory')
        >>> Finding("no memory", hint=h).mistake
        'ddpg.ou_noise.no_memory'
        >>> Hint("No Name", "text")
        Traceback (most recent call last):
        ...
        ValueError: a mistake's name is 'part.exercise.bug' in snake case, not 'No Name'
    """

    mistake: str

    def __new__(cls, mistake: str, text: str) -> Hint:
        if not _NAME.match(mistake):
            raise ValueError(
                f"a mistake's name is 'part.exercise.bug' in snake case, not {mistake!r}"
            )
        hint = super().__new__(cls, text)
        hint.mistake = mistake
        return hint

    def __reduce__(self) -> tuple[Any, ...]:
        return (Hint, (self.mistake, str(self)))


@dataclass(frozen=True)
class Finding:
    """The first problem found: what is wrong, and the likely bug and its fix.

    Attributes:
        problem: what is wrong, in one sentence.
        hint: the likely bug and its fix, or None.
        expected, got: what the case called for and what came out, when that helps.
        where: the case or place the problem shows in.
        from_error: the problem is an exception the student's code raised.
        mistake: the stable name of the known mistake found (see :class:`Hint`), taken from
            the hint when it is a :class:`Hint`; None when the problem is not one the
            exercise knows by name (a crash, a malformed record, an unexpected value).
    """

    problem: str
    hint: str | None = None
    expected: Any = None
    got: Any = None
    where: str | None = None
    from_error: bool = False
    mistake: str | None = None

    def __post_init__(self) -> None:
        if self.mistake is None and isinstance(self.hint, Hint):
            object.__setattr__(self, "mistake", self.hint.mistake)
        elif self.mistake is not None and not _NAME.match(self.mistake):
            raise ValueError(
                f"a mistake's name is 'part.exercise.bug' in snake case, not {self.mistake!r}"
            )

    def named_problem(self) -> str:
        """The problem's text, carrying the mistake's name when there is one (a
        :class:`Hint` then): for judges that report problems as a list of strings."""
        return self.problem if self.mistake is None else Hint(self.mistake, self.problem)

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
