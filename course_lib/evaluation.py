"""Reproducible evaluation of a trained policy.

:func:`evaluate` plays a fixed set of episodes (episode ``i`` starts from
``reset(seed=seed + i)``), so the same policy always gets the same score and
two policies are compared on the same start states.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from course_lib.batched_envs import Simulator, batched_env, can_batch
from course_lib.envs import _check_seed, make_env, random_state

__all__ = ["CriterionTracker", "EvalResult", "evaluate", "to_env_action"]

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


class CriterionTracker:
    """A stop rule: evaluate the greedy policy now and then, keep the best weights.

    Every ``every_steps`` training steps, :meth:`check` plays the first
    ``quick_episodes`` evaluation episodes; only if they average at least
    ``quick_threshold`` (by default the threshold itself) does it play all
    ``n_episodes`` (the quick episodes are the first ones of the full evaluation,
    so nothing is wasted). A quick threshold below the threshold lets a few
    episodes screen out hopeless policies cheaply without turning away a policy
    whose full evaluation would pass: a mean over few episodes is noisy. The best full evaluation
    so far and the weights that scored it are kept, so a collapse after the
    criterion was met costs nothing: :meth:`restore_best` puts them back.
    With ``batched=True`` the policy takes a batch of observations (see
    :func:`evaluate`), which makes each evaluation several times faster. After
    the quick episodes the rest are played ``chunk`` at a time; given the
    environment's ``max_return``, the evaluation stops as soon as the
    threshold is out of reach even if every remaining episode were perfect.
    With ``worst_at_least``, the criterion also asks every episode to return
    at least that much (a policy that fails from one start in fifty can still
    have a good mean); the evaluation stops at the first episode below it.
    On an environment :mod:`course_lib.batched_envs` simulates (Pendulum, CartPole), a
    batched evaluation plays all ``n_episodes`` in one pass, which costs about
    what the quick episodes alone would, and then decides exactly as above.
    Every evaluation runs on its own random state (seeded with ``seed``): a
    policy that draws random numbers leaves the training run as it was.

    Examples:
        >>> tracker = CriterionTracker("CartPole-v1", threshold=9.0, every_steps=10,
        ...                            n_episodes=3, quick_episodes=1)
        >>> tracker.due(5), tracker.due(10)
        (False, True)
        >>> tracker.check(lambda obs: 0, steps=10)
        True
        >>> tracker.history
        [(10, 9.333333333333334, True)]
    """

    def __init__(
        self,
        env_id: str,
        threshold: float,
        *,
        every_steps: int = 1000,
        n_episodes: int = 20,
        quick_episodes: int = 3,
        quick_threshold: float | None = None,
        seed: int = 10_000,
        env_kwargs: Mapping[str, Any] | None = None,
        batched: bool = False,
        max_return: float | None = None,
        chunk: int = 10,
        worst_at_least: float | None = None,
    ) -> None:
        self.env_id = env_id
        self.worst_at_least = None if worst_at_least is None else float(worst_at_least)
        self.batched = batched
        self.max_return = max_return
        self.chunk = _check_positive_int(chunk, "chunk")
        self.threshold = float(threshold)
        self.quick_threshold = self.threshold if quick_threshold is None else float(quick_threshold)
        if self.quick_threshold > self.threshold:
            raise ValueError(
                f"quick_threshold ({self.quick_threshold:g}) is above the threshold "
                f"({self.threshold:g}): the quick check would turn away policies that meet "
                f"the criterion; give a value at or below the threshold, or None."
            )
        self.every_steps = _check_positive_int(every_steps, "every_steps")
        self.n_episodes = _check_positive_int(n_episodes, "n_episodes")
        self.quick_episodes = min(_check_positive_int(quick_episodes, "quick_episodes"), n_episodes)
        self.seed = _check_seed(seed)
        self.env_kwargs = dict(env_kwargs or {})
        self._simulated = batched and can_batch(env_id, self.env_kwargs)
        self.history: list[tuple[int, float, bool]] = []
        """Every evaluation as ``(steps, mean return, whether it counts)``: it counts when all
        ``n_episodes`` were played and none returned less than ``worst_at_least``."""
        self.points: list[tuple[int, float]] = []
        """Every evaluation as ``(episode or steps, mean return)``, for a plot."""
        self.best_mean = -np.inf
        self.best_state: dict[str, Any] | None = None
        self.reached_at: int | None = None
        self._next = self.every_steps

    def due(self, steps: int) -> bool:
        """Whether an evaluation is due after ``steps`` training steps."""
        return steps >= self._next

    def check(
        self,
        policy: Callable[[np.ndarray], Any],
        steps: int,
        model: Any = None,
        episode: int | None = None,
    ) -> bool:
        """Evaluate ``policy`` now; return whether the criterion is met.

        Args:
            policy: the greedy policy, observation -> action in env units.
            steps: training steps so far (for the history and the next due time).
            model: the network whose ``state_dict`` to keep when this is the best so far.
            episode: the episode count, to place the point on a per-episode plot
                (:attr:`points`); steps are used when it is not given.
        """
        self._next = steps + self.every_steps
        returns = self._play(policy)
        mean = float(np.mean(returns))
        failed = self.worst_at_least is not None and min(returns) < self.worst_at_least
        complete = len(returns) == self.n_episodes and not failed
        self.history.append((steps, mean, complete))
        self.points.append((steps if episode is None else episode, mean))
        if complete and mean > self.best_mean:
            self.best_mean = mean
            if model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
        reached = complete and mean >= self.threshold
        if reached and self.reached_at is None:
            self.reached_at = steps
        return reached

    def _play(self, policy: Callable[[np.ndarray], Any]) -> list[float]:
        """The returns of the episodes played: the quick ones, then chunks until decided."""
        returns: list[float] = []
        sizes = [self.quick_episodes]
        while sum(sizes) < self.n_episodes:
            sizes.append(min(self.chunk, self.n_episodes - sum(sizes)))
        played: list[float] = []
        if self._simulated:  # all episodes cost one pass: play them, then decide as below
            played = self._evaluate(policy, self.n_episodes, self.seed).returns.tolist()
        for size in sizes:
            if self._simulated:
                returns.extend(played[len(returns) : len(returns) + size])
            else:
                returns.extend(
                    self._evaluate(policy, size, self.seed + len(returns)).returns.tolist()
                )
            if len(returns) == self.quick_episodes and np.mean(returns) < self.quick_threshold:
                break  # the quick check failed: not worth a full evaluation
            if self.worst_at_least is not None and min(returns) < self.worst_at_least:
                break  # an episode failed: the criterion cannot be met
            if self.max_return is not None:
                best_case = sum(returns) + (self.n_episodes - len(returns)) * self.max_return
                if best_case < self.threshold * self.n_episodes:
                    break  # even perfect remaining episodes could not reach the threshold
        return returns

    def _evaluate(self, policy: Callable[[np.ndarray], Any], n: int, seed: int) -> EvalResult:
        # On its own random state: a policy that draws random numbers (a Gaussian actor
        # returning its mean) leaves training exactly as it would be without evaluations.
        with random_state(self.seed):
            return evaluate(
                self.env_id, policy, n, seed, env_kwargs=self.env_kwargs, batched=self.batched
            )

    def summary(self) -> str:
        """One line on how the stop rule went."""
        if not self.history:
            return "no greedy evaluation yet"
        worst = "" if self.worst_at_least is None else f", every episode >= {self.worst_at_least:g}"
        if self.reached_at is not None:
            return (
                f"criterion met at step {self.reached_at:,} (greedy mean {self.best_mean:.1f} "
                f"over {self.n_episodes} episodes{worst})"
            )
        best = "none complete" if self.best_mean == -np.inf else f"{self.best_mean:.1f}"
        return f"criterion {self.threshold:g} not met; best greedy evaluation {best}"

    def restore_best(self, model: Any) -> bool:
        """Load the best weights seen into ``model``; return whether there were any."""
        if self.best_state is None:
            return False
        model.load_state_dict(self.best_state)
        return True
