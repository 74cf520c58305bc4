"""Many evaluation episodes of a classic-control environment stepped as numpy arrays.

A batched evaluation (:func:`course_lib.evaluate` with ``batched=True``) plays all of its
episodes side by side. With one gymnasium environment per episode, stepping them costs
tens of microseconds per episode and step, which dominates a stop rule that plays 200
Pendulum episodes. For the environments below (Pendulum-v1, CartPole-v1),
:func:`batched_env` returns a simulator
that steps every episode at once with the environment's own equations, written with the
same numpy operations and dtypes, so the observations, rewards and returns are the numbers
gymnasium gives: bit for bit on an x86-64 CPU without AVX-512 (numpy's vector math on
AVX-512 can round a float32 differently in the last bit: a reward then differs by ~1e-10).
Start states come from the real environment's ``reset(seed=...)``.

Anything else (another environment, a changed physics parameter, a wrapper the simulator
does not know) gets ``None``, and the caller steps real environments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.envs.classic_control.pendulum import PendulumEnv
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, RescaleAction, TimeLimit

from course_lib.envs import SeedOnFirstReset, make_env

__all__ = ["BatchedCartPole", "BatchedPendulum", "batched_env", "can_batch"]

# Wrappers that leave observations, rewards and actions alone.
_TRANSPARENT = (SeedOnFirstReset, OrderEnforcing, PassiveEnvChecker)


class BatchedPendulum:
    """Pendulum-v1's dynamics for ``n`` episodes at once (gymnasium 1.x equations).

    Args:
        env: a Pendulum environment made by :func:`course_lib.envs.make_env`; it gives the
            physics parameters, the time limit, the start states and the action rescaling.

    Examples:
        >>> sim = batched_env("Pendulum-v1")
        >>> obs = sim.reset([0, 1, 2])
        >>> obs.shape, obs.dtype
        ((3, 3), dtype('float32'))
        >>> obs, rewards, terminated, truncated = sim.step(np.zeros((3, 1), np.float32))
        >>> rewards.shape, bool(terminated.any()), bool(truncated.any())
        ((3,), False, False)
    """

    def __init__(
        self,
        env: gym.Env,
        max_episode_steps: int | None,
        rescale: Sequence[Callable[[np.ndarray], np.ndarray]] = (),
    ) -> None:
        self.env = env
        self.action_space = env.action_space
        self.max_episode_steps = max_episode_steps
        self._rescale = tuple(rescale)
        base = env.unwrapped
        self._g, self._m, self._l, self._dt = base.g, base.m, base.l, base.dt
        self._max_torque, self._max_speed = base.max_torque, base.max_speed
        self._th = np.zeros(0)
        self._thdot = np.zeros(0)
        self._t = 0

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        """Start one episode per seed, as ``env.reset(seed=s)`` would; their observations."""
        states, observations = [], []
        for s in seeds:
            obs, _ = self.env.reset(seed=int(s))
            states.append(np.array(self.env.unwrapped.state))
            observations.append(obs)
        state = np.array(states, dtype=np.float64).reshape(len(states), 2)
        self._th, self._thdot = state[:, 0].copy(), state[:, 1].copy()
        self._t = 0
        return np.stack(observations)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        """Step every episode: ``(obs, rewards, terminated, truncated)``.

        ``actions`` is ``(n, 1)`` float32, valid in the (possibly rescaled) action space.
        """
        for rescale in self._rescale:
            actions = rescale(actions)
        th, thdot = self._th, self._thdot
        g, m, length, dt = self._g, self._m, self._l, self._dt
        u = np.clip(actions, -self._max_torque, self._max_torque)[:, 0]
        costs = _square(_angle_normalize(th)) + 0.1 * _square(thdot) + 0.001 * _square(u)
        newthdot = thdot + (3 * g / (2 * length) * np.sin(th) + 3.0 / (m * length**2) * u) * dt
        newthdot = np.clip(newthdot, -self._max_speed, self._max_speed)
        newth = th + newthdot * dt
        self._th, self._thdot = newth, newthdot
        self._t += 1
        obs = np.stack([np.cos(newth), np.sin(newth), newthdot], axis=1).astype(np.float32)
        n = len(th)
        terminated = np.zeros(n, dtype=bool)
        cap = self.max_episode_steps
        truncated = np.full(n, cap is not None and self._t >= cap)
        return obs, -costs, terminated, truncated

    def close(self) -> None:
        self.env.close()


def _square(x: np.ndarray) -> np.ndarray:
    """``x**2`` element by element as numpy computes it for one scalar.

    gymnasium squares scalars, which numpy does with the C library's ``pow``; an array's
    ``x**2`` is ``x * x``, and the two differ in the last bit now and then.
    """
    return np.power(x, np.full_like(x, 2))


def _angle_normalize(x: np.ndarray) -> np.ndarray:
    return ((x + np.pi) % (2 * np.pi)) - np.pi


class BatchedCartPole:
    """CartPole-v1's dynamics for ``n`` episodes at once (gymnasium 1.x equations).

    Every episode is stepped at every call, also after it has ended (its numbers are then
    meaningless and the caller ignores them), so all arrays keep their length.

    Args:
        env: a CartPole environment made by :func:`course_lib.envs.make_env`; it gives the
            physics parameters and the start states.

    Examples:
        >>> sim = batched_env("CartPole-v1")
        >>> obs = sim.reset([0, 1])
        >>> obs, rewards, terminated, truncated = sim.step(np.array([0, 1]))
        >>> obs.shape, obs.dtype, rewards.tolist()
        ((2, 4), dtype('float32'), [1.0, 1.0])
    """

    def __init__(
        self,
        env: gym.Env,
        max_episode_steps: int | None,
        rescale: Sequence[Callable[[np.ndarray], np.ndarray]] = (),
    ) -> None:
        if rescale:
            raise ValueError("CartPole has discrete actions: there is nothing to rescale")
        self.env = env
        self.action_space = env.action_space
        self.max_episode_steps = max_episode_steps
        base = env.unwrapped
        self._base = base
        self._state = np.zeros((0, 4))
        self._t = 0

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        """Start one episode per seed, as ``env.reset(seed=s)`` would; their observations."""
        states, observations = [], []
        for s in seeds:
            obs, _ = self.env.reset(seed=int(s))
            states.append(np.array(self.env.unwrapped.state, dtype=np.float64))
            observations.append(obs)
        self._state = np.array(states, dtype=np.float64).reshape(len(states), 4)
        self._t = 0
        return np.stack(observations)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        """Step every episode: ``(obs, rewards, terminated, truncated)``; ``actions`` (n,)
        holds 0 (push left) or 1 (push right)."""
        b = self._base
        x, x_dot, theta, theta_dot = (self._state[:, i] for i in range(4))
        force = np.where(np.asarray(actions) == 1, b.force_mag, -b.force_mag)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        temp = (force + b.polemass_length * np.square(theta_dot) * sintheta) / b.total_mass
        thetaacc = (b.gravity * sintheta - costheta * temp) / (
            b.length * (4.0 / 3.0 - b.masspole * np.square(costheta) / b.total_mass)
        )
        xacc = temp - b.polemass_length * thetaacc * costheta / b.total_mass
        if b.kinematics_integrator == "euler":
            x = x + b.tau * x_dot
            x_dot = x_dot + b.tau * xacc
            theta = theta + b.tau * theta_dot
            theta_dot = theta_dot + b.tau * thetaacc
        else:  # semi-implicit euler
            x_dot = x_dot + b.tau * xacc
            x = x + b.tau * x_dot
            theta_dot = theta_dot + b.tau * thetaacc
            theta = theta + b.tau * theta_dot
        self._state = np.stack([x, x_dot, theta, theta_dot], axis=1)
        self._t += 1
        terminated = (
            (x < -b.x_threshold)
            | (x > b.x_threshold)
            | (theta < -b.theta_threshold_radians)
            | (theta > b.theta_threshold_radians)
        )
        rewards = np.ones(len(x))  # 1 per step, the step that ends the episode included
        cap = self.max_episode_steps
        truncated = np.full(len(x), cap is not None and self._t >= cap)
        return self._state.astype(np.float32), rewards, terminated, truncated

    def close(self) -> None:
        self.env.close()


Simulator = BatchedPendulum | BatchedCartPole

# Exact classes only: a subclass may change the physics.
_SIMULATORS: dict[type, type[Simulator]] = {
    PendulumEnv: BatchedPendulum,
    CartPoleEnv: BatchedCartPole,
}


def _simulated(base: gym.Env) -> bool:
    """Whether the base env is one the simulators copy as they are (default options)."""
    if isinstance(base, CartPoleEnv):
        return not base._sutton_barto_reward and base.render_mode is None
    return base.render_mode is None


def batched_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> Simulator | None:
    """A batched simulator of ``make_env(env_id, **env_kwargs)``, or None if there is none.

    Only the default physics are simulated (extra ``gymnasium.make`` arguments other than
    ``max_episode_steps`` give None), behind the wrappers :func:`~course_lib.envs.make_env`
    adds.
    """
    kwargs = dict(env_kwargs or {})
    if set(kwargs) - {"normalize_actions", "max_episode_steps"}:
        return None
    env = make_env(env_id, **kwargs)
    simulator = _SIMULATORS.get(type(env.unwrapped))
    if simulator is None or not _simulated(env.unwrapped):
        env.close()
        return None
    rescale: list[Callable[[np.ndarray], np.ndarray]] = []
    max_episode_steps = None
    layer: gym.Env = env
    while layer is not env.unwrapped:
        if isinstance(layer, RescaleAction):
            rescale.append(layer.func)  # outermost first: the order an action goes through
        elif isinstance(layer, TimeLimit):
            max_episode_steps = layer._max_episode_steps
        elif not isinstance(layer, _TRANSPARENT):
            env.close()
            return None
        layer = layer.env  # type: ignore[attr-defined]
    if rescale and simulator is BatchedCartPole:
        env.close()
        return None
    return simulator(env, max_episode_steps, rescale)


def can_batch(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> bool:
    """Whether :func:`batched_env` has a simulator for these arguments."""
    sim = batched_env(env_id, env_kwargs)
    if sim is None:
        return False
    sim.close()
    return True
