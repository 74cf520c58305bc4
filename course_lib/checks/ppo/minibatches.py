"""The check of ppo_iter: every sample once per epoch, aligned, shuffled

Part of :mod:`course_lib.checks.ppo`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from course_lib.checks.core import fail_on, passed
from course_lib.exercises.ppo.minibatches import (
    diagnose_ppo_iter,
)


def check_ppo_iter(ppo_iter: Callable[..., Iterable[Any]]) -> None:
    """Check ``ppo_iter``: each epoch yields every sample exactly once, aligned, shuffled."""
    name = "check_ppo_iter"
    fail_on(name, diagnose_ppo_iter(ppo_iter))
    passed(name, "every sample exactly once per epoch, shuffled, arrays aligned")
