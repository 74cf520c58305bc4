"""Probes for notebook 02: advantage actor-critic (A2C)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.observations import module_to_data
from course_lib.probes._common import loss_and_grads, reward_lists, rng_and_torch

__all__ = [
    "probe_a2c_losses",
    "probe_actor",
    "probe_compute_returns",
    "probe_critic",
    "probe_evaluate_actions",
]


class _Probs(torch.nn.Module):
    """Expose a Categorical actor's probabilities as a tensor, so it can be exported."""

    def __init__(self, actor: torch.nn.Module) -> None:
        super().__init__()
        self.actor = actor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.actor(obs).probs


def probe_actor(Actor: Callable[..., torch.nn.Module], seed: int) -> dict[str, Any]:
    """The actor's probabilities as a program, for the grader to probe."""
    rng, _ = rng_and_torch(seed)
    num_inputs, num_actions = int(rng.integers(3, 7)), int(rng.integers(2, 5))
    torch.manual_seed(seed)
    actor = Actor(num_inputs, num_actions).eval()
    is_categorical = isinstance(actor(torch.zeros(2, num_inputs)), torch.distributions.Categorical)
    return {
        "num_inputs": num_inputs,
        "num_actions": num_actions,
        "categorical": is_categorical,
        "program": module_to_data(_Probs(actor), (torch.zeros(4, num_inputs),))
        if is_categorical
        else None,
    }


def probe_critic(Critic: Callable[..., torch.nn.Module], seed: int) -> dict[str, Any]:
    """The critic as a program, for the grader to probe."""
    rng, _ = rng_and_torch(seed)
    num_inputs = int(rng.integers(3, 7))
    torch.manual_seed(seed)
    critic = Critic(num_inputs).eval()
    return {
        "num_inputs": num_inputs,
        "program": module_to_data(critic, (torch.zeros(4, num_inputs),)),
    }


def probe_compute_returns(fn: Callable[..., Any], seed: int) -> list[list[float]]:
    """Returns on random episodes, including empty and one-step ones, gamma 0 and 1."""
    rng, _ = rng_and_torch(seed)
    return [[float(g) for g in fn(rewards, gamma)] for rewards, gamma in reward_lists(rng)]


class _Table(torch.nn.Module):
    def __init__(self, table: torch.Tensor, kind: str) -> None:
        super().__init__()
        self.table = torch.nn.Parameter(table)
        self.kind = kind

    def forward(self, obs: torch.Tensor) -> Any:
        rows = self.table[obs[:, 0].long()]
        if self.kind == "actor":
            return torch.distributions.Categorical(logits=rows)
        return rows[:, :1]


def probe_evaluate_actions(fn: Callable[..., Any], seed: int) -> dict[str, Any]:
    """log_probs and values from table networks with random entries, and their gradients."""
    rng, gen = rng_and_torch(seed)
    n_states, n_actions, t = 6, int(rng.integers(2, 5)), 12
    actor = _Table(torch.randn(n_states, n_actions, generator=gen), "actor")
    critic = _Table(torch.randn(n_states, 1, generator=gen), "critic")
    states = torch.as_tensor(rng.integers(0, n_states, size=t), dtype=torch.float32)
    obs = torch.stack([states, torch.zeros(t)], dim=1)
    actions = torch.as_tensor(rng.integers(0, n_actions, size=t))
    log_probs, values = fn(actor, critic, obs, actions)
    g_actor = torch.autograd.grad(log_probs.sum(), actor.table, allow_unused=True)[0]
    g_critic = torch.autograd.grad(values.sum(), critic.table, allow_unused=True)[0]
    return {
        "log_probs": log_probs.detach().tolist(),
        "values": values.detach().tolist(),
        "actor_grad": None if g_actor is None else g_actor.tolist(),
        "critic_grad": None if g_critic is None else g_critic.tolist(),
    }


def probe_a2c_losses(fn: Callable[..., Any], seed: int) -> list[dict[str, Any]]:
    """Inputs, losses and gradients; the grader checks the properties of any correct variant."""
    _, gen = rng_and_torch(seed)
    out = []
    for t in (1, 6, 40):
        log_probs = (-2 * torch.rand(t, generator=gen) - 0.01).requires_grad_()
        values = (2 * torch.randn(t, generator=gen)).requires_grad_()
        returns = (values.detach() + 2 * torch.randn(t, generator=gen)).requires_grad_()
        record = loss_and_grads(fn, [log_probs, values, returns], n_outputs=2)
        record["inputs"] = [log_probs.tolist(), values.tolist(), returns.tolist()]
        at_target = fn(log_probs, returns.detach().clone(), returns)
        record["critic_at_target"] = float(at_target[1].detach())
        column = fn(log_probs, values.detach().reshape(t, 1), returns.detach())
        record["column_values"] = [float(column[0].detach()), float(column[1].detach())]
        out.append(record)
    return out
