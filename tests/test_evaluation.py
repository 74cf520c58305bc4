"""Tests of course_lib.evaluation: reproducible scores and clear action errors."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from course_lib.evaluation import (
    EvalResult,
    _valid_box_batch,
    evaluate,
    pass_chance,
    to_env_action,
)

THREE_STEP_ID = "CourseLibTest/ThreeStep-v0"


class ThreeStepEnv(gym.Env):
    """Three steps, reward 1 each, whatever the action."""

    observation_space = spaces.Box(0.0, 3.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self) -> None:
        self.t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        assert isinstance(action, int)
        self.t += 1
        return np.full(1, self.t, np.float32), 1.0, self.t >= 3, False, {}


if THREE_STEP_ID not in gym.registry:
    gym.register(THREE_STEP_ID, entry_point=ThreeStepEnv)


def test_three_step_env_gives_exact_returns() -> None:
    result = evaluate(THREE_STEP_ID, lambda obs: 0, n_episodes=4)
    assert isinstance(result, EvalResult)
    np.testing.assert_array_equal(result.returns, [3.0, 3.0, 3.0, 3.0])
    np.testing.assert_array_equal(result.lengths, [3, 3, 3, 3])
    assert result.returns.dtype == np.float64
    assert result.lengths.dtype == np.int64
    assert (result.mean, result.std) == (3.0, 0.0)
    assert str(result) == result.summary() == "mean return 3.0 ± 0.0 over 4 episodes"


def test_max_steps_cuts_episodes() -> None:
    result = evaluate(THREE_STEP_ID, lambda obs: 1, n_episodes=2, max_steps=2)
    np.testing.assert_array_equal(result.returns, [2.0, 2.0])
    np.testing.assert_array_equal(result.lengths, [2, 2])


def test_summary_of_a_single_episode() -> None:
    result = evaluate(THREE_STEP_ID, lambda obs: 0, n_episodes=1)
    assert result.summary() == "mean return 3.0 ± 0.0 over 1 episode"


def test_cartpole_evaluation_is_reproducible() -> None:
    first = evaluate("CartPole-v1", lambda obs: 0, n_episodes=10, seed=0)
    second = evaluate("CartPole-v1", lambda obs: 0, n_episodes=10, seed=0)
    np.testing.assert_array_equal(first.returns, second.returns)
    # Pushing left all the time drops the pole within about ten steps.
    assert first.lengths.min() >= 8
    assert first.lengths.max() <= 12
    np.testing.assert_array_equal(first.returns, first.lengths)  # reward 1 per step
    assert first.lengths[:3].tolist() == [11, 10, 9]
    assert first.mean == pytest.approx(first.returns.mean())
    assert first.std == pytest.approx(first.returns.std())


def test_episode_seeds_are_seed_plus_index() -> None:
    shifted = evaluate("CartPole-v1", lambda obs: 0, n_episodes=3, seed=1)
    base = evaluate("CartPole-v1", lambda obs: 0, n_episodes=4, seed=0)
    np.testing.assert_array_equal(shifted.returns, base.returns[1:])


@pytest.mark.parametrize(
    "policy",
    [
        lambda obs: 1,
        lambda obs: np.int64(1),
        lambda obs: np.array(1),
        lambda obs: np.array([1]),
        lambda obs: torch.tensor(1),
        lambda obs: torch.tensor([1.0], requires_grad=True),
    ],
    ids=["int", "np.int64", "0-d array", "shape (1,)", "tensor", "float tensor with grad"],
)
def test_discrete_action_forms_give_the_same_result(policy: Any) -> None:
    result = evaluate("CartPole-v1", policy, n_episodes=3)
    reference = evaluate("CartPole-v1", lambda obs: 1, n_episodes=3)
    np.testing.assert_array_equal(result.returns, reference.returns)


def test_policy_runs_without_gradients() -> None:
    seen: list[bool] = []

    def policy(obs: np.ndarray) -> int:
        seen.append(torch.is_grad_enabled())
        return 0

    evaluate(THREE_STEP_ID, policy, n_episodes=1)
    assert seen == [False, False, False]


def test_normalized_env_kwargs_match_env_range_actions() -> None:
    unit = evaluate(
        "Pendulum-v1",
        lambda obs: torch.tensor([1.0]),
        n_episodes=2,
        env_kwargs={"normalize_actions": True},
    )
    env_range = evaluate("Pendulum-v1", lambda obs: np.array([2.0]), n_episodes=2)
    np.testing.assert_allclose(unit.returns, env_range.returns)
    np.testing.assert_array_equal(unit.lengths, [200, 200])


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (np.zeros(2), r"shape \(2,\).*expects shape \(1,\).*return env-range actions"),
        (np.zeros((2, 1)), r"shape \(2, 1\)"),
        (np.array([3.0]), r"outside the bounds.*rescale"),
        (np.array([-2.1]), r"outside the bounds"),
        (np.array([np.nan]), "NaN"),
        (torch.tensor([np.inf]), "NaN or inf"),
    ],
    ids=["too long", "batch", "above high", "below low", "nan", "inf tensor"],
)
def test_bad_pendulum_actions_raise(action: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate("Pendulum-v1", lambda obs: action, n_episodes=1, max_steps=3)


def test_bad_action_error_says_where() -> None:
    with pytest.raises(ValueError, match="Pendulum-v1, episode 0, step 0: "):
        evaluate("Pendulum-v1", lambda obs: np.array([5.0]), n_episodes=1)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (2.0, [2.0]),  # a bare number for a shape-(1,) space
        (np.array([[1.5]]), [1.5]),  # an extra batch axis of size 1
        (np.array([2.0 + 5e-7]), [2.0]),  # within the tolerance, clipped
        (torch.tensor([-0.25]), [-0.25]),
    ],
)
def test_box_actions_are_converted(action: Any, expected: list[float]) -> None:
    space = spaces.Box(-2.0, 2.0, (1,), np.float32)
    out = to_env_action(action, space)
    assert out.dtype == np.float32
    assert out.shape == (1,)
    np.testing.assert_allclose(out, expected)


@pytest.mark.parametrize(
    ("action", "error", "message"),
    [
        (2, ValueError, "action 2 is not in Discrete"),
        (np.array([0, 1]), ValueError, r"shape \(2,\)"),
        (0.5, ValueError, "whole number"),
        ("left", TypeError, "integer"),
    ],
)
def test_bad_discrete_actions_raise(action: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        to_env_action(action, spaces.Discrete(2))


def test_discrete_action_is_a_python_int() -> None:
    out = to_env_action(torch.tensor([1]), spaces.Discrete(2))
    assert out == 1
    assert type(out) is int


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_episodes": 0}, ValueError, "n_episodes must be >= 1, got 0"),
        ({"max_steps": 0}, ValueError, "max_steps must be >= 1, got 0"),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
        ({"n_episodes": 2.5}, TypeError, "n_episodes must be an int"),
        ({"env_kwargs": [1]}, TypeError, "env_kwargs must be a dict"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        evaluate(THREE_STEP_ID, lambda obs: 0, **kwargs)


def test_non_callable_policy_raises() -> None:
    with pytest.raises(TypeError, match="policy must be a function"):
        evaluate(THREE_STEP_ID, "greedy")  # type: ignore[arg-type]


def test_unknown_env_raises_value_error() -> None:
    with pytest.raises(ValueError, match="CartPole-v1"):
        evaluate("NoSuchEnv-v0", lambda obs: 0)


def _pendulum_controller(obs: np.ndarray) -> np.ndarray:
    """A fixed numpy policy for one observation (3,) or a batch (B, 3)."""
    obs = np.asarray(obs, dtype=np.float64)
    return np.clip(-2.0 * obs[..., 1:2] - 0.5 * obs[..., 2:3], -2.0, 2.0)


@pytest.mark.parametrize("squeeze", [False, True], ids=["(B, 1) actions", "(B,) actions"])
def test_batched_evaluation_plays_the_same_episodes(squeeze: bool) -> None:
    def batched(obs: np.ndarray) -> np.ndarray:
        out = _pendulum_controller(obs)
        return out[:, 0] if squeeze else out

    one_by_one = evaluate("Pendulum-v1", _pendulum_controller, n_episodes=6, seed=3)
    together = evaluate("Pendulum-v1", batched, n_episodes=6, seed=3, batched=True)
    np.testing.assert_allclose(together.returns, one_by_one.returns, rtol=1e-6)
    assert together.lengths.tolist() == [200] * 6


@pytest.mark.parametrize(
    "batch",
    [
        np.array([[0.5], [2.0 + 5e-7], [-2.0 - 5e-7]]),  # within the tolerance: clipped
        np.array([0.5, 1.0, -1.0]),  # (B,) for a (1,) space
        torch.tensor([[[0.5]], [[1.0]], [[-1.0]]]),  # (B, 1, 1)
    ],
    ids=["tolerance", "(B,)", "(B, 1, 1) tensor"],
)
def test_batch_check_converts_like_one_by_one(batch: Any) -> None:
    space = spaces.Box(-2.0, 2.0, (1,), np.float32)
    rows = _valid_box_batch(batch, space)
    assert rows is not None and rows.dtype == np.float32
    expected = [to_env_action(row, space) for row in batch]
    np.testing.assert_array_equal(rows, np.stack(expected))


@pytest.mark.parametrize(
    "batch",
    [np.zeros((3, 2)), np.array([[0.0], [np.nan], [0.0]]), np.array([[0.0], [2.5], [0.0]])],
    ids=["wrong shape", "nan", "out of bounds"],
)
def test_batch_check_leaves_invalid_batches_to_the_row_by_row_check(batch: Any) -> None:
    assert _valid_box_batch(batch, spaces.Box(-2.0, 2.0, (1,), np.float32)) is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.nan, "episode 2, step 4: the action contains NaN"),
        (3.0, "episode 2, step 4: the action .* is outside the bounds"),
    ],
    ids=["nan", "out of bounds"],
)
def test_batched_evaluation_names_the_episode_and_step_of_a_bad_action(
    bad: float, message: str
) -> None:
    calls = {"n": 0}

    def policy(obs: np.ndarray) -> np.ndarray:
        actions = np.zeros((len(obs), 1))
        if calls["n"] == 4:
            actions[2] = bad
        calls["n"] += 1
        return actions

    with pytest.raises(ValueError, match=message):
        evaluate("Pendulum-v1", policy, n_episodes=4, batched=True)


def test_batched_evaluation_refuses_actions_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"episode 0, step 0: the action has shape \(2,\)"):
        evaluate("Pendulum-v1", lambda obs: np.zeros((len(obs), 2)), n_episodes=3, batched=True)


# ---------------------------------------------------------------- pass_chance


def test_pass_chance_is_certain_for_equal_returns_and_deterministic():
    assert pass_chance([-150.0] * 50, -200.0, 20) == 1.0
    assert pass_chance([-250.0] * 50, -200.0, 20) == 0.0
    returns = np.random.default_rng(3).normal(-190.0, 100.0, 200)
    assert pass_chance(returns, -200.0, 20) == pass_chance(returns, -200.0, 20)


def test_pass_chance_matches_the_normal_approximation_for_normal_returns():
    # mean -180, sd 100 per episode: the grader's 20-episode mean has sd 100/sqrt(20) = 22.4,
    # widened by the uncertainty of the 2,000 played episodes' own mean (sd 100/sqrt(2000))
    from math import erf, sqrt

    returns = np.random.default_rng(4).normal(-180.0, 100.0, 2000)
    sd = returns.std() * sqrt(1 / 20 + 1 / 2000)
    z = (returns.mean() + 200.0) / sd
    expected = 0.5 * (1 + erf(z / sqrt(2)))
    assert abs(pass_chance(returns, -200.0, 20) - expected) < 0.02


def test_pass_chance_sees_rare_failures_a_mean_hides():
    returns = [-140.0] * 190 + [-1400.0] * 10  # mean -203: one failed start in twenty
    assert pass_chance(returns, -200.0, 20) < 0.7
    with pytest.raises(ValueError, match="finite returns"):
        pass_chance([], -200.0, 20)
    with pytest.raises(ValueError, match="NaN or inf"):
        pass_chance([1.0, float("nan")], 0.0, 20)
    with pytest.raises(ValueError, match="n_episodes must be >= 1"):
        pass_chance([1.0], 0.0, 0)
