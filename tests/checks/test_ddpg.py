"""Notebook 04's checks: correct DDPG variants pass, each known bug fails with its message."""

from __future__ import annotations

import contextlib
import copy
import random
import re
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.checks import CheckFailed
from course_lib.checks import ddpg as checks
from tests._ddpg_reference import UPDATE_MODEL_BUGS

# ---------------------------------------------------------------- replay buffer


def make_buffer(bug=None, replace=True):
    class ReplayBuffer:
        def __init__(self, obs_dim, act_dim, size, batch_size=32):
            dtype = np.float64 if bug == "float64" else np.float32
            self.obs_buf = np.zeros((size, obs_dim), dtype=dtype)
            self.next_obs_buf = np.zeros((size, obs_dim), dtype=dtype)
            acts_shape = size if bug == "acts_1d" else (size, act_dim)
            self.acts_buf = np.zeros(acts_shape, dtype=dtype)
            self.rews_buf = np.zeros(size, dtype=dtype)
            self.done_buf = np.zeros(size, dtype=dtype)
            self.max_size, self.batch_size = size, batch_size
            self.ptr, self.size = 0, 0

        def store(self, obs, act, rew, next_obs, done):
            self.obs_buf[self.ptr] = obs
            self.next_obs_buf[self.ptr] = next_obs
            self.acts_buf[self.ptr] = np.asarray(act)[0] if bug == "acts_1d" else act
            self.rews_buf[self.ptr] = rew
            self.done_buf[self.ptr] = done
            if bug == "no_wrap":
                self.ptr += 1
            elif bug == "wrap_wrong":
                self.ptr = (self.ptr + 1) % (self.max_size - 1)
            else:
                self.ptr = (self.ptr + 1) % self.max_size
            self.size = min(self.size + 1, self.max_size)

        def sample_batch(self):
            if bug == "whole_partial" and self.size < self.max_size:
                idxs = np.arange(self.size)
            else:
                high = self.max_size if bug == "whole_capacity" else self.size
                idxs = np.random.choice(high, size=self.batch_size, replace=replace)
            other = np.random.choice(self.size, size=len(idxs)) if bug == "misaligned" else idxs
            return {
                "obs": self.obs_buf[idxs],
                "next_state" if bug == "bad_keys" else "next_obs": self.next_obs_buf[other],
                "acts": self.acts_buf[idxs],
                "rews": self.rews_buf[idxs],
                "done": self.done_buf[idxs],
            }

        def __len__(self):
            return self.max_size if bug == "len_capacity" else self.size

    return ReplayBuffer


@pytest.mark.parametrize("replace", [True, False])
def test_replay_buffer_passes_with_or_without_replacement(replace, capsys):
    checks.check_replay_buffer(make_buffer(replace=replace))
    assert "check_replay_buffer passed" in capsys.readouterr().out


BUFFER_BUGS = [
    ("len_capacity", "__len__ must return how many transitions are stored"),
    ("whole_capacity", "a slot that was never written"),
    ("whole_partial", "it returns the whole stored part instead of a batch"),
    ("no_wrap", "the write position ran past the end of the arrays"),
    ("wrap_wrong", "must hold exactly the last 8 transitions"),
    ("bad_keys", r"the batch has no key\(s\) \['next_obs'\]"),
    ("acts_1d", r"keep actions 2-D, \(size, act_dim\), even when act_dim is 1"),
    ("misaligned", "the arrays of a batch are not aligned"),
    ("float64", "the buffer's arrays must be float32"),
]


@pytest.mark.parametrize(("bug", "message"), BUFFER_BUGS)
def test_replay_buffer_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_replay_buffer(make_buffer(bug))


def test_replay_buffer_chains_the_students_error():
    with pytest.raises(CheckFailed) as info:
        checks.check_replay_buffer(make_buffer("no_wrap"))
    assert isinstance(info.value.__cause__, IndexError)


# ---------------------------------------------------------------- OU noise


def make_ou(bug=None, draw="standard_normal"):
    class OUNoise:
        def __init__(self, size, mu=0.0, theta=0.15, sigma=0.2):
            self.size = size
            self.mu = mu * np.ones(size)
            self.theta, self.sigma = (sigma, theta) if bug == "swapped" else (theta, sigma)
            self.reset()

        def reset(self):
            if bug == "reset_noop" and hasattr(self, "state"):
                return
            if bug == "reset_zero":
                self.state = np.zeros(self.size)
            elif bug == "shape":
                self.state = self.mu.copy().reshape(1, -1)
            else:
                self.state = self.mu.copy()

        def sample(self):
            x = self.state
            n = x.shape[-1]
            if bug == "uniform":  # the homework's draw
                z = np.array([random.random() for _ in range(n)])
            elif bug == "shared":
                z = np.random.standard_normal() * np.ones(n)
            elif draw == "normal":
                z = np.random.normal(size=n)
            elif draw == "randn":
                z = np.array([np.random.randn() for _ in range(n)])
            else:
                z = np.random.standard_normal(n)
            dx = self.theta * (self.mu - x) + self.sigma * z
            if bug == "white":
                return x + dx  # the state is never updated
            self.state = x + dx
            return self.state

    return OUNoise


