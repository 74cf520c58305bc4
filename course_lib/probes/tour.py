"""Probes for notebook 00, the gymnasium tour."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.toy_envs import ToyEnv

__all__ = ["probe_run_episode", "probe_td_target"]


def probe_run_episode(run_episode: Callable[..., Any], seed: int) -> dict[str, Any]:
    """Run ``run_episode`` on toy episodes drawn from ``seed`` and on CartPole-v1."""
    import gymnasium as gym

    rng = np.random.default_rng(seed)
    toy = []
    for i in range(4):
        horizon = int(rng.integers(1, 12))
        terminate_after = None if i % 2 else int(rng.integers(1, 12))
        threshold = float(rng.integers(0, 12))
        env = ToyEnv(horizon=horizon, terminate_after=terminate_after, reward_scale=0.5)
        total, n_steps, terminated, truncated = run_episode(
            env, lambda obs, th=threshold: int(obs[0] < th), int(rng.integers(0, 1000))
        )
        toy.append([float(total), int(n_steps), bool(terminated), bool(truncated)])

    env = gym.make("CartPole-v1")
    try:
        total, n_steps, terminated, truncated = run_episode(
            env, lambda obs: int(obs[2] + 0.5 * obs[3] > 0), int(rng.integers(0, 10_000))
        )
    finally:
        env.close()
    cartpole = [float(total), int(n_steps), bool(terminated), bool(truncated)]
    return {"toy": toy, "cartpole": cartpole}


def probe_td_target(td_target: Callable[..., Any], seed: int) -> list[float]:
    """Targets of ``td_target`` on random steps, every flag combination, gamma 0 and 1."""
    rng = np.random.default_rng(seed)
    out = []
    for terminated in (False, True):
        for truncated in (False, True):
            for gamma in (0.0, 1.0, float(rng.uniform(0.5, 0.999))):
                reward, next_value = (float(v) for v in rng.normal(0.0, 3.0, size=2))
                out.append(float(td_target(reward, next_value, terminated, truncated, gamma)))
    return out
