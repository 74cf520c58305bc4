"""The check of the action wrapper (normalized actions to the env's range)

Part of :mod:`course_lib.checks.ppo`."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym

from course_lib.checks.core import fail_on, passed
from course_lib.exercises.ppo.action_normalizer import (
    diagnose_action_normalizer,
)


def check_action_normalizer(ActionNormalizer: Callable[[gym.Env], gym.ActionWrapper]) -> None:
    """Check ``ActionNormalizer(env)``: ``action`` maps [-1, 1] onto [low, high], and back."""
    name = "check_action_normalizer"
    fail_on(name, diagnose_action_normalizer(ActionNormalizer))
    passed(name, "[-1, 1] maps onto [low, high] and back, asymmetric ranges included")
