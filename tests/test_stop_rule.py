"""course_lib.stop_rule: the training loops' stop rule (CriterionTracker)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import stop_rule
from course_lib.envs import seed_everything
from course_lib.evaluation import evaluate, pass_chance
from course_lib.stop_rule import CriterionTracker


class _Net(torch.nn.Module):
    """A model whose weights tell which evaluation saved them."""

    def __init__(self) -> None:
        super().__init__()
        self.tag = torch.nn.Parameter(torch.zeros(1))


def _cartpole_returns(n: int, seed: int) -> np.ndarray:
    return evaluate("CartPole-v1", lambda obs: 0, n_episodes=n, seed=seed).returns


def test_tracker_plays_all_episodes_only_when_the_quick_ones_pass():
    returns = _cartpole_returns(12, seed=10_000)
    quick = float(returns[:3].mean())
    tracker = CriterionTracker(
        "CartPole-v1", threshold=quick + 0.5, every_steps=5, n_episodes=12, quick_episodes=3
    )
    assert tracker.check(lambda obs: 0, steps=5) is False
    assert tracker.history == [(5, pytest.approx(quick), False)]
    tracker = CriterionTracker(
        "CartPole-v1",
        threshold=returns.mean() - 0.5,
        every_steps=5,
        n_episodes=12,
        quick_episodes=3,
    )
    assert tracker.check(lambda obs: 0, steps=5) is True
    assert tracker.history == [(5, pytest.approx(returns.mean()), True)]
    assert tracker.reached_at == 5 and not tracker.due(9) and tracker.due(10)


def test_tracker_quick_threshold_screens_below_the_threshold():
    # from seed 10_003, the first 3 episodes average 8.67 and all 12 average 9.25
    returns = _cartpole_returns(12, seed=10_003)
    quick, full = float(returns[:3].mean()), float(returns.mean())
    assert quick < full

    def tracker(threshold: float, quick_threshold: float | None) -> CriterionTracker:
        return CriterionTracker(
            "CartPole-v1", threshold, quick_threshold=quick_threshold, every_steps=5,
            n_episodes=12, quick_episodes=3, seed=10_003,
        )  # fmt: skip

    # met on all 12 episodes, though the quick 3 are below the threshold: a lower quick
    # threshold lets the evaluation go on; the default (the threshold) turns it away
    lenient = tracker(full, quick_threshold=quick - 0.5)
    assert lenient.check(lambda obs: 0, steps=5) is True
    assert lenient.history == [(5, pytest.approx(full), True)]
    strict = tracker(full, quick_threshold=None)
    assert strict.check(lambda obs: 0, steps=5) is False
    assert strict.history == [(5, pytest.approx(quick), False)]
    # below the quick threshold: only the quick episodes are played
    screened = tracker(full, quick_threshold=quick + 0.1)
    assert screened.check(lambda obs: 0, steps=5) is False
    assert screened.history == [(5, pytest.approx(quick), False)]


def test_tracker_refuses_a_quick_threshold_above_the_threshold():
    with pytest.raises(ValueError, match=r"quick_threshold .* is above the threshold"):
        CriterionTracker("CartPole-v1", threshold=100.0, quick_threshold=150.0)


def test_tracker_keeps_the_best_complete_evaluation_and_restores_it():
    tracker = CriterionTracker(
        "CartPole-v1", threshold=1e9, every_steps=1, n_episodes=4, quick_episodes=4
    )
    net = _Net()
    for steps, tag in [(1, 1.0), (2, 2.0)]:
        with torch.no_grad():
            net.tag.fill_(tag)
        policy = (lambda obs: 0) if tag == 1.0 else (lambda obs: int(obs[2] > 0))
        tracker.check(policy, steps=steps, model=net)
    best = max(tracker.history, key=lambda h: h[1])
    with torch.no_grad():
        net.tag.fill_(-1.0)
    assert tracker.restore_best(net)
    assert net.tag.item() == (1.0 if best[0] == 1 else 2.0)
    assert "not met" in tracker.summary()


def test_tracker_with_worst_at_least_refuses_a_good_mean_with_a_failed_episode():
    returns = _cartpole_returns(20, seed=10_000)
    assert returns.min() < 9 <= returns.mean()  # the case: a good mean, some episodes below 9
    lenient = CriterionTracker("CartPole-v1", threshold=9.0, every_steps=1, n_episodes=20)
    assert lenient.check(lambda obs: 0, steps=1) is True
    strict = CriterionTracker(
        "CartPole-v1", threshold=9.0, every_steps=1, n_episodes=20, worst_at_least=9.0
    )
    net = _Net()
    assert strict.check(lambda obs: 0, steps=1, model=net) is False
    assert strict.history[0][2] is False and strict.best_state is None
    assert strict.restore_best(net) is False
    # an episode at the bar is not a failure
    strict = CriterionTracker(
        "CartPole-v1",
        threshold=9.0,
        every_steps=1,
        n_episodes=20,
        worst_at_least=float(returns.min()),
    )
    assert strict.check(lambda obs: 0, steps=1) is True
    assert f"every episode >= {returns.min():g}" in strict.summary()


def test_tracker_with_graded_asks_for_the_graders_verdict_too():
    """A mean over the margin is not enough when the grader's fewer episodes could miss the
    criterion; the chance comes from the evaluation's own returns (pass_chance)."""
    returns = _cartpole_returns(20, seed=10_000)
    margin = float(returns.mean()) - 0.5  # met, but only just: the grader's 3 episodes vary
    chance = pass_chance(returns, margin, 3)
    assert 0.05 < chance < 0.95
    plain = CriterionTracker("CartPole-v1", threshold=margin, every_steps=1, n_episodes=20)
    assert plain.check(lambda obs: 0, steps=1) is True
    graded = CriterionTracker(
        "CartPole-v1", threshold=margin, every_steps=1, n_episodes=20, graded=(margin, 3)
    )
    assert graded.check(lambda obs: 0, steps=1) is False
    assert graded.history[0][2] is True  # a complete evaluation, kept as the best so far
    sure = CriterionTracker(
        "CartPole-v1", threshold=margin, every_steps=1, n_episodes=20, graded=(margin - 5, 3)
    )
    assert sure.check(lambda obs: 0, steps=1) is True
    assert "graded episodes with 99% chance or more" in sure.summary()
    with pytest.raises(ValueError, match="confidence must be in"):
        CriterionTracker("CartPole-v1", threshold=9.0, graded=(9.0, 3), confidence=1.0)


