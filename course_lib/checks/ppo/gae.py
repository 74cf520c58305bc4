"""The check of compute_gae

Part of :mod:`course_lib.checks.ppo`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib.checks.core import fail_on, passed
from course_lib.exercises.ppo.gae import (
    diagnose_compute_gae,
)


def check_compute_gae(compute_gae: Callable[..., Any]) -> None:
    """Check ``compute_gae(next_value, rewards, masks, values, gamma, tau)`` on known rollouts.

    Every entry is a tensor of shape ``(n_envs, 1)``; the result is a list of
    returns (advantage + value), one per step.
    """
    name = "check_compute_gae"
    fail_on(name, diagnose_compute_gae(compute_gae))
    passed(
        name,
        "backwards, gamma and tau in their places, episode ends respected, "
        "returns = advantages + values",
    )