@pytest.mark.parametrize("draw", ["standard_normal", "normal", "randn"])
def test_ou_noise_passes_with_any_normal_draw(draw, capsys):
    checks.check_ou_noise(make_ou(draw=draw))
    assert "check_ou_noise passed" in capsys.readouterr().out


OU_BUGS = [
    ("uniform", "the random part of the increments is never negative"),
    ("white", "successive samples are uncorrelated"),
    ("reset_noop", r"reset\(\) does not put the state back at mu"),
    ("reset_zero", r"reset\(\) does not put the state back at mu"),
    ("swapped", "theta and sigma are swapped"),
    ("shape", r"expected \(2,\) for OUNoise\(size=2\)"),
    ("shared", "one random number is shared by all dimensions"),
]


@pytest.mark.parametrize(("bug", "message"), OU_BUGS)
def test_ou_noise_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_ou_noise(make_ou(bug))


# ---------------------------------------------------------------- networks


def make_actor(hidden=64, bug=None):
    class DDPGActor(nn.Module):
        def __init__(self, in_dim, out_dim, init_w=3e-3, hidden=hidden):
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
            )
            self.out = nn.Linear(hidden, out_dim)
            if bug != "default_init":
                self.out.weight.data.uniform_(-init_w, init_w)
                self.out.bias.data.uniform_(-init_w, init_w)

        def forward(self, state):
            h = self.body(state)
            if bug == "batch_mix":  # normalizes over the batch: rows depend on each other
                h = h - h.mean(0, keepdim=True)
            x = self.out(h)
            return x if bug == "no_tanh" else torch.tanh(x)

    return DDPGActor


def make_critic(hidden=64, bug=None):
    class DDPGCritic(nn.Module):
        def __init__(self, in_dim, init_w=3e-3, hidden=hidden):
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
            )
            self.out = nn.Linear(hidden, 1)
            if bug != "default_init":
                self.out.weight.data.uniform_(-init_w, init_w)
                self.out.bias.data.uniform_(-init_w, init_w)

        def forward(self, state, action):
            x = torch.cat([state, action], dim=0 if bug == "cat_dim0" else -1)
            h = self.body(x)
            if bug == "batch_mix":
                h = h - h.mean(0, keepdim=True)
            return self.out(h)

    return DDPGCritic


@pytest.mark.parametrize("hidden", [32, 128])
def test_ddpg_networks_pass_with_any_width(hidden, capsys):
    checks.check_ddpg_actor(make_actor(hidden))
    checks.check_ddpg_critic(make_critic(hidden))
    out = capsys.readouterr().out
    assert "check_ddpg_actor passed" in out and "check_ddpg_critic passed" in out


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("no_tanh", r"the action leaves \[-1, 1\]"),
        ("default_init", r"output layer's weight has entries outside \[-init_w, init_w\]"),
        ("batch_mix", "one state's action depends on the other states of the batch"),
    ],
)
def test_ddpg_actor_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_ddpg_actor(make_actor(bug=bug))


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("cat_dim0", r"torch.cat\(\[state, action\], dim=-1\)"),
        ("default_init", r"output layer's weight has entries outside \[-init_w, init_w\]"),
        ("batch_mix", "one pair's value depends on the other pairs of the batch"),
    ],
)
def test_ddpg_critic_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_ddpg_critic(make_critic(bug=bug))


# ---------------------------------------------------------------- soft update


def make_soft_update(style="loop", bug=None):
    def soft_update(target, source, tau):
        if bug == "copy":
            target.load_state_dict(source.state_dict())
            return
        if bug == "weights":
            pairs = zip(target.weights, source.weights, strict=True)
        else:
            pairs = list(zip(target.parameters(), source.parameters(), strict=True))
        if bug == "partial":
            pairs = pairs[:2]  # the first layer only
        with torch.no_grad():
            if style == "lerp" and bug is None:
                torch._foreach_lerp_([t for t, _ in pairs], [s for _, s in pairs], tau)
                return
            for t, s in pairs:
                if bug == "rebind":
                    t = tau * s + (1 - tau) * t  # the bug: rebinds a local name
                elif bug == "wrong_side":
                    t.copy_((1 - tau) * s + tau * t)
                elif style == "data":
                    t.data.mul_(1 - tau).add_(tau * s.data)
                else:
                    t.copy_(tau * s + (1 - tau) * t)

    return soft_update


