"""Judging observations, outside the student's kernel.

A test cell's observations are compared with the reference solution's observations on
the same grader inputs. Most are judged by :func:`close` (same structure, numbers equal
within tolerance). Open-ended exercises get a property judge that accepts every correct
variant; networks and trained policies arrive as exported programs and are probed or
evaluated by the grader itself (:mod:`course_lib.instructor.grading.programs`), never trusted as
numbers.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from course_lib.instructor.grading import judges_ddpg, judges_td3
from course_lib.instructor.grading.verdicts import Judge, Verdict, _diff, close

__all__ = ["JUDGES", "Verdict", "close", "judge_observation"]


def a2c_losses_properties(student: Any, reference: Any) -> Verdict:
    """Any correct A2C loss: judged by properties on the reference's inputs.

    The student's record must be for the same inputs as the reference (the grader's),
    and for each input set: the actor loss's gradient is zero on values and returns and
    a positive multiple of -(returns - values) on log_probs; the critic loss's gradient is
    zero on log_probs and returns and has the sign of (values - returns) on values; the
    critic loss is 0 when values equal returns; values of shape (T, 1) give the same losses.
    """
    if not isinstance(student, list) or len(student) != len(reference):
        return Verdict(0.0, "the observation does not have one record per input set")
    for k, (got, ref) in enumerate(zip(student, reference, strict=True)):
        where = f"input set {k}"
        try:
            if _diff(ref["inputs"], got["inputs"], "", 1e-6, 1e-7) is not None:
                return Verdict(0.0, f"{where}: the inputs are not the grader's")
            _, values, returns = (np.asarray(x, dtype=np.float64) for x in ref["inputs"])
            (g_a_lp, g_a_v, g_a_r), (g_c_lp, g_c_v, g_c_r) = (
                [np.asarray(g, dtype=np.float64) for g in grads] for grads in got["grads"]
            )
            actor_loss, critic_loss = (float(v) for v in got["values"])
            column = [float(v) for v in got["column_values"]]
            at_target = float(got["critic_at_target"])
        except (KeyError, TypeError, ValueError) as err:
            return Verdict(0.0, f"{where}: malformed observation ({type(err).__name__})")
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
                _positive_multiple(g_a_lp, -advantage),
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
                return Verdict(0.0, f"{where}: {why}")
    return Verdict(1.0, "every property of a correct A2C loss holds")


def _positive_multiple(g: np.ndarray, a: np.ndarray) -> bool:
    denom = float(a @ a)
    if denom == 0.0:
        return bool(np.allclose(g, 0))
    c = float(g @ a) / denom
    return c > 0 and bool(np.allclose(g, c * a, rtol=1e-4, atol=1e-6 * max(1.0, abs(c))))


def init_layer_uniform_properties(student: Any, reference: Any) -> Verdict:
    """Weights and biases within [-init_w, init_w], spread over it, the layer returned."""
    try:
        init_w = float(reference["init_w"])
        if not math.isclose(float(student["init_w"]), init_w):
            return Verdict(0.0, "the observation is not for the grader's init_w")
        weight = np.asarray(student["weight"], dtype=np.float64)
        bias = np.asarray(student["bias"], dtype=np.float64)
        returned = student["returned_layer"] is True
    except (KeyError, TypeError, ValueError) as err:
        return Verdict(0.0, f"malformed observation ({type(err).__name__})")
    if weight.size != len(reference["weight"]) or bias.size != len(reference["bias"]):
        return Verdict(0.0, "the layer's parameters have the wrong sizes")
    if not returned:
        return Verdict(0.0, "the function does not return the layer it initialized")
    for what, x in (("weight", weight), ("bias", bias)):
        if not np.all(np.isfinite(x)) or np.abs(x).max() > init_w * (1 + 1e-6):
            return Verdict(0.0, f"{what} has entries outside [-init_w, init_w]")
        if x.max() - x.min() < 1.5 * init_w or abs(x.mean()) > 0.25 * init_w:
            return Verdict(0.0, f"{what} is not spread uniformly over [-init_w, init_w]")
    return Verdict(1.0, "weights and biases uniform in [-init_w, init_w]")


def ppo_iter_properties(student: Any, reference: Any) -> Verdict:
    """Every epoch covers every sample exactly once; arrays aligned; epochs reshuffled."""
    if not isinstance(student, list) or len(student) != len(reference):
        return Verdict(0.0, "the observation does not have one record per case")
    for k, (got, ref) in enumerate(zip(student, reference, strict=True)):
        where = f"case {k}"
        try:
            batch, epochs = int(ref["batch"]), int(ref["epochs"])
            if int(got["batch"]) != batch or int(got["epochs"]) != epochs:
                return Verdict(0.0, f"{where}: not the grader's case")
            flat = [int(i) for mb in got["minibatches"] for i in mb]
            aligned = got["aligned"] is True
            sizes = [len(mb) for mb in got["minibatches"]]
        except (KeyError, TypeError, ValueError) as err:
            return Verdict(0.0, f"{where}: malformed observation ({type(err).__name__})")
        if not aligned:
            return Verdict(0.0, f"{where}: the arrays of a minibatch are not aligned")
        if len(flat) != batch * epochs:
            return Verdict(
                0.0,
                f"{where}: an epoch repeats or drops samples ({len(flat)} samples yielded over "
                f"{epochs} epochs of {batch}, not {batch * epochs})",
            )
        if max(sizes, default=0) > int(ref["mini"]):
            return Verdict(0.0, f"{where}: a minibatch is larger than mini_batch_size")
        chunks = [flat[e * batch : (e + 1) * batch] for e in range(epochs)]
        if any(sorted(c) != list(range(batch)) for c in chunks):
            return Verdict(0.0, f"{where}: an epoch repeats or drops samples")
        if len({tuple(c) for c in chunks}) == 1:
            return Verdict(0.0, f"{where}: every epoch visits the samples in the same order")
    return Verdict(1.0, "every sample exactly once per epoch, reshuffled, aligned")


def ppo_losses_properties(student: Any, reference: Any) -> Verdict:
    """The clipped surrogate equals the reference's; any critic regression is accepted.

    Actor: the loss value and its gradient on log_probs match the reference's, and no
    gradient reaches old_log_probs. Critic: no gradient to log_probs or returns, the
    gradient on values has the sign of (values - returns), 0 when values equal returns.
    """
    if not isinstance(student, list) or len(student) != len(reference):
        return Verdict(0.0, "the observation does not have one record per input set")
    for k, (got, ref) in enumerate(zip(student, reference, strict=True)):
        where = f"input set {k}"
        try:
            if _diff(ref["residuals"], got["residuals"], "", 1e-6, 1e-7) is not None:
                return Verdict(0.0, f"{where}: the inputs are not the grader's")
            residuals = np.asarray(ref["residuals"], dtype=np.float64)
            g_values = np.asarray(got["critic_grad_values"], dtype=np.float64)
            checks = [
                (
                    close(got["actor_loss"], ref["actor_loss"]).passed,
                    "the actor loss differs from the clipped surrogate with entropy bonus",
                ),
                (
                    close(got["actor_grad_log_probs"], ref["actor_grad_log_probs"]).passed,
                    "the actor loss's gradient on log_probs is wrong (clip or min misplaced)",
                ),
                (
                    np.allclose(got["actor_grad_old_log_probs"], 0),
                    "the actor loss sends gradient into old_log_probs (detach them)",
                ),
                (
                    np.allclose(got["critic_grad_log_probs"], 0)
                    and np.allclose(got["critic_grad_returns"], 0),
                    "the critic loss sends gradient to log_probs or returns",
                ),
                (
                    bool(
                        np.all(
                            (np.sign(g_values) == np.sign(residuals)) | (np.abs(residuals) < 1e-9)
                        )
                    ),
                    "the critic loss does not pull values toward returns",
                ),
                (
                    abs(float(got["critic_at_target"])) < 1e-6,
                    "the critic loss is not 0 when values equal returns",
                ),
            ]
        except (KeyError, TypeError, ValueError) as err:
            return Verdict(0.0, f"{where}: malformed observation ({type(err).__name__})")
        for ok, why in checks:
            if not ok:
                return Verdict(0.0, f"{where}: {why}")
    return Verdict(1.0, "clipped surrogate right; critic regression with the right properties")


def agent_step_properties(student: Any, reference: Any) -> Verdict:
    """Masks and truncation bootstraps equal the reference's; the reward scale is free."""
    try:
        if student["scale_positive"] is not True:
            return Verdict(0.0, "the stored reward is not a positive multiple of the env's")
    except (KeyError, TypeError) as err:
        return Verdict(0.0, f"malformed observation ({type(err).__name__})")
    masks = close(student.get("masks"), reference["masks"])
    if not masks.passed:
        return Verdict(0.0, f"the stored masks differ at {masks.message}")
    boot = close(student.get("bootstrap"), reference["bootstrap"], rtol=1e-3, atol=1e-3)
    if not boot.passed:
        return Verdict(0.0, f"the truncation bootstrap is wrong at {boot.message}")
    return Verdict(1.0, "episode ends masked; truncated steps bootstrap from the final state")


JUDGES: dict[str, Judge] = {
    "a2c_losses": a2c_losses_properties,
    "init_layer_uniform": init_layer_uniform_properties,
    "ppo_iter": ppo_iter_properties,
    "ppo_losses": ppo_losses_properties,
    "agent_step": agent_step_properties,
}
"""Property judges by observation name; every other data observation uses :func:`close`."""


@functools.cache
def _all_judges() -> dict[str, Judge]:
    """:data:`JUDGES` and the notebooks' own judge modules."""
    return {**JUDGES, **judges_ddpg.JUDGES, **judges_td3.JUDGES}


def judge_observation(name: str, student: Any, reference: Any) -> Verdict:
    """Judge one data observation (programs are judged in
    :mod:`course_lib.instructor.grading.programs`)."""
    return _all_judges().get(name, close)(student, reference)
