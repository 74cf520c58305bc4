"""course_lib.exercises.networks: properties every correct network of the course has, read the
same way by the visible checks and the grader's probes. Here: the output can reach its whole
range (a squashing mistake cannot), so a greedy evaluation cannot hide it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.checks import a2c as a2c_checks
from course_lib.checks import actor_critic as ac_checks
from course_lib.checks import ddpg as ddpg_checks
from course_lib.checks import ppo as ppo_checks
from course_lib.checks import td3 as td3_checks
from course_lib.checks.core import CheckFailed
from course_lib.exercises.ddpg.networks import (
    deterministic_actor_problems,
    state_action_critic_problems,
)
from course_lib.exercises.network_kinds import standard_problems
from course_lib.exercises.networks import (
    actor_reach_finding,
    output_range,
    value_reach_finding,
)
from course_lib.exercises.td3.networks import td3_actor_problems, twin_critic_problems


class Head(nn.Module):
    """Linear(in, hidden), ReLU, Linear(hidden, out), then ``last``."""

    def __init__(self, n_in, n_out, last=None, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, n_out)
        self.last = last or (lambda x: x)

    def forward(self, x):
        return self.last(self.out(self.body(x)))


def test_output_range_puts_every_parameter_back_exactly():
    net = Head(3, 2, torch.tanh)
    before = [p.detach().clone() for p in net.parameters()]
    low, high = output_range(net, lambda m, x: m(x), 3, 2)
    assert low.tolist() == [-1.0, -1.0] and high.tolist() == [1.0, 1.0]
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_a_network_without_an_output_bias_is_not_judged():
    net = nn.Sequential(nn.Linear(3, 8, bias=False), nn.Tanh(), nn.Linear(8, 1, bias=False))
    assert output_range(net, lambda m, x: m(x), 3, 1) is None
    assert value_reach_finding(net, lambda m, x: m(x), 3) is None


@pytest.mark.parametrize(
    ("last", "low", "high", "reaches"),
    [
        (torch.tanh, -1.0, 1.0, True),
        (lambda x: 2.0 * torch.tanh(x), -2.0, 2.0, True),
        (torch.sigmoid, -1.0, 1.0, False),  # never below 0
        (lambda x: torch.tanh(torch.relu(x)), -1.0, 1.0, False),
        (lambda x: 0.5 * torch.tanh(x), -1.0, 1.0, False),  # half the range
        (torch.tanh, -2.0, 2.0, False),  # max_action forgotten
    ],
)
def test_a_bounded_actor_must_reach_both_ends(last, low, high, reaches):
    found = actor_reach_finding(Head(3, 2, last), lambda m, x: m(x), 3, 2, low, high)
    assert (found is None) == reaches, found
    if found is not None:
        assert "can never reach both ends" in found.problem


@pytest.mark.parametrize(
    ("last", "reaches"),
    [(None, True), (torch.relu, False), (torch.tanh, False), (torch.sigmoid, False)],
)
def test_a_value_head_must_take_large_values_of_both_signs(last, reaches):
    found = value_reach_finding(Head(4, 1, last), lambda m, x: m(x), 4)
    assert (found is None) == reaches, found
    if found is not None:
        assert "cannot take every value" in found.problem


# ---------------------------------------------------------------- the visible checks


class ReluCritic(nn.Module):  # notebook 02's and 03's critic with a ReLU after the value
    def __init__(self, in_dim, hidden=64):
        super().__init__()
        self.net = Head(in_dim, 1, torch.relu, hidden)

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize("check", [a2c_checks.check_critic, ppo_checks.check_ppo_critic])
def test_a_value_head_capped_by_relu_is_named_by_the_critic_checks(check):
    with pytest.raises(CheckFailed, match="cannot take every value"):
        check(ReluCritic)


def test_a_ppo_actor_whose_mean_is_a_sigmoid_is_named():
    class SigmoidMean(nn.Module):
        def __init__(self, in_dim, out_dim, log_std_min=-20, log_std_max=0, hidden=64):
            super().__init__()
            self.mu = Head(in_dim, out_dim, torch.sigmoid, hidden)
            self.log_std = nn.Parameter(torch.zeros(out_dim))

        def forward(self, state):
            dist = torch.distributions.Normal(self.mu(state), self.log_std.exp())
            return dist.sample(), dist

    with pytest.raises(CheckFailed, match="the mean can never reach both ends"):
        ppo_checks.check_ppo_actor(SigmoidMean)


def test_a_ddpg_actor_ending_in_sigmoid_and_a_critic_in_tanh_are_named():
    class Actor(nn.Module):
        def __init__(self, in_dim, out_dim, init_w=3e-3, hidden=64):
            super().__init__()
            self.net = Head(in_dim, out_dim, torch.sigmoid, hidden)
            nn.init.uniform_(self.net.out.weight, -init_w, init_w)
            nn.init.uniform_(self.net.out.bias, -init_w, init_w)

        def forward(self, state):
            return self.net(state)

    class Critic(nn.Module):
        def __init__(self, in_dim, init_w=3e-3, hidden=64):
            super().__init__()
            self.net = Head(in_dim, 1, torch.tanh, hidden)
            nn.init.uniform_(self.net.out.weight, -init_w, init_w)
            nn.init.uniform_(self.net.out.bias, -init_w, init_w)

        def forward(self, state, action):
            return self.net(torch.cat([state, action], dim=-1))

    with pytest.raises(CheckFailed, match="the action can never reach both ends"):
        ddpg_checks.check_ddpg_actor(Actor)
    with pytest.raises(CheckFailed, match=r"Q\(state, action\) cannot take every value"):
        ddpg_checks.check_ddpg_critic(Critic)


def test_a_td3_actor_on_half_its_range_and_a_capped_twin_critic_are_named():
    class Actor(nn.Module):
        def __init__(self, state_dim, action_dim, max_action, hidden=64):
            super().__init__()
            self.net = Head(state_dim, action_dim, torch.sigmoid, hidden)
            self.max_action = max_action

        def forward(self, state):
            return self.max_action * self.net(state)

    class Critic(nn.Module):
        def __init__(self, state_dim, action_dim, hidden=64):
            super().__init__()
            self.q1 = Head(state_dim + action_dim, 1, torch.relu, hidden)
            self.q2 = Head(state_dim + action_dim, 1, torch.relu, hidden)

        def forward(self, state, action):
            x = torch.cat([state, action], dim=1)
            return self.q1(x), self.q2(x)

        def Q1(self, state, action):
            return self.q1(torch.cat([state, action], dim=1))

    with pytest.raises(CheckFailed, match="the action can never reach both ends"):
        td3_checks.check_td3_actor(Actor)
    with pytest.raises(CheckFailed, match="q1 and q2 cannot take every value"):
        td3_checks.check_td3_critic(Critic)


def test_an_actor_critic_whose_value_head_is_squashed_is_named():
    class ActorCritic(nn.Module):
        def __init__(self, num_inputs, num_actions, num_hidden=128):
            super().__init__()
            self.common = nn.Linear(num_inputs, num_hidden)
            self.actor = nn.Linear(num_hidden, num_actions)
            self.critic = nn.Linear(num_hidden, 1)

        def forward(self, x):
            h = torch.relu(self.common(x))
            return torch.softmax(self.actor(h), dim=-1), torch.tanh(self.critic(h))

    with pytest.raises(CheckFailed, match="the value head cannot take every value"):
        ac_checks.check_actor_critic(ActorCritic)


# ---------------------------------------------------------------- the grader's probes


def test_the_graders_probes_refuse_the_same_networks():
    data = {"num_inputs": 3, "num_actions": 1, "init_w": 10.0, "max_action": 2.0}
    sigmoid_actor = Head(3, 1, torch.sigmoid)
    assert any(
        "can never reach both ends" in p
        for p in deterministic_actor_problems(sigmoid_actor, data, seed=0)
    )
    assert any(
        "can never reach both ends" in p
        for p in td3_actor_problems(Head(3, 1, lambda x: 2.0 * torch.sigmoid(x)), data, seed=0)
    )

    class Q(nn.Module):
        def __init__(self, last):
            super().__init__()
            self.net = Head(4, 1, last)

        def forward(self, state, action):
            return self.net(torch.cat([state, action], dim=-1))

    assert any(
        "cannot take every value" in p
        for p in state_action_critic_problems(Q(torch.relu), data, seed=0)
    )
    assert not any(
        "cannot take every value" in p for p in state_action_critic_problems(Q(None), data, seed=0)
    )

    class Twin(nn.Module):
        def __init__(self, last):
            super().__init__()
            self.a, self.b = Head(4, 1, last), Head(4, 1, last)

        def forward(self, state, action):
            x = torch.cat([state, action], dim=1)
            return self.a(x), self.b(x), self.a(x)

    assert twin_critic_problems(Twin(None), data, seed=0) == []
    assert any(
        "cannot take every value" in p for p in twin_critic_problems(Twin(torch.tanh), data, seed=0)
    )
    assert standard_problems("critic", Head(3, 1), {"num_inputs": 3}, seed=0) == []
    assert any(
        "cannot take every value" in p
        for p in standard_problems("critic", Head(3, 1, torch.relu), {"num_inputs": 3}, seed=0)
    )

    class Gaussian(nn.Module):  # as exported: (mean, std)
        def __init__(self, squash):
            super().__init__()
            self.mu = Head(3, 1, squash)
            self.log_std = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            mean = self.mu(x)
            return mean, self.log_std.exp().expand_as(mean)

    bounds = {"num_inputs": 3, "num_actions": 1, "log_std_min": -2.0, "log_std_max": 1.0}
    assert standard_problems("gaussian_actor", Gaussian(torch.tanh), bounds, seed=0) == []
    assert any(
        "the mean can never reach both ends" in p
        for p in standard_problems("gaussian_actor", Gaussian(torch.sigmoid), bounds, seed=0)
    )
