"""Visible checks for notebook 00, the gymnasium tour."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks.core import expect, expect_close, fail, passed
from course_lib.toy_envs import StepAfterEndError, ToyEnv

__all__ = ["check_run_episode", "check_td_target"]

RunEpisode = Callable[[Any, Callable[[np.ndarray], Any], int], tuple[float, int, bool, bool]]


def _call_run_episode(run_episode: RunEpisode, env: ToyEnv, policy: Callable, seed: int) -> tuple:
    name = "check_run_episode"
    try:
        out = run_episode(env, policy, seed)
    except StepAfterEndError as err:
        fail(
            name,
            "your loop stepped the environment after the episode had ended.",
            where=f"episode of {env.horizon} steps at most (time limit)",
            hint="end the loop when `terminated or truncated` is true; checking only "
            "`terminated` runs past the time limit.",
        )
        raise AssertionError from err  # unreachable, keeps type checkers calm
    expect(
        name,
        isinstance(out, tuple) and len(out) == 4,
        "run_episode must return a tuple of four values.",
        expected="(total_reward, n_steps, terminated, truncated)",
        got=out,
    )
    return out


def check_run_episode(run_episode: RunEpisode) -> None:
    """Check ``run_episode(env, policy, seed)``.

    It must return ``(total_reward, n_steps, terminated, truncated)``.
    """
    name = "check_run_episode"

    # Case 1: the episode terminates on step 3, before its time limit of 10.
    env = ToyEnv(horizon=10, terminate_after=3)
    seen: list[np.ndarray] = []

    def push_right(obs: np.ndarray) -> int:
        seen.append(np.array(obs, copy=True))
        return 1

    total, n_steps, terminated, truncated = _call_run_episode(run_episode, env, push_right, 7)
    expect(
        name,
        env.reset_seeds == [7],
        "the environment was not reset exactly once, with the given seed.",
        expected="reset(seed=7) called once",
        got=f"reset called with seeds {env.reset_seeds}",
        hint="call `obs, info = env.reset(seed=seed)` once at the start of the episode.",
    )
    expect(
        name,
        isinstance(n_steps, int | np.integer) and not isinstance(n_steps, bool),
        "n_steps must be an int.",
        got=type(n_steps).__name__,
    )
    expect(
        name,
        isinstance(terminated, bool | np.bool_) and isinstance(truncated, bool | np.bool_),
        "terminated and truncated must be booleans, as env.step returns them.",
        got=(type(terminated).__name__, type(truncated).__name__),
    )
    expect(
        name,
        int(n_steps) == 3,
        "n_steps is wrong for an episode that terminates after 3 steps.",
        expected=3,
        got=n_steps,
        hint="count one step per call to env.step (start at 0, not 1).",
    )
    expect_close(
        name,
        "total rewards",
        [total],
        [6.0],
        hint="add the reward of every step, including the last one (2 per step here).",
        case="3 steps of reward 2, then terminated",
    )
    expect(
        name,
        (bool(terminated), bool(truncated)) == (True, False),
        "the flags of the last step were not returned as they came from env.step.",
        expected=(True, False),
        got=(terminated, truncated),
        hint="return the terminated and truncated of the final env.step call.",
    )
    counters = [int(o[0]) for o in seen]
    expect(
        name,
        counters == [0, 1, 2] and all(o[1] == 7 for o in seen),
        "the policy was not called once per step on the current observation.",
        expected="3 calls, on the observations of reset, step 1 and step 2 (counters [0, 1, 2])",
        got=f"{len(seen)} calls, on observations with counters {counters}",
        hint="call `action = policy(obs)` each step, then set `obs` to the observation "
        "that env.step returned.",
    )

    # Case 2: the episode is cut by its time limit (4 steps) and never terminates.
    env = ToyEnv(horizon=4, terminate_after=None)
    total, n_steps, terminated, truncated = _call_run_episode(run_episode, env, lambda o: 0, 3)
    expect(
        name,
        (int(n_steps), bool(terminated), bool(truncated)) == (4, False, True),
        "a time-limited episode was not handled right.",
        expected="n_steps=4, terminated=False, truncated=True",
        got=f"n_steps={n_steps}, terminated={terminated}, truncated={truncated}",
        hint="stop at `terminated or truncated` and report both flags separately.",
    )
    expect_close(name, "total rewards", [total], [4.0], case="4 steps of reward 1, truncated")
    passed(name, "terminated and time-limited episodes both come out right")


TDTarget = Callable[[float, float, bool, bool, float], float]

# (reward, next_value, terminated, truncated, gamma) -> expected target
_TD_CASES: list[tuple[tuple[float, float, bool, bool, float], float, str]] = [
    ((1.0, 5.0, False, False, 0.9), 5.5, "an ordinary step: bootstrap from V(next_obs)."),
    ((1.0, 5.0, True, False, 0.9), 1.0, "a terminal step has no future: the target is r alone."),
    (
        (1.0, 5.0, False, True, 0.9),
        5.5,
        "truncation is a time limit, not a terminal state: keep bootstrapping; build the "
        "mask from `terminated` only.",
    ),
    ((-2.0, 3.0, True, True, 0.99), -2.0, "when terminated is true, never bootstrap."),
    ((0.5, 2.0, False, False, 0.0), 0.5, "with gamma = 0 the target is the reward alone."),
]


def check_td_target(td_target: TDTarget) -> None:
    """Check ``td_target(reward, next_value, terminated, truncated, gamma) -> float``."""
    name = "check_td_target"
    for args, expected, why in _TD_CASES:
        got = td_target(*args)
        expect(
            name,
            np.ndim(got) == 0,
            "td_target must return a single number.",
            got=got,
        )
        reward, next_value, terminated, truncated, gamma = args
        case = (
            f"reward={reward}, next_value={next_value}, terminated={terminated}, "
            f"truncated={truncated}, gamma={gamma}"
        )
        expect_close(name, "TD targets", [float(got)], [expected], case=case, hint=why)
    passed(name, "terminal, truncated and ordinary steps all give the right target")
