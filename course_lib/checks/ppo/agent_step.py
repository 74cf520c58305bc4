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
    """Raise :func:`~course_lib.exercises.ppo.agent_step.diagnose_agent_step`'s finding: what
    ``PPOAgent.step`` stores at episode ends (masks; the truncated step bootstraps)."""
    name = "check_agent_step"
    fail_on(name, diagnose_agent_step(PPOAgent, **agent_kwargs))
    passed(name, "episode ends masked; the truncated step bootstraps from its final state")
