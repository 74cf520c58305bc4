"""The building blocks of every visible check.

A check runs the student's function on exactly known cases or on properties
every correct answer has, and either prints one short success line or raises
:class:`CheckFailed` with a message that says what was expected, what came,
where, and the likely bug and its fix.

Visible checks teach; they never grade. The grader judges observations out of
the student's kernel (see :mod:`course_lib.observations`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from course_lib.config import is_fast
from course_lib.exercises.compare import close_finding, shape_finding, to_numpy, values_finding
from course_lib.exercises.finding import Finding

__all__ = [
    "CheckFailed",
    "RewardCriterionNotMet",
    "check_eval_result",
    "check_reward",
    "expect",
    "expect_close",
    "expect_shape",
    "expect_values",
    "fail",
    "fail_on",
    "passed",
    "report",
    "skipped",
    "to_numpy",
    "warned",
]


class CheckFailed(AssertionError):
    """A visible check found a wrong answer.

    Attributes:
        check: the name of the check that failed.
        problem: one sentence on what is wrong.
        expected, got: the values compared (``None`` when not meaningful).
        where: where the first difference is (an index, an input case).
        hint: the likely bug and how to fix it.
    """

    def __init__(
        self,
        check: str,
        problem: str,
        *,
        expected: Any = None,
        got: Any = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.check = check
        self.problem = problem
        self.expected = expected
        self.got = got
        self.where = where
        self.hint = hint
        super().__init__(self._format())
        if not isinstance(self, RewardCriterionNotMet):
            _FAILED_IN_SESSION[check] = problem

    @property
    def _render_traceback_(self) -> Callable[[], list[str]]:
        """IPython's hook: the message first and a pointer to the student's cell, not the
        check's own frames (:mod:`course_lib.tracebacks`); absent after
        ``cl.full_tracebacks()``, so that IPython shows the whole traceback."""
        from course_lib.tracebacks import render_check_failure, short_tracebacks_on

        if not short_tracebacks_on():
            raise AttributeError("_render_traceback_")
        return lambda: render_check_failure(self)

    @classmethod
    def from_finding(cls, check: str, finding: Finding) -> CheckFailed:
        """The failure of ``check`` that a diagnosis found (its fields map one to one)."""
        return cls(
            check,
            finding.problem,
            expected=finding.expected,
            got=finding.got,
            where=finding.where,
            hint=finding.hint,
        )

    def _format(self) -> str:
        lines = [f"[{self.check}] {self.problem}"]
        if self.expected is not None:
            lines.append(f"  expected: {_short(self.expected)}")
        if self.got is not None:
            lines.append(f"  got:      {_short(self.got)}")
        if self.where:
            lines.append(f"  where:    {self.where}")
        if self.hint:
            lines.append(f"  likely bug: {self.hint}")
        return "\n".join(lines)


class RewardCriterionNotMet(CheckFailed):
    """A trained policy evaluated below the notebook's reward criterion."""


def _short(value: Any, limit: int = 300) -> str:
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=5, threshold=12)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_FAILED_IN_SESSION: dict[str, str] = {}
"""The checks that failed in this session and have not passed since, with their problem: a
reward below the criterion is then most likely their consequence."""


def passed(check: str, detail: str = "") -> None:
    """Print the one-line success message of a check."""
    _FAILED_IN_SESSION.pop(check, None)
    print(f"✔ {check} passed" + (f": {detail}" if detail else ""))


def _reward_hint() -> str:
    """What to do about a reward below the criterion: fix the checks that failed first, if
    any did in this session; the budgets are the notebook's, so not "train longer"."""
    failing = [c for c in _FAILED_IN_SESSION if c != "check_reward"]
    if len(failing) == 1:
        return (
            f"{failing[0]} failed in this session and has not passed since: training runs that "
            "code, so fix it first (its message says how), run its check until it passes, "
            "then train again. More training will not help."
        )
    if failing:
        return (
            f"{', '.join(failing)} failed in this session and have not passed since: training "
            "runs that code, so fix them first (their messages say how), run their checks "
            "until they pass, then train again. More training will not help."
        )
    return (
        "the budget is the notebook's, and a correct agent reaches the criterion within it. "
        "Look at the learning curve: flat from the start points at the losses or the update "
        "(are all the checks above passing?), a collapse after a good stretch at the learning "
        "rate or the stop rule's best checkpoint. Then run the training cell again."
    )


def warned(check: str, detail: str) -> None:
    """Print that a check passed with a warning the student should act on."""
    print(f"⚠ {check} passed with a warning: {detail}")


def skipped(check: str, reason: str) -> None:
    """Print that a check was skipped, and why."""
    print(f"↷ {check} skipped: {reason}")  # a glyph common monospace fonts have


def fail(check: str, problem: str, **details: Any) -> NoReturn:
    """Raise :class:`CheckFailed`; keyword arguments as in its constructor."""
    raise CheckFailed(check, problem, **details)


def report(check: str, finding: Finding | None, success: str = "") -> None:
    """Raise what a diagnosis found as a :class:`CheckFailed`, or print ``check``'s pass line.

    Examples:
        >>> report("demo", None, "all good")
        ✔ demo passed: all good
        >>> report("demo", Finding("the sign is flipped", hint="negate it"))
        Traceback (most recent call last):
        ...
        course_lib.checks.core.CheckFailed: [demo] the sign is flipped
          likely bug: negate it
    """
    fail_on(check, finding)
    passed(check, success)


def fail_on(check: str, finding: Finding | None) -> None:
    """Raise what a diagnosis found as ``check``'s :class:`CheckFailed` (nothing if None)."""
    if finding is not None:
        raise CheckFailed.from_finding(check, finding)


