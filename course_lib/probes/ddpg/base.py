"""Shared by notebook 04's probes: the records and small helpers

Part of :mod:`course_lib.probes.ddpg`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from course_lib.probes._common import Record as Record
from course_lib.probes._common import Run as Run
from course_lib.probes._common import error_text, number

_error, _number = error_text, number  # the names notebook 04's probes know them by

OBS_DIM = 2  # BoxToyEnv's observation: [steps since reset, seed tag]
MAX_CALLS_LOGGED = 32


def _array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _nested(value: Any) -> Any:
    """A value as nested lists of floats (None if it is not numeric)."""
    try:
        return _array(value).tolist()
    except (TypeError, ValueError, RuntimeError):
        return None


def _flat(value: Any) -> list[float] | None:
    try:
        return _array(value).reshape(-1).tolist()
    except (TypeError, ValueError, RuntimeError):
        return None


def _shape(value: Any) -> list[int] | None:
    try:
        return [int(n) for n in np.shape(value)]
    except (TypeError, ValueError, RuntimeError):
        return None


def _flag(value: Any) -> float | None:
    try:
        return float(_array(value).reshape(-1)[0])
    except (TypeError, ValueError, RuntimeError, IndexError):
        return None


def _grid(rng: np.random.Generator, shape: Any, scale: float = 1.0) -> np.ndarray:
    """Normal draws rounded to multiples of 1/32: exact in float32, so comparisons are exact."""
    return np.round(rng.normal(size=shape) * scale * 32) / 32


def _params(net: torch.nn.Module) -> list[float]:
    return [float(v) for p in net.parameters() for v in p.detach().reshape(-1).tolist()]