@pytest.mark.parametrize("style", ["loop", "lerp", "data"])
def test_soft_update_variants_pass(style, capsys):
    checks.check_soft_update(make_soft_update(style))
    assert "check_soft_update passed" in capsys.readouterr().out


SOFT_BUGS = [
    ("wrong_side", "tau is on the wrong side"),
    ("copy", "the target became a copy of the source"),
    ("rebind", "the target network did not change"),
    ("weights", "nn.Module has no .weights"),
    ("partial", "only some parameters were updated"),
]


@pytest.mark.parametrize(("bug", "message"), SOFT_BUGS)
def test_soft_update_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_soft_update(make_soft_update(bug=bug))


def test_soft_update_outside_no_grad_is_explained():
    def in_place(target, source, tau):
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.mul_(1 - tau).add_(tau * s)

    with pytest.raises(CheckFailed, match=r"torch.no_grad\(\)"):
        checks.check_soft_update(in_place)


# ---------------------------------------------------------------- the agent


def make_agent(bug=None, noise="ou", loss="mse", warmup="space", style="plain"):
    soft_update = make_soft_update()

    class DDPGAgent:
        def __init__(
            self,
            env,
            memory_size,
            batch_size,
            ou_noise_theta,
            ou_noise_sigma,
            gamma=0.99,
            tau=5e-3,
            initial_random_steps=1000,
        ):
            obs_dim = env.observation_space.shape[0]
            action_dim = env.action_space.shape[0]
            self.env = env
            self.memory = make_buffer()(obs_dim, action_dim, memory_size, batch_size)
            self.batch_size, self.gamma, self.tau = batch_size, gamma, tau
            self.initial_random_steps = initial_random_steps
            self.noise = make_ou()(action_dim, theta=ou_noise_theta, sigma=ou_noise_sigma)
            self.actor = make_actor()(obs_dim, action_dim)
            self.actor_target = copy.deepcopy(self.actor)
            self.critic = make_critic()(obs_dim + action_dim)
            self.critic_target = copy.deepcopy(self.critic)
            self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
            self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=1e-3)
            self.transition = []
            self.total_step = 0
            self.is_test = False

        def select_action(self, state):
            warming = self.total_step < self.initial_random_steps and not self.is_test
            if warming and bug != "no_warmup":
                if warmup == "uniform":
                    action = np.random.uniform(-1, 1, self.env.action_space.shape)
                else:
                    action = self.env.action_space.sample()
                if warmup == "space_plus_noise":  # the homework adds noise to it too
                    action = np.clip(action + self.noise.sample(), -1.0, 1.0)
            else:
                with torch.no_grad():
                    obs = torch.as_tensor(state, dtype=torch.float32)[None]
                    action = self.actor(obs)[0].numpy()
                if not self.is_test or bug == "test_noise":
                    if noise == "gaussian":
                        n = np.random.normal(0.0, 0.1, size=action.shape)
                    else:
                        n = self.noise.sample()
                    action = action + n if bug == "no_clip" else np.clip(action + n, -1.0, 1.0)
            self.transition = [state, action]
            return action

        def step(self, action):
            next_state, reward, terminated, truncated, _ = self.env.step(action)
            done = terminated or truncated
            if not self.is_test:
                stored = {"done_truncated": truncated, "done_either": done}.get(bug, terminated)
                self.memory.store(*self.transition, reward, next_state, stored)
            return next_state, reward, done

        def update_model(self):
            samples = self.memory.sample_batch()
            state = torch.as_tensor(samples["obs"])
            next_state = torch.as_tensor(samples["next_obs"])
            action = torch.as_tensor(samples["acts"])
            shape = (-1,) if bug == "broadcast" else (-1, 1)
            reward = torch.as_tensor(samples["rews"]).reshape(shape)
            done = torch.as_tensor(samples["done"]).reshape(-1, 1)
            mask = torch.ones_like(done) if bug == "no_mask" else 1 - done
            actor_t = self.actor if bug == "online_target" else self.actor_target
            critic_t = self.critic if bug == "online_target" else self.critic_target
            grad = contextlib.nullcontext() if bug == "target_grad" else torch.no_grad()
            with grad:
                gamma = 1.0 if bug == "no_gamma" else self.gamma
                y = reward + gamma * mask * critic_t(next_state, actor_t(next_state))
            q = self.critic(state, action)
            critic_loss = F.mse_loss(q, y) if loss == "mse" else F.smooth_l1_loss(q, y)
            if bug not in (
                "no_critic_zero_grad",
                "zero_grad_after_backward",
                "zero_grad_after_step",
            ):
                self.critic_optimizer.zero_grad()
            if style == "closure":  # a valid form: step(closure) computes the gradient

                def closure():
                    self.critic_optimizer.zero_grad()
                    loss = F.mse_loss(self.critic(state, action), y)
                    loss.backward()
                    return loss

                self.critic_optimizer.step(closure)
            else:
                critic_loss.backward()
                if bug == "zero_grad_after_backward":
                    self.critic_optimizer.zero_grad()
                if bug != "no_critic_step":
                    self.critic_optimizer.step()
                if bug == "zero_grad_after_step":  # the actor loss's gradient then stays
                    self.critic_optimizer.zero_grad()
            sign = 1.0 if bug == "actor_sign" else -1.0
            taken = action if bug == "actor_on_buffer" else self.actor(state)
            actor_loss = sign * self.critic(state, taken).mean()
            if bug != "no_actor_zero_grad":
                self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            if bug == "swapped_soft_update":
                soft_update(self.actor, self.actor_target, self.tau)
                soft_update(self.critic, self.critic_target, self.tau)
            elif bug == "copy_targets":
                self.actor_target.load_state_dict(self.actor.state_dict())
                self.critic_target.load_state_dict(self.critic.state_dict())
            elif bug != "no_soft_update":
                soft_update(self.actor_target, self.actor, self.tau)
                soft_update(self.critic_target, self.critic, self.tau)
            if bug == "tensors":
                return actor_loss, critic_loss
            if bug == "swapped_returns":
                return critic_loss.item(), actor_loss.item()
            return actor_loss.item(), critic_loss.item()

    return DDPGAgent


