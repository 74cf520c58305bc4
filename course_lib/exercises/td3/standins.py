"""Stand-in networks with known outputs and a fixed replay buffer, for running TD3.train

Part of :mod:`course_lib.exercises.td3`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def _f32(x: Any) -> Any:
    """Round to float32 (what the student's code sees) as plain data, in few digits.

    Each number is the shortest decimal that reads back as the same float32, which keeps
    the observations small.
    """
    return np.asarray(x, dtype=np.float32).astype(str).astype(np.float64).tolist()


class _Call:
    """One call of a stand-in critic, and the gradients that later reached its outputs."""

    def __init__(self, role: str, kind: str, state: torch.Tensor, action: torch.Tensor) -> None:
        rows = state.detach().reshape(-1, state.shape[-1])
        self.role, self.kind = role, kind
        self.ids = [int(i) for i in rows[:, 0].round().long().tolist()]
        taken = action.detach()
        rows_of_actions = len(self.ids) if taken.numel() % max(len(self.ids), 1) == 0 else 1
        self.actions = _f32(taken.reshape(rows_of_actions, -1))
        self.grads: list[np.ndarray | None] = [None, None]

    def watch(self, j: int, q: torch.Tensor) -> None:
        if q.requires_grad:

            def keep(g: torch.Tensor) -> None:
                g = g.detach().double().reshape(-1).numpy().copy()
                self.grads[j] = g if self.grads[j] is None else self.grads[j] + g

            q.register_hook(keep)

    def as_data(self, grads: bool = True) -> dict[str, Any]:
        return {
            "role": self.role,
            "kind": self.kind,
            "ids": self.ids,
            "actions": self.actions,
            "grads": [None if g is None or not grads else _f32(g) for g in self.grads],
        }


class _StandInCritic(torch.nn.Module):
    """``Q_j(s, a) = v_j[id(s)] + k_j * sum(a)``; ``id(s)`` is the state's first coordinate."""

    def __init__(
        self,
        role: str,
        v1: Sequence[float],
        v2: Sequence[float],
        k1: float,
        k2: float,
        log: list[_Call],
    ) -> None:
        super().__init__()
        self.v1 = torch.nn.Parameter(torch.tensor(v1, dtype=torch.float32))
        self.v2 = torch.nn.Parameter(torch.tensor(v2, dtype=torch.float32))
        self.k1 = torch.nn.Parameter(torch.tensor(float(k1)))
        self.k2 = torch.nn.Parameter(torch.tensor(float(k2)))
        self.role = role
        self.log = log

    def _q(self, j: int, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        v, k = (self.v1, self.k1) if j == 0 else (self.v2, self.k2)
        ids = state[..., 0].round().long().clamp(0, v.numel() - 1)
        return (v[ids] + k * action.sum(-1)).unsqueeze(-1)

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, ...]:
        call = _Call(self.role, "forward", state, action)
        q1, q2 = self._q(0, state, action), self._q(1, state, action)
        call.watch(0, q1)
        call.watch(1, q2)
        self.log.append(call)
        return q1, q2

    def Q1(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        call = _Call(self.role, "Q1", state, action)
        q1 = self._q(0, state, action)
        call.watch(0, q1)
        self.log.append(call)
        return q1


class _StandInActor(torch.nn.Module):
    """``max_action * tanh(W x + b)``, where x is the state without its first coordinate."""

    def __init__(
        self, weight: Sequence[Sequence[float]], bias: Sequence[float], max_action: float
    ) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(weight, dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.tensor(bias, dtype=torch.float32))
        self.max_action = float(max_action)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.max_action * torch.tanh(state[..., 1:] @ self.weight.T + self.bias)


class FixedBuffer:
    """A replay buffer whose ``sample_batch`` always returns the same batch (copies)."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.batch = {
            key: np.asarray(case[key], dtype=np.float32)
            for key in ("obs", "acts", "rews", "next_obs", "done")
        }
        self.requested: list[Any] = []

    def sample_batch(self, batch_size: int | None = None) -> dict[str, np.ndarray]:
        self.requested.append(batch_size)
        return {key: value.copy() for key, value in self.batch.items()}

    def __len__(self) -> int:
        return len(self.batch["rews"])
