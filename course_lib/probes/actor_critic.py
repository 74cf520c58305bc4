"""Probes for notebook 01: actor-critic with one two-headed network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.observations import module_to_data
from course_lib.probes._common import loss_and_grads, reward_lists, rng_and_torch

__all__ = [
    "probe_action_log_probs",
    "probe_actor_critic",
    "probe_actor_critic_loss",
    "probe_normalized_returns",
]


def probe_actor_critic(ActorCritic: Callable[..., torch.nn.Module], seed: int) -> dict[str, Any]:
    """The network as data, for the grader to probe on its own inputs."""
    rng, _ = rng_and_torch(seed)
    num_inputs, num_actions = int(rng.integers(3, 7)), int(rng.integers(2, 5))
    hidden = int(rng.choice([16, 32, 64]))
    torch.manual_seed(seed)
    model = ActorCritic(num_inputs, num_actions, num_hidden=hidden).eval()
    bigger = ActorCritic(num_inputs, num_actions, num_hidden=2 * hidden)
    return {
        "num_inputs": num_inputs,
        "num_actions": num_actions,
        "grows_with_hidden": sum(p.numel() for p in bigger.parameters())
        > sum(p.numel() for p in model.parameters()),
        "program": module_to_data(model, (torch.zeros(4, num_inputs),)),
    }


def probe_action_log_probs(fn: Callable[..., Any], seed: int) -> list[dict[str, Any]]:
    """Log-probabilities (and gradients) on random probability tables and actions."""
    rng, gen = rng_and_torch(seed)
    out = []
    for t, a in [(1, 2), (6, 3), (25, 2)]:
        probs = torch.softmax(torch.randn(t, a, generator=gen), dim=-1).requires_grad_()
        actions = torch.as_tensor(rng.integers(0, a, size=t))
        out.append(loss_and_grads(lambda p, fn=fn, actions=actions: fn(p, actions), [probs]))
    return out


def probe_normalized_returns(fn: Callable[..., Any], seed: int) -> list[list[float]]:
    """Normalized returns on random episodes, including empty and one-step ones."""
    rng, _ = rng_and_torch(seed)
    return [torch.as_tensor(fn(rewards, gamma)).tolist() for rewards, gamma in reward_lists(rng)]


def probe_actor_critic_loss(fn: Callable[..., Any], seed: int) -> list[dict[str, Any]]:
    """Loss values and gradients w.r.t. log_probs, values (flat and (T, 1)) and returns."""
    _, gen = rng_and_torch(seed)
    out = []
    for t in (1, 5, 30):
        log_probs = (-2 * torch.rand(t, generator=gen) - 0.01).requires_grad_()
        values = (3 * torch.randn(t, generator=gen)).requires_grad_()
        returns = (3 * torch.randn(t, generator=gen)).requires_grad_()
        flat = loss_and_grads(fn, [log_probs, values, returns])
        column = fn(log_probs, values.detach().reshape(t, 1), returns.detach())
        flat["column_value"] = float(column.detach())
        out.append(flat)
    return out