@pytest.mark.parametrize(
    ("noise", "warmup"),
    [("ou", "space"), ("ou", "uniform"), ("ou", "space_plus_noise"), ("gaussian", "space")],
)
def test_agent_step_variants_pass(noise, warmup, capsys):
    checks.check_agent_step(make_agent(noise=noise, warmup=warmup))
    assert "check_agent_step passed" in capsys.readouterr().out


STEP_BUGS = [
    ("no_warmup", "during warm-up .* select_action returned the actor's action"),
    ("test_noise", r"in test mode \(is_test=True\) the action carries exploration noise"),
    ("no_clip", r"the action is not clipped to \[-1, 1\]"),
    ("done_truncated", "at a time-limit truncation the stored done is 1"),
    ("done_either", "at a time-limit truncation the stored done is 1"),
]


@pytest.mark.parametrize(("bug", "message"), STEP_BUGS)
def test_agent_step_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_agent_step(make_agent(bug))


@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_update_model_passes_with_mse_or_huber(loss, capsys):
    checks.check_update_model(make_agent(loss=loss))
    assert "check_update_model passed" in capsys.readouterr().out


def test_update_model_passes_with_a_closure_step(capsys):
    checks.check_update_model(make_agent(style="closure"))
    assert "check_update_model passed" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:Using a target size")  # the broadcasting bug's own warning
@pytest.mark.parametrize(("bug", "message"), UPDATE_MODEL_BUGS)
def test_update_model_bugs_are_named(bug, message):
    with pytest.raises(CheckFailed, match=re.escape(message)):
        checks.check_update_model(make_agent(bug))


# ---------------------------------------------------------------- hygiene


def test_checks_leave_the_global_rngs_as_they_were():
    np.random.seed(123)
    random.seed(123)
    torch.manual_seed(123)
    before = (np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state())
    checks.check_replay_buffer(make_buffer())
    checks.check_ou_noise(make_ou())
    checks.check_ddpg_actor(make_actor())
    checks.check_ddpg_critic(make_critic())
    checks.check_soft_update(make_soft_update())
    checks.check_agent_step(make_agent())
    checks.check_update_model(make_agent())
    assert np.array_equal(np.random.get_state()[1], before[0])
    assert random.getstate() == before[1]
    assert torch.equal(torch.get_rng_state(), before[2])


def test_checks_are_fast():
    torch.set_num_threads(1)
    runs = {
        "replay_buffer": lambda: checks.check_replay_buffer(make_buffer()),
        "ou_noise": lambda: checks.check_ou_noise(make_ou()),
        "actor": lambda: checks.check_ddpg_actor(make_actor()),
        "critic": lambda: checks.check_ddpg_critic(make_critic()),
        "soft_update": lambda: checks.check_soft_update(make_soft_update()),
        "agent_step": lambda: checks.check_agent_step(make_agent()),
        "update_model": lambda: checks.check_update_model(make_agent()),
    }
    for run in runs.values():  # warm-up: a process's first Adam(...) imports torch._dynamo
        run()
    for label, run in runs.items():
        start = time.perf_counter()
        run()
        assert time.perf_counter() - start < 1.0, label
