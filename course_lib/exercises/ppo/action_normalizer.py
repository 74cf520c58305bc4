"""Notebook 03's action normalizer exercise: its visible cases and diagnoses, raised by
:mod:`course_lib.checks.ppo.action_normalizer`.

Part of :mod:`course_lib.exercises.ppo`.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from course_lib.exercises.compare import values_finding
from course_lib.exercises.finding import Finding, Hint
from course_lib.toy_envs import BoxToyEnv


def diagnose_action_normalizer(
    ActionNormalizer: Callable[[gym.Env], gym.ActionWrapper],
) -> Finding | None:
    """Diagnose ``ActionNormalizer(env)``: ``action`` maps [-1, 1] onto [low, high], and back."""
    # An asymmetric range, so that "scale only" and sign mistakes show.
    env = BoxToyEnv(horizon=3, low=[-2.0, 0.0], high=[2.0, 10.0])
    try:
        wrapper = ActionNormalizer(env)
    except Exception as err:
        return Finding(f"ActionNormalizer(env) raised {type(err).__name__}: {err}")
    if not isinstance(wrapper, gym.ActionWrapper):
        return Finding(
            "ActionNormalizer must subclass gymnasium.ActionWrapper.", got=type(wrapper).__name__
        )
    cases = {
        "-1 (the lowest action)": ([-1.0, -1.0], [-2.0, 0.0]),
        "+1 (the highest action)": ([1.0, 1.0], [2.0, 10.0]),
        "0 (the middle)": ([0.0, 0.0], [0.0, 5.0]),
        "0.5": ([0.5, 0.5], [1.0, 7.5]),
    }
    for label, (normalized, env_units) in cases.items():
        try:
            got = wrapper.action(np.array(normalized, dtype=np.float32))
        except AttributeError as err:
            return Finding(
                f"action() raised AttributeError: {err}",
                hint=Hint(
                    "ppo.action_normalizer.bounds_not_from_env_space",
                    "the bounds live on the wrapped env's space: "
                    "self.env.action_space.low and .high (a wrapper has no self.low).",
                ),
            )
        found = values_finding(
            f"action({normalized})",
            got,
            env_units,
            mistakes=[
                (
                    normalized,
                    Hint(
                        "ppo.action_normalizer.action_not_rescaled",
                        "the action is returned unchanged: rescale it from [-1, 1] to "
                        "[low, high], or the agent can only ever use half of the torque range.",
                    ),
                ),
                (
                    [2.0 * normalized[0], 10.0 * normalized[1]],
                    Hint(
                        "ppo.action_normalizer.scaled_without_shift",
                        "multiplying by high only works for a range symmetric around 0; "
                        "shift too: low + (a + 1) * (high - low) / 2.",
                    ),
                ),
            ],
            hint=Hint(
                "ppo.action_normalizer.wrong_rescale_formula",
                "action(a) = low + (a + 1) * (high - low) / 2.",
            ),
            case=f"normalized action {label}, env range low=[-2, 0], high=[2, 10]",
        )
        if found is not None:
            return found
        back = wrapper.reverse_action(np.array(env_units, dtype=np.float32))
        found = values_finding(
            f"reverse_action({env_units})",
            back,
            normalized,
            mistakes=[
                (
                    [
                        -1 + 2 * (x + lo) / (hi - lo)
                        for x, lo, hi in zip(env_units, [-2.0, 0.0], [2.0, 10.0], strict=True)
                    ],
                    Hint(
                        "ppo.action_normalizer.reverse_adds_low",
                        "reverse_action must subtract low: a = -1 + 2 * (x - low) / (high - low).",
                    ),
                ),
            ],
            hint=Hint(
                "ppo.action_normalizer.wrong_reverse_formula",
                "reverse_action undoes action: a = -1 + 2 * (x - low) / (high - low).",
            ),
            case=f"env action {env_units}",
        )
        if found is not None:
            return found
    return None
