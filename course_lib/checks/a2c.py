"""Visible checks for notebook 02: advantage actor-critic (A2C).

Students may write any correct A2C variant (MSE or Huber critic, sums or
means, raw or normalized returns, a bootstrapped target): the loss checks test
properties every correct variant has, not one recipe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course_lib.checks._nets import build, grads, seeded_obs
from course_lib.checks.core import check_eval_result as check_reward
from course_lib.checks.core import expect, expect_close, expect_shape, expect_values, fail, passed
from course_lib.exercises.a2c import positive_multiple

__all__ = [
    "check_a2c_losses",
    "check_actor",
    "check_compute_returns",
    "check_critic",
    "check_evaluate_actions",
    "check_reward",
]


def check_actor(Actor: Callable[..., torch.nn.Module]) -> None:
    """Check ``Actor(num_inputs, num_actions)``: ``forward(obs)`` returns a ``Categorical``."""
    name = "check_actor"
    for num_inputs, num_actions in [(4, 2), (3, 5)]:
        actor = build(name, Actor, num_inputs, num_actions)
        obs = seeded_obs(7, num_inputs)
        try:
            dist = actor(obs)
        except ValueError as err:
            fail(
                name,
                f"building the distribution failed: {err}",
                hint="raw network outputs are not probabilities: use "
                "`Categorical(logits=self.net(obs))`, or softmax them first.",
            )
        expect(
            name,
            isinstance(dist, torch.distributions.Categorical),
            "forward(obs) must return a torch.distributions.Categorical.",
            got=type(dist).__name__,
            hint="end forward with `return Categorical(logits=logits)`.",
        )
        expect_shape(
            name,
            "dist.probs",
            dist.probs,
            (7, num_actions),
            hint="one distribution per observation over num_actions actions.",
        )
        expect(
            name,
            bool((dist.probs >= 0).all()),
            "dist.probs has negative entries.",
            hint="pass the network output as logits=..., or softmax over dim=-1.",
        )
        row_sums = dist.probs.detach().sum(dim=-1)
        expect_close(
            name,
            "row sums of dist.probs",
            row_sums,
            torch.ones(7),
            hint="pass the network output as logits=..., or softmax over dim=-1.",
        )
        single = actor(obs[2:3]).probs.detach()
        expect_close(
            name,
            "probabilities of obs[2] evaluated alone",
            single[0],
            dist.probs.detach()[2],
            hint="one observation's action probabilities depend on the rest of the batch: "
            "normalize over the actions (softmax dim=-1), never over the batch (dim=0).",
        )
        actions = torch.zeros(7, dtype=torch.long)
        log_probs = dist.log_prob(actions)
        expect_shape(name, "dist.log_prob(actions)", log_probs, (7,))
        params = [p for p in actor.parameters() if p.requires_grad]
        expect(
            name,
            len(params) > 0 and any(g.abs().sum() > 0 for g in grads(log_probs.sum(), params)),
            "no gradient flows from log_prob back to the actor's parameters.",
            hint="build the distribution from the network's output without detaching it.",
        )
    passed(name, "a Categorical over the actions, one per observation, with gradient")


def check_critic(Critic: Callable[..., torch.nn.Module]) -> None:
    """Check ``Critic(num_inputs)``: ``forward(obs)`` returns V of shape (B, 1)."""
    name = "check_critic"
    for num_inputs in (4, 3):
        critic = build(name, Critic, num_inputs)
        value = critic(seeded_obs(7, num_inputs))
        expect(
            name,
            isinstance(value, torch.Tensor),
            "forward(obs) must return a tensor.",
            got=type(value).__name__,
        )
        expect_shape(
            name,
            "V(obs)",
            value,
            (7, 1),
            hint="end with nn.Linear(hidden, 1) and do not squeeze inside the critic.",
        )
        expect(name, value.dtype == torch.float32, "V(obs) must be float32.", got=value.dtype)
        expect(
            name,
            value.requires_grad,
            "V(obs) carries no gradient.",
            hint="do not detach or wrap the forward pass in torch.no_grad().",
        )
    passed(name, "V(obs) has shape (B, 1) and gradient")


# rewards, gamma, expected, {mistake: values}
_CASES: list[tuple[list[float], float, list[float], dict[str, list[float]]]] = [
    (
        [1.0, 1.0, 1.0],
        0.5,
        [1.75, 1.5, 1.0],
        {
            "gamma_h": [1.75, 0.75, 0.25],
            "forward": [1.0, 1.5, 1.75],
            "normalized": [1.06904493, 0.26726123, -1.33630617],
        },
    ),
    (
        [0.0, 0.0, 2.0, -1.0],
        0.9,
        [0.891, 0.99, 1.1, -1.0],
        {"gamma_h": [0.891, 0.891, 0.891, -0.729], "forward": [0.0, 0.0, 2.0, 0.8]},
    ),
    ([1.0, 2.0, 3.0], 1.0, [6.0, 5.0, 3.0], {"forward": [1.0, 3.0, 6.0]}),
    ([1.0, 2.0, 3.0], 0.0, [1.0, 2.0, 3.0], {"gamma_h": [1.0, 0.0, 0.0]}),
    ([5.0], 0.99, [5.0], {}),
]
_HINTS = {
    "gamma_h": "the discount of reward r_h seen from step t is gamma^(h - t), not gamma^h: "
    "every return starts undiscounted at its own step.",
    "forward": "accumulate from the END of the episode backwards: G_t = r_t + gamma * G_(t+1).",
    "normalized": "compute_returns returns the raw discounted returns; normalize them (if you "
    "want to) in the training loop.",
}


def check_compute_returns(compute_returns: Callable[[list[float], float], Any]) -> None:
    """Check ``compute_returns(rewards, gamma) -> list[float]`` on known reward lists."""
    name = "check_compute_returns"
    for rewards, gamma, expected, wrong in _CASES:
        out = compute_returns(list(rewards), gamma)
        expect(
            name,
            isinstance(out, list | tuple | np.ndarray | torch.Tensor),
            "compute_returns must return a list of floats.",
            got=type(out).__name__,
        )
        expect_values(
            name,
            "returns",
            np.asarray([float(x) for x in out]),
            expected,
            mistakes=[(values, _HINTS[key]) for key, values in wrong.items()],
            hint="G_t = sum over h >= t of gamma^(h - t) * r_h.",
            case=f"rewards={rewards}, gamma={gamma}",
        )
    out = compute_returns([], 0.99)
    expect(name, len(out) == 0, "an empty episode must give an empty list of returns.", got=out)
    passed(name, "discounted from each step, accumulated backwards; gamma 0 and 1 right")


class _TableActor(torch.nn.Module):
    """Action probabilities looked up by the integer in obs[:, 0]."""

    def __init__(self) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(
            torch.log(torch.tensor([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.9, 0.1]]))
        )

    def forward(self, obs: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.logits[obs[:, 0].long()])


class _TableCritic(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.values = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0, 0.0]))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.values[obs[:, 0].long()].unsqueeze(1)


def check_evaluate_actions(evaluate_actions: Callable[..., Any]) -> None:
    """Check ``evaluate_actions(actor, critic, obs (T, n), actions (T,))``.

    It must return ``(log_probs (T,), values (T,))``.
    """
    name = "check_evaluate_actions"
    actor, critic = _TableActor(), _TableCritic()
    obs = torch.tensor([[0.0, 9.0], [1.0, 9.0], [2.0, 9.0], [3.0, 9.0], [2.0, 9.0]])
    actions = torch.tensor([0, 1, 1, 0, 0])
    out = evaluate_actions(actor, critic, obs, actions)
    expect(
        name,
        isinstance(out, tuple) and len(out) == 2,
        "evaluate_actions must return (log_probs, values).",
        got=type(out).__name__,
    )
    log_probs, values = out
    expect_shape(name, "log_probs", log_probs, (5,))
    expect_shape(
        name,
        "values",
        values,
        (5,),
        hint="the critic gives (T, 1): flatten it with `.squeeze(-1)` so it lines up with "
        "the returns (T,) instead of broadcasting into a (T, T) matrix.",
    )
    probs = np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.9, 0.1]])[[0, 1, 2, 3, 2]]
    log = np.log(probs)
    expect_values(
        name,
        "log_probs",
        log_probs.detach(),
        np.log([0.2, 0.4, 0.7, 0.9, 0.3]),
        mistakes=[
            (log.max(axis=1), "use the actions that were taken, not the most probable ones."),
            (log[:, 0], "use `dist.log_prob(actions)` with the actions taken at each step."),
            (log[:, 1], "use `dist.log_prob(actions)` with the actions taken at each step."),
        ],
        hint="log_probs[t] is log pi(actions[t] | obs[t]): `actor(obs).log_prob(actions)`. "
        "Do not sample new actions here.",
        case="a table actor with known probabilities",
    )
    expect_close(
        name,
        "values",
        values.detach(),
        [0.5, -1.0, 2.0, 0.0, 2.0],
        case="a table critic with known values",
    )
    g_actor = grads(log_probs.sum(), [actor.logits])[0]
    g_critic = grads(values.sum(), [critic.values])[0]
    expect(
        name,
        bool(g_actor.abs().sum() > 0) and bool(g_critic.abs().sum() > 0),
        "log_probs or values carry no gradient back to the networks.",
        hint="compute them with gradient on: no torch.no_grad(), .detach() or .item() here.",
    )
    passed(name, "log-probabilities of the taken actions, values flattened to (T,)")


def check_a2c_losses(a2c_losses: Callable[..., Any]) -> None:
    """Check ``a2c_losses(log_probs (T,), values (T,), returns (T,)) -> (actor_loss, critic_loss)``.

    Any correct variant passes: MSE or Huber, sum or mean, any positive scale.
    """
    name = "check_a2c_losses"
    gen = torch.Generator().manual_seed(3)
    t = 6
    log_probs = (-torch.rand(t, generator=gen) * 2 - 0.05).requires_grad_()
    values = torch.randn(t, generator=gen).requires_grad_()
    # A bootstrapped target carries gradient; a correct loss must not send any into it.
    returns = (values.detach() + torch.tensor([1.5, -0.4, 0.3, -2.0, 0.8, -0.1])).requires_grad_()
    out = a2c_losses(log_probs, values, returns)
    expect(
        name,
        isinstance(out, tuple) and len(out) == 2,
        "a2c_losses must return (actor_loss, critic_loss).",
        got=type(out).__name__,
    )
    actor_loss, critic_loss = out
    for label, loss in (("actor_loss", actor_loss), ("critic_loss", critic_loss)):
        expect(
            name,
            isinstance(loss, torch.Tensor) and loss.ndim == 0,
            f"{label} must be a scalar tensor (0-dim).",
            got=getattr(loss, "shape", type(loss).__name__),
            hint="reduce over the episode with .mean() or .sum().",
        )
    a_logp, a_v, a_r = (g.numpy() for g in grads(actor_loss, [log_probs, values, returns]))
    c_logp, c_v, c_r = (g.numpy() for g in grads(critic_loss, [log_probs, values, returns]))
    expect(
        name,
        np.allclose(a_v, 0) and np.allclose(a_r, 0),
        "the actor loss sends gradient into the values (or the returns).",
        hint="detach the advantage in the actor term: `(returns - values).detach()`; the "
        "actor must not train the critic.",
    )
    expect(
        name,
        np.allclose(c_logp, 0),
        "the critic loss depends on the log-probabilities.",
        hint="the critic loss compares values with returns only.",
    )
    expect(
        name,
        np.allclose(c_r, 0),
        "the critic loss sends gradient into the returns (the target).",
        hint="detach the target: `loss_fn(values, returns.detach())`, so the "
        "critic moves toward the target and not the target toward the critic.",
    )
    advantage = (returns - values).detach().numpy()
    if positive_multiple(a_logp, -advantage) is None:
        flipped = positive_multiple(a_logp, advantage) is not None
        fail(
            name,
            "the actor loss's gradient is not proportional to -(advantage).",
            expected="d actor_loss / d log_probs = -c * (returns - values) for one c > 0",
            got=np.round(a_logp, 4),
            hint="the sign is flipped: minimize -(log_probs * advantage)."
            if flipped
            else "the actor loss is -(log_probs * advantage).mean() (or .sum()), nothing else "
            "weighted per step.",
        )
    diff = (values - returns).detach().numpy()
    if not (np.all(np.sign(c_v) == np.sign(diff)) and np.all(c_v != 0)):
        fail(
            name,
            "the critic loss does not pull each value toward its own return.",
            expected=f"gradient signs {np.sign(diff).astype(int).tolist()} (of value - return)",
            got=np.round(c_v, 4),
            hint="use MSE or Huber between values and returns, elementwise (both of shape (T,)).",
        )
    at_target = a2c_losses(log_probs, returns.detach().clone(), returns)[1]
    expect_close(
        name,
        "critic_loss when values equal returns",
        [float(at_target.detach())],
        [0.0],
        atol=1e-6,
        hint="the critic loss must be 0 when every value equals its return.",
    )
    column = a2c_losses(log_probs, values.reshape(t, 1), returns)
    for label, a, b in (
        ("actor_loss", column[0], actor_loss),
        ("critic_loss", column[1], critic_loss),
    ):
        expect_close(
            name,
            f"{label} with values of shape (T, 1)",
            [float(a.detach())],
            [float(b.detach())],
            hint="values of shape (T, 1) broadcast against returns (T,) into a (T, T) matrix: "
            "flatten them first (`values.reshape(-1)` or `.squeeze(-1)`).",
        )
    passed(name, "advantage detached, target detached, critic pulled toward the returns")
