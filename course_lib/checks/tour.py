"""Visible checks for notebook 00, the gymnasium tour: the diagnoses of
:mod:`course_lib.exercises.tour` on its visible cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks.core import fail_on, passed
from course_lib.exercises.tour import (
    RUN_EPISODE_CASES,
    TD_CASES,
    diagnose_run_episode,
    diagnose_td_target,
    run_run_episode,
)

__all__ = ["check_run_episode", "check_td_target"]

RunEpisode = Callable[[Any, Callable[[np.ndarray], Any], int], tuple[float, int, bool, bool]]
TDTarget = Callable[[float, float, bool, bool, float], float]


def check_run_episode(run_episode: RunEpisode) -> None:
    """Check ``run_episode(env, policy, seed)``.

    It must return ``(total_reward, n_steps, terminated, truncated)``.
    """
    name = "check_run_episode"
    for case in RUN_EPISODE_CASES:
        fail_on(name, diagnose_run_episode(run_run_episode(run_episode, case), case))
    passed(name, "terminated and time-limited episodes both come out right")


def check_td_target(td_target: TDTarget) -> None:
    """Check ``td_target(reward, next_value, terminated, truncated, gamma) -> float``."""
    name = "check_td_target"
    for case in TD_CASES:
        fail_on(name, diagnose_td_target(td_target(*case[0]), case))
    passed(name, "terminal, truncated and ordinary steps all give the right target")
