"""Observations: what a graded test cell hands to the grader.

A graded (hidden) test cell never decides whether the student passed. It runs
the student's code on inputs chosen by the grader and emits what came out as
plain data. The grader, outside the student's kernel, compares that data with
the reference solution's observations on the same inputs. Forging an
observation therefore takes the right answer, which is what is being tested.

An observation travels as a ``display_data`` output with its own MIME type, so
it survives any kernel and reaches the grader through the kernel protocol.

Examples:
    >>> to_data({"x": np.float32(0.5), "ok": np.bool_(True), "v": np.arange(3)})
    {'x': 0.5, 'ok': True, 'v': [0, 1, 2]}
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "GRADER_SEED_ENV_VAR",
    "MIME_TYPE",
    "grader_seed",
    "module_to_data",
    "observe",
    "to_data",
]

MIME_TYPE = "application/vnd.course-lib.observation+json"
GRADER_SEED_ENV_VAR = "COURSE_LIB_GRADER_SEED"
_DEFAULT_SEED = 2024

JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]


def grader_seed() -> int:
    """The seed of the grader's test inputs.

    The grader sets ``COURSE_LIB_GRADER_SEED`` for each run; outside grading a
    fixed default is used, so a notebook runs the same way every time.
    """
    raw = os.environ.get(GRADER_SEED_ENV_VAR)
    if raw is None:
        return _DEFAULT_SEED
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"{GRADER_SEED_ENV_VAR}={raw!r} is not an integer; unset it or set a whole number."
        ) from None


def to_data(value: Any) -> JSONValue:
    """Convert tensors, arrays and numpy scalars into JSON-ready Python data.

    Non-finite floats become the strings ``"nan"``, ``"inf"`` and ``"-inf"`` so
    that they compare exactly and survive strict JSON.
    """
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return [to_data(v) for v in value.tolist()] if value.ndim else to_data(value.item())
    if isinstance(value, np.generic):
        return to_data(value.item())
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Mapping):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_data(v) for v in value]
    raise TypeError(
        f"cannot record an observation of type {type(value).__name__}; "
        "observe numbers, booleans, strings, arrays, tensors, or lists/dicts of them."
    )


def observe(name: str, value: Any) -> None:
    """Emit one named observation for the grader (and a short line for people).

    Args:
        name: the observation's key; unique within the notebook.
        value: numbers, booleans, strings, arrays, tensors, or lists/dicts of them.
    """
    from IPython.display import display

    payload = {"name": name, "data": to_data(value)}
    display({MIME_TYPE: payload, "text/plain": f"observation recorded: {name}"}, raw=True)


def module_to_data(module: Any, example_inputs: tuple[Any, ...]) -> str:
    """Serialize a network as data: a ``torch.export`` program, base64-encoded.

    The grader rebuilds nothing from the student's Python: it loads the graph of
    tensor operations and its weights, and probes it on inputs of its own. The
    first dimension of every input is exported as a dynamic batch size (>= 2).
    """
    import base64
    import io

    import torch

    validate = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(False)
    try:
        batch = torch.export.Dim("batch", min=2, max=65_536)
        shapes = tuple({0: batch} for _ in example_inputs)
        program = torch.export.export(module, example_inputs, dynamic_shapes=shapes)
    finally:
        torch.distributions.Distribution.set_default_validate_args(validate)
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
