"""Tiny environments with exactly known answers, for checks and tests.

They are deliberately strict: stepping after the episode ended raises, and
every reset records the seed it was given, so a check can say precisely what
a loop did wrong.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["BoxToyEnv", "StepAfterEndError", "ToyEnv"]


class StepAfterEndError(RuntimeError):
    """``step()`` was called after ``terminated`` or ``truncated`` came back true."""


class ToyEnv(gym.Env[np.ndarray, int]):
    """A counter with a known outcome.

    Observation: ``[t, seed_tag]`` as float32, where ``t`` counts steps since
    reset and ``seed_tag`` is ``seed % 97`` of the last seeded reset (0 before).
    Action: Discrete(2). Reward at each step: ``1 + action`` times ``reward_scale``.
    The episode *terminates* after ``terminate_after`` steps (if given) and is
    *truncated* after ``horizon`` steps; when both fall on the same step, both
    flags are true, as gymnasium's ``TimeLimit`` does.

    Examples:
        >>> env = ToyEnv(horizon=3)
        >>> obs, _ = env.reset(seed=5)
        >>> [env.step(1)[1:4] for _ in range(3)]
        [(2.0, False, False), (2.0, False, False), (2.0, False, True)]
    """

    metadata = {"render_modes": []}  # noqa: RUF012 (gymnasium's convention)

    def __init__(
        self, horizon: int = 10, terminate_after: int | None = None, reward_scale: float = 1.0
    ) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        if terminate_after is not None and terminate_after < 1:
            raise ValueError(f"terminate_after must be >= 1 or None, got {terminate_after}")
        self.horizon = horizon
        self.terminate_after = terminate_after
        self.reward_scale = reward_scale
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.reset_seeds: list[int | None] = []
        self.n_steps_total = 0
        self._t = 0
        self._seed_tag = 0.0
        self._done = True

    def _obs(self) -> np.ndarray:
        return np.array([self._t, self._seed_tag], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.reset_seeds.append(seed)
        if seed is not None:
            self._seed_tag = float(seed % 97)
        self._t = 0
        self._done = False
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise StepAfterEndError(
                "step() was called after the episode ended; stop the loop as soon as "
                "terminated or truncated is true (and reset before stepping again)."
            )
        if not self.action_space.contains(int(action)):
            raise ValueError(f"ToyEnv takes action 0 or 1, got {action!r}")
        self._t += 1
        self.n_steps_total += 1
        reward = (1.0 + int(action)) * self.reward_scale
        terminated = self.terminate_after is not None and self._t >= self.terminate_after
        truncated = self._t >= self.horizon
        self._done = terminated or truncated
        return self._obs(), reward, terminated, truncated, {}


class BoxToyEnv(gym.Env[np.ndarray, np.ndarray]):
    """A counter with a continuous action, for checks of continuous-control agents.

    Observation: ``[t, seed_tag]`` as float32 (as :class:`ToyEnv`). Action: a
    ``Box(low, high)``; the last action received is kept in ``last_action``.
    Reward: ``reward`` at every step, whatever the action. The episode
    *terminates* after ``terminate_after`` steps (if given) and is *truncated*
    after ``horizon`` steps.

    Examples:
        >>> env = BoxToyEnv(horizon=2, low=[-2.0], high=[2.0])
        >>> _ = env.reset(seed=0)
        >>> [env.step(np.array([0.5], dtype=np.float32))[1:4] for _ in range(2)]
        [(1.0, False, False), (1.0, False, True)]
        >>> env.last_action
        array([0.5], dtype=float32)
    """

    metadata = {"render_modes": []}  # noqa: RUF012 (gymnasium's convention)

    def __init__(
        self,
        horizon: int = 10,
        terminate_after: int | None = None,
        low: Any = (-1.0,),
        high: Any = (1.0,),
        reward: float = 1.0,
    ) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        self.horizon = horizon
        self.terminate_after = terminate_after
        self.reward = float(reward)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Box(
            np.asarray(low, dtype=np.float32), np.asarray(high, dtype=np.float32)
        )
        self.last_action: np.ndarray | None = None
        self._t = 0
        self._seed_tag = 0.0
        self._done = True

    def _obs(self) -> np.ndarray:
        return np.array([self._t, self._seed_tag], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._seed_tag = float(seed % 97)
        self._t = 0
        self._done = False
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise StepAfterEndError(
                "step() was called after the episode ended; reset before stepping again."
            )
        action = np.asarray(action, dtype=np.float32)
        if action.shape != self.action_space.shape:
            raise ValueError(
                f"BoxToyEnv takes actions of shape {self.action_space.shape}, "
                f"got shape {action.shape}"
            )
        self.last_action = action.copy()
        self._t += 1
        terminated = self.terminate_after is not None and self._t >= self.terminate_after
        truncated = self._t >= self.horizon
        self._done = terminated or truncated
        return self._obs(), self.reward, terminated, truncated, {}
