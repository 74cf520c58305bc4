"""Why a question lost its points (course_lib.instructor.grading.causes): a wrong answer is
"failed", a crash "error"; an error is located by cell; a question after a cell that raised
names it; a reward below the criterion after a lost question points at that question."""

from __future__ import annotations

import pytest

from course_lib.instructor.grading.causes import question_status, reward_causes
from course_lib.instructor.grading.grade import grade_one
from course_lib.instructor.grading.gradebook import TestRecord as Row
from course_lib.instructor.grading.sample import fill
from tests.instructor.grading.tour_corpus import SOLUTIONS, TOUR
from tests.instructor.grading.tour_corpus import write as _write


@pytest.mark.notebook
@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ("return 0.0", "failed", "td_target: "),
        ("raise ValueError('no idea yet')", "error", "ValueError: no idea yet"),
        ("return (", "error", "earlier, the cell td_target raised SyntaxError"),
    ],
)
def test_a_wrong_answer_a_crash_and_a_syntax_error_are_told_apart(
    settings, tmp_path, body, status, says
):
    rec = grade_one(
        "s",
        TOUR,
        _write(tmp_path, fill(SOLUTIONS / f"{TOUR}.ipynb", {"td_target": body})),
        settings,
    )
    (td,) = [t for t in rec.tests if t.grade_id == "test_td_target"]
    assert td.status == status, (td.status, td.message, td.visible)
    assert says in td.message + td.visible, (td.message, td.visible)
    assert ".py, line" not in td.message + td.visible  # the kernel's file name never shows
    if body == "return (":
        assert "(cell td_target, line" in td.message


class _Cell:
    def __init__(self, status, ename=None):
        self.status, self.ename = status, ename


@pytest.mark.parametrize(
    ("fraction", "cell", "status"),
    [
        (1.0, _Cell("error", "CheckFailed"), "passed"),
        (0.5, _Cell("ok"), "partial"),
        (0.0, _Cell("ok"), "failed"),
        (0.0, _Cell("error", "CheckFailed"), "failed"),
        (0.0, _Cell("error", "RewardCriterionNotMet"), "failed"),
        (0.0, _Cell("error", "TypeError"), "error"),
        (0.0, _Cell("error", "NotImplementedError"), "error"),
        (0.0, _Cell("timeout"), "timeout"),
        (0.0, _Cell("dead"), "not run"),
        (0.0, None, "not run"),
    ],
)
def test_status_of_each_kind_of_loss(fraction, cell, status):
    assert question_status(fraction, cell) == status


def test_a_reward_below_the_criterion_after_a_lost_question_points_at_it():
    tests = [
        Row("test_networks", 2.0, 2.0, "passed", "ok"),
        Row("test_compute_returns", 0.0, 2.0, "failed", "compute_returns: [3][0] ..."),
        Row("test_reward", 0.0, 3.0, "failed", "trained_policy: mean return 9.3"),
    ]
    reward_causes(tests, ["test_reward"])
    assert tests[2].message.endswith(
        "; earlier questions lost points (test_compute_returns): training runs that code, so "
        "fix them first"
    )
    clean = [Row("test_reward", 0.0, 3.0, "failed", "trained_policy: mean return 9.3")]
    reward_causes(clean, ["test_reward"])
    assert clean[0].message == "trained_policy: mean return 9.3"
