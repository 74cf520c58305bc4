"""Shared by notebook 04's exercises: the finding, the records, small helpers

Part of :mod:`course_lib.exercises.ddpg`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Record = dict[str, Any]

BUFFER_KEYS = ("obs", "next_obs", "acts", "rews", "done")
TARGET_HYPOTHESES = (
    "target",
    "online",
    "no_mask",
    "done_as_mask",
    "online_no_mask",
    "target_critic_online_actor",
    "online_critic_target_actor",
    "no_gamma",
    "no_bootstrap",
)


def _arr(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _close(got: Any, expected: Any, atol: float = 1e-5, rtol: float = 1e-5) -> bool:
    a, b = _arr(got), _arr(expected)
    if a is None or b is None or a.size != b.size:
        return False
    return bool(np.allclose(a.reshape(-1), b.reshape(-1), atol=atol, rtol=rtol))


def _error(rec: Record) -> tuple[str, str]:
    error = rec.get("error") or {}
    return str(error.get("stage", "")), str(error.get("message", ""))


def _short(values: Any) -> Any:
    a = _arr(values)
    return values if a is None else np.round(a, 5).tolist()
