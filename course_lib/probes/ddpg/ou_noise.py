"""Probing OUNoise: long noise paths and resets

Part of :mod:`course_lib.probes.ddpg`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.envs import random_state
from course_lib.probes.ddpg.base import (
    Record,
    Run,
    _array,
    _error,
    _flat,
    _shape,
)


def ou_noise_case(seed: int, **overrides: float) -> Record:
    """Parameters of a long noise path, and of a slow process to test ``reset``.

    theta and sigma are far apart (theta <= 0.2 < 0.35 <= sigma) so that swapping them
    shows and a correct process never looks swapped. The reset process has theta 0.01:
    without a reset, its state after 30 steps has spread about sqrt(26) sigma from mu,
    against sigma just after a reset.
    """
    rng = np.random.default_rng(seed)
    size = int(overrides.get("size", rng.integers(2, 4)))
    case: Record = {
        "seed": int(seed),
        "size": size,
        "mu": float(np.round(rng.uniform(-0.5, 0.5), 3)),
        "theta": float(np.round(rng.uniform(0.1, 0.2), 3)),
        "sigma": float(np.round(rng.uniform(0.35, 0.6), 3)),
        "reset_mu": float(np.round(rng.uniform(1.0, 2.0), 3)),
        "reset_theta": 0.01,
        "reset_sigma": 0.2,
        "burn": 30,
        "n_resets": 60,
    }
    case.update(overrides)
    # >= 5,000 increments in all: enough for the estimates' margins (exercises.ddpg)
    case["n_steps"] = int(overrides.get("n_steps", -(-5000 // int(case["size"]))))
    return case


def run_ou_noise(OUNoise: Callable[..., Any], case: Record) -> Run:
    """A long path of ``sample()`` after construction, then first samples after ``reset()``."""
    size = int(case["size"])
    rec: Record = {"case": case, "error": None, "shape": None, "shape_1": None}
    rec.update({"path": [], "after_reset": []})
    stage = "construct"
    try:
        with random_state(case["seed"]):
            noise = OUNoise(size, mu=case["mu"], theta=case["theta"], sigma=case["sigma"])
            stage = "sample"
            for t in range(case["n_steps"]):
                x = noise.sample()
                if t == 0:
                    rec["shape"] = _shape(x)
                    if rec["shape"] != [size]:
                        return rec, None
                rec["path"].append([round(v, 6) for v in _array(x).reshape(-1).tolist()])
            stage = "reset"
            slow = OUNoise(
                size, mu=case["reset_mu"], theta=case["reset_theta"], sigma=case["reset_sigma"]
            )
            for _ in range(case["n_resets"]):
                for _ in range(case["burn"]):
                    slow.sample()
                slow.reset()
                rec["after_reset"].append(_flat(slow.sample()))
            stage = "size 1"
            rec["shape_1"] = _shape(OUNoise(1).sample())
    except Exception as exc:  # the student's error is data for the judge
        rec["error"] = {"stage": stage, "message": _error(exc)}
        return rec, exc
    return rec, None


def probe_ou_noise(OUNoise: Callable[..., Any], seed: int) -> Record:
    """A noise path with grader-chosen mu, theta, sigma, and samples right after resets."""
    return run_ou_noise(OUNoise, ou_noise_case(seed))[0]
