from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib.observations import GRADER_SEED_ENV_VAR, MIME_TYPE, grader_seed, observe, to_data


def test_to_data_converts_tensors_arrays_and_scalars():
    data = to_data(
        {
            "t": torch.tensor([[1.5, 2.0]]),
            "a": np.array([1, 2], dtype=np.int64),
            "s": np.float32(0.25),
            "b": np.bool_(False),
            "nested": [(1, 2.0), {"k": None}],
        }
    )
    assert data == {
        "t": [[1.5, 2.0]],
        "a": [1, 2],
        "s": 0.25,
        "b": False,
        "nested": [[1, 2.0], {"k": None}],
    }
    assert isinstance(data["b"], bool)


def test_non_finite_values_become_strings():
    assert to_data([math.nan, math.inf, -math.inf, torch.tensor(float("nan"))]) == [
        "nan",
        "inf",
        "-inf",
        "nan",
    ]


def test_unknown_types_are_refused():
    with pytest.raises(TypeError, match=r"cannot record an observation of type object"):
        to_data(object())


def test_grader_seed(monkeypatch):
    monkeypatch.delenv(GRADER_SEED_ENV_VAR, raising=False)
    default = grader_seed()
    monkeypatch.setenv(GRADER_SEED_ENV_VAR, "17")
    assert grader_seed() == 17 != default
    monkeypatch.setenv(GRADER_SEED_ENV_VAR, "x")
    with pytest.raises(ValueError, match=r"is not an integer"):
        grader_seed()


def test_observe_emits_display_data(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw: shown.append((obj, raw)))
    observe("q1", np.array([1.0, 2.0]))
    ((obj, raw),) = shown
    assert raw is True
    assert obj[MIME_TYPE] == {"name": "q1", "data": [1.0, 2.0]}
    assert obj["text/plain"] == "observation recorded: q1"
