"""Notebook 02's graded exercises (A2C on CartPole-v1).

The actor and the critic are exported and probed by the grader; ``compute_returns`` and
``evaluate_actions`` are judged equal to the reference on the grader's cases
(:mod:`course_lib.probes.a2c`); ``a2c_losses`` by the properties every correct A2C loss has
(:func:`judge_a2c_losses`, with the visible check's :func:`positive_multiple`); the trained
policy is played against the notebook's criterion.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_lib.exercises.compare import each_record, first_difference
from course_lib.exercises.finding import Finding
from course_lib.exercises.manifest import Close, Diagnosed, Entry, NetworkProbe, PolicyCriterion

__all__ = ["MANIFEST", "judge_a2c_losses", "positive_multiple"]


def positive_multiple(g: np.ndarray, a: np.ndarray) -> float | None:
    """The c > 0 with g = c * a (to 1e-4 relative), if there is one, else None.

    With ``a`` zero, any c fits a zero ``g``: 1.0 is returned for it.

    Examples:
        >>> positive_multiple(np.array([2.0, -4.0]), np.array([1.0, -2.0]))
        2.0
        >>> positive_multiple(np.array([-2.0, 4.0]), np.array([1.0, -2.0])) is None
        True
    """
    denom = float(a @ a)
    if denom == 0.0:
        return 1.0 if np.allclose(g, 0) else None
    c = float(g @ a) / denom
    if c <= 0 or not np.allclose(g, c * a, rtol=1e-4, atol=1e-6 * max(1.0, abs(c))):
        return None
    return c


def judge_a2c_losses(student: Any, reference: Any) -> Finding | None:
    """Any correct A2C loss: judged by properties on the reference's inputs.

    The student's record must be for the same inputs as the reference (the grader's),
    and for each input set: the actor loss's gradient is zero on values and returns and
    a positive multiple of -(returns - values) on log_probs; the critic loss's gradient is
    zero on log_probs and returns and has the sign of (values - returns) on values; the
    critic loss is 0 when values equal returns; values of shape (T, 1) give the same losses.
    """
    return each_record(student, reference, _a2c_losses_record, "input set")


def _a2c_losses_record(got: Any, ref: Any, where: str) -> Finding | None:
    try:
        if first_difference(ref["inputs"], got["inputs"], "", 1e-6, 1e-7) is not None:
            return Finding(f"{where}: the inputs are not the grader's")
        _, values, returns = (np.asarray(x, dtype=np.float64) for x in ref["inputs"])
        (g_a_lp, g_a_v, g_a_r), (g_c_lp, g_c_v, g_c_r) = (
            [np.asarray(g, dtype=np.float64) for g in grads] for grads in got["grads"]
        )
        actor_loss, critic_loss = (float(v) for v in got["values"])
        column = [float(v) for v in got["column_values"]]
        at_target = float(got["critic_at_target"])
    except (KeyError, TypeError, ValueError) as err:
        return Finding(f"{where}: malformed observation ({type(err).__name__})")
    advantage = returns - values
    checks = [
        (
            np.allclose(g_a_v, 0) and np.allclose(g_a_r, 0),
            "actor loss sends gradient to values/returns",
        ),
        (
            np.allclose(g_c_lp, 0) and np.allclose(g_c_r, 0),
            "critic loss sends gradient to log_probs/returns",
        ),
        (
            positive_multiple(g_a_lp, -advantage) is not None,
            "actor gradient is not a positive multiple of -advantage",
        ),
        (
            bool(
                np.all(
                    (np.sign(g_c_v) == np.sign(values - returns))
                    | (np.abs(values - returns) < 1e-9)
                )
            ),
            "critic gradient does not pull values toward returns",
        ),
        (abs(at_target) < 1e-6, "critic loss is not 0 when values equal returns"),
        (
            math.isclose(column[0], actor_loss, rel_tol=1e-5, abs_tol=1e-6)
            and math.isclose(column[1], critic_loss, rel_tol=1e-5, abs_tol=1e-6),
            "values of shape (T, 1) change the losses (broadcasting)",
        ),
    ]
    for ok, why in checks:
        if not ok:
            return Finding(f"{where}: {why}")
    return None


MANIFEST: dict[str, Entry] = {
    "actor": NetworkProbe("actor"),
    "critic": NetworkProbe("critic"),
    "compute_returns": Close(),
    "evaluate_actions": Close(),
    "a2c_losses": Diagnosed(judge_a2c_losses, "every property of a correct A2C loss holds"),
    "trained_policy": PolicyCriterion(),
}
