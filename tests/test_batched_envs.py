"""The batched Pendulum and CartPole give gymnasium's numbers, and evaluate() gives the same
results with them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import course_lib as cl
import course_lib.evaluation as evaluation
from course_lib.batched_envs import BatchedCartPole, BatchedPendulum, batched_env
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
    [
        ("MountainCarContinuous-v0", {}),
        ("Acrobot-v1", {}),
        ("Pendulum-v1", {"g": 9.81}),
        ("CartPole-v1", {"sutton_barto_reward": True}),
    ],
)
def test_no_simulator_where_it_would_not_be_exact(env_id, kwargs):
    assert batched_env(env_id, kwargs) is None


def test_no_simulator_for_a_subclass_or_other_rewards(monkeypatch):
    """A subclass may change the physics; Sutton and Barto's rewards are not simulated."""
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    import course_lib.batched_envs as batched_envs

    class Heavier(CartPoleEnv):
        pass

    real_make = batched_envs.make_env

    def make_heavier(env_id, **kwargs):
        env = real_make(env_id, **kwargs)
        env.unwrapped.__class__ = Heavier
        return env

    monkeypatch.setattr(batched_envs, "make_env", make_heavier)
    assert batched_env("CartPole-v1") is None

    def make_sutton_barto(env_id, **kwargs):
        env = real_make(env_id, **kwargs)
        env.unwrapped._sutton_barto_reward = True
        return env

    monkeypatch.setattr(batched_envs, "make_env", make_sutton_barto)
    assert batched_env("CartPole-v1") is None


def _balancing_actions(obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Push toward the pole's fall, with 1 push in 5 random: episodes of every length."""
    actions = (obs[:, 2] + 0.3 * obs[:, 3] > 0).astype(np.int64)
    flip = rng.random(len(obs)) < 0.2
    return np.where(flip, rng.integers(0, 2, len(obs)), actions)


def test_batched_cartpole_steps_like_gymnasium():
    n, seeds = 64, list(range(700, 764))
    sim = batched_env("CartPole-v1")
    assert isinstance(sim, BatchedCartPole)
    envs = [make_env("CartPole-v1") for _ in range(n)]
    obs = sim.reset(seeds)
    _same(obs, np.stack([e.reset(seed=s)[0] for e, s in zip(envs, seeds, strict=True)]), "reset")
    rng = np.random.default_rng(0)
    active = np.ones(n, dtype=bool)
    lengths = np.zeros(n, dtype=int)
    while active.any():
        actions = _balancing_actions(obs, rng)
        obs, rewards, terminated, truncated = sim.step(actions)
        for i in np.flatnonzero(active):  # an ended episode is not stepped in gymnasium
            their_obs, their_reward, their_term, their_trunc, _ = envs[i].step(int(actions[i]))
            step = f"episode {i}, step {lengths[i]}"
            _same(obs[i], their_obs, f"observation, {step}")
            assert rewards[i] == their_reward, step
            assert (terminated[i], truncated[i]) == (their_term, their_trunc), step
            lengths[i] += 1
            active[i] = not (their_term or their_trunc)
    assert lengths.min() < 100 and lengths.max() == 500, lengths  # falls and the time limit


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


@pytest.mark.parametrize("max_steps", [None, 37])
def test_cartpole_evaluations_are_the_same_with_the_simulator(monkeypatch, max_steps):
    torch.manual_seed(5)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    with torch.no_grad():
        net[0].weight[:, 2:] += 2.0  # lean on the pole angle: some episodes last

    def policy(obs):
        return net(torch.as_tensor(obs)).argmax(-1)

    args = dict(n_episodes=40, seed=21, batched=True, max_steps=max_steps)
    simulated = cl.evaluate("CartPole-v1", policy, **args)
    monkeypatch.setattr(evaluation, "batched_env", lambda *a: None)
    stepped = cl.evaluate("CartPole-v1", policy, **args)
    assert simulated.returns.tolist() == stepped.returns.tolist()
    assert simulated.lengths.tolist() == stepped.lengths.tolist()
    assert len(set(simulated.lengths.tolist())) > 3  # episodes of several lengths


def test_a_bad_cartpole_action_in_a_simulated_evaluation_names_its_episode_and_step():
    def index_2(obs):
        actions = np.zeros(len(obs), dtype=np.int64)
        actions[1] = 2
        return actions

    with pytest.raises(ValueError, match=r"CartPole-v1, episode 1, step 0: action 2 is not in"):
        cl.evaluate("CartPole-v1", index_2, n_episodes=3, batched=True)

    def probabilities(obs):
        return np.full((len(obs), 2), 0.5)

    with pytest.raises(ValueError, match=r"CartPole-v1, episode 0, step 0: .* shape \(2,\)"):
        cl.evaluate("CartPole-v1", probabilities, n_episodes=3, batched=True)
    # whole floats are accepted, as row by row
    result = cl.evaluate("CartPole-v1", lambda obs: np.zeros(len(obs)), n_episodes=3, batched=True)
    assert result.lengths.tolist() == [11, 10, 9]  # as evaluate("CartPole-v1", lambda obs: 0)


def test_a_bad_action_in_a_simulated_evaluation_names_its_episode_and_step():
    def policy(obs):
        actions = np.zeros((len(obs), 1))
        actions[2] = 5.0
        return actions

    with pytest.raises(ValueError, match=r"Pendulum-v1, episode 2, step 0: the action \[5\.\]"):
        cl.evaluate("Pendulum-v1", policy, n_episodes=4, batched=True)
    with pytest.raises(ValueError, match="one action per observation: got 1 actions for 4"):
        cl.evaluate("Pendulum-v1", lambda obs: np.zeros((1, 1)), n_episodes=4, batched=True)
