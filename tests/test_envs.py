"""Tests of course_lib.envs: one seed per run, action rescaling, clear errors."""

from __future__ import annotations

import os
import random
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.wrappers import RescaleAction

from course_lib.envs import COURSE_ENVS, SeedOnFirstReset, make_env, seed_everything


def _reset_sequence(env: gym.Env, n: int) -> list[np.ndarray]:
    return [np.asarray(env.reset()[0]) for _ in range(n)]


def _wrapper_types(env: gym.Env) -> list[type]:
    types = []
    while isinstance(env, gym.Wrapper):
        types.append(type(env))
        env = env.env
    return types


@pytest.mark.parametrize("env_id", COURSE_ENVS)
def test_same_seed_same_resets_and_the_stream_continues(env_id: str) -> None:
    first = make_env(env_id, seed=123)
    second = make_env(env_id, seed=123)
    obs_a = _reset_sequence(first, 3)
    obs_b = _reset_sequence(second, 3)
    for a, b in zip(obs_a, obs_b, strict=True):
        np.testing.assert_array_equal(a, b)
    # Seeded once, not at every reset: later resets start elsewhere.
    assert not np.array_equal(obs_a[0], obs_a[1])
    assert not np.array_equal(obs_a[1], obs_a[2])


@pytest.mark.parametrize("env_id", COURSE_ENVS)
def test_different_seeds_give_different_starts(env_id: str) -> None:
    a = make_env(env_id, seed=0).reset()[0]
    b = make_env(env_id, seed=1).reset()[0]
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("env_id", COURSE_ENVS)
def test_action_sampling_is_reproducible(env_id: str) -> None:
    draws = []
    for _ in range(2):
        env = make_env(env_id, seed=7)
        draws.append([np.asarray(env.action_space.sample()) for _ in range(20)])
    for a, b in zip(*draws, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len({np.asarray(x).tobytes() for x in draws[0]}) > 1


def test_first_reset_matches_a_plain_gymnasium_reset_with_that_seed() -> None:
    ours = make_env("CartPole-v1", seed=42).reset()[0]
    plain = gym.make("CartPole-v1").reset(seed=42)[0]
    np.testing.assert_array_equal(ours, plain)


def test_explicit_seed_wins_and_counts_as_the_seeding() -> None:
    env = make_env("CartPole-v1", seed=42)
    plain = gym.make("CartPole-v1")
    np.testing.assert_array_equal(env.reset(seed=5)[0], plain.reset(seed=5)[0])
    # The wrapper's seed is not injected later: the stream goes on from seed 5.
    np.testing.assert_array_equal(env.reset()[0], plain.reset()[0])


def test_unseeded_env_works() -> None:
    env = make_env("Pendulum-v1")
    obs, _ = env.reset()
    assert env.observation_space.contains(obs)
    assert isinstance(env, SeedOnFirstReset)
    assert env.run_seed is None


def test_normalize_actions_rescales_pendulum_to_unit_box() -> None:
    env = make_env("Pendulum-v1", seed=0, normalize_actions=True)
    assert RescaleAction in _wrapper_types(env)
    np.testing.assert_array_equal(env.action_space.low, [-1.0])
    np.testing.assert_array_equal(env.action_space.high, [1.0])
    np.testing.assert_array_equal(env.unwrapped.action_space.high, [2.0])
    env.reset()
    for agent_action, torque in [(1.0, 2.0), (-1.0, -2.0), (0.5, 1.0)]:
        env.step(np.array([agent_action], dtype=np.float32))
        assert env.unwrapped.last_u == pytest.approx(torque)
    # The outer (rescaled) action space is the seeded one.
    samples = [make_env("Pendulum-v1", seed=3, normalize_actions=True).action_space.sample()]
    samples.append(make_env("Pendulum-v1", seed=3, normalize_actions=True).action_space.sample())
    np.testing.assert_array_equal(*samples)
    assert -1.0 <= samples[0][0] <= 1.0


def test_normalize_actions_on_discrete_space_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"Discrete\(2\)"):
        make_env("CartPole-v1", normalize_actions=True)


def test_without_normalize_there_is_no_rescaling() -> None:
    env = make_env("Pendulum-v1")
    assert RescaleAction not in _wrapper_types(env)
    np.testing.assert_array_equal(env.action_space.high, [2.0])


def test_kwargs_reach_gymnasium() -> None:
    env = make_env("CartPole-v1", seed=0, max_episode_steps=4)
    env.reset()
    flags = [env.step(0)[3] for _ in range(4)]
    assert flags == [False, False, False, True]


@pytest.mark.parametrize("bad_id", ["Cartpole-v1", "CartPole-v9", "NoSuchEnv-v0"])
def test_unknown_env_id_lists_the_course_envs(bad_id: str) -> None:
    listed = "CartPole-v1, Pendulum-v1, MountainCarContinuous-v0"
    with pytest.raises(ValueError, match=listed) as info:
        make_env(bad_id)
    assert bad_id in str(info.value)
    assert isinstance(info.value.__cause__, gym.error.Error)


def test_make_env_rejects_a_bad_seed() -> None:
    with pytest.raises(ValueError, match="seed must be >= 0, got -3"):
        make_env("CartPole-v1", seed=-3)


def test_seed_everything_makes_all_three_rngs_repeat() -> None:
    draws = []
    for _ in range(2):
        seed_everything(11)
        draws.append((random.random(), float(np.random.rand()), float(torch.rand(1))))
    assert draws[0] == draws[1]
    seed_everything(12)
    assert random.random() != draws[0][0]


@pytest.mark.parametrize(
    ("seed", "error", "message"),
    [
        (-1, ValueError, "seed must be >= 0, got -1"),
        (2**32, ValueError, "2\\*\\*32"),
        (1.5, TypeError, "non-negative int"),
        (True, TypeError, "non-negative int"),
        ("0", TypeError, "non-negative int"),
    ],
)
def test_seed_everything_rejects_bad_seeds(seed: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        seed_everything(seed)  # type: ignore[arg-type]


def test_seed_everything_accepts_numpy_ints() -> None:
    seed_everything(np.int64(3))
    a = random.random()
    seed_everything(3)
    assert random.random() == a


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux display variables")
@pytest.mark.parametrize(("preset", "expected"), [(None, "dummy"), ("x11", "x11")])
def test_headless_rgb_array_uses_the_dummy_video_driver(
    monkeypatch: pytest.MonkeyPatch, preset: str | None, expected: str
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SDL_VIDEODRIVER", "placeholder")  # so the test restores it
    if preset is None:
        monkeypatch.delenv("SDL_VIDEODRIVER")
    else:
        monkeypatch.setenv("SDL_VIDEODRIVER", preset)
    make_env("CartPole-v1", render_mode="rgb_array")
    assert os.environ["SDL_VIDEODRIVER"] == expected
