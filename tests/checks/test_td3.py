"""Notebook 05's checks: correct TD3 variants pass, each known bug fails with its message."""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checks import CheckFailed
from course_lib.checks.td3 import check_td3_actor, check_td3_critic, check_td3_train
from tests._td3_reference import SHARED_TRAIN_BUGS

# ---------------------------------------------------------------- networks


def make_actor(bug=None, hidden=64, act=nn.ReLU):
    class TD3Actor(nn.Module):
        def __init__(self, state_dim, action_dim, max_action, hidden=hidden):
            super().__init__()
            self.l1 = nn.Linear(state_dim, hidden)
            self.l2 = nn.Linear(hidden, hidden)
            self.l3 = nn.Linear(hidden, action_dim)
            self.act = act()
            self.max_action = max_action

        def forward(self, state):
            h = self.act(self.l2(self.act(self.l1(state))))
            if bug == "batch_mix":
                h = h - h.mean(0, keepdim=True)
            out = self.l3(h)
            if bug == "no_tanh":
                return self.max_action * out
            if bug == "no_scale":
                return torch.tanh(out)
            if bug == "squeeze":
                return (self.max_action * torch.tanh(out)).squeeze(-1)
            return self.max_action * torch.tanh(out)

    return TD3Actor


def make_critic(bug=None, hidden=64):
    class TD3Critic(nn.Module):
        def __init__(self, state_dim, action_dim, hidden=hidden):
            super().__init__()
            self.l1 = nn.Linear(state_dim + action_dim, hidden)
            self.l2 = nn.Linear(hidden, hidden)
            self.l3 = nn.Linear(hidden, 1)
            self.l4 = nn.Linear(state_dim + action_dim, hidden)
            self.l5 = nn.Linear(hidden, hidden)
            self.l6 = nn.Linear(hidden, 1)

        def _sa(self, state, action):
            return torch.cat([state, action], dim=0 if bug == "cat_dim0" else 1)

        def _q1(self, sa):
            return self.l3(F.relu(self.l2(F.relu(self.l1(sa)))))

        def _q2(self, sa):
            trunk = self.l1 if bug == "shared" else self.l4
            return self.l6(F.relu(self.l5(F.relu(trunk(sa)))))

        def forward(self, state, action):
            sa = self._sa(state, action)
            if bug == "same_net":
                return self._q1(sa), self._q1(sa)
            if bug == "single":
                return self._q1(sa)
            return self._q1(sa), self._q2(sa)

        def Q1(self, state, action):
            sa = self._sa(state, action)
            return self._q2(sa) if bug == "q1_is_q2" else self._q1(sa)

    return TD3Critic


@pytest.mark.parametrize("hidden", [16, 256])
@pytest.mark.parametrize("act", [nn.ReLU, nn.Tanh])
def test_td3_actor_variants_pass(hidden, act, capsys):
    check_td3_actor(make_actor(hidden=hidden, act=act))
    assert "check_td3_actor passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("no_tanh", r"(?s)leave \[-max_action, max_action\].*squash the last layer with tanh"),
        ("no_scale", r"never go beyond \[-1, 1\]|multiply tanh's output by max_action"),
        ("batch_mix", "depends on the other states of the batch"),
        ("squeeze", r"actor\(state\): wrong shape"),
    ],
)
def test_td3_actor_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check_td3_actor(make_actor(bug))


def test_td3_actor_without_scale_is_named_by_the_range():
    with pytest.raises(CheckFailed, match=r"never go beyond \[-1, 1\]"):
        check_td3_actor(make_actor("no_scale"))


@pytest.mark.parametrize("hidden", [32, 256])
def test_td3_critic_variants_pass(hidden, capsys):
    check_td3_critic(make_critic(hidden=hidden))
    assert "check_td3_critic passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("cat_dim0", r"torch.cat\(\[state, action\], dim=1\)"),
        ("q1_is_q2", r"Q1\(state, action\) differs from forward's q1"),
        ("shared", "q1 and q2 share parameters"),
        ("same_net", "q1 and q2 share parameters"),
        ("single", r"must return the pair \(q1, q2\)"),
    ],
)
def test_td3_critic_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check_td3_critic(make_critic(bug))


# ---------------------------------------------------------------- the agent


def frozen_copy(module):
    """A target network as the notebook builds it: a copy that requires no gradient."""
    target = copy.deepcopy(module)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


