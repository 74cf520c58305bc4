"""Visible checks for notebook 03: PPO (clip) with GAE on Pendulum-v1.

The numeric checks use frozen cases with exactly known answers; the network
and loss checks test properties every correct variant has (other hidden
sizes, a state-independent log-std parameter, a clipped value loss), so they
accept any correct design and name the typical bugs.
"""

from __future__ import annotations

from course_lib.checks.core import check_eval_result as check_reward
from course_lib.checks.ppo.action_normalizer import (
    check_action_normalizer,
)
from course_lib.checks.ppo.agent_step import (
    check_agent_step,
)
from course_lib.checks.ppo.gae import (
    check_compute_gae,
)
from course_lib.checks.ppo.losses import (
    check_ppo_losses,
)
from course_lib.checks.ppo.minibatches import (
    check_ppo_iter,
)
from course_lib.checks.ppo.networks import (
    check_init_layer_uniform,
    check_ppo_actor,
    check_ppo_critic,
)
from course_lib.checks.ppo.update_model import (
    check_update_model,
)

__all__ = [
    "check_action_normalizer",
    "check_agent_step",
    "check_compute_gae",
    "check_init_layer_uniform",
    "check_ppo_actor",
    "check_ppo_critic",
    "check_ppo_iter",
    "check_ppo_losses",
    "check_reward",
    "check_update_model",
]
