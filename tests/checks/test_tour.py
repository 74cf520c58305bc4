"""Notebook 00's checks: pass on the reference, fail with their message on each known bug."""

from __future__ import annotations

import pytest

from course_lib.checks import CheckFailed
from course_lib.checks.tour import check_run_episode, check_td_target


def run_episode_ref(env, policy, seed):
    obs, _ = env.reset(seed=seed)
    total, n = 0.0, 0
    terminated = truncated = False
    while not (terminated or truncated):
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        total += float(reward)
        n += 1
    return total, n, terminated, truncated


def run_episode_while_loop_variant(env, policy, seed):
    # A correct variant: `for`-loop with break, numpy flags.
    import numpy as np

    obs, _ = env.reset(seed=seed)
    rewards = []
    for _ in range(10_000):
        obs, reward, term, trunc, _ = env.step(policy(obs))
        rewards.append(reward)
        if term or trunc:
            break
    return float(np.sum(rewards)), len(rewards), np.bool_(term), np.bool_(trunc)


def test_reference_and_variant_pass(capsys):
    check_run_episode(run_episode_ref)
    check_run_episode(run_episode_while_loop_variant)
    assert capsys.readouterr().out.count("✔ check_run_episode passed") == 2


def _ignores_truncation(env, policy, seed):
    obs, _ = env.reset(seed=seed)
    total, n, terminated, truncated = 0.0, 0, False, False
    while not terminated:
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        total += reward
        n += 1
    return total, n, terminated, truncated


def _no_seed(env, policy, seed):
    obs, _ = env.reset()
    total, n, te, tr = 0.0, 0, False, False
    while not (te or tr):
        obs, r, te, tr, _ = env.step(policy(obs))
        total, n = total + r, n + 1
    return total, n, te, tr


def _reset_twice(env, policy, seed):
    env.reset(seed=seed)
    return run_episode_ref(env, policy, seed)


def _steps_from_one(env, policy, seed):
    total, n, te, tr = run_episode_ref(env, policy, seed)
    return total, n + 1, te, tr


def _drops_last_reward(env, policy, seed):
    obs, _ = env.reset(seed=seed)
    total, n, te, tr, last = 0.0, 0, False, False, 0.0
    while not (te or tr):
        total += last
        obs, last, te, tr, _ = env.step(policy(obs))
        n += 1
    return total, n, te, tr


def _done_for_both(env, policy, seed):
    total, n, te, tr = run_episode_ref(env, policy, seed)
    return total, n, te or tr, te or tr


def _three_values(env, policy, seed):
    total, n, te, _ = run_episode_ref(env, policy, seed)
    return total, n, te


def _stale_obs(env, policy, seed):
    obs, _ = env.reset(seed=seed)
    total, n, te, tr = 0.0, 0, False, False
    while not (te or tr):
        _, r, te, tr, _ = env.step(policy(obs))  # never updates obs
        total, n = total + r, n + 1
    return total, n, te, tr


@pytest.mark.parametrize(
    ("buggy", "message"),
    [
        (_ignores_truncation, r"stepped the environment after the episode had ended"),
        (_no_seed, r"not reset exactly once, with the given seed"),
        (_reset_twice, r"not reset exactly once, with the given seed"),
        (_steps_from_one, r"n_steps is wrong"),
        (_drops_last_reward, r"total rewards: wrong value at index 0"),
        (_done_for_both, r"flags of the last step were not returned"),
        (_three_values, r"must return a tuple of four values"),
        (_stale_obs, r"policy was not called once per step on the current observation"),
    ],
)
def test_run_episode_bugs_fail_with_their_message(buggy, message):
    with pytest.raises(CheckFailed, match=message) as info:
        check_run_episode(buggy)
    assert "likely bug" in str(info.value) or "expected" in str(info.value)


def td_ref(r, v, terminated, truncated, gamma):
    return r + gamma * (1.0 - terminated) * v


def test_td_target_reference_passes(capsys):
    check_td_target(td_ref)
    assert "✔ check_td_target passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("buggy", "message"),
    [
        (
            lambda r, v, te, tr, g: r + g * (1 - (te or tr)) * v,
            r"truncation is a time limit, not a terminal state",
        ),
        (lambda r, v, te, tr, g: r + g * v, r"a terminal step has no future"),
        (lambda r, v, te, tr, g: r + (1 - te) * v, r"an ordinary step: bootstrap"),
        (lambda r, v, te, tr, g: [r + g * (1 - te) * v], r"must return a single number"),
    ],
)
def test_td_target_bugs_fail_with_their_message(buggy, message):
    with pytest.raises(CheckFailed, match=message):
        check_td_target(buggy)
