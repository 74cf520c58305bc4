"""Comparing a student's record with the reference's: the first place they differ.

The grader's default judge (an observation close to the reference's) and the exercises'
own judges (the inputs of a record are the grader's) both use :func:`first_difference`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from course_lib.exercises.finding import Finding

__all__ = [
    "close_finding",
    "each_record",
    "first_difference",
    "shape_finding",
    "to_numpy",
    "values_finding",
]


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


def to_numpy(value: Any) -> np.ndarray:
    """Turn a tensor, array, list or number into a float64 numpy array.

    Examples:
        >>> import torch
        >>> to_numpy(torch.tensor([1.0, 2.0]))
        array([1., 2.])
    """
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def close_finding(
    what: str,
    got: Any,
    expected: Any,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    hint: str | None = None,
    case: str | None = None,
) -> Finding | None:
    """What is wrong when ``got`` does not match ``expected`` elementwise within tolerance:
    the shape, the first NaN or inf, or the first wrong index and the largest error.

    Examples:
        >>> close_finding("G", [1.0, 2.0, 3.5], [1.0, 2.0, 3.0]).problem
        'G: wrong value at index 2 (largest error 0.5).'
        >>> close_finding("G", [1.0], [1.0]) is None
        True
    """
    got_arr = to_numpy(got)
    exp_arr = to_numpy(expected)
    if got_arr.shape != exp_arr.shape:
        return Finding(
            f"{what}: wrong shape.",
            expected=exp_arr.shape,
            got=got_arr.shape,
            where=case,
            hint=hint,
        )
    if not np.all(np.isfinite(got_arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(got_arr))[0])
        return Finding(f"{what}: NaN or inf (first at index {_idx(bad)}).", where=case, hint=hint)
    close = np.isclose(got_arr, exp_arr, atol=atol, rtol=rtol)
    if not np.all(close):
        first = tuple(int(i) for i in np.argwhere(~close)[0])
        err = float(np.max(np.abs(got_arr - exp_arr)))
        return Finding(
            f"{what}: wrong value at index {_idx(first)} (largest error {err:.4g}).",
            expected=exp_arr,
            got=got_arr,
            where=case,
            hint=hint,
        )
    return None


def shape_finding(
    what: str, value: Any, shape: Sequence[int], *, hint: str | None = None
) -> Finding | None:
    """What is wrong when ``value`` (tensor or array) does not have exactly ``shape``."""
    got = tuple(getattr(value, "shape", np.shape(value)))
    if got != tuple(shape):
        return Finding(f"{what}: wrong shape.", expected=tuple(shape), got=got, hint=hint)
    return None


def values_finding(
    what: str,
    got: Any,
    expected: Any,
    *,
    mistakes: Sequence[tuple[Any, str]] = (),
    hint: str | None = None,
    case: str | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-5,
) -> Finding | None:
    """Like :func:`close_finding`, but a wrong answer equal to a known mistake names it.

    Args:
        mistakes: pairs ``(wrong_values, hint)``: what a typical bug produces on this case,
            and the fix. The first one that matches ``got`` becomes the hint.
    """
    got_arr = to_numpy(got)
    for wrong, why in mistakes:
        wrong_arr = to_numpy(wrong)
        if wrong_arr.shape == got_arr.shape and np.allclose(
            got_arr, wrong_arr, atol=atol, rtol=rtol
        ):
            if not np.allclose(wrong_arr, to_numpy(expected), atol=atol, rtol=rtol):
                hint = why
                break
    return close_finding(what, got_arr, expected, atol=atol, rtol=rtol, hint=hint, case=case)


def _idx(index: tuple[int, ...]) -> str:
    return str(index[0]) if len(index) == 1 else str(index)
