"""Notebook 02's checks: every correct A2C variant passes, each known bug fails with its message."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical

from course_lib.checks import CheckFailed
from course_lib.checks.a2c import (
    check_a2c_losses,
    check_actor,
    check_compute_returns,
    check_critic,
    check_evaluate_actions,
)

# ---------------------------------------------------------------- networks


def mlp(n_in, n_out, hidden=(64,)):
    layers, last = [], n_in
    for h in hidden:
        layers += [nn.Linear(last, h), nn.Tanh()]
        last = h
    return nn.Sequential(*layers, nn.Linear(last, n_out))


def make_actor(hidden=(64,), head="logits"):
    class Actor(nn.Module):
        def __init__(self, num_inputs, num_actions):
            super().__init__()
            self.net = mlp(num_inputs, num_actions, hidden)

        def forward(self, obs):
            out = self.net(obs)
            if head == "logits":
                return Categorical(logits=out)
            if head == "softmax":
                return Categorical(probs=torch.softmax(out, dim=-1))
            if head == "raw_probs":  # bug: no softmax
                return Categorical(probs=out)
            if head == "softmax_dim0":  # bug: normalizes across the batch
                return Categorical(probs=torch.softmax(out, dim=0))
            if head == "batch_mix":  # bug: logits centred over the batch (rows still sum to 1)
                return Categorical(logits=out - out.mean(0, keepdim=True))
            if head == "softmax_as_logits":  # bug: every action keeps >= ~27% on CartPole
                return Categorical(logits=torch.softmax(out, dim=-1))
            if head == "tanh_logits":  # bug: scores squashed into [-1, 1]
                return Categorical(logits=torch.tanh(out))
            return out  # bug: returns logits

    return Actor


def make_critic(hidden=(64,), squeeze=False):
    class Critic(nn.Module):
        def __init__(self, num_inputs):
            super().__init__()
            self.net = mlp(num_inputs, 1, hidden)

        def forward(self, obs):
            v = self.net(obs)
            return v.squeeze(-1) if squeeze else v

    return Critic


@pytest.mark.parametrize("hidden", [(16,), (64,), (128, 128), (32, 32, 32)])
@pytest.mark.parametrize("head", ["logits", "softmax"])
def test_actor_variants_pass(hidden, head):
    check_actor(make_actor(hidden, head))
    check_critic(make_critic(hidden))


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("raw_probs", r"raw network outputs are not probabilities"),
        ("softmax_dim0", r"depend on the rest of the batch"),
        ("tensor", r"must return a torch.distributions.Categorical"),
        ("softmax_as_logits", r"can never become deterministic(.|\n)*logits=softmax"),
        ("tanh_logits", r"can never become deterministic"),
    ],
)
def test_actor_bugs(head, message):
    # the actor's random start decides which diagnosis speaks first: seeded, so that the
    # outcome does not depend on what ran before on the same worker
    with torch.random.fork_rng(), pytest.raises(CheckFailed, match=message):
        torch.manual_seed(0)
        check_actor(make_actor(head=head))


def test_critic_squeezed_inside_fails():
    with pytest.raises(CheckFailed, match=r"V\(obs\): wrong shape(.|\n)*do not squeeze inside"):
        check_critic(make_critic(squeeze=True))


# ---------------------------------------------------------------- returns


def returns_ref(rewards, gamma):
    out, g = [], 0.0
    for r in reversed(rewards):
        g = r + gamma * g
        out.append(g)
    return out[::-1]


def returns_numpy_variant(rewards, gamma):
    import numpy as np

    t = len(rewards)
    disc = gamma ** np.arange(t)
    return [float(np.sum(disc[: t - i] * np.asarray(rewards[i:]))) for i in range(t)]


def returns_gamma_h(rewards, gamma):
    return [sum(gamma**h * rewards[h] for h in range(t, len(rewards))) for t in range(len(rewards))]


def returns_forward(rewards, gamma):
    out, g = [], 0.0
    for r in rewards:
        g = r + gamma * g
        out.append(g)
    return out


def returns_forward_reversed(rewards, gamma):  # the loop over rewards, then [::-1]
    return returns_forward(rewards, gamma)[::-1]


def returns_not_reversed(rewards, gamma):  # built backwards, never put back in time order
    return returns_ref(rewards, gamma)[::-1]


def returns_normalized(rewards, gamma):
    g = torch.tensor(returns_ref(rewards, gamma))
    return ((g - g.mean()) / (g.std(unbiased=False) + 1e-8)).tolist() if len(g) > 1 else [0.0]


@pytest.mark.parametrize("fn", [returns_ref, returns_numpy_variant])
def test_returns_variants_pass(fn):
    check_compute_returns(fn)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (returns_gamma_h, r"gamma\^\(h - t\), not gamma\^h"),
        (returns_forward, r"accumulate from the END of the episode backwards"),
        (returns_forward_reversed, r"accumulate from the END of the episode backwards"),
        (returns_not_reversed, r"in time order"),
        (returns_normalized, r"returns the raw discounted returns"),
    ],
)
def test_returns_bugs(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_compute_returns(fn)


# ---------------------------------------------------------------- evaluate_actions


def test_evaluate_actions_reference_passes():
    check_evaluate_actions(lambda a, c, obs, act: (a(obs).log_prob(act), c(obs).squeeze(-1)))


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (
            lambda a, c, o, act: (a(o).log_prob(a(o).probs.argmax(-1)), c(o).squeeze(-1)),
            r"not the most probable ones",
        ),
        (
            lambda a, c, o, act: (a(o).log_prob(torch.zeros_like(act)), c(o).squeeze(-1)),
            r"with the actions taken at each step",
        ),
        (
            lambda a, c, o, act: (a(o).log_prob(act), c(o)),
            r"values: wrong shape(.|\n)*broadcasting",
        ),
        (
            lambda a, c, o, act: (a(o).log_prob(act).detach(), c(o).squeeze(-1)),
            r"carry no gradient back to the networks",
        ),
    ],
)
def test_evaluate_actions_bugs(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_evaluate_actions(fn)


# ---------------------------------------------------------------- losses


NORMALIZE = {
    "none": lambda a: a,
    "batch": lambda a: (a - a.mean()) / (a.std() + 1e-8),
    "batch_population_std": lambda a: (a - a.mean()) / a.std(unbiased=False),
    "scaled": lambda a: a / a.abs().max(),
    # wrong: a shift that is not the batch mean, and per-step weights
    "shifted": lambda a: a - 1.0,
    "per_step": lambda a: a * torch.arange(1, a.numel() + 1, dtype=a.dtype),
}


def losses(
    reduce="mean",
    critic="mse",
    detach_adv=True,
    detach_target=True,
    flatten=True,
    sign=1,
    normalize="none",
):
    def a2c_losses(log_probs, values, returns):
        v = values.reshape(-1) if flatten else values
        target = returns.detach() if detach_target else returns
        adv = target - v
        adv = NORMALIZE[normalize](adv.detach() if detach_adv else adv)
        actor = -sign * (log_probs * adv)
        actor = actor.mean() if reduce == "mean" else actor.sum()
        fn = {
            "mse": F.mse_loss,
            "huber": F.smooth_l1_loss,
            "half_mse": lambda a, b, reduction: 0.5 * F.mse_loss(a, b, reduction=reduction),
        }[critic]
        return actor, fn(v, target, reduction=reduce)

    return a2c_losses


@pytest.mark.parametrize("reduce", ["mean", "sum"])
@pytest.mark.parametrize("critic", ["mse", "huber", "half_mse"])
def test_loss_variants_pass(reduce, critic):
    check_a2c_losses(losses(reduce, critic))


@pytest.mark.parametrize("normalize", ["batch", "batch_population_std", "scaled"])
@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_advantages_normalized_over_the_batch_pass(normalize, reduce):
    # notebook 02 accepts any A2C variant that reaches the criterion; normalizing the
    # (detached) advantages per episode is standard practice
    check_a2c_losses(losses(reduce, normalize=normalize))


@pytest.mark.parametrize(
    ("normalize", "detach_adv", "message"),
    [
        ("batch", False, r"actor loss sends gradient into the values"),
        ("shifted", True, r"not proportional to -\(advantage\)"),
        ("per_step", True, r"not proportional to -\(advantage\)"),
    ],
)
def test_what_is_not_a_normalized_advantage_fails(normalize, detach_adv, message):
    with pytest.raises(CheckFailed, match=message):
        check_a2c_losses(losses(normalize=normalize, detach_adv=detach_adv))


def test_bootstrapped_td_target_variant_passes():
    # The returns given here carry gradient, exactly as r + gamma * V(s') would.
    check_a2c_losses(losses(detach_target=True))


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (
            losses(detach_adv=False),
            r"actor loss sends gradient into the values(.|\n)*detach the advantage",
        ),
        (
            losses(detach_target=False, detach_adv=True),
            r"critic loss sends gradient into the returns",
        ),
        (losses(flatten=False), r"broadcast against returns \(T,\) into a \(T, T\) matrix"),
        (losses(sign=-1), r"the sign is flipped"),
    ],
)
def test_loss_bugs(fn, message):
    with pytest.raises(CheckFailed, match=message):
        check_a2c_losses(fn)


def test_critic_loss_that_ignores_the_returns_fails():
    def bad(log_probs, values, returns):
        return -(log_probs * (returns - values).detach()).mean(), (values**2).mean()

    with pytest.raises(CheckFailed, match=r"does not pull each value toward its own return"):
        check_a2c_losses(bad)


def test_raw_probs_caught_even_with_validation_switched_off():
    before = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(False)
    try:
        with (
            torch.random.fork_rng(),
            pytest.raises(CheckFailed, match=r"not probabilities|negative entries"),
        ):
            torch.manual_seed(0)  # the random start decides which diagnosis speaks first
            check_actor(make_actor(head="raw_probs"))
        assert torch.distributions.Distribution._validate_args is False  # restored
    finally:
        torch.distributions.Distribution.set_default_validate_args(before)
