"""Visible checks for notebook 01: actor-critic with one two-headed network; the diagnoses
of :mod:`course_lib.exercises.actor_critic` on its visible cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.checks.core import check_eval_result as check_reward
from course_lib.checks.core import fail_on, passed
from course_lib.exercises.actor_critic import (
    ACTOR_CRITIC_CASES,
    RETURN_CASES,
    diagnose_action_log_probs,
    diagnose_actor_critic,
    diagnose_actor_critic_loss,
    diagnose_normalized_returns,
    diagnose_normalized_returns_edges,
    diagnose_num_hidden,
)

__all__ = [
    "check_action_log_probs",
    "check_actor_critic",
    "check_actor_critic_loss",
    "check_normalized_returns",
    "check_reward",
]


def check_actor_critic(ActorCritic: Callable[..., torch.nn.Module]) -> None:
    """Check ``ActorCritic(num_inputs, num_actions, num_hidden=128)`` and its forward pass."""
    name = "check_actor_critic"
    for case in ACTOR_CRITIC_CASES:
        fail_on(name, diagnose_actor_critic(ActorCritic, case))
    fail_on(name, diagnose_num_hidden(ActorCritic))
    passed(name, "two heads on a shared trunk, probabilities sum to 1, value is (B, 1)")


def check_action_log_probs(action_log_probs: Callable[[torch.Tensor, torch.Tensor], Any]) -> None:
    """Check ``action_log_probs(action_probs (T, A), actions (T,)) -> log_probs (T,)``."""
    name = "check_action_log_probs"
    fail_on(name, diagnose_action_log_probs(action_log_probs))
    passed(name, "log-probabilities of the taken actions, with gradient")


def check_normalized_returns(normalized_returns: Callable[..., Any]) -> None:
    """Check ``normalized_returns(rewards, gamma, eps=1e-8) -> Tensor (T,)``."""
    name = "check_normalized_returns"
    for case in RETURN_CASES:
        fail_on(name, diagnose_normalized_returns(normalized_returns, case))
    fail_on(name, diagnose_normalized_returns_edges(normalized_returns))
    passed(name, "discounted from each step, normalized with the population std")


def check_actor_critic_loss(actor_critic_loss: Callable[..., Any]) -> None:
    """Check ``actor_critic_loss(log_probs (T,), values (T,), returns (T,)) -> scalar``."""
    name = "check_actor_critic_loss"
    fail_on(name, diagnose_actor_critic_loss(actor_critic_loss))
    passed(name, "advantage detached, Huber critic, target carries no gradient")