def expect(check: str, condition: bool, problem: str, **details: Any) -> None:
    """Fail with ``problem`` unless ``condition`` holds."""
    if not condition:
        fail(check, problem, **details)


def expect_shape(
    check: str, what: str, value: Any, shape: Sequence[int], *, hint: str | None = None
) -> None:
    """Fail unless ``value`` (tensor or array) has exactly ``shape``.

    Examples:
        >>> import numpy as np
        >>> expect_shape("demo", "values", np.zeros((4, 1)), (4,))
        Traceback (most recent call last):
        ...
        course_lib.checks.core.CheckFailed: [demo] values: wrong shape.
          expected: (4,)
          got:      (4, 1)
    """
    fail_on(check, shape_finding(what, value, shape, hint=hint))


def expect_close(
    check: str,
    what: str,
    got: Any,
    expected: Any,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    hint: str | None = None,
    case: str | None = None,
) -> None:
    """Fail unless ``got`` matches ``expected`` elementwise within tolerance.

    The message names the first mismatching index and the largest absolute error.

    Examples:
        >>> expect_close("demo", "G", [1.0, 2.0, 3.5], [1.0, 2.0, 3.0])
        Traceback (most recent call last):
        ...
        course_lib.checks.core.CheckFailed: [demo] G: wrong value at index 2 (largest error 0.5).
          expected: [1. 2. 3.]
          got:      [1.  2.  3.5]
    """
    fail_on(check, close_finding(what, got, expected, atol=atol, rtol=rtol, hint=hint, case=case))


PASS_CHANCE = 0.95
"""Below this chance that the grader's own episodes reach the criterion, a reward check that
passes says so and what to do."""


def check_reward(
    check: str,
    mean_return: float,
    threshold: float,
    *,
    n_episodes: int,
    returns: Any = None,
    grader_episodes: int | None = None,
) -> None:
    """Compare an evaluation's mean return with the notebook's criterion, and say how likely
    the grader's own evaluation is to agree.

    With the episodes' ``returns`` and the number of episodes the grader plays
    (``grader_episodes``, from other start states), a mean that meets the criterion also
    reports the chance that the grader's mean will (:func:`~course_lib.evaluation.pass_chance`);
    below :data:`PASS_CHANCE` the line is a warning that says how close the policy is and
    what to do. In fast mode (``COURSE_LIB_FAST=1``) the budgets are too small to reach the
    criterion, so the check reports that it was skipped instead of failing.
    """
    if is_fast():
        skipped(check, f"fast mode (mean return {mean_return:.1f}, criterion {threshold:g})")
        return
    if not mean_return >= threshold:
        raise RewardCriterionNotMet(
            check,
            f"the trained policy averages {mean_return:.1f} over {n_episodes} evaluation "
            f"episodes, below the criterion {threshold:g}.",
            hint=_reward_hint(),
        )
    line = f"mean return {mean_return:.1f} >= {threshold:g} over {n_episodes} episodes"
    chance = None
    if returns is not None and grader_episodes is not None:
        from course_lib.evaluation import pass_chance

        chance = pass_chance(returns, threshold, grader_episodes)
    if chance is None:
        passed(check, line)
        return
    odds = f"the grader's own {grader_episodes} episodes reach it {_percent(chance)} of the time"
    if chance >= PASS_CHANCE:
        passed(check, f"{line}; {odds}")
        return
    worst = np.sort(np.asarray(returns, dtype=np.float64))[: max(1, len(returns) // 10)]
    warned(
        check,
        f"{line}, but only just: {odds} (from other start states; your worst tenth of "
        f"episodes averages {worst.mean():.1f}). Train on until the stop rule is met (its "
        "config.stop_at is a margin over the criterion for this), then run this cell again.",
    )


def _percent(chance: float) -> str:
    """``0.953 -> "95%"``, rounded down (0.9496 is not "95%"); an estimate from a sample
    claims no certainty: ``">99%"``, ``"<1%"``."""
    pct = math.floor(100 * chance)
    if pct == 100:
        return ">99%"
    if pct == 0 and chance > 0:
        return "<1%"
    return f"{pct}%"


def check_eval_result(
    result: Any,
    threshold: float,
    check: str = "check_reward",
    *,
    grader_episodes: int | None = None,
) -> None:
    """:func:`check_reward` on an :class:`~course_lib.evaluation.EvalResult`; with
    ``grader_episodes`` (the notebook's ``config.eval_episodes``), it also reports the chance
    that the grader's own evaluation reaches the criterion."""
    check_reward(
        check,
        float(result.mean),
        threshold,
        n_episodes=len(result.returns),
        returns=result.returns,
        grader_episodes=grader_episodes,
    )


def expect_values(
    check: str,
    what: str,
    got: Any,
    expected: Any,
    *,
    mistakes: Sequence[tuple[Any, str]] = (),
    hint: str | None = None,
    case: str | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-5,
) -> None:
    """Raise :func:`~course_lib.exercises.compare.values_finding`'s finding, if any: like
    :func:`expect_close`, but a wrong answer that equals a known mistake names it.

    Examples:
        >>> expect_values("demo", "G", [1.0, 0.5], [1.5, 1.0],
        ...               mistakes=[([1.0, 0.5], "accumulate from the end")])
        Traceback (most recent call last):
        ...
        course_lib.checks.core.CheckFailed: [demo] G: wrong value at index 0 (largest error 0.5).
          expected: [1.5 1. ]
          got:      [1.  0.5]
          likely bug: accumulate from the end
    """
    found = values_finding(
        what, got, expected, mistakes=mistakes, hint=hint, case=case, atol=atol, rtol=rtol
    )
    fail_on(check, found)
