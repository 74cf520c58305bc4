"""The check of the PPO losses

Part of :mod:`course_lib.checks.ppo`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib.checks.core import fail_on, passed
from course_lib.exercises.ppo.losses import (
    diagnose_ppo_losses,
)


def check_ppo_losses(ppo_losses: Callable[..., Any]) -> None:
    """Check ``ppo_losses``: the clipped surrogate with entropy bonus, and a critic regression.

    Signature: ``ppo_losses(log_probs, old_log_probs, advantages, entropy, values,
    old_values, returns, epsilon, entropy_weight) -> (actor_loss, critic_loss)``.
    The actor loss has one right value on the frozen case; the critic loss may
    be MSE, Huber or a clipped value loss: it is checked by its properties.
    """
    name = "check_ppo_losses"
    fail_on(name, diagnose_ppo_losses(ppo_losses))
    passed(
        name,
        "clipped surrogate (min, ratio clipped, old log-probs constant) with entropy "
        "bonus; critic regression onto constant returns",
    )
