"""Comparing a student's record with the reference's: the first place they differ.

The grader's default judge (an observation close to the reference's) and the exercises'
own judges (the inputs of a record are the grader's) both use :func:`first_difference`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from course_lib.exercises.finding import Finding

__all__ = ["each_record", "first_difference"]


def first_difference(
    expected: Any, got: Any, path: str = "", rtol: float = 1e-4, atol: float = 1e-5
) -> str | None:
    """Where ``got`` first differs from ``expected`` (None if it does not).

    Same structure (mappings may carry extra keys), strings, booleans and None equal and of
    the same type, numbers equal within ``rtol``/``atol``.

    Examples:
        >>> first_difference({"x": [1.0, 2.0]}, {"x": [1.0, 2.1]})
        "['x'][1]: expected 2, got 2.1"
        >>> first_difference([1, 2], [1, 2]) is None
        True
    """
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{path or 'value'}: expected a mapping, got {type(got).__name__}"
        for key in expected:
            if key not in got:
                return f"{path}[{key!r}]: missing"
            found = first_difference(expected[key], got[key], f"{path}[{key!r}]", rtol, atol)
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(got, list):
            return f"{path or 'value'}: expected a list, got {type(got).__name__}"
        if len(got) != len(expected):
            return f"{path or 'value'}: expected {len(expected)} items, got {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            found = first_difference(e, g, f"{path}[{i}]", rtol, atol)
            if found:
                return found
        return None
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return (
            None
            if got == expected and type(got) is type(expected)
            else (f"{path or 'value'}: expected {expected!r}, got {got!r}")
        )
    if isinstance(expected, int | float):
        if isinstance(got, bool) or not isinstance(got, int | float):
            return f"{path or 'value'}: expected a number, got {got!r}"
        if not math.isclose(float(got), float(expected), rel_tol=rtol, abs_tol=atol):
            return f"{path or 'value'}: expected {expected:.6g}, got {got:.6g}"
        return None
    return f"{path or 'value'}: cannot compare {type(expected).__name__}"


def each_record(
    student: Any,
    reference: list[Any],
    judge: Callable[[Any, Any, str], Finding | None],
    unit: str = "case",
) -> Finding | None:
    """``judge(got, ref, where)`` on each record of the student's list with the reference's
    record at the same place (``where`` is e.g. ``"case 2"``); the first finding, or one
    about the list itself when it does not have one record per reference record."""
    if not isinstance(student, list) or len(student) != len(reference):
        return Finding(f"the observation does not have one record per {unit}")
    for k, (got, ref) in enumerate(zip(student, reference, strict=True)):
        found = judge(got, ref, f"{unit} {k}")
        if found is not None:
            return found
    return None
