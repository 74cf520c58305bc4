"""Probes for notebook 04: DDPG on Pendulum-v1.

Each probe runs a student's class or function on a case drawn from the grader's seed and
returns what came out as plain data: lengths, sampled batches, noise paths, parameters
after an update, the gradient that reached each output of a stand-in network. Nothing is
judged here; :mod:`course_lib.exercises.ddpg` reads the data outside the kernel,
taking the case itself from the reference solution's observation.

The agent probes build the student's ``DDPGAgent`` on a tiny toy env and swap in
stand-ins whose behaviour is known exactly: linear networks that log each call (inputs,
and the gradient that later flows into the output), a noise process that replays a
script, and a memory that records what is stored and serves a fixed batch. Optimizers
are replaced by plain SGD with learning rate 0, so the networks stay as they were and
only the target networks' soft update moves parameters.

The visible checks of :mod:`course_lib.checks.ddpg` run the same ``run_*`` functions on
fixed cases, so that a student sees the grader's diagnosis while working.
"""

from __future__ import annotations

from course_lib.probes.ddpg.agent_step import (
    agent_step_case,
    probe_agent_step,
    run_agent_step,
)
from course_lib.probes.ddpg.base import (
    Record,
    Run,
)
from course_lib.probes.ddpg.networks import (
    probe_ddpg_actor,
    probe_ddpg_critic,
)
from course_lib.probes.ddpg.ou_noise import (
    ou_noise_case,
    probe_ou_noise,
    run_ou_noise,
)
from course_lib.probes.ddpg.replay_buffer import (
    probe_replay_buffer,
    replay_buffer_case,
    run_replay_buffer,
)
from course_lib.probes.ddpg.soft_update import (
    probe_soft_update,
    run_soft_update,
    soft_update_case,
)
from course_lib.probes.ddpg.update_model import (
    _bootstraps,
    probe_update_model,
    run_update_model,
    update_model_case,
)
from course_lib.probes.ppo import probe_action_normalizer

__all__ = [
    "Record",
    "Run",
    "_bootstraps",
    "agent_step_case",
    "ou_noise_case",
    "probe_action_normalizer",
    "probe_agent_step",
    "probe_ddpg_actor",
    "probe_ddpg_critic",
    "probe_ou_noise",
    "probe_replay_buffer",
    "probe_soft_update",
    "probe_update_model",
    "replay_buffer_case",
    "run_agent_step",
    "run_ou_noise",
    "run_replay_buffer",
    "run_soft_update",
    "run_update_model",
    "soft_update_case",
    "update_model_case",
]
