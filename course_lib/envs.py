"""Making the course environments, and seeding a whole run.

The rule of the course: a run is seeded **once**. :func:`make_env` hands its
seed to the first ``reset()`` only; every later ``reset()`` without a seed
continues the same random stream, so the agent meets new start states each
episode while the whole run stays reproducible.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import RescaleAction

__all__ = [
    "COURSE_ENVS",
    "SeedOnFirstReset",
    "make_env",
    "make_vec_env",
    "random_state",
    "seed_everything",
]

#: The environments the course notebooks use.
COURSE_ENVS: tuple[str, ...] = ("CartPole-v1", "Pendulum-v1", "MountainCarContinuous-v0")

_MAX_NUMPY_SEED = 2**32 - 1


def _check_seed(seed: Any, name: str = "seed") -> int:
    """Return ``seed`` as an int, or raise if it is not a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(
            f"{name} must be a non-negative int, got {seed!r} of type {type(seed).__name__}; "
            f"pass a whole number such as {name}=0."
        )
    if seed < 0:
        raise ValueError(f"{name} must be >= 0, got {seed}; pass a non-negative int such as 0.")
    return int(seed)


class SeedOnFirstReset(gym.Wrapper):
    """Seed an environment once: at its first ``reset()``, never again.

    At construction the wrapper seeds ``action_space`` and
    ``observation_space`` (so ``action_space.sample()`` is reproducible). The
    first ``reset()`` called without a seed receives ``seed``; later resets
    without a seed continue the environment's random stream. An explicit
    ``reset(seed=...)`` always wins, and if it comes first it counts as the
    run's seeding, so the wrapper's own seed is then never used.

    Args:
        env: the environment to wrap.
        seed: the run's seed, or ``None`` to leave everything unseeded.

    Attributes:
        run_seed: the seed given at construction (``None`` if unseeded).

    Examples:
        >>> import gymnasium as gym
        >>> env = SeedOnFirstReset(gym.make("CartPole-v1"), seed=3)
        >>> first, _ = env.reset()
        >>> second, _ = env.reset()
        >>> bool((first == second).all())
        False
        >>> again = SeedOnFirstReset(gym.make("CartPole-v1"), seed=3)
        >>> bool((again.reset()[0] == first).all())
        True
    """

    def __init__(self, env: gym.Env, seed: int | None = None) -> None:
        super().__init__(env)
        self.run_seed = None if seed is None else _check_seed(seed)
        self._seeded = False
        if self.run_seed is not None:
            self.action_space.seed(self.run_seed)
            self.observation_space.seed(self.run_seed)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset, passing the run's seed on the first call only.

        Args:
            seed: an explicit seed; overrides the wrapper's seed.
            options: passed through to the environment.

        Returns:
            The observation and info dict of the wrapped environment.
        """
        if not self._seeded and seed is None:
            seed = self.run_seed
        self._seeded = True
        return self.env.reset(seed=seed, options=options)


def _quiet_headless_pygame() -> None:
    """On a Linux machine without a display (Colab, CI, a server), make pygame use
    its dummy video driver. Off-screen ``rgb_array`` frames are unchanged, and
    pygame no longer prints "XDG_RUNTIME_DIR is invalid" into notebook output.
    An explicit ``SDL_VIDEODRIVER`` is respected."""
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and headless:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def make_env(
    env_id: str,
    seed: int | None = None,
    render_mode: str | None = None,
    normalize_actions: bool = False,
    **kwargs: Any,
) -> gym.Env:
    """Make a gymnasium environment that is seeded once per run.

    Args:
        env_id: a registered id, e.g. ``"CartPole-v1"``.
        seed: the run's seed (see :class:`SeedOnFirstReset`); ``None`` for
            an unseeded environment.
        render_mode: ``"rgb_array"`` to record frames, ``"human"`` for a
            window, ``None`` for no rendering (fastest).
        normalize_actions: if true, the agent acts in ``[-1, 1]`` and the
            environment rescales to its own bounds (continuous actions only).
        **kwargs: passed to ``gymnasium.make`` (e.g. ``max_episode_steps``).

    Returns:
        The environment, outermost wrapper :class:`SeedOnFirstReset`.

    Raises:
        ValueError: if ``env_id`` is not registered.
        TypeError: if ``normalize_actions`` is asked of a non-Box action space.

    Examples:
        >>> env = make_env("Pendulum-v1", seed=0, normalize_actions=True)
        >>> env.action_space
        Box(-1.0, 1.0, (1,), float32)
        >>> env.unwrapped.action_space
        Box(-2.0, 2.0, (1,), float32)
    """
    if seed is not None:
        _check_seed(seed)
    if render_mode is not None:  # only then, so envs without a render_mode argument work
        kwargs["render_mode"] = render_mode
    if render_mode == "rgb_array":
        _quiet_headless_pygame()
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.UnregisteredEnv as exc:
        raise ValueError(
            f"unknown environment id {env_id!r} ({exc}). "
            f"The course uses {', '.join(COURSE_ENVS)}; check the spelling and version."
        ) from exc
    if normalize_actions:
        env = make_normalized(env, env_id)
    return SeedOnFirstReset(env, seed)


def make_normalized(env: gym.Env, env_id: str = "") -> gym.Env:
    """Wrap ``env`` so the agent acts in ``[-1, 1]`` and the env gets its own range.

    Raises:
        TypeError: if the action space is not continuous (Box).
    """
    space = env.action_space
    if not isinstance(space, spaces.Box):
        env.close()
        raise TypeError(
            f"normalize_actions=True needs a continuous (Box) action space, but "
            f"{env_id or env} has {space}; use normalize_actions=False for this environment."
        )
    # Bounds of the space's own dtype, so gymnasium does not warn about precision.
    return RescaleAction(env, space.dtype.type(-1.0), space.dtype.type(1.0))


def make_vec_env(
    env_id: str,
    n_envs: int,
    seed: int | None = None,
    *,
    wrappers: Sequence[Callable[[gym.Env], gym.Env]] = (),
    normalize_actions: bool = False,
    **kwargs: Any,
) -> gym.vector.SyncVectorEnv:
    """Run ``n_envs`` copies of an environment side by side, stepped as one batch.

    Episodes restart on their own, in the same step: when copy ``i`` ends
    (``terminated[i] or truncated[i]``), ``step`` returns the first observation
    of its next episode, and ``infos["final_obs"][i]`` holds the last
    observation of the episode that ended: the state to bootstrap from when
    the episode was only truncated. Copy ``i`` is seeded once, with
    ``seed + i`` (see :class:`SeedOnFirstReset`).

    Args:
        env_id: a registered id, e.g. ``"Pendulum-v1"``.
        n_envs: how many copies (at least 1).
        seed: the run's seed; ``None`` for unseeded copies.
        wrappers: applied to each copy, innermost first (e.g. an action wrapper).
        normalize_actions: as in :func:`make_env`, applied after ``wrappers``.
        **kwargs: passed to ``gymnasium.make`` (e.g. ``max_episode_steps``).

    Returns:
        A ``SyncVectorEnv``: ``reset()`` gives ``(n_envs, *obs_shape)``
        observations and ``step`` takes ``(n_envs, *action_shape)`` actions.

    Examples:
        >>> envs = make_vec_env("Pendulum-v1", 4, seed=0, normalize_actions=True)
        >>> obs, _ = envs.reset()
        >>> obs.shape, envs.single_action_space
        ((4, 3), Box(-1.0, 1.0, (1,), float32))
    """
    if isinstance(n_envs, bool) or not isinstance(n_envs, int | np.integer) or n_envs < 1:
        raise ValueError(f"n_envs must be a whole number >= 1, got {n_envs!r}.")
    if seed is not None:
        _check_seed(seed)

    def factory(i: int) -> Callable[[], gym.Env]:
        def make() -> gym.Env:
            env = make_env(env_id, render_mode=None, normalize_actions=False, **kwargs)
            env = env.env  # drop the single-env seeding; it is re-applied outermost below
            for wrapper in wrappers:
                env = wrapper(env)
            if normalize_actions:
                env = make_normalized(env, env_id)
            return SeedOnFirstReset(env, None if seed is None else seed + i)

        return make

    envs = gym.vector.SyncVectorEnv(
        [factory(i) for i in range(int(n_envs))],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    if seed is not None:
        envs.action_space.seed(seed)
    return envs


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global RNG and torch.

    Call it once at the top of a run, next to ``make_env(..., seed=seed)``.

    Args:
        seed: a non-negative int below 2**32.

    Raises:
        TypeError: if ``seed`` is not an int.
        ValueError: if ``seed`` is negative or too large for numpy.

    Examples:
        >>> import random
        >>> seed_everything(7); a = random.random(), float(np.random.rand())
        >>> seed_everything(7); b = random.random(), float(np.random.rand())
        >>> a == b
        True
    """
    seed = _check_seed(seed)
    if seed > _MAX_NUMPY_SEED:
        raise ValueError(f"seed must be < 2**32 (numpy's limit), got {seed}; pick a smaller seed.")
    _seed_global_rngs(seed)


