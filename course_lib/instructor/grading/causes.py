"""Why a question lost its points, as the gradebook says it: the kind of loss and its cause.

* A question is **failed** when the student's code answered wrongly (the grader's judge
  refused the observation, or the visible check reported a wrong answer), **error** when
  the code crashed (an exception other than a check's verdict), **timeout** or **not run**
  when it did not finish (:func:`question_status`).
* An error is located by cell: ``SyntaxError: ... (2998133906.py, line 11)`` names the
  kernel's file for the cell, which the student never sees; it becomes ``(cell
  compute_gae, line 11)`` (:func:`located`). A question whose cell came after a cell that
  raised names that cell too (:func:`earlier_error`).
* A trained agent below its criterion, after an earlier question of the same notebook lost
  points, points at that question: training runs that code (:func:`reward_causes`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from course_lib.instructor.grading.gradebook import TestRecord

__all__ = ["WRONG_ANSWERS", "earlier_error", "located", "question_status", "reward_causes"]

WRONG_ANSWERS = ("CheckFailed", "RewardCriterionNotMet")
"""The exceptions of a visible check's verdict: the code ran and answered wrongly."""

_KERNEL_FILE = re.compile(r"\(?(?:[\w/.-]*/)?\d+\.py, line (\d+)\)?")


def question_status(fraction: float, cell: Any) -> str:
    """``passed``, ``partial``, ``failed`` (wrong), ``error`` (crashed), ``timeout`` or
    ``not run``, from the judged fraction and the test cell's run (None: it never ran)."""
    ran = cell.status if cell is not None else "not run"
    if fraction >= 1.0:
        return "passed"
    if ran in ("timeout", "dead", "skipped", "not run", "omitted"):
        return "timeout" if ran == "timeout" else "not run"
    if fraction > 0:
        return "partial"
    if ran == "error" and cell.ename not in WRONG_ANSWERS:
        return "error"
    return "failed"


def _name(cell: Any) -> str:
    return str(cell.grade_id) if cell.grade_id else f"#{cell.index + 1}"


def located(text: str, cell: Any) -> str:
    """``text`` with the kernel's file name of ``cell`` replaced by the cell's name.

    Examples:
        >>> from types import SimpleNamespace as Cell
        >>> located("SyntaxError: bad (2998133906.py, line 11)", Cell(grade_id="td", index=3))
        'SyntaxError: bad (cell td, line 11)'
    """
    return _KERNEL_FILE.sub(lambda m: f"(cell {_name(cell)}, line {m.group(1)})", text)


def earlier_error(cells: Sequence[Any], before: int) -> str | None:
    """What the first cell before position ``before`` that raised raised, located; None if
    none did. A test cell that fails after it most likely fails because of it."""
    for cell in cells:
        if cell.index >= before:
            break
        if cell.status == "error":
            what = located(f"{cell.ename}: {cell.evalue}".strip(), cell)
            return f"earlier, the cell {_name(cell)} raised {what}"
    return None


def reward_causes(tests: Iterable[TestRecord], reward_ids: Iterable[str]) -> None:
    """Append to each reward question below full marks the earlier questions that lost
    points: training runs their code, so more training will not help."""
    rewards = set(reward_ids)
    lost: list[str] = []
    for t in tests:
        if t.grade_id in rewards:
            if t.status != "passed" and lost:
                t.message += (
                    f"; earlier questions lost points ({', '.join(lost)}): training runs that "
                    "code, so fix them first"
                )
        elif t.score < t.max_score:
            lost.append(t.grade_id)
