"""Notebook 01's checks: the reference and variants pass; each known bug fails with its message."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checks import CheckFailed
from course_lib.checks.actor_critic import (
    check_action_log_probs,
    check_actor_critic,
    check_actor_critic_loss,
    check_normalized_returns,
)


def make_model(depth=1, head="softmax", value_shape="column", shared=True):
    class ActorCritic(nn.Module):
        def __init__(self, num_inputs, num_actions, num_hidden=128):
            super().__init__()
            layers, last = [], num_inputs
            for _ in range(depth):
                layers += [nn.Linear(last, num_hidden), nn.ReLU()]
                last = num_hidden
            self.trunk = nn.Sequential(*layers)
            self.other = nn.Sequential(nn.Linear(num_inputs, num_hidden), nn.ReLU())
            self.policy = nn.Linear(num_hidden, num_actions)
            self.value = nn.Linear(num_hidden, 1)

        def forward(self, obs):
            h = self.trunk(obs)
            logits = self.policy(h)
            probs = {
                "softmax": lambda: torch.softmax(logits, dim=-1),
                "none": lambda: logits,
                "dim0": lambda: torch.softmax(logits, dim=0),
                # bug: softmax twice, every action keeps >= ~27% with two actions
                "twice": lambda: torch.softmax(torch.softmax(logits, dim=-1), dim=-1),
            }[head]()
            v = self.value(h if shared else self.other(obs))
            return probs, (v if value_shape == "column" else v.squeeze(-1))

    return ActorCritic


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_network_variants_pass(depth):
    check_actor_critic(make_model(depth))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"head": "none"}, r"not probabilities(.|\n)*must end with a softmax"),
        ({"head": "dim0"}, r"not probabilities(.|\n)*dim 0 normalizes across the batch"),
        (
            {"value_shape": "flat"},
            r"value: wrong shape(.|\n)*keep the value head's output as \(B, 1\)",
        ),
        ({"shared": False}, r"share no parameters"),
        ({"head": "twice"}, r"can never become deterministic"),
    ],
)
def test_network_bugs(kwargs, message):
    with pytest.raises(CheckFailed, match=message):
        check_actor_critic(make_model(**kwargs))


def test_num_hidden_ignored_fails():
    class Fixed(nn.Module):
        def __init__(self, num_inputs, num_actions, num_hidden=128):
            super().__init__()
            self.trunk = nn.Linear(num_inputs, 64)
            self.policy = nn.Linear(64, num_actions)
            self.value = nn.Linear(64, 1)

        def forward(self, obs):
            h = torch.relu(self.trunk(obs))
            return torch.softmax(self.policy(h), -1), self.value(h)

    with pytest.raises(CheckFailed, match=r"num_hidden does not change the network's size"):
        check_actor_critic(Fixed)


def test_log_probs_reference_and_variant_pass():
    check_action_log_probs(lambda p, a: torch.log(p.gather(1, a.unsqueeze(1)).squeeze(1)))
    check_action_log_probs(lambda p, a: torch.log(p[torch.arange(len(a)), a]))
    check_action_log_probs(lambda p, a: torch.distributions.Categorical(probs=p).log_prob(a))


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda p, a: torch.log(p.max(dim=1).values), r"not the most probable ones"),
        (lambda p, a: torch.log(p[:, 0]), r"index each row with its own action"),
        (lambda p, a: p[torch.arange(len(a)), a], r"take the log of the probabilities"),
        (lambda p, a: torch.log(p.gather(1, a.unsqueeze(1))), r"log_probs: wrong shape"),
        (lambda p, a: torch.log(p.detach()[torch.arange(3), a]), r"no gradient flows"),
    ],
)
def test_log_probs_bugs(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_action_log_probs(fn)


def discounted(rewards, gamma, forward=False, absolute=False):
    if absolute:
        return [
            sum(gamma**h * rewards[h] for h in range(t, len(rewards))) for t in range(len(rewards))
        ]
    out, g = [], 0.0
    for r in rewards if forward else reversed(rewards):
        g = r + gamma * g
        out.append(g)
    return out if forward else out[::-1]


def make_normalized(forward=False, absolute=False, unbiased=False, normalize=True):
    def normalized_returns(rewards, gamma, eps=1e-8):
        g = torch.tensor(discounted(rewards, gamma, forward, absolute), dtype=torch.float32)
        if not normalize or len(g) == 0:
            return g
        return (g - g.mean()) / (g.std(unbiased=unbiased) + eps) if len(g) > 1 else g - g.mean()

    return normalized_returns


def test_normalized_returns_reference_passes():
    check_normalized_returns(make_normalized())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"absolute": True}, r"gamma\^\(h - t\), counted from step t"),
        ({"forward": True}, r"accumulate from the END of the episode backwards"),
        ({"unbiased": True}, r"torch.std is unbiased by default"),
        ({"normalize": False}, r"normalize the returns"),
    ],
)
def test_normalized_returns_bugs(kwargs, message):
    with pytest.raises(CheckFailed, match=message):
        check_normalized_returns(make_normalized(**kwargs))


def test_nan_for_one_step_episode_fails():
    def no_eps(rewards, gamma, eps=1e-8):
        g = torch.tensor(discounted(rewards, gamma), dtype=torch.float32)
        return (g - g.mean()) / g.std(unbiased=False)

    with pytest.raises(CheckFailed, match=r"NaN or inf"):
        check_normalized_returns(no_eps)


def make_loss(
    detach_adv=True, detach_target=True, flatten=True, critic="huber", sign=1, reduce="sum"
):
    def actor_critic_loss(log_probs, values, returns):
        v = values.reshape(-1) if flatten else values
        target = returns.detach() if detach_target else returns
        adv = target - v
        adv = adv.detach() if detach_adv else adv
        crit = (
            F.smooth_l1_loss(v, target, reduction=reduce)
            if critic == "huber"
            else F.mse_loss(v, target, reduction=reduce)
        )
        actor = (
            (-sign * log_probs * adv).sum() if reduce == "sum" else (-sign * log_probs * adv).mean()
        )
        return actor + crit

    return actor_critic_loss


def test_loss_reference_passes():
    check_actor_critic_loss(make_loss())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"detach_adv": False}, r"advantage is not detached in the actor term"),
        ({"detach_target": False}, r"the target carries gradient"),
        ({"flatten": False}, r"broadcast against returns \(T,\) into a \(T, T\) matrix"),
        ({"sign": -1}, r"actor term's sign is flipped"),
        ({"critic": "mse"}, r"use the Huber loss"),
        ({"reduce": "mean"}, r"w.r.t. log_probs: wrong value"),
    ],
)
def test_loss_bugs(kwargs, message):
    with pytest.raises(CheckFailed, match=message):
        check_actor_critic_loss(make_loss(**kwargs))
