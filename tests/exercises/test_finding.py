"""One Finding type for every exercise: its fields and the grader's two wordings."""

from __future__ import annotations

import dataclasses

import pytest

from course_lib.exercises import ddpg, td3
from course_lib.exercises.finding import Finding


def test_both_notebooks_use_the_one_type():
    assert ddpg.Finding is Finding and td3.Finding is Finding


def test_message_names_the_problem_the_place_and_the_fix():
    found = Finding("the noise is uniform.", hint="draw np.random.randn", where="step 3")
    assert (
        found.message() == "the noise is uniform. (where: step 3) Likely fix: draw np.random.randn"
    )
    assert found.message_where_first() == "step 3: the noise is uniform. draw np.random.randn"
    bare = Finding("wrong.")
    assert bare.message() == "wrong." and bare.message_where_first() == "wrong."


def test_a_finding_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Finding("x").problem = "y"  # type: ignore[misc]