def _seed_global_rngs(seed: int) -> None:
    """Seed python's ``random`` and torch with ``seed``, numpy with ``seed`` modulo 2**32."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (_MAX_NUMPY_SEED + 1))
    torch.manual_seed(seed)


@contextlib.contextmanager
def random_state(seed: int) -> Iterator[None]:
    """Seed python's ``random``, numpy's global RNG and torch for a block, then put them back.

    For a demonstration that draws random numbers (a plot of noise samples, a quick
    experiment) in the middle of a seeded run, and for checks that run student code on
    fixed draws: inside, it is reproducible; after it, the run continues exactly as if
    the block had not drawn anything.

    Args:
        seed: a non-negative int. Python's ``random`` and torch receive it as it is
            (torch takes seeds below 2**64); numpy, which takes seeds below 2**32 only,
            receives ``seed % 2**32``. Below 2**32 the block draws what it would after
            ``seed_everything(seed)``.

    Raises:
        TypeError: if ``seed`` is not an int.
        ValueError: if ``seed`` is negative, or (from torch) 2**64 or more.

    Examples:
        >>> seed_everything(1); before = float(np.random.rand())
        >>> seed_everything(1)
        >>> with random_state(5):
        ...     _ = np.random.rand(100), random.random()
        >>> float(np.random.rand()) == before
        True

        A seed of 2**32 or more is fine; numpy sees it modulo 2**32:

        >>> with random_state(2**40 + 5):
        ...     big = float(np.random.rand()), random.random()
        >>> with random_state(5):
        ...     small = float(np.random.rand()), random.random()
        >>> big[0] == small[0], big[1] == small[1]
        (True, False)
    """
    seed = _check_seed(seed)
    import torch

    saved = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            _seed_global_rngs(seed)
            yield
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
