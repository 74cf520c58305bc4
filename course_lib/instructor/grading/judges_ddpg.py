"""Judging notebook 04's observations (DDPG), outside the student's kernel.

The judges in :data:`JUDGES` run an exercise's diagnosis
(:mod:`course_lib.exercises.ddpg`) on the record a probe emitted and the case the grader
chose, and turn its :class:`~course_lib.exercises.ddpg.Finding` into a
:class:`~course_lib.instructor.grading.judges.Verdict`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib.exercises.ddpg import (
    Finding,
    Record,
    diagnose_agent_step,
    diagnose_ou_noise,
    diagnose_replay_buffer,
    diagnose_soft_update,
    diagnose_update_model,
)
from course_lib.instructor.grading.verdicts import Judge, Verdict, _diff

__all__ = ["JUDGES", "replay_buffer_judge"]


# ---------------------------------------------------------------------------
# Judges
# ---------------------------------------------------------------------------


def _verdict(
    diagnose: Callable[[Record, Record], Finding | None], student: Any, ref: Any
) -> Verdict:
    if not isinstance(student, dict):
        return Verdict(0.0, "malformed observation (not a mapping)")
    if _diff(ref["case"], student.get("case"), "", 1e-9, 1e-12) is not None:
        return Verdict(0.0, "the observation is not for the grader's inputs")
    try:
        found = diagnose(student, ref["case"])
    except Exception as err:  # a malformed (or forged) record earns nothing, and says so
        return Verdict(0.0, f"malformed observation ({type(err).__name__}: {err})")
    return Verdict(0.0, found.message()) if found else Verdict(1.0, "")


def _judge(
    diagnose: Callable[[Record, Record], Finding | None], success: str
) -> Callable[[Any, Any], Verdict]:
    def judge(student: Any, reference: Any) -> Verdict:
        verdict = _verdict(diagnose, student, reference)
        return Verdict(1.0, success) if verdict.passed else verdict

    judge.__doc__ = f"Judge an observation with :func:`{diagnose.__name__}`."
    return judge


def replay_buffer_judge(student: Any, reference: Any) -> Verdict:
    """Each of the probe's buffers, judged with :func:`diagnose_replay_buffer`."""
    cases = student.get("cases") if isinstance(student, dict) else None
    if not isinstance(cases, list) or len(cases) != len(reference["cases"]):
        return Verdict(0.0, "the observation does not have one record per buffer")
    for got, ref in zip(cases, reference["cases"], strict=True):
        verdict = _verdict(diagnose_replay_buffer, got, ref)
        if not verdict.passed:
            return verdict
    return Verdict(
        1.0, "len counts what is stored; uniform batches of batch_size, aligned; the ring wraps"
    )


JUDGES: dict[str, Judge] = {
    "ddpg_replay_buffer": replay_buffer_judge,
    "ddpg_ou_noise": _judge(
        diagnose_ou_noise, "a mean-reverting process with normal increments; reset to mu"
    ),
    "ddpg_soft_update": _judge(
        diagnose_soft_update, "every target parameter moves tau of the way, in place"
    ),
    "ddpg_agent_step": _judge(
        diagnose_agent_step,
        "random warm-up, clipped noisy actions in training, greedy tests; terminated stored",
    ),
    "ddpg_update_model": _judge(
        diagnose_update_model,
        "TD target from the target networks without gradient, masked; actor climbs Q; soft "
        "updates; two floats returned",
    ),
}
"""Property judges of notebook 04, by observation name (``ddpg_actor`` and ``ddpg_critic``
are exported programs, judged by :mod:`course_lib.instructor.grading.programs_ddpg`)."""
