"""How the grader judges notebook 04's observations: the manifest and its judges.

Each data exercise is read by its diagnosis (``diagnose_*``) on the record the probe
emitted and the case the grader chose (the reference's); the networks are exported and
probed by :mod:`.networks`; the trained policy is played against the notebook's criterion.

Part of :mod:`course_lib.exercises.ddpg`.
"""

from __future__ import annotations

from typing import Any

from course_lib.exercises.compare import each_record
from course_lib.exercises.ddpg.agent_step import diagnose_agent_step
from course_lib.exercises.ddpg.ou_noise import diagnose_ou_noise
from course_lib.exercises.ddpg.replay_buffer import diagnose_replay_buffer
from course_lib.exercises.ddpg.soft_update import diagnose_soft_update
from course_lib.exercises.ddpg.update_model import diagnose_update_model
from course_lib.exercises.finding import Finding
from course_lib.exercises.manifest import (
    Close,
    Diagnosed,
    Entry,
    Given,
    NetworkProbe,
    PolicyCriterion,
    judge_by,
)

__all__ = ["GIVEN", "MANIFEST", "judge_replay_buffer"]


def judge_replay_buffer(student: Any, reference: Any) -> Finding | None:
    """Each of the probe's buffers, read with :func:`diagnose_replay_buffer`."""
    cases = student.get("cases") if isinstance(student, dict) else None
    return each_record(
        cases,
        reference["cases"],
        lambda got, ref, _: judge_by(diagnose_replay_buffer)(got, ref),
        "buffer",
    )


_NETWORKS = "course_lib.exercises.ddpg.networks"

MANIFEST: dict[str, Entry] = {
    "ddpg_replay_buffer": Diagnosed(
        judge_replay_buffer,
        "len counts what is stored; uniform batches of batch_size, aligned; the ring wraps",
    ),
    "ddpg_ou_noise": Diagnosed(
        judge_by(diagnose_ou_noise), "a mean-reverting process with normal increments; reset to mu"
    ),
    "action_normalizer": Close(),
    "ddpg_actor": NetworkProbe("deterministic_actor", f"{_NETWORKS}:deterministic_actor_problems"),
    "ddpg_critic": NetworkProbe("state_action_critic", f"{_NETWORKS}:state_action_critic_problems"),
    "ddpg_soft_update": Diagnosed(
        judge_by(diagnose_soft_update), "every target parameter moves tau of the way, in place"
    ),
    "ddpg_agent_step": Diagnosed(
        judge_by(diagnose_agent_step),
        "random warm-up, clipped noisy actions in training, greedy tests; terminated stored",
    ),
    "ddpg_update_model": Diagnosed(
        judge_by(diagnose_update_model),
        "TD target from the target networks without gradient, masked; actor climbs Q; soft "
        "updates; two floats returned",
    ),
    "trained_policy": PolicyCriterion(),
    "trained_policy_mountaincar": PolicyCriterion(),
}

GIVEN: tuple[Given, ...] = (
    Given(
        "ReplayBuffer",
        "course_lib.buffers:ReplayBuffer",
        answers=("ddpg_replay_buffer",),
        methods=("__init__", "store", "sample_batch", "__len__"),
    ),
    Given(
        "OUNoise",
        "course_lib.noise:OUNoise",
        answers=("ddpg_ou_noise",),
        methods=("reset", "sample"),
    ),
)
"""Notebook 05 gives both (``cl.ReplayBuffer``, ``cl.OUNoise``); in notebook 04 they are the
student's to write, and the package's versions earn nothing there."""
