"""Probing soft_update: parameters before and after

Part of :mod:`course_lib.probes.ddpg`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course_lib.envs import random_state
from course_lib.probes.ddpg.base import (
    Record,
    Run,
    _error,
)


class _SoftNet(torch.nn.Module):
    """Two linear layers and a bare parameter: every kind of parameter must move."""

    def __init__(self, gen: torch.Generator) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # the layers' default init draws globally
            self.body = torch.nn.Sequential(
                torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
            )
        self.gain = torch.nn.Parameter(torch.ones(2))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) * self.gain


def soft_update_case(seed: int, **overrides: float) -> Record:
    """The interpolation weight tau (never 0.5, where its two sides coincide)."""
    rng = np.random.default_rng(seed)
    case: Record = {"seed": int(seed), "tau": float(np.round(rng.uniform(0.05, 0.4), 3))}
    case.update(overrides)
    gen = torch.Generator().manual_seed(int(seed))
    target, source = _SoftNet(gen), _SoftNet(gen)
    case["names"] = [name for name, _ in target.named_parameters()]
    case["target"] = [p.detach().reshape(-1).tolist() for p in target.parameters()]
    case["source"] = [p.detach().reshape(-1).tolist() for p in source.parameters()]
    return case


def run_soft_update(soft_update: Callable[..., Any], case: Record) -> Run:
    """Call ``soft_update(target, source, tau)`` once; record both networks afterwards."""
    rec: Record = {"case": case, "error": None, "target": None, "source": None}
    gen = torch.Generator().manual_seed(int(case["seed"]))
    target, source = _SoftNet(gen), _SoftNet(gen)
    try:
        with random_state(case["seed"]):
            soft_update(target, source, case["tau"])
    except Exception as exc:  # the student's error is data for the judge
        rec["error"] = {"stage": "call", "message": _error(exc)}
        return rec, exc
    finally:
        rec["target"] = [p.detach().reshape(-1).tolist() for p in target.parameters()]
        rec["source"] = [p.detach().reshape(-1).tolist() for p in source.parameters()]
    return rec, None


def probe_soft_update(soft_update: Callable[..., Any], seed: int) -> Record:
    """Both networks after one soft update with a grader-chosen tau."""
    return run_soft_update(soft_update, soft_update_case(seed))[0]