def make_td3(bug=None, loss="mse", noise="randn_like", soft="loop", order="after", frozen=False):
    Actor, Critic = make_actor(), make_critic()
    copy_target = frozen_copy if frozen else copy.deepcopy

    class TD3:
        def __init__(
            self,
            state_dim,
            action_dim,
            max_action,
            discount=0.99,
            tau=0.005,
            policy_noise=0.2,
            noise_clip=0.5,
            policy_freq=2,
            double_q=True,
        ):
            self.actor = Actor(state_dim, action_dim, max_action)
            self.actor_target = copy_target(self.actor)
            self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
            self.critic = Critic(state_dim, action_dim)
            self.critic_target = copy_target(self.critic)
            self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=3e-4)
            self.max_action = max_action
            self.discount = discount
            self.tau = tau
            self.policy_noise = policy_noise
            self.noise_clip = noise_clip
            self.policy_freq = policy_freq
            self.double_q = double_q
            self.total_it = 0

        def select_action(self, state):
            state = torch.as_tensor(state, dtype=torch.float32).reshape(1, -1)
            with torch.no_grad():
                action = self.actor(state).numpy().flatten()
            if bug == "select_noise":
                action = action + 0.1 * np.random.standard_normal(action.shape)
            return action

        def _noise(self, action):
            sigma = 0.2 if bug == "fixed_noise_scale" else self.policy_noise
            if bug == "noise_broadcast":
                raw = torch.randn(action.shape[1]) * sigma
            elif bug == "noise_dims_shared":
                raw = torch.randn(action.shape[0], 1) * sigma
            elif bug == "uniform_noise":
                raw = torch.rand_like(action) * sigma
            elif noise == "normal":
                raw = torch.normal(0.0, sigma, size=action.shape)
            elif noise == "scaled":
                raw = torch.randn_like(action) * sigma * self.max_action
            else:
                raw = torch.randn_like(action) * sigma
            if bug == "noise_unclipped":
                return raw
            clip = self.noise_clip * (self.max_action if noise == "scaled" else 1.0)
            return raw.clamp(-clip, clip)

        def _target_action(self, next_state, action):
            source = self.actor if bug in ("online_actor_target", "online") else self.actor_target
            clean = source(next_state)
            if bug in ("no_noise", "noise_on_actor", "noise_on_batch"):
                return clean.clamp(-self.max_action, self.max_action)
            n = self._noise(action)
            if bug == "no_clamp":
                return clean + n
            if bug == "clamp_before_noise":
                return clean.clamp(-self.max_action, self.max_action) + n
            if bug == "clamp_one":
                return (clean + n).clamp(-1.0, 1.0)
            return (clean + n).clamp(-self.max_action, self.max_action)

        def _soft_update(self):
            tau = {"tau_swapped": 1 - self.tau, "copy_targets": 1.0, "fixed_tau": 0.005}.get(
                bug, self.tau
            )
            for net, target in ((self.critic, self.critic_target), (self.actor, self.actor_target)):
                pairs = list(zip(net.parameters(), target.parameters(), strict=True))
                if bug == "partial_soft":
                    pairs = pairs[:1]
                if soft == "lerp":
                    with torch.no_grad():
                        torch._foreach_lerp_([t for _, t in pairs], [p for p, _ in pairs], tau)
                else:
                    for p, t in pairs:
                        t.data.copy_(tau * p.data + (1 - tau) * t.data)

        def _regression(self, q, y):
            if loss == "huber":
                return F.smooth_l1_loss(q, y)
            if loss == "half_mse":
                return 0.5 * ((q - y) ** 2).mean()
            return F.mse_loss(q, y)

        def train(self, replay_buffer, batch_size=256):
            if bug != "no_total_it":
                self.total_it += 1
            b = (
                replay_buffer.sample_batch()
                if bug == "no_batch_size"
                else replay_buffer.sample_batch(batch_size)
            )
            state = torch.as_tensor(b["obs"])
            action = torch.as_tensor(b["acts"])
            next_state = torch.as_tensor(b["next_obs"])
            reward = torch.as_tensor(b["rews"])
            done = torch.as_tensor(b["done"])
            if bug != "broadcast":
                reward, done = reward.reshape(-1, 1), done.reshape(-1, 1)
            mask = {"no_mask": 1.0, "done_mask": done}.get(bug, 1 - done)
            discount = 0.99 if bug == "fixed_discount" else self.discount
            grad = contextlib.nullcontext() if bug == "with_grad" else torch.no_grad()
            with grad:
                boot_state = state if bug == "obs_target" else next_state
                next_action = self._target_action(boot_state, action)
                critic = self.critic if bug == "online" else self.critic_target
                tq1, tq2 = critic(boot_state, next_action)
                if bug == "max":
                    tq = torch.max(tq1, tq2)
                elif bug == "q1_only" or (not self.double_q and bug != "min_when_off"):
                    tq = tq1
                else:
                    tq = torch.min(tq1, tq2)
                y = reward + mask * discount * tq
                y1, y2 = (
                    (reward + mask * discount * tq1, reward + mask * discount * tq2)
                    if bug == "separate_targets"
                    else (y, y)
                )
            if bug == "noise_on_batch":
                action = action + self._noise(action)
            q1, q2 = self.critic(state, action)
            critic_loss = self._regression(q1, y1)
            if bug != "only_q1_trained":
                critic_loss = critic_loss + self._regression(q2, y2)
            if bug != "no_critic_zero_grad":
                self.critic_optimizer.zero_grad()
            critic_loss.backward()
            self.critic_optimizer.step()
            actor_loss = None
            delayed = self.total_it % self.policy_freq == 0
            if bug in ("no_delay", "targets_every_step") and not delayed:
                if bug == "targets_every_step":
                    self._soft_update()
                else:
                    actor_loss = self._actor_step(state)
                    self._soft_update()
            if delayed:
                if order == "before":
                    self._soft_update()
                actor_loss = self._actor_step(state, action)
                if order == "after":
                    self._soft_update()
            out = critic_loss if bug == "tensor_loss" else critic_loss.item()
            if bug == "returns_swapped":
                return actor_loss, out
            return out, actor_loss

        def _actor_step(self, state, stored=None):
            a = stored if bug == "actor_on_buffer" else self.actor(state)
            if bug in ("noise_on_actor", "actor_noise_too"):
                a = a + self._noise(a)
            if bug == "actor_target_action":
                a = self.actor_target(state)
            critic = self.critic_target if bug == "actor_target_critic" else self.critic
            if bug == "actor_q2":
                q = critic(state, a)[1]
            elif bug == "actor_min":
                q = torch.min(*critic(state, a))
            else:
                q = critic.Q1(state, a)
            actor_loss = q.sum() if bug == "actor_sum" else q.mean()
            if bug != "actor_sign":
                actor_loss = -actor_loss
            if bug != "no_actor_zero_grad":
                self.actor_optimizer.zero_grad()
            actor_loss.backward()
            if bug != "no_actor_step":
                self.actor_optimizer.step()
            return actor_loss.item()

    return TD3


