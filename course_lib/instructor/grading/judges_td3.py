"""Judges of notebook 05's observations (TD3), outside the student's kernel.

``td3_train`` holds the raw record of the student's ``TD3.train`` on stand-in networks
(see :mod:`course_lib.probes.td3`). It is read by the same analyses as the visible
check (:func:`course_lib.exercises.td3.analyze_train`), on the grader's inputs, drawn again
here from the seed the reference's record carries; the student's record must carry the
same seed and the same fingerprint of the inputs.
The networks (``td3_actor``, ``td3_critic``) are exported programs, judged by
:mod:`course_lib.instructor.grading.programs_td3`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.exercises.td3 import analyze_train, cases_digest, train_cases
from course_lib.instructor.grading.verdicts import Judge, Verdict, _diff, close

__all__ = ["JUDGES", "td3_train_properties"]


def td3_train_properties(student: Any, reference: Any) -> Verdict:
    """Every property of a correct ``TD3.train``, read from the student's runs.

    The clipped double-Q target (q1' alone with double_q=False) from the target networks
    without gradient, masked and discounted, both critics regressed on it (any regression
    loss); the smoothing noise per sample and dimension, scaled, clipped, on the target
    actor's action, the sum clamped to ±max_action; the actor loss -Q1(s, actor(s)).mean()
    and a step that raises Q1; the actor and the targets updated every policy_freq calls,
    the targets by tau; ``(critic_loss, actor_loss | None)`` returned; ``select_action``
    equal to the reference's on the same stand-in actor.
    """
    try:
        seed = reference["seed"]
        cases = train_cases(np.random.default_rng(seed), vary=True)
        if cases_digest(cases) != reference["cases"]:
            raise RuntimeError(
                "the grader cannot rebuild the inputs of the reference's td3_train runs: the "
                "kernel and the grader must run the same course_lib and numpy"
            )
    except (KeyError, TypeError, ValueError) as err:
        raise RuntimeError(f"malformed reference observation td3_train: {err}") from err
    try:
        if not isinstance(student, dict) or _diff(
            {"seed": seed, "cases": reference["cases"]}, student, "", 0, 0
        ):
            return Verdict(0.0, "the runs are not on the grader's inputs")
        runs = student["runs"]
        problem = analyze_train(cases, {key: runs[key] for key in cases})
        select = close(student.get("select_action"), reference["select_action"])
    except Exception as err:  # any shape of forged or broken data is the submission's
        return Verdict(0.0, f"malformed observation ({type(err).__name__}: {err})"[:300])
    if problem is not None:
        return Verdict(0.0, problem.message_where_first())
    if not select.passed:
        return Verdict(
            0.0,
            f"select_action is not the actor's deterministic action as an array of shape "
            f"(action_dim,) ({select.message})",
        )
    return Verdict(
        1.0,
        "clipped double-Q target without gradient, clipped smoothing noise on the target "
        "action, delayed actor and soft target updates",
    )


JUDGES: dict[str, Judge] = {"td3_train": td3_train_properties}
"""Property judges of notebook 05 by observation name (the networks are programs)."""
