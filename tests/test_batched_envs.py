"""The batched Pendulum gives gymnasium's numbers, and evaluate() gives the same results with it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import course_lib as cl
import course_lib.evaluation as evaluation
from course_lib.batched_envs import BatchedPendulum, batched_env
from course_lib.envs import make_env

try:
    from numpy._core._multiarray_umath import __cpu_features__ as _CPU
except ImportError:  # pragma: no cover - numpy < 2
    _CPU = {}
# Bit for bit without AVX-512; with it numpy's vector float32 maths may round a last bit
# differently from the scalar code gymnasium runs.
EXACT = not any(on for name, on in _CPU.items() if name.startswith("AVX512"))


def _same(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    if EXACT:
        np.testing.assert_array_equal(ours, theirs, err_msg=what)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6, err_msg=what)


@pytest.mark.parametrize("kwargs", [{}, {"normalize_actions": True}])
def test_batched_pendulum_steps_like_gymnasium(kwargs):
    n, seeds = 64, list(range(500, 564))
    sim = batched_env("Pendulum-v1", kwargs)
    assert isinstance(sim, BatchedPendulum)
    envs = [make_env("Pendulum-v1", **kwargs) for _ in range(n)]
    _same(
        sim.reset(seeds),
        np.stack([e.reset(seed=s)[0] for e, s in zip(envs, seeds, strict=True)]),
        "reset",
    )
    rng = np.random.default_rng(0)
    low, high = sim.action_space.low, sim.action_space.high
    for t in range(200):
        actions = rng.uniform(low, high, size=(n, 1)).astype(np.float32)
        actions[::9] = high if t % 2 else low  # the bounds, where clipping matters
        obs, rewards, terminated, truncated = sim.step(actions)
        theirs = [env.step(a) for env, a in zip(envs, actions, strict=True)]
        _same(obs, np.stack([x[0] for x in theirs]), f"observations at step {t}")
        _same(rewards, np.array([x[1] for x in theirs]), f"rewards at step {t}")
        assert terminated.tolist() == [x[2] for x in theirs]
        assert truncated.tolist() == [x[3] for x in theirs], t
    assert truncated.all()  # the 200-step time limit


@pytest.mark.parametrize(
    "env_id, kwargs",
    [("CartPole-v1", {}), ("MountainCarContinuous-v0", {}), ("Pendulum-v1", {"g": 9.81})],
)
def test_no_simulator_where_it_would_not_be_exact(env_id, kwargs):
    assert batched_env(env_id, kwargs) is None


def test_the_time_limit_follows_max_episode_steps():
    sim = batched_env("Pendulum-v1", {"max_episode_steps": 3})
    sim.reset([0, 1])
    flags = [sim.step(np.zeros((2, 1), np.float32))[3].tolist() for _ in range(3)]
    assert flags == [[False, False], [False, False], [True, True]]


def _policy(normalized: bool):
    torch.manual_seed(3)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1), torch.nn.Tanh()
    )
    scale = 1.0 if normalized else 2.0
    return lambda obs: scale * net(torch.as_tensor(obs, dtype=torch.float32))


@pytest.mark.parametrize("normalized", [False, True])
@pytest.mark.parametrize("max_steps", [None, 37])
def test_evaluate_batched_gives_the_same_results_with_the_simulator(
    monkeypatch, normalized, max_steps
):
    kwargs = {"normalize_actions": True} if normalized else {}
    policy = _policy(normalized)
    args = dict(n_episodes=30, seed=11, env_kwargs=kwargs, batched=True, max_steps=max_steps)
    simulated = cl.evaluate("Pendulum-v1", policy, **args)
    monkeypatch.setattr(evaluation, "batched_env", lambda *a: None)
    stepped = cl.evaluate("Pendulum-v1", policy, **args)
    _same(simulated.returns, stepped.returns, "returns")
    assert simulated.lengths.tolist() == stepped.lengths.tolist()
    assert simulated.lengths.tolist() == [max_steps or 200] * 30


def test_a_bad_action_in_a_simulated_evaluation_names_its_episode_and_step():
    def policy(obs):
        actions = np.zeros((len(obs), 1))
        actions[2] = 5.0
        return actions

    with pytest.raises(ValueError, match=r"Pendulum-v1, episode 2, step 0: the action \[5\.\]"):
        cl.evaluate("Pendulum-v1", policy, n_episodes=4, batched=True)
    with pytest.raises(ValueError, match="one action per observation: got 1 actions for 4"):
        cl.evaluate("Pendulum-v1", lambda obs: np.zeros((1, 1)), n_episodes=4, batched=True)