TRAIN_VARIANTS = [
    {},
    {"loss": "huber"},
    {"loss": "half_mse"},
    {"noise": "normal"},
    {"noise": "scaled"},
    {"soft": "lerp"},
    {"order": "before"},
    {"frozen": True},
    # with frozen targets (as the notebook's __init__ builds them) no gradient can reach
    # them: a target computed outside torch.no_grad() is then harmless, and accepted
    {"frozen": True, "bug": "with_grad"},
]

# bug -> the message of the visible check (a regex); every bug of the contract is here.
TRAIN_BUGS = {
    **SHARED_TRAIN_BUGS,
    "fixed_noise_scale": "(?s)reaches ±noise_clip on .* of its draws.*use the agent's settings",
    "no_total_it": r"after call 1 of train, self.total_it is 0, not 1",
    "no_batch_size": "train must pass its batch_size to sample_batch",
    "select_noise": "select_action.* is not the actor's deterministic action",
}


def variant_id(variant):
    return "-".join(f"{k}={v}" for k, v in variant.items()) or "reference"


@pytest.mark.parametrize("variant", TRAIN_VARIANTS, ids=variant_id)
def test_td3_train_correct_variants_pass(variant, capsys):
    check_td3_train(make_td3(**variant))
    assert "check_td3_train passed" in capsys.readouterr().out


@pytest.mark.parametrize(("bug", "message"), list(TRAIN_BUGS.items()))
def test_td3_train_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check_td3_train(make_td3(bug))


def test_td3_train_leaves_the_notebooks_random_state_alone():
    torch.manual_seed(11)
    np.random.seed(11)
    want_torch, want_np = torch.rand(3), np.random.rand(3)
    torch.manual_seed(11)
    np.random.seed(11)
    check_td3_train(make_td3())
    check_td3_actor(make_actor())
    check_td3_critic(make_critic())
    assert torch.equal(torch.rand(3), want_torch)
    assert np.array_equal(np.random.rand(3), want_np)
