"""Visible checks for notebook 02: advantage actor-critic (A2C); the diagnoses of
:mod:`course_lib.exercises.a2c` on its visible cases.

Students may write any correct A2C variant (MSE or Huber critic, sums or
means, raw or normalized returns, a bootstrapped target): the loss checks test
properties every correct variant has, not one recipe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.checks.core import check_eval_result as check_reward
from course_lib.checks.core import fail_on, passed

__all__ = [
    "check_a2c_losses",
    "check_actor",
    "check_compute_returns",
    "check_critic",
    "check_evaluate_actions",
    "check_reward",
]

from course_lib.exercises.a2c import (
    diagnose_a2c_losses,
    diagnose_actor,
    diagnose_compute_returns,
    diagnose_critic,
    diagnose_evaluate_actions,
)


def check_actor(Actor: Callable[..., torch.nn.Module]) -> None:
    """Check ``Actor(num_inputs, num_actions)``: ``forward(obs)`` returns a ``Categorical``."""
    name = "check_actor"
    fail_on(name, diagnose_actor(Actor))
    passed(name, "a Categorical over the actions, one per observation, with gradient")


def check_critic(Critic: Callable[..., torch.nn.Module]) -> None:
    """Check ``Critic(num_inputs)``: ``forward(obs)`` returns V of shape (B, 1)."""
    name = "check_critic"
    fail_on(name, diagnose_critic(Critic))
    passed(name, "V(obs) has shape (B, 1) and gradient")


def check_compute_returns(compute_returns: Callable[[list[float], float], Any]) -> None:
    """Check ``compute_returns(rewards, gamma) -> list[float]`` on known reward lists."""
    name = "check_compute_returns"
    fail_on(name, diagnose_compute_returns(compute_returns))
    passed(name, "discounted from each step, accumulated backwards; gamma 0 and 1 right")


def check_evaluate_actions(evaluate_actions: Callable[..., Any]) -> None:
    """Check ``evaluate_actions(actor, critic, obs (T, n), actions (T,))``.

    It must return ``(log_probs (T,), values (T,))``.
    """
    name = "check_evaluate_actions"
    fail_on(name, diagnose_evaluate_actions(evaluate_actions))
    passed(name, "log-probabilities of the taken actions, values flattened to (T,)")


def check_a2c_losses(a2c_losses: Callable[..., Any]) -> None:
    """Check ``a2c_losses(log_probs (T,), values (T,), returns (T,)) -> (actor_loss, critic_loss)``.

    Any correct variant passes: MSE or Huber, sum or mean, any positive scale, advantages
    normalized over the batch (detached).
    """
    name = "check_a2c_losses"
    fail_on(name, diagnose_a2c_losses(a2c_losses))
    passed(name, "advantage detached, target detached, critic pulled toward the returns")
