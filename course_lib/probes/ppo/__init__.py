"""Probes for notebook 03: PPO with GAE on Pendulum-v1.

Each probe runs a student's function on inputs drawn from the grader's seed and
returns plain data (or an exported network) for the grader to judge outside
the kernel, against the reference solution run on the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from course_lib.exercises.parts import course_parts
from course_lib.exercises.ppo.agent_step import AGENT_PARTS
from course_lib.observations import module_to_data
from course_lib.probes._common import rng_and_torch
from course_lib.probes.ppo.update_model import probe_update_model, run_update_model
from course_lib.toy_envs import BoxToyEnv

__all__ = [
    "probe_action_normalizer",
    "probe_agent_step",
    "probe_compute_gae",
    "probe_init_layer_uniform",
    "probe_ppo_actor",
    "probe_ppo_critic",
    "probe_ppo_iter",
    "probe_ppo_losses",
    "probe_update_model",
    "run_update_model",
]


def probe_action_normalizer(ActionNormalizer: Callable[..., Any], seed: int) -> dict[str, Any]:
    """Both directions of the wrapper on a random asymmetric range."""
    rng, _ = rng_and_torch(seed)
    low = rng.uniform(-5.0, 0.0, size=3).round(3)
    high = (low + rng.uniform(0.5, 6.0, size=3)).round(3)
    wrapper = ActionNormalizer(BoxToyEnv(horizon=2, low=low, high=high))
    normalized = rng.uniform(-1.0, 1.0, size=(5, 3)).astype(np.float32)
    env_units = rng.uniform(low, high, size=(5, 3)).astype(np.float32)
    return {
        "action": [np.asarray(wrapper.action(a), dtype=float).tolist() for a in normalized],
        "reverse_action": [
            np.asarray(wrapper.reverse_action(x), dtype=float).tolist() for x in env_units
        ],
    }


def probe_init_layer_uniform(fn: Callable[..., Any], seed: int) -> dict[str, Any]:
    """The weights and biases of a layer it initialized, with a grader-chosen init_w."""
    rng, _ = rng_and_torch(seed)
    init_w = float(rng.choice([1e-3, 3e-3, 0.05, 0.3]))
    torch.manual_seed(seed)
    layer = torch.nn.Linear(32, 48)
    out = fn(layer, init_w)
    return {
        "init_w": init_w,
        "returned_layer": out is layer,
        "weight": layer.weight.detach().reshape(-1).tolist(),
        "bias": layer.bias.detach().tolist(),
    }


class _MeanStd(torch.nn.Module):
    """Expose a Gaussian actor's mean and standard deviation as tensors, for export."""

    def __init__(self, actor: torch.nn.Module) -> None:
        super().__init__()
        self.actor = actor

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dist = self.actor(obs)[1]
        return dist.mean, dist.stddev + 0.0 * dist.mean  # broadcast a shared std to (B, A)


def probe_ppo_actor(PPOActor: Callable[..., torch.nn.Module], seed: int) -> dict[str, Any]:
    """The actor's (mean, std) as a program, with grader-chosen sizes and log-std bounds."""
    rng, _ = rng_and_torch(seed)
    in_dim, out_dim = int(rng.integers(2, 6)), int(rng.integers(1, 3))
    low, high = float(rng.uniform(-8.0, -3.0)), float(rng.uniform(-1.0, 1.0))
    torch.manual_seed(seed)
    actor = PPOActor(in_dim, out_dim, log_std_min=low, log_std_max=high).eval()
    out = actor(torch.zeros(2, in_dim))
    gaussian = (
        isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], torch.distributions.Normal)
    )
    validate = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(False)
    try:
        # no_grad: the actor samples inside forward, and sampling runs without gradient,
        # which an exported graph can only hold as plain operations
        with torch.no_grad():
            program = (
                module_to_data(_MeanStd(actor), (torch.zeros(4, in_dim),)) if gaussian else None
            )
    finally:
        torch.distributions.Distribution.set_default_validate_args(validate)
    return {
        "num_inputs": in_dim,
        "num_actions": out_dim,
        "log_std_min": low,
        "log_std_max": high,
        "program": program,
    }


def probe_ppo_critic(PPOCritic: Callable[..., torch.nn.Module], seed: int) -> dict[str, Any]:
    """The critic as a program."""
    rng, _ = rng_and_torch(seed)
    in_dim = int(rng.integers(2, 6))
    torch.manual_seed(seed)
    critic = PPOCritic(in_dim).eval()
    return {"num_inputs": in_dim, "program": module_to_data(critic, (torch.zeros(4, in_dim),))}


def probe_compute_gae(fn: Callable[..., Any], seed: int) -> list[list[list[float]]]:
    """Returns on random rollouts of 3 envs side by side, episode ends included."""
    _, gen = rng_and_torch(seed)
    out = []
    for steps, gamma, tau in [(1, 0.9, 0.95), (9, 0.9, 0.8), (16, 0.99, 0.0), (12, 0.5, 1.0)]:
        rewards = [torch.randn(3, 1, generator=gen).round(decimals=3) for _ in range(steps)]
        values = [torch.randn(3, 1, generator=gen).round(decimals=3) for _ in range(steps)]
        masks = [(torch.rand(3, 1, generator=gen) > 0.25).float() for _ in range(steps)]
        next_value = torch.randn(3, 1, generator=gen).round(decimals=3)
        result = fn(next_value, rewards, masks, values, gamma, tau)
        out.append(
            [
                np.asarray(r.detach() if hasattr(r, "detach") else r, dtype=float)
                .reshape(-1)
                .tolist()
                for r in result
            ]
        )
    return out


