"""Notebook 03's checks: correct PPO variants pass, each known bug fails with its message."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

from course_lib.checks import CheckFailed
from course_lib.checks.ppo import (
    check_action_normalizer,
    check_agent_step,
    check_compute_gae,
    check_init_layer_uniform,
    check_ppo_actor,
    check_ppo_critic,
    check_ppo_iter,
    check_ppo_losses,
)

# ---------------------------------------------------------------- action wrapper


def make_normalizer(bug=None):
    class ActionNormalizer(gym.ActionWrapper):
        def action(self, a):
            low, high = self.env.action_space.low, self.env.action_space.high
            a = np.asarray(a)
            if bug == "identity":
                return a
            if bug == "scale_only":
                return a * high
            if bug == "self_low":
                return self.low + (a + 1) * 0.5 * (high - low)
            return low + (a + 1.0) * 0.5 * (high - low)

        def reverse_action(self, x):
            low, high = self.env.action_space.low, self.env.action_space.high
            x = np.asarray(x)
            if bug == "reverse_plus_low":  # the sign slip of the original homework
                return -1 + 2 * (x + low) / (high - low)
            return -1.0 + 2.0 * (x - low) / (high - low)

    return ActionNormalizer


def test_action_normalizer_passes_on_the_reference(capsys):
    check_action_normalizer(make_normalizer())
    assert "check_action_normalizer passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("identity", "the action is returned unchanged"),
        ("scale_only", "multiplying by high only works for a range symmetric around 0"),
        ("self_low", "a wrapper has no self.low"),
        ("reverse_plus_low", "reverse_action must subtract low"),
    ],
)
def test_action_normalizer_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check_action_normalizer(make_normalizer(bug))


# ---------------------------------------------------------------- networks


def init_uniform(layer, init_w=3e-3):
    layer.weight.data.uniform_(-init_w, init_w)
    layer.bias.data.uniform_(-init_w, init_w)
    return layer


def test_init_layer_uniform_reference_passes_and_bugs_fail():
    check_init_layer_uniform(init_uniform)

    def weight_only(layer, init_w=3e-3):
        layer.weight.data.uniform_(-init_w, init_w)
        return layer

    def returns_none(layer, init_w=3e-3):
        init_uniform(layer, init_w)

    def fixed_w(layer, init_w=3e-3):
        return init_uniform(layer, 3e-3)

    with pytest.raises(CheckFailed, match=r"layer.bias has entries outside"):
        check_init_layer_uniform(weight_only)
    with pytest.raises(CheckFailed, match="must return the layer"):
        check_init_layer_uniform(returns_none)
    with pytest.raises(CheckFailed, match="does not look uniform"):
        check_init_layer_uniform(fixed_w)


def make_actor(std="head", hidden=64, bug=None):
    class PPOActor(nn.Module):
        def __init__(self, in_dim, out_dim, log_std_min=-20, log_std_max=0):
            super().__init__()
            self.lo, self.hi = log_std_min, log_std_max
            self.body = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU())
            self.mu = init_uniform(nn.Linear(hidden, out_dim))
            if std == "head":
                self.log_std = init_uniform(nn.Linear(hidden, out_dim))
            else:
                self.log_std = nn.Parameter(torch.zeros(out_dim) - 0.5)

        def forward(self, state):
            h = self.body(state)
            if bug == "batch_mix":  # normalizes over the batch: rows depend on each other
                h = h - h.mean(0, keepdim=True)
            mu = self.mu(h) if bug == "no_tanh" else torch.tanh(self.mu(h))
            raw = self.log_std(h) if std == "head" else self.log_std.expand_as(mu)
            if bug == "unbounded":
                log_std = raw
            elif std == "head":
                log_std = self.lo + 0.5 * (self.hi - self.lo) * (torch.tanh(raw) + 1)
            else:
                log_std = raw.clamp(self.lo, self.hi)
            if bug == "fixed_std":
                log_std = torch.zeros_like(mu) - 0.5
            dist = Normal(mu, log_std.exp())
            action = dist.sample()
            if bug == "mean_only":
                return mu, dist.mean
            return action, dist

    return PPOActor


@pytest.mark.parametrize("std", ["head", "param"])
@pytest.mark.parametrize("hidden", [16, 128])
def test_ppo_actor_variants_pass(std, hidden):
    check_ppo_actor(make_actor(std, hidden))


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("unbounded", r"log-std leaves \[log_std_min, log_std_max\]"),
        ("no_tanh", r"outside \[-1, 1\]|leaves \[-1, 1\]"),
        ("fixed_std", "the standard deviation is not learned"),
        ("mean_only", "must be a torch.distributions.Normal"),
    ],
)
def test_ppo_actor_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check_ppo_actor(make_actor(bug=bug))


def test_ppo_critic_shape():
    class Critic(nn.Module):
        def __init__(self, in_dim, squeeze=False):
            super().__init__()
            self.net = nn.Linear(in_dim, 1)
            self.squeeze = squeeze

        def forward(self, s):
            v = self.net(s)
            return v.squeeze(-1) if self.squeeze else v

    check_ppo_critic(Critic)

    class Squeezed(Critic):
        def __init__(self, in_dim):
            super().__init__(in_dim, squeeze=True)

    with pytest.raises(CheckFailed, match=r"V\(state\): wrong shape"):
        check_ppo_critic(Squeezed)


# ---------------------------------------------------------------- GAE


def make_gae(bug=None):
    def compute_gae(next_value, rewards, masks, values, gamma, tau):
        if bug == "swapped":
            gamma, tau = tau, gamma
        vals = [*values, next_value]
        gae = torch.zeros_like(next_value)
        out = [None] * len(rewards)
        order = range(len(rewards)) if bug == "forward" else reversed(range(len(rewards)))
        for t in order:
            boot = vals[t + 1] if bug != "off_by_one" else vals[t]
            m_boot = 1.0 if bug == "bootstrap_ignores_mask" else masks[t]
            m_chain = 1.0 if bug == "chain_across" else masks[t]
            delta = rewards[t] + gamma * boot * m_boot - values[t]
            gae = delta + gamma * tau * m_chain * gae
            out[t] = gae if bug == "advantages" else gae + values[t]
        return out[::-1] if bug == "reversed" else out

    return compute_gae


def test_compute_gae_reference_passes(capsys):
    check_compute_gae(make_gae())
    assert "check_compute_gae passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("forward", "walk the rollout BACKWARDS"),
        ("swapped", "gamma and tau .* are swapped"),
        ("chain_across", "multiply the carried gae by mask_t"),
        ("bootstrap_ignores_mask", r"multiply V_\(t\+1\) by mask_t"),
        ("advantages", "return advantage \\+ value"),
        ("off_by_one", "bootstraps from the NEXT state's value"),
        ("reversed", "the returns come last step first"),
    ],
)
def test_compute_gae_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check_compute_gae(make_gae(bug))


def test_compute_gae_that_mixes_envs_fails():
    def summed(next_value, rewards, masks, values, gamma, tau):
        out = make_gae()(next_value, rewards, masks, values, gamma, tau)
        return [r.sum().expand_as(r) for r in out]  # bug: sums over envs

    with pytest.raises(CheckFailed, match="returns of two envs computed side by side"):
        check_compute_gae(summed)


# ---------------------------------------------------------------- minibatches


def make_iter(bug=None):
    def ppo_iter(epoch, mini_batch_size, states, actions, values, log_probs, returns, adv):
        n = states.shape[0]
        for _ in range(epoch):
            perm = torch.arange(n) if bug == "no_shuffle" else torch.randperm(n)
            stop = n - n % mini_batch_size if bug == "drop_last" else n
            for k in range(0, stop, mini_batch_size):
                if bug == "with_replacement":  # the original homework's sampling
                    idx = np.random.choice(n, mini_batch_size, replace=False)
                else:
                    idx = perm[k : k + mini_batch_size]
                other = torch.randperm(n)[: len(idx)] if bug == "misaligned" else idx
                yield (
                    states[idx],
                    actions[other],
                    values[idx],
                    log_probs[idx],
                    returns[idx],
                    adv[idx],
                )

    return ppo_iter


def test_ppo_iter_reference_passes():
    check_ppo_iter(make_iter())


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("with_replacement", "some samples come twice and others never"),
        ("drop_last", "keep the last, smaller minibatch"),
        ("no_shuffle", "every epoch visits the samples in the same order"),
        ("misaligned", "the arrays of a minibatch are not aligned"),
    ],
)
def test_ppo_iter_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check_ppo_iter(make_iter(bug))


# ---------------------------------------------------------------- losses


def make_losses(bug=None, critic="mse"):
    def ppo_losses(
        log_probs,
        old_log_probs,
        advantages,
        entropy,
        values,
        old_values,
        returns,
        epsilon,
        entropy_weight,
    ):
        old = old_log_probs if bug == "old_not_detached" else old_log_probs.detach()
        ratio = (log_probs - old).exp()
        if bug == "clip_advantage":
            surr = torch.min(ratio * advantages, ratio * advantages.clamp(1 - epsilon, 1 + epsilon))
        elif bug == "max":
            surr = torch.max(ratio * advantages, ratio.clamp(1 - epsilon, 1 + epsilon) * advantages)
        else:
            surr = torch.min(ratio * advantages, ratio.clamp(1 - epsilon, 1 + epsilon) * advantages)
        sign = 1.0 if bug == "entropy_sign" else -1.0
        actor_loss = -surr.mean() + sign * entropy_weight * entropy.mean()
        v, target = values.reshape(-1), returns.detach()
        if critic == "mse":
            critic_loss = (target - v).pow(2).mean()
        elif critic == "half_mse":
            critic_loss = 0.5 * F.mse_loss(v, target)
        elif critic == "huber":
            critic_loss = F.smooth_l1_loss(v, target)
        elif critic == "clipped":
            old_v = old_values.detach().reshape(-1)
            clipped = old_v + (v - old_v).clamp(-epsilon, epsilon)
            critic_loss = torch.max((v - target).pow(2), (clipped - target).pow(2)).mean()
        elif critic == "broadcast":  # bug: (B, 1) - (B,) is (B, B)
            critic_loss = (values - target).pow(2).mean()
        elif critic == "old_values":  # bug: regressed onto the rollout's own values
            critic_loss = (old_values - values).pow(2).mean()
        elif critic == "old_values_detached":  # the same, after the hint "detach old_values"
            critic_loss = (old_values.detach() - values).pow(2).mean()
        else:  # bug: target not detached
            critic_loss = (returns - v).pow(2).mean()
        return actor_loss, critic_loss

    return ppo_losses


@pytest.mark.parametrize("critic", ["mse", "half_mse", "huber", "clipped"])
def test_ppo_losses_correct_variants_pass(critic):
    check_ppo_losses(make_losses(critic=critic))


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("old_not_detached", "actor_loss sends gradient into old_log_probs"),
        ("clip_advantage", "clip the RATIO, not the advantage"),
        ("max", "takes the MIN of the two terms"),
        ("entropy_sign", "the entropy bonus has the wrong sign"),
    ],
)
def test_ppo_losses_actor_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check_ppo_losses(make_losses(bug))


@pytest.mark.parametrize(
    ("critic", "message"),
    [
        ("broadcast", "does not pull each value toward its return|critic_loss when values equal"),
        ("not_detached", "critic_loss sends gradient into returns"),
        ("old_values", "it regresses the values onto old_values"),
        ("old_values_detached", "it regresses the values onto old_values"),
    ],
)
def test_ppo_losses_critic_bugs_are_named(critic, message):
    with pytest.raises(CheckFailed, match=message):
        check_ppo_losses(make_losses(critic=critic))


# ---------------------------------------------------------------- the agent's step


def make_agent(bug=None, reward_scale=1.0):
    class PPOAgent:
        def __init__(
            self, env, batch_size, gamma, tau, epsilon, epoch, rollout_len, entropy_weight
        ):
            self.env, self.gamma = env, gamma
            obs_dim = env.single_observation_space.shape[0]
            act_dim = env.single_action_space.shape[0]
            self.actor = make_actor()(obs_dim, act_dim)
            self.critic = nn.Linear(obs_dim, 1)
            self.states, self.actions, self.values, self.log_probs = [], [], [], []
            self.rewards, self.masks = [], []

        def select_action(self, state):
            state = torch.as_tensor(state, dtype=torch.float32)
            action, dist = self.actor(state)
            self.states.append(state)
            self.actions.append(action)
            self.values.append(self.critic(state))
            self.log_probs.append(dist.log_prob(action).sum(-1, keepdim=True))
            return action.numpy()

        def step(self, action):
            next_state, reward, terminated, truncated, infos = self.env.step(action)
            done = terminated | truncated
            learn = reward_scale * reward.astype(np.float32)
            for i in np.flatnonzero(truncated & ~terminated):
                if bug == "cut_at_truncation":
                    continue
                final = infos["final_obs"][i] if bug != "reset_obs" else next_state[i]
                with torch.no_grad():
                    v = self.critic(torch.as_tensor(final, dtype=torch.float32)[None])
                learn[i] += self.gamma * float(v[0, 0])
            mask = 1.0 - (terminated if bug == "mask_terminated_only" else done)
            self.rewards.append(torch.as_tensor(learn).unsqueeze(1))
            self.masks.append(torch.as_tensor(mask, dtype=torch.float32).unsqueeze(1))
            return next_state, reward, done

    return PPOAgent


@pytest.mark.parametrize("scale", [1.0, 0.1])
def test_agent_step_reference_passes_with_any_reward_scale(scale, capsys):
    check_agent_step(make_agent(reward_scale=scale))
    assert "check_agent_step passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("cut_at_truncation", "the bootstrap is cut at the truncation"),
        ("reset_obs", "already the NEXT episode's first state"),
        ("mask_terminated_only", "a truncated episode ended too: mask it"),
    ],
)
def test_agent_step_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check_agent_step(make_agent(bug))
