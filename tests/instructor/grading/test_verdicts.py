"""The default judge: same structure as the reference, numbers within tolerance."""

from __future__ import annotations

import math

import pytest

from course_lib.instructor.grading.verdicts import Verdict, close


def test_a_match_within_tolerance_passes():
    reference = {"returns": [1.0, 2.0, 3.0], "n": 3, "name": "ok", "flag": True}
    student = {"returns": [1.0, 2.0 + 1e-7, 3.0], "n": 3, "name": "ok", "flag": True, "extra": 1}
    verdict = close(student, reference)
    assert verdict == Verdict(1.0, "matches the reference") and verdict.passed


@pytest.mark.parametrize(
    ("student", "where"),
    [
        ({"returns": [1.0, 2.1, 3.0], "n": 3}, "['returns'][1]: expected 2, got 2.1"),
        ({"returns": [1.0, 2.0], "n": 3}, "['returns']: expected 3 items, got 2"),
        ({"n": 3}, "['returns']: missing"),
        ({"returns": "1, 2, 3", "n": 3}, "['returns']: expected a list, got str"),
        ({"returns": [1.0, 2.0, 3.0], "n": True}, "['n']: expected a number, got True"),
        ({"returns": [1.0, 2.0, math.nan], "n": 3}, "['returns'][2]: expected 3, got nan"),
        ([1.0], "value: expected a mapping, got list"),
    ],
)
def test_the_first_difference_is_named(student, where):
    verdict = close(student, {"returns": [1.0, 2.0, 3.0], "n": 3})
    assert verdict.fraction == 0.0 and not verdict.passed
    assert verdict.message == where


def test_strings_bools_and_none_must_be_equal_and_of_the_same_type():
    assert close("a", "a").passed and not close("b", "a").passed
    assert not close(1, True).passed and not close(0, None).passed
    assert close(None, None).passed