def _swing(obs: np.ndarray) -> np.ndarray:
    """A deterministic batched Pendulum policy: push along the angular velocity."""
    return np.clip(2.0 * np.sign(obs[:, 2:3]) + 0.5 * obs[:, 2:3], -2.0, 2.0)


@pytest.mark.parametrize(
    "rule",
    [
        dict(threshold=-100.0, quick_threshold=-100.0),  # the quick episodes fail
        dict(threshold=-2_000.0, worst_at_least=-1_100.0),  # an episode fails in a chunk
        dict(threshold=-700.0, quick_threshold=-2_000.0, max_return=0.0),  # out of reach
        dict(threshold=-2_000.0, max_return=0.0),  # a full evaluation that passes
    ],
)
def test_a_simulated_tracker_decides_as_the_episode_by_episode_one(monkeypatch, rule):
    def run(simulated: bool) -> tuple[list, int]:
        calls = 0

        def policy(obs: np.ndarray) -> np.ndarray:
            nonlocal calls
            calls += 1
            return _swing(obs)

        with monkeypatch.context() as m:
            if not simulated:
                m.setattr(stop_rule, "can_batch", lambda *a: False)
            tracker = CriterionTracker(
                "Pendulum-v1", every_steps=1, n_episodes=40, quick_episodes=5, chunk=10,
                batched=True, **rule,
            )  # fmt: skip
        assert tracker._simulated is simulated
        tracker.check(policy, steps=1)
        return tracker.history, calls

    simulated, one_pass = run(True)
    stepped, calls = run(False)
    assert simulated == stepped
    assert one_pass == 200  # every episode in one pass of 200 steps
    assert calls >= 200


def test_a_tracker_leaves_the_random_generators_as_it_found_them():
    def noisy(obs: np.ndarray) -> np.ndarray:  # draws, like a Gaussian actor returning its mean
        torch.randn(len(obs))
        np.random.rand(len(obs))
        return np.zeros((len(obs), 1))

    for env_id, kwargs in [("Pendulum-v1", {}), ("CartPole-v1", {"quick_episodes": 1})]:
        policy = noisy if env_id == "Pendulum-v1" else (lambda obs: noisy(obs)[:, 0].astype(int))
        seed_everything(7)
        expected = torch.rand(3), np.random.rand(3)
        seed_everything(7)
        tracker = CriterionTracker(env_id, 0.0, n_episodes=4, batched=True, **kwargs)
        tracker.check(policy, steps=1)
        assert torch.equal(torch.rand(3), expected[0]), env_id
        assert np.array_equal(np.random.rand(3), expected[1]), env_id


def test_a_graded_rule_keeps_the_weights_that_met_it(monkeypatch):
    """An earlier evaluation with a higher mean but too low a graded chance is not what the
    rule stopped on: restore_best gives the weights of the evaluation that met the rule."""
    evaluations = iter(
        [
            [-150.0] * 190 + [-1200.0] * 10,  # mean -202.5: complete, the chance too low
            [-190.0] * 200,  # mean -190: lower, but certain
        ]
    )
    tracker = CriterionTracker(
        "Pendulum-v1", threshold=-210.0, every_steps=1, n_episodes=200, graded=(-200.0, 20)
    )
    monkeypatch.setattr(tracker, "_play", lambda policy: next(evaluations))
    net = _Net()
    net.tag.data.fill_(1.0)
    assert tracker.check(lambda obs: 0, steps=1, model=net) is False
    net.tag.data.fill_(2.0)
    assert tracker.check(lambda obs: 0, steps=2, model=net) is True
    net.tag.data.fill_(3.0)
    assert tracker.restore_best(net) and float(net.tag) == 2.0
    assert "greedy mean -190.0" in tracker.summary()
