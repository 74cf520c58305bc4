"""How the grader judges notebook 05's observations: the manifest and the ``td3_train`` judge.

``td3_train`` holds the raw record of the student's ``TD3.train`` on stand-in networks
(see :mod:`course_lib.probes.td3`). It is read by the same analyses as the visible check
(:func:`~course_lib.exercises.td3.analyses.analyze_train`), on the grader's inputs, drawn
again here from the seed the reference's record carries; the student's record must carry
the same seed and the same fingerprint of the inputs. The networks are exported and probed
by :mod:`.networks`; each trained policy is played against its task's criterion.

Part of :mod:`course_lib.exercises.td3`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.exercises.compare import first_difference
from course_lib.exercises.finding import Finding
from course_lib.exercises.manifest import Diagnosed, Entry, NetworkProbe, PolicyCriterion
from course_lib.exercises.td3.analyses import analyze_train
from course_lib.exercises.td3.cases import cases_digest, train_cases

__all__ = ["MANIFEST", "judge_td3_train"]


def judge_td3_train(student: Any, reference: Any) -> Finding | None:
    """Every property of a correct ``TD3.train``, read from the student's runs.

    The clipped double-Q target (q1' alone with double_q=False) from the target networks
    without gradient, masked and discounted, both critics regressed on it (any regression
    loss); the smoothing noise per sample and dimension, scaled, clipped, on the target
    actor's action, the sum clamped to ±max_action; the actor loss -Q1(s, actor(s)).mean()
    and a step that raises Q1; the actor and the targets updated every policy_freq calls,
    the targets by tau; ``(critic_loss, actor_loss | None)`` returned; ``select_action``
    equal to the reference's on the same stand-in actor.

    Raises:
        RuntimeError: the reference's record cannot be rebuilt here (the grader's fault).
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
        if not isinstance(student, dict) or first_difference(
            {"seed": seed, "cases": reference["cases"]}, student, "", 0, 0
        ):
            return Finding("the runs are not on the grader's inputs")
        runs = student["runs"]
        problem = analyze_train(cases, {key: runs[key] for key in cases})
        select = first_difference(reference["select_action"], student.get("select_action"))
    except Exception as err:  # any shape of forged or broken data is the submission's
        return Finding(f"malformed observation ({type(err).__name__}: {err})"[:300])
    if problem is not None:
        return Finding(problem.message_where_first(), mistake=problem.mistake)
    if select is not None:
        return Finding(
            f"select_action is not the actor's deterministic action as an array of shape "
            f"(action_dim,) ({select})"
        )
    return None


_NETWORKS = "course_lib.exercises.td3.networks"

MANIFEST: dict[str, Entry] = {
    "td3_actor": NetworkProbe("td3_actor", f"{_NETWORKS}:td3_actor_problems"),
    "td3_critic": NetworkProbe("twin_critic", f"{_NETWORKS}:twin_critic_problems"),
    "td3_train": Diagnosed(
        judge_td3_train,
        "clipped double-Q target without gradient, clipped smoothing noise on the target "
        "action, delayed actor and soft target updates",
    ),
    "trained_policy_pendulum": PolicyCriterion(),
    "trained_policy_mountaincar": PolicyCriterion(),
}
