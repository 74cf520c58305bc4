"""Data observations are judged as their manifest entry says."""

from __future__ import annotations

import pytest

from course_lib.exercises.finding import Finding
from course_lib.exercises.manifest import Close, Diagnosed, NetworkProbe, PolicyCriterion
from course_lib.instructor.grading import judges
from course_lib.instructor.grading.judges import judge_data, judge_observation
from course_lib.instructor.grading.verdicts import Verdict


def test_close_uses_the_entrys_tolerance():
    assert judge_data(Close(), [1.0], [1.001]) == Verdict(0.0, "[0]: expected 1.001, got 1")
    assert judge_data(Close(rtol=1e-2), [1.0], [1.001]).passed


def test_a_diagnosis_passes_with_the_entrys_message_and_fails_with_the_finding():
    def judge(student, reference):
        if student == reference:
            return None
        return Finding("the sign is flipped", hint="negate the loss", where="case 2")

    entry = Diagnosed(judge, "every property holds")
    assert judge_data(entry, 1, 1) == Verdict(1.0, "every property holds")
    assert judge_data(entry, -1, 1) == Verdict(
        0.0, "the sign is flipped (where: case 2) Likely fix: negate the loss"
    )


@pytest.mark.parametrize("entry", [NetworkProbe("critic"), PolicyCriterion()])
def test_programs_are_not_judged_as_data(entry):
    with pytest.raises(TypeError, match="judged as programs"):
        judge_data(entry, {}, {})


def test_an_observation_without_an_entry_is_judged_close():
    assert judge_observation("not_in_any_manifest", [1, 2], [1, 2]).passed
    assert not judge_observation("not_in_any_manifest", [1, 3], [1, 2], manifest={}).passed


def test_a_name_judged_two_ways_by_two_notebooks_is_refused(monkeypatch):
    def fake(assignment, metadata=None):
        return {"x": Close() if assignment == "00_gymnasium_tour" else Close(rtol=0.5)}

    monkeypatch.setattr(judges, "load_manifest", fake)
    judges._course_entries.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="'x' is judged two ways"):
            judges._course_entries()
    finally:
        judges._course_entries.cache_clear()