def probe_ppo_iter(fn: Callable[..., Any], seed: int) -> list[dict[str, Any]]:
    """The sample indices of every minibatch, and whether the arrays stayed aligned."""
    rng, _ = rng_and_torch(seed)
    out = []
    for batch, mini, epochs in [(20, 6, 3), (int(rng.integers(30, 60)), 8, 2)]:
        idx = torch.arange(batch, dtype=torch.float32)
        arrays = [torch.stack([idx, idx], 1), idx[:, None] + 100] + [
            idx + k for k in (200, 300, 400, 500)
        ]
        minibatches, aligned = [], True
        for mb in fn(epochs, mini, *arrays):
            ids = np.asarray(mb[0][:, 0], dtype=float)
            for j, offset in enumerate((100, 200, 300, 400, 500), start=1):
                col = np.asarray(mb[j], dtype=float).reshape(-1) - offset
                aligned = aligned and col.shape == ids.shape and bool(np.allclose(col, ids))
            minibatches.append(ids.astype(int).tolist())
        out.append(
            {
                "batch": batch,
                "mini": mini,
                "epochs": epochs,
                "aligned": aligned,
                "minibatches": minibatches,
            }
        )
    return out


def probe_ppo_losses(fn: Callable[..., Any], seed: int) -> list[dict[str, Any]]:
    """Losses and gradients on random minibatches; the critic is judged by its properties."""
    _, gen = rng_and_torch(seed)
    out = []
    for b in (5, 32):
        old = -torch.rand(b, generator=gen) * 2 - 0.1
        log_probs = (old + 0.6 * torch.randn(b, generator=gen)).requires_grad_()
        old = old.clone().requires_grad_()
        adv = torch.randn(b, generator=gen)
        entropy = torch.rand(b, generator=gen).requires_grad_()
        values = torch.randn(b, 1, generator=gen).requires_grad_()
        old_values = values.detach().clone().requires_grad_()
        returns = (values.detach().reshape(-1) + torch.randn(b, generator=gen)).requires_grad_()
        eps, weight = 0.2, 0.01
        actor_loss, critic_loss = fn(
            log_probs, old, adv, entropy, values, old_values, returns, eps, weight
        )

        def grad(loss: torch.Tensor, x: torch.Tensor) -> list[float]:
            if not loss.requires_grad:
                return [0.0] * x.numel()
            g = torch.autograd.grad(loss, x, retain_graph=True, allow_unused=True)[0]
            return [0.0] * x.numel() if g is None else g.reshape(-1).tolist()

        at_target = fn(
            log_probs,
            old,
            adv,
            entropy,
            returns.detach().reshape(-1, 1).clone().requires_grad_(),
            returns.detach().reshape(-1, 1).clone(),
            returns,
            eps,
            weight,
        )[1]
        out.append(
            {
                "actor_loss": float(actor_loss.detach()),
                "actor_grad_log_probs": grad(actor_loss, log_probs),
                "actor_grad_old_log_probs": grad(actor_loss, old),
                "critic_loss": float(critic_loss.detach()),
                "critic_grad_values": grad(critic_loss, values),
                "critic_grad_returns": grad(critic_loss, returns),
                "critic_grad_log_probs": grad(critic_loss, log_probs),
                "critic_at_target": float(at_target.detach()),
                "residuals": (values.detach().reshape(-1) - returns.detach()).tolist(),
            }
        )
    return out


class _StepCritic(torch.nn.Module):
    def __init__(self, offset: float) -> None:
        super().__init__()
        self.offset = torch.nn.Parameter(torch.tensor(offset))

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return state[:, :1] * 2.0 + self.offset


def probe_agent_step(PPOAgent: Callable[..., Any], seed: int) -> dict[str, Any]:
    """What the agent stores beyond the (scaled) env reward, and the masks, on toy envs.

    Three envs: truncated after 2 and 4 steps, terminated after 3; grader-chosen gamma and
    critic offset; five steps. The agent is built with the course's actor
    (:data:`~course_lib.exercises.ppo.agent_step.AGENT_PARTS`), not the student's.
    """
    rng, _ = rng_and_torch(seed)
    gamma, offset = float(rng.uniform(0.8, 0.99)), float(rng.uniform(-5.0, 5.0))
    env = gym.vector.SyncVectorEnv(
        [
            lambda: BoxToyEnv(horizon=2),
            lambda: BoxToyEnv(horizon=6, terminate_after=3),
            lambda: BoxToyEnv(horizon=4),
        ],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    with course_parts(PPOAgent, AGENT_PARTS):
        agent = PPOAgent(
            env,
            batch_size=2,
            gamma=gamma,
            tau=0.9,
            epsilon=0.2,
            epoch=1,
            rollout_len=5,
            entropy_weight=0.0,
        )
        agent.critic = _StepCritic(offset)
        state, _ = agent.env.reset(seed=seed)
        for _ in range(5):
            with torch.no_grad():
                action = agent.select_action(state)
            state, _, _ = agent.step(np.asarray(action))
    rewards = [np.asarray(r, dtype=float).reshape(-1) for r in agent.rewards]
    scale = float(rewards[0][0]) if rewards else 0.0  # every env reward is 1
    return {
        "scale_positive": scale > 0,
        "bootstrap": [(r - scale).round(5).tolist() for r in rewards],
        "masks": [np.asarray(m, dtype=float).reshape(-1).tolist() for m in agent.masks],
    }
