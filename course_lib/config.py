"""Course-wide switches read from the environment.

``COURSE_LIB_FAST=1`` shrinks every training budget so that the whole course
executes in a few minutes (smoke tests, CI). In that mode reward-threshold
checks report that they were skipped instead of failing, because a shrunken
budget is not expected to reach the threshold.
"""

from __future__ import annotations

import os
from typing import TypeVar

__all__ = ["FAST_ENV_VAR", "budget", "is_fast"]

FAST_ENV_VAR = "COURSE_LIB_FAST"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

T = TypeVar("T", int, float)


def is_fast() -> bool:
    """Whether fast (smoke-test) mode is on.

    Read at every call, so a notebook can flip it with ``os.environ`` before
    building its config.

    Raises:
        ValueError: if the variable holds something that is neither true nor false.

    Examples:
        >>> from unittest import mock
        >>> with mock.patch.dict("os.environ", {"COURSE_LIB_FAST": "1"}):
        ...     is_fast()
        True
        >>> with mock.patch.dict("os.environ", {"COURSE_LIB_FAST": "0"}):
        ...     is_fast()
        False
    """
    raw = os.environ.get(FAST_ENV_VAR, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(
        f"{FAST_ENV_VAR}={os.environ[FAST_ENV_VAR]!r} is not understood: "
        f"set it to 1 (fast smoke-test budgets) or 0 / unset (full budgets)."
    )


def budget(full: T, fast: T) -> T:
    """Pick a training budget: ``full`` normally, ``fast`` in fast mode.

    Args:
        full: the budget that reaches the notebook's reward criterion.
        fast: a small budget that only exercises the code path.

    Examples:
        >>> from unittest import mock
        >>> with mock.patch.dict("os.environ", {"COURSE_LIB_FAST": "1"}):
        ...     budget(50_000, 500)
        500
        >>> with mock.patch.dict("os.environ", {"COURSE_LIB_FAST": "0"}):
        ...     budget(50_000, 500)
        50000
    """
    if fast > full:
        raise ValueError(f"the fast budget ({fast}) must not exceed the full one ({full})")
    return fast if is_fast() else full
