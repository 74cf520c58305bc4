"""Shared helpers for checks on networks and losses (not a public API); the helpers live in
:mod:`course_lib.exercises.networks`, where the diagnoses use them too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.checks.core import fail_on
from course_lib.exercises import networks
from course_lib.exercises.networks import grads, n_params, seeded_obs, shares_parameters

__all__ = ["build", "grads", "n_params", "seeded_obs", "shares_parameters"]


def build(check: str, cls: Callable[..., Any], *args: Any, **kwargs: Any) -> torch.nn.Module:
    """Instantiate a student's network class, turning a crash into ``check``'s failure."""
    net, found = networks.build(cls, *args, **kwargs)
    fail_on(check, found)
    assert net is not None
    return net
