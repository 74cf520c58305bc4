"""Probing the actor and critic: exported programs

Part of :mod:`course_lib.probes.ddpg`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from course_lib.envs import random_state
from course_lib.observations import module_to_data
from course_lib.probes.ddpg.base import (
    Record,
    _error,
)


def probe_ddpg_actor(DDPGActor: Callable[..., torch.nn.Module], seed: int) -> Record:
    """The actor as an exported program, built with grader-chosen sizes and init_w."""
    rng = np.random.default_rng(seed)
    in_dim, out_dim = int(rng.integers(2, 6)), int(rng.integers(1, 3))
    init_w = float(rng.choice([1e-3, 3e-3, 1e-2]))
    rec: Record = {"num_inputs": in_dim, "num_actions": out_dim, "init_w": init_w}
    rec.update({"program": None, "error": None})
    try:
        with random_state(seed):
            actor = DDPGActor(in_dim, out_dim, init_w=init_w).eval()
            rec["program"] = module_to_data(actor, (torch.zeros(4, in_dim),))
    except Exception as exc:  # reported by the grader
        rec["error"] = _error(exc)
    return rec


def probe_ddpg_critic(DDPGCritic: Callable[..., torch.nn.Module], seed: int) -> Record:
    """The critic ``(state, action) -> Q`` as an exported program with two inputs."""
    rng = np.random.default_rng(seed)
    obs_dim, act_dim = int(rng.integers(2, 5)), int(rng.integers(1, 3))
    init_w = float(rng.choice([1e-3, 3e-3, 1e-2]))
    rec: Record = {"num_inputs": obs_dim, "num_actions": act_dim, "init_w": init_w}
    rec.update({"program": None, "error": None})
    try:
        with random_state(seed):
            critic = DDPGCritic(obs_dim + act_dim, init_w=init_w).eval()
            rec["program"] = module_to_data(
                critic, (torch.zeros(4, obs_dim), torch.zeros(4, act_dim))
            )
    except Exception as exc:  # reported by the grader
        rec["error"] = _error(exc)
    return rec
