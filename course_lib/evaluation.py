"""Reproducible evaluation of a trained policy.

:func:`evaluate` plays a fixed set of episodes (episode ``i`` starts from
``reset(seed=seed + i)``), so the same policy always gets the same score and
two policies are compared on the same start states; :func:`pass_chance` tells from the
episodes played how likely a grader's own episodes are to reach a criterion. The stop rule of
the training loops, which uses both, is :class:`course_lib.stop_rule.CriterionTracker`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from course_lib.batched_envs import Simulator, batched_env
from course_lib.envs import _check_seed, make_env

__all__ = ["EvalResult", "evaluate", "pass_chance", "to_env_action"]

_BOUND_TOL = 1e-6


class EvalResult(NamedTuple):
    """The outcome of :func:`evaluate`.

    Attributes:
        returns: the undiscounted return of each episode (float64).
        lengths: the number of steps of each episode (int64).
        mean: the mean return.
        std: the standard deviation of the returns (population, ``ddof=0``).

    Examples:
        >>> r = EvalResult(np.array([1.0, 3.0]), np.array([1, 3]), 2.0, 1.0)
        >>> print(r)
        mean return 2.0 ± 1.0 over 2 episodes
    """

    returns: np.ndarray
    lengths: np.ndarray
    mean: float
    std: float

    def summary(self) -> str:
        """One line such as ``"mean return 487.3 ± 12.1 over 20 episodes"``."""
        n = len(self.returns)
        noun = "episode" if n == 1 else "episodes"
        return f"mean return {self.mean:.1f} ± {self.std:.1f} over {n} {noun}"

    def __str__(self) -> str:
        return self.summary()


def pass_chance(
    returns: Any, threshold: float, n_episodes: int, *, draws: int = 10_000, seed: int = 0
) -> float:
    """The chance that ``n_episodes`` other episodes of the same policy average ``threshold``
    or more, judged from the ``returns`` of the episodes played.

    This is what a grader that plays ``n_episodes`` episodes of its own (other start states)
    will find. Each draw resamples the played episodes twice (a bootstrap): once to allow
    for what the played episodes do not tell about the policy's true mean, once for the
    grader's own ``n_episodes``. Deterministic for a given ``seed``.

    Examples:
        >>> pass_chance([-150.0] * 200, -200.0, 20)
        1.0
        >>> pass_chance([-150.0] * 180 + [-1200.0] * 20, -200.0, 20) < 0.95
        True
    """
    r = np.asarray(returns, dtype=np.float64).reshape(-1)
    if r.size == 0 or not np.all(np.isfinite(r)):
        raise ValueError(
            f"pass_chance needs the finite returns of at least one episode, got {r.size} "
            f"returns{'' if np.all(np.isfinite(r)) else ' with NaN or inf among them'}."
        )
    n = _check_positive_int(n_episodes, "n_episodes")
    rng = np.random.default_rng(seed)
    chunks = [min(1_000, draws - start) for start in range(0, draws, 1_000)]  # a few MB each
    shift = np.concatenate(
        [r[rng.integers(0, r.size, size=(k, r.size))].mean(axis=1) for k in chunks]
    )
    means = np.concatenate([r[rng.integers(0, r.size, size=(k, n))].mean(axis=1) for k in chunks])
    return float(np.mean(means + (shift - r.mean()) >= threshold))


def _as_numpy(action: Any) -> Any:
    """Turn a torch tensor into a numpy array; leave anything else as it is."""
    if hasattr(action, "detach") and hasattr(action, "cpu"):
        return action.detach().cpu().numpy()
    return action


def _discrete_action(action: Any, space: spaces.Discrete, where: str) -> int:
    arr = np.asarray(action)
    if arr.shape not in ((), (1,)):
        raise ValueError(
            f"{where}the action for {space} must be one integer (a number, or an array of "
            f"shape () or (1,)), got an array of shape {arr.shape}. Return a single action, "
            f"e.g. logits.argmax(-1).item(), not the whole batch or the probabilities."
        )
    value = arr.reshape(()).item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{where}the action for {space} must be an integer, got {value!r} of type "
            f"{type(value).__name__}; return an int such as 0 or 1."
        )
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(
            f"{where}the action for {space} must be a whole number, got {value}; "
            f"return an action index (e.g. via argmax or Categorical.sample()), not a probability."
        )
    index = int(value)
    first = int(space.start)
    last = first + int(space.n) - 1
    if not first <= index <= last:
        raise ValueError(
            f"{where}action {index} is not in {space}; return an index from {first} to {last}."
        )
    return index


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def _same_action_shape(shape: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    """Whether an action of ``shape`` means one action of ``expected`` shape.

    A lone extra or missing axis of size 1 is harmless: (), (1,) and (1, 1) all mean
    the same single action for Pendulum. Anything else is a real mismatch.
    """
    return int(np.prod(shape)) == int(np.prod(expected)) and _squeezed(shape) == _squeezed(expected)


def _within_bounds(arr: np.ndarray, space: spaces.Box) -> bool:
    """Whether every entry lies in [low, high], up to a tolerance of 1e-6."""
    wide = arr.astype(np.float64)
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    return not (np.any(wide < low - _BOUND_TOL) or np.any(wide > high + _BOUND_TOL))


def _box_action(action: Any, space: spaces.Box, where: str) -> np.ndarray:
    try:
        arr = np.asarray(action, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{where}could not turn the action {action!r} into a float array for {space}; "
            f"return a numpy array or a torch tensor of shape {space.shape}."
        ) from exc
    expected = space.shape
    if arr.shape != expected:
        if _same_action_shape(arr.shape, expected):
            arr = arr.reshape(expected)
        else:
            raise ValueError(
                f"{where}the action has shape {arr.shape}, but {space} expects shape "
                f"{expected}; return env-range actions of shape {expected} "
                f"(one action for one observation, not a batch)."
            )
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{where}the action contains NaN or inf: {arr}. The policy network has "
            f"diverged or divided by zero; check the losses, the learning rate and log_std."
        )
    if not _within_bounds(arr, space):
        raise ValueError(
            f"{where}the action {arr} is outside the bounds of {space} "
            f"(low={space.low}, high={space.high}). If your policy outputs values in "
            f"[-1, 1] (e.g. after tanh), rescale them to [low, high] with "
            f"low + (a + 1) * (high - low) / 2, or make the environment with "
            f"normalize_actions=True (in evaluate: env_kwargs={{'normalize_actions': True}})."
        )
    return np.clip(arr, space.low, space.high).astype(np.float32, copy=False)


def to_env_action(action: Any, space: gym.Space, *, where: str = "") -> Any:
    """Check a policy's output and convert it into what ``env.step`` expects.

    Torch tensors become numpy arrays. For a ``Discrete`` space the result is
    a python int (from a number or an array of shape ``()`` or ``(1,)``). For
    a ``Box`` it is a float32 array of the space's shape; a shape that differs
    only by axes of size 1 is reshaped, anything else is an error, and so are
    NaN and values outside the bounds by more than 1e-6. Other spaces are
    passed through unchanged.

    Args:
        action: what the policy returned.
        space: the environment's action space.
        where: a prefix for error messages, e.g. ``"episode 3, step 12: "``.

    Returns:
        The action, ready for ``env.step``.

    Raises:
        ValueError: wrong shape, out of bounds, NaN, or not a valid index.
        TypeError: the action is not a number or array at all.

    Examples:
        >>> to_env_action(np.array([1]), spaces.Discrete(2))
        1
        >>> to_env_action(0.5, spaces.Box(-2.0, 2.0, (1,)))
        array([0.5], dtype=float32)
    """
    action = _as_numpy(action)
    if isinstance(space, spaces.Discrete):
        return _discrete_action(action, space, where)
    if isinstance(space, spaces.Box):
        return _box_action(action, space, where)
    return action


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int >= 1, got {value!r}; pass e.g. {name}=10.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}; pass e.g. {name}=10.")
    return int(value)


def evaluate(
    env_id: str,
    policy: Callable[[np.ndarray], Any],
    n_episodes: int = 20,
    seed: int = 0,
    max_steps: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    batched: bool = False,
) -> EvalResult:
    """Run a deterministic policy for a fixed set of episodes.

    A fresh environment is made; episode ``i`` starts from
    ``reset(seed=seed + i)``, so the result is reproducible. The policy is
    called under ``torch.no_grad()`` and its output goes through
    :func:`to_env_action`: it must be an action in the environment's own range.

    Args:
        env_id: the environment, e.g. ``"CartPole-v1"``.
        policy: a deterministic function from one observation (numpy array)
            to one action (number, numpy array or torch tensor).
        n_episodes: how many episodes to play.
        seed: the seed of the first episode.
        max_steps: stop an episode after this many steps (``None``: play
            until the environment ends it).
        env_kwargs: extra arguments for :func:`course_lib.envs.make_env`,
            e.g. ``{"normalize_actions": True}``.
        batched: the policy takes a batch of observations ``(B, obs_dim)`` and
            returns ``B`` actions; all episodes are then played side by side, one
            policy call per step for all of them (much faster for a network). The
            episodes and their results are the same as with ``batched=False``.

    Returns:
        An :class:`EvalResult`.

    Raises:
        ValueError: a bad argument, or a bad action (see :func:`to_env_action`).

    Examples:
        >>> result = evaluate("CartPole-v1", lambda obs: 0, n_episodes=3)
        >>> result.lengths.tolist()
        [11, 10, 9]
        >>> print(result)
        mean return 10.0 ± 0.8 over 3 episodes
    """
    n_episodes = _check_positive_int(n_episodes, "n_episodes")
    seed = _check_seed(seed)
    if max_steps is not None:
        max_steps = _check_positive_int(max_steps, "max_steps")
    if not callable(policy):
        raise TypeError(
            f"policy must be a function from an observation to an action, got "
            f"{type(policy).__name__}; pass e.g. lambda obs: agent.act(obs)."
        )
    if env_kwargs is not None and not isinstance(env_kwargs, Mapping):
        raise TypeError(
            f"env_kwargs must be a dict or None, got {type(env_kwargs).__name__}; "
            f"pass e.g. env_kwargs={{'normalize_actions': True}}."
        )
    import torch

    if batched:
        with torch.no_grad():
            return _evaluate_batched(env_id, policy, n_episodes, seed, max_steps, env_kwargs)
    returns = np.zeros(n_episodes, dtype=np.float64)
    lengths = np.zeros(n_episodes, dtype=np.int64)
    env = make_env(env_id, **dict(env_kwargs or {}))
    try:
        with torch.no_grad():
            for episode in range(n_episodes):
                obs, _ = env.reset(seed=seed + episode)
                total, steps, done = 0.0, 0, False
                while not done:
                    where = f"{env_id}, episode {episode}, step {steps}: "
                    action = to_env_action(policy(obs), env.action_space, where=where)
                    obs, reward, terminated, truncated, _ = env.step(action)
                    total += float(reward)
                    steps += 1
                    done = terminated or truncated or (max_steps is not None and steps >= max_steps)
                returns[episode] = total
                lengths[episode] = steps
    finally:
        env.close()
    return EvalResult(
        returns=returns,
        lengths=lengths,
        mean=float(returns.mean()),
        std=float(returns.std()),
    )


def _valid_box_batch(actions: Any, space: gym.Space) -> np.ndarray | None:
    """A batch of Box actions as float32 rows of the space's shape, if every row is valid.

    Accepts exactly what :func:`to_env_action` accepts row by row (a batch of n rows
    checked at once costs about as much as one row); returns None for anything else,
    and the caller then checks row by row to report the first invalid action.
    """
    if not isinstance(space, spaces.Box):
        return None
    try:
        arr = np.asarray(actions, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    if arr.ndim == 0 or not _same_action_shape(arr.shape[1:], space.shape):
        return None
    arr = arr.reshape(len(arr), *space.shape)
    if not np.all(np.isfinite(arr)) or not _within_bounds(arr, space):
        return None
    return np.clip(arr, space.low, space.high).astype(np.float32, copy=False)


def _valid_discrete_batch(actions: Any, space: spaces.Discrete) -> np.ndarray | None:
    """A batch of Discrete actions as int64 indices, if it is an integer array of shape
    (n,) or (n, 1) within the space; None otherwise (the caller then checks row by row,
    which also accepts whole floats and names the first invalid action)."""
    arr = np.asarray(actions)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        return None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        return None
    first = int(space.start)
    if len(arr) and not (first <= arr.min() and arr.max() < first + int(space.n)):
        return None
    return arr.astype(np.int64, copy=False)


def _evaluate_batched(
    env_id: str,
    policy: Callable[[np.ndarray], Any],
    n_episodes: int,
    seed: int,
    max_steps: int | None,
    env_kwargs: Mapping[str, Any] | None,
) -> EvalResult:
    sim = batched_env(env_id, env_kwargs)
    if sim is not None:
        try:
            return _evaluate_simulated(sim, env_id, policy, n_episodes, seed, max_steps)
        finally:
            sim.close()
    envs = [make_env(env_id, **dict(env_kwargs or {})) for _ in range(n_episodes)]
    try:
        obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
        returns = np.zeros(n_episodes, dtype=np.float64)
        lengths = np.zeros(n_episodes, dtype=np.int64)
        active = list(range(n_episodes))
        while active:
            actions = _as_numpy(policy(np.stack([obs[i] for i in active])))
            if len(actions) != len(active):
                raise ValueError(
                    f"a batched policy must return one action per observation: got "
                    f"{len(actions)} actions for {len(active)} observations."
                )
            checked = _valid_box_batch(actions, envs[0].action_space)
            still = []
            for k, (i, action) in enumerate(zip(active, actions, strict=True)):
                if checked is not None:
                    env_action = checked[k]
                else:  # checked one by one, so that an error names its episode and step
                    where = f"{env_id}, episode {i}, step {lengths[i]}: "
                    env_action = to_env_action(action, envs[i].action_space, where=where)
                obs[i], reward, terminated, truncated, _ = envs[i].step(env_action)
                returns[i] += float(reward)
                lengths[i] += 1
                capped = max_steps is not None and lengths[i] >= max_steps
                if not (terminated or truncated or capped):
                    still.append(i)
            active = still
    finally:
        for env in envs:
            env.close()
    return EvalResult(returns, lengths, float(returns.mean()), float(returns.std()))


def _evaluate_simulated(
    sim: Simulator,
    env_id: str,
    policy: Callable[[np.ndarray], Any],
    n_episodes: int,
    seed: int,
    max_steps: int | None,
) -> EvalResult:
    """:func:`_evaluate_batched` on a batched simulator: every episode stepped at once."""
    obs = sim.reset(range(seed, seed + n_episodes))
    space = sim.action_space
    returns = np.zeros(n_episodes, dtype=np.float64)
    lengths = np.zeros(n_episodes, dtype=np.int64)
    active = np.ones(n_episodes, dtype=bool)
    discrete = isinstance(space, spaces.Discrete)
    full = np.zeros((n_episodes, *space.shape), dtype=np.int64 if discrete else np.float32)
    while active.any():
        rows = np.flatnonzero(active)
        actions = _as_numpy(policy(obs[rows]))
        if len(actions) != len(rows):
            raise ValueError(
                f"a batched policy must return one action per observation: got "
                f"{len(actions)} actions for {len(rows)} observations."
            )
        checked = (
            _valid_discrete_batch(actions, space) if discrete else _valid_box_batch(actions, space)
        )
        if checked is None:  # checked one by one, so that an error names its episode and step
            checked = np.stack([
                to_env_action(a, space, where=f"{env_id}, episode {i}, step {lengths[i]}: ")
                for i, a in zip(rows, actions, strict=True)
            ])  # fmt: skip
        full[rows] = checked
        obs, rewards, terminated, truncated = sim.step(full)
        returns[rows] += rewards[rows]
        lengths[rows] += 1
        done = terminated | truncated
        if max_steps is not None:
            done |= lengths >= max_steps
        active &= ~done
    return EvalResult(returns, lengths, float(returns.mean()), float(returns.std()))
