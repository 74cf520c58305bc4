"""The check of the agent's step: termination vs truncation

Part of :mod:`course_lib.checks.ppo`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib.checks.core import fail_on, passed
from course_lib.exercises.ppo.agent_step import (
    diagnose_agent_step,
)


def check_agent_step(PPOAgent: Callable[..., Any], **agent_kwargs: Any) -> None:
    """Check what ``PPOAgent.step`` stores at episode ends, on two toy envs.

    Env 0 is *truncated* at step 3 (a time limit: the task goes on), env 1
    *terminates* at step 2. Every reward is 1, gamma is 0.9 and the critic is
    replaced by one with known values V = 10 + t. After each ``step`` the agent's
    ``rewards[-1]`` and ``masks[-1]`` must be: mask 0 at any episode end;
    reward 1 everywhere except at the truncation, where it bootstraps from the
    final state's value: 1 + 0.9 * V(final state) = 1 + 0.9 * 13 = 12.7. A
    positive reward scale c is accepted (c, and c + 11.7 at the truncation).
    """
    name = "check_agent_step"
    fail_on(name, diagnose_agent_step(PPOAgent, **agent_kwargs))
    passed(name, "episode ends masked; the truncated step bootstraps from its final state")
