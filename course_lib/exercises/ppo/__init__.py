"""Notebook 03's graded exercises (PPO with GAE on Pendulum-v1), one module per exercise.

Each module holds an exercise's visible cases and the diagnoses that the visible checks of
:mod:`course_lib.checks.ppo` raise (they take the student's code and run it, as they need
the live objects). :mod:`.manifest` says how the grader judges each observation of the
hidden probes (:mod:`course_lib.probes.ppo`), with the judges of the exercises that have
several correct variants.
"""

from __future__ import annotations

from course_lib.exercises.ppo.action_normalizer import diagnose_action_normalizer
from course_lib.exercises.ppo.agent_step import diagnose_agent_step
from course_lib.exercises.ppo.gae import diagnose_compute_gae
from course_lib.exercises.ppo.losses import diagnose_ppo_losses
from course_lib.exercises.ppo.manifest import (
    MANIFEST,
    judge_agent_step,
    judge_init_layer_uniform,
    judge_ppo_iter,
    judge_ppo_losses,
)
from course_lib.exercises.ppo.minibatches import diagnose_ppo_iter
from course_lib.exercises.ppo.networks import (
    diagnose_init_layer_uniform,
    diagnose_ppo_actor,
    diagnose_ppo_critic,
)
from course_lib.exercises.ppo.update_model import diagnose_update_model, update_model_case

__all__ = [
    "MANIFEST",
    "diagnose_action_normalizer",
    "diagnose_agent_step",
    "diagnose_compute_gae",
    "diagnose_init_layer_uniform",
    "diagnose_ppo_actor",
    "diagnose_ppo_critic",
    "diagnose_ppo_iter",
    "diagnose_ppo_losses",
    "diagnose_update_model",
    "judge_agent_step",
    "judge_init_layer_uniform",
    "judge_ppo_iter",
    "judge_ppo_losses",
    "update_model_case",
]
