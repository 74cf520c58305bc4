"""Stand-ins for the agent's parts, whose behaviour is known exactly

Part of :mod:`course_lib.probes.ddpg`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from course_lib.probes.ddpg.base import (
    MAX_CALLS_LOGGED,
    Record,
    _flag,
    _flat,
    _nested,
)
from course_lib.toy_envs import BoxToyEnv


def _log_call(
    log: list[Record] | None, net: str, state: Any, action: Any, out: torch.Tensor
) -> None:
    """Log a stand-in's call; the gradient reaching its output is filled in by backward."""
    if log is None or len(log) >= MAX_CALLS_LOGGED:
        return
    entry: Record = {"net": net, "state": _nested(state), "action": None, "grad": None}
    if action is not None:
        entry["action"] = _nested(action)
    log.append(entry)
    if out.requires_grad:

        def keep(grad: torch.Tensor) -> None:
            g = grad.detach().double().numpy()
            entry["grad"] = (g if entry["grad"] is None else g + np.asarray(entry["grad"])).tolist()

        out.register_hook(keep)


class KnownActor(torch.nn.Module):
    """``action = state @ weight.T + bias``: a linear actor whose outputs are known."""

    def __init__(
        self, weight: Any, bias: Any, log: list[Record] | None = None, name: str = "actor"
    ) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(weight, dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.tensor(bias, dtype=torch.float32))
        self.log, self.net_name = log, name

    def forward(self, state: Any) -> torch.Tensor:
        x = torch.as_tensor(state, dtype=torch.float32)
        out = x @ self.weight.T + self.bias
        _log_call(self.log, self.net_name, x, None, out)
        return out


class KnownCritic(torch.nn.Module):
    """``Q(state, action) = [state, action] @ weight + bias``, shape (B, 1)."""

    def __init__(
        self, weight: Any, bias: float, log: list[Record] | None = None, name: str = "critic"
    ) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(weight, dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.tensor([bias], dtype=torch.float32))
        self.log, self.net_name = log, name

    def forward(self, state: Any, action: Any) -> torch.Tensor:
        s = torch.as_tensor(state, dtype=torch.float32)
        a = torch.as_tensor(action, dtype=torch.float32)
        out = torch.cat([s, a], dim=-1) @ self.weight[:, None] + self.bias
        _log_call(self.log, self.net_name, s, a, out)
        return out


class ScriptedNoise:
    """Replays a fixed list of noise vectors, counting the calls."""

    def __init__(self, values: list[list[float]]) -> None:
        self.values = [np.asarray(v, dtype=np.float64) for v in values]
        self.calls = 0
        self.resets = 0

    def sample(self) -> np.ndarray:
        value = self.values[self.calls % len(self.values)]
        self.calls += 1
        return value.copy()

    def reset(self) -> None:
        self.resets += 1


class RecordingMemory:
    """A replay buffer stand-in: records each ``store`` and serves one fixed batch."""

    def __init__(self, batch: dict[str, np.ndarray] | None = None) -> None:
        self.stored: list[list[Any]] = []
        self.batch = batch or {}
        self.sampled = 0

    def store(self, obs: Any, act: Any, rew: Any, next_obs: Any, done: Any) -> None:
        self.stored.append([_flat(obs), _flat(act), _flag(rew), _flat(next_obs), _flag(done)])

    def sample_batch(self, batch_size: int | None = None) -> dict[str, np.ndarray]:
        self.sampled += 1
        return {k: v.copy() for k, v in self.batch.items()}

    def __len__(self) -> int:
        return 1_000_000  # "full enough": update_model may check it before sampling


def _agent_kwargs(case: Record) -> dict[str, Any]:
    return {
        "memory_size": 64,
        "batch_size": int(case.get("batch_size", 4)),
        "ou_noise_theta": 0.15,
        "ou_noise_sigma": 0.2,
        "gamma": float(case.get("gamma", 0.9)),
        "tau": float(case.get("tau", 0.1)),
        "initial_random_steps": int(case.get("initial_random_steps", 10)),
    }


def _box_env(act_dim: int, **kwargs: Any) -> BoxToyEnv:
    return BoxToyEnv(low=[-1.0] * act_dim, high=[1.0] * act_dim, **kwargs)
