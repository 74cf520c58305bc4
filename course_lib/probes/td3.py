"""Probes for notebook 05: TD3 on MountainCarContinuous-v0 and Pendulum-v1.

Each probe runs the student's code on inputs drawn from the grader's seed and returns
what came out: exported networks for the grader to probe, and for ``TD3.train`` the
raw record of runs on stand-in networks (the actions the target critic received, the
critic loss's gradient on every Q value, the returned losses, every parameter after
every call). The grader reads them outside the kernel, as the exercise's manifest says
(:mod:`course_lib.exercises.td3.manifest`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course_lib.envs import random_state
from course_lib.exercises.td3 import (
    build_agent,
    cases_digest,
    run_train_case,
    train_cases,
)
from course_lib.observations import module_to_data

__all__ = ["probe_td3_actor", "probe_td3_critic", "probe_td3_train"]


def _export(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> dict[str, Any]:
    """The module as a program, or why it could not be exported."""
    try:
        return {"program": module_to_data(module, inputs), "error": None}
    except Exception as err:  # the student's network is at fault; say how
        return {"program": None, "error": f"{type(err).__name__}: {err}"[:400]}


def probe_td3_actor(TD3Actor: Callable[..., torch.nn.Module], seed: int) -> dict[str, Any]:
    """The actor as a program, with grader-chosen sizes and a max_action above 1."""
    rng = np.random.default_rng(seed)
    state_dim, action_dim = int(rng.integers(2, 7)), int(rng.integers(1, 4))
    max_action = float(np.float32(rng.uniform(1.5, 3.0)))
    with random_state(seed):
        actor = TD3Actor(state_dim, action_dim, max_action).eval()
        exported = _export(actor, (torch.zeros(4, state_dim),))
    return {
        "num_inputs": state_dim,
        "num_actions": action_dim,
        "max_action": max_action,
        **exported,
    }


class _TwinOutputs(torch.nn.Module):
    """A twin critic's ``(q1, q2)`` and its ``Q1``, side by side, for export."""

    def __init__(self, critic: torch.nn.Module) -> None:
        super().__init__()
        self.critic = critic

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, ...]:
        q1, q2 = self.critic(state, action)
        return q1, q2, self.critic.Q1(state, action)


def probe_td3_critic(TD3Critic: Callable[..., torch.nn.Module], seed: int) -> dict[str, Any]:
    """The twin critic as a program returning ``(q1, q2, Q1)``, with grader-chosen sizes."""
    rng = np.random.default_rng(seed)
    state_dim, action_dim = int(rng.integers(2, 7)), int(rng.integers(1, 4))
    with random_state(seed):
        critic = TD3Critic(state_dim, action_dim).eval()
        exported = _export(
            _TwinOutputs(critic), (torch.zeros(4, state_dim), torch.zeros(4, action_dim))
        )
    return {"num_inputs": state_dim, "num_actions": action_dim, **exported}


def _select_action(TD3: Callable[..., Any], rng: np.random.Generator) -> list[Any]:
    """select_action on grader states, with a stand-in actor (max_action 1.5, 2 actions)."""
    weight = rng.uniform(-1.0, 1.0, (2, 2)).astype(np.float32)
    bias = rng.uniform(-0.5, 0.5, 2).astype(np.float32)
    states = rng.normal(size=(3, 3)).astype(np.float32)
    out: list[Any] = []
    with random_state(int(rng.integers(2**31))):
        case = {
            "state_dim": 3,
            "action_dim": 2,
            "config": {
                "max_action": 1.5,
                "discount": 0.99,
                "tau": 0.005,
                "policy_noise": 0.2,
                "noise_clip": 0.5,
                "policy_freq": 2,
                "double_q": True,
            },
            "actor": {"weight": weight.tolist(), "bias": bias.tolist()},
            "actor_target": {"weight": weight.tolist(), "bias": bias.tolist()},
            "critic": {"v1": [0.0], "v2": [0.0], "k1": 0.0, "k2": 0.0},
            "critic_target": {"v1": [0.0], "v2": [0.0], "k1": 0.0, "k2": 0.0},
            "lr": {"actor": 0.0, "critic": 0.0},
        }
        try:
            agent = build_agent(TD3, case, [])
        except Exception as err:
            return [{"error": f"{type(err).__name__}: {err}"[:400]}]
        for state in states:
            try:
                action = agent.select_action(state.copy())
            except Exception as err:
                out.append({"error": f"{type(err).__name__}: {err}"[:400]})
                continue
            is_array = isinstance(action, np.ndarray)
            values = np.asarray(action, dtype=np.float64) if is_array else None
            out.append(
                {
                    "type": type(action).__name__,
                    "shape": list(values.shape) if values is not None else None,
                    "values": values.round(6).reshape(-1).tolist() if values is not None else None,
                }
            )
    return out


def probe_td3_train(TD3: Callable[..., Any], seed: int) -> dict[str, Any]:
    """``TD3.train`` on stand-in networks, and ``select_action``, on grader-drawn inputs.

    The runs are those of the visible check with grader-drawn batches, tables, discounts,
    noise scales, clips, max_action, tau and policy_freq (see
    :func:`course_lib.exercises.td3.train_cases`). The inputs travel as the seed and a
    fingerprint: the grader draws them again from the seed.
    """
    rng = np.random.default_rng(seed)
    cases = train_cases(rng, vary=True)
    runs = {
        key: [run_train_case(TD3, case, catch=True) for case in group]
        for key, group in cases.items()
    }
    return {
        "seed": seed,
        "cases": cases_digest(cases),
        "runs": runs,
        "select_action": _select_action(TD3, rng),
    }
