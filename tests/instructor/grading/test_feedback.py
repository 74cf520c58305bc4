"""The feedback pages: what a student sees of each test, curve and agent."""

from __future__ import annotations

import csv
import html
import json

import pytest

from course_lib.instructor.grading.grade import grade_one
from course_lib.instructor.grading.gradebook import Gradebook, SubmissionRecord
from course_lib.instructor.grading.sample import fill
from tests.instructor.grading.tour_corpus import SOLUTIONS, TOUR
from tests.instructor.grading.tour_corpus import write as _write

pytestmark = pytest.mark.notebook


def test_feedback_and_exports_show_the_graders_verdict_never_the_hidden_tests(settings, tmp_path):
    """A lost point is explained: the feedback page and the question CSV give the grader's
    verdict on each question (expected against got), never the hidden tests' code or inputs;
    Gradescope's results show it once published (after_published). With hidden="score" the
    page gives the scores only."""
    from course_lib.instructor.grading.export import export_csv, export_gradescope
    from course_lib.instructor.grading.feedback import write_feedback

    nb = fill(SOLUTIONS / f"{TOUR}.ipynb", {"td_target": "return 0.0"})
    rec = grade_one("s", TOUR, _write(tmp_path, nb), settings)
    verdict = rec.tests[1].message
    assert verdict.startswith("td_target: ") and "expected" in verdict, verdict
    with Gradebook(tmp_path / "book.sqlite") as book:
        book.record(rec)
        (page,) = write_feedback(book, tmp_path / "feedback")
        (scores_only,) = write_feedback(book, tmp_path / "scores", hidden="score")
        with pytest.raises(ValueError, match="verdict, score"):
            write_feedback(book, tmp_path / "x", hidden="all")
        exported = export_csv(book, tmp_path / "grades.csv")
        (gradescope,) = export_gradescope(book, tmp_path / "gs", solutions=SOLUTIONS)
    text = page.read_text()
    assert "Score: 2 / 3" in text
    assert html.escape(verdict) in text  # the grader's own verdict
    assert ">wrong<" in text  # a wrong answer, not a crash
    for secret in ("probe_", "HIDDEN", "grader_seed", "cl.observe"):
        assert secret not in text
    assert "check_td_target" in text  # the visible check's own words are shown
    assert "one mistake costs one question" in text  # the legend states the rule
    quiet = scores_only.read_text()
    assert html.escape(verdict) not in quiet and "reported by their score only" in quiet
    header, row = exported.path.read_text().splitlines()
    assert header.startswith(
        "student,00_gymnasium_tour,00_gymnasium_tour max,00_gymnasium_tour status"
    )
    assert row.startswith("s,2.0,3.0,graded,2.0,0.0")
    rows = list(csv.reader(exported.questions.read_text().splitlines()))
    assert rows[0] == ["student", "assignment", "question", "score", "max", "result", "verdict"]
    assert rows[2][:6] == ["s", TOUR, "test_td_target", "0.0", "1.0", "failed"]
    assert rows[2][6] == verdict
    result = json.loads(gradescope.read_text())
    assert result["score"] == 2.0 and result["max_score"] == 3.0
    assert [(t["name"], t["score"], t["max_score"], t["visibility"]) for t in result["tests"]] == [
        ("test_run_episode", 2.0, 2.0, "after_published"),
        ("test_td_target", 0.0, 1.0, "after_published"),
    ]
    td = result["tests"][1]
    assert td["status"] == "failed" and verdict in td["output"]
    for secret in ("probe_", "HIDDEN", "grader_seed", "cl.observe"):
        assert secret not in json.dumps(result)


def test_feedback_shows_each_tasks_curve_and_agent_with_its_name(tmp_path):
    from course_lib.instructor.grading.feedback import _task_of, write_feedback

    assert [_task_of(n) for n in ("learning_curve.png", "agent.gif", "x.png")] == ["", "", ""]
    assert _task_of("learning_curve_mountaincar.png") == _task_of("agent_mountaincar.gif")
    png, gif = b"\x89PNG-not-really", b"GIF89a-not-really"
    rec = SubmissionRecord(
        student="s",
        assignment="05_td3",
        path="p",
        file_hash="h",
        grader_version="v",
        status="graded",
        artifacts={
            "agent_pendulum.gif": gif,
            "learning_curve_pendulum.png": png,
            "agent_mountaincar.gif": gif,
            "learning_curve_mountaincar.png": png,
        },
    )
    with Gradebook(tmp_path / "book.sqlite") as book:
        book.record(rec)
        assert book.artifact_names(1) == list(rec.artifacts)  # the order they were made in
        (page,) = write_feedback(book, tmp_path / "feedback")
    text = page.read_text()
    captions = [
        "Your learning curve (pendulum)",
        "Your learning curve (mountaincar)",
        "Your trained agent (pendulum), played by the grader",
        "Your trained agent (mountaincar), played by the grader",
    ]
    positions = [text.index(c) for c in captions]
    assert positions == sorted(positions)  # curves first, then the agents, in notebook order


def test_feedback_tells_answers_of_the_courses_own_code_from_edited_locked_cells(tmp_path):
    from course_lib.instructor.grading.feedback import write_feedback

    rec = SubmissionRecord("s", "04_ddpg", "p", "h", "v", "graded")
    rec.tampering = [
        ("imports", "edited", "restored from the instructor's copy"),
        ("test_replay_buffer", "given code", "ReplayBuffer leans on the course's given one"),
    ]
    with Gradebook(tmp_path / "book.sqlite") as book:
        book.record(rec)
        (page,) = write_feedback(book, tmp_path / "feedback")
    text = page.read_text()
    locked, _, borrowed = text.partition("the course's own code, not yours")
    assert "Locked cells were changed" in locked and "imports" in locked
    assert "test_replay_buffer" not in locked
    assert "test_replay_buffer" in borrowed and "ReplayBuffer leans on" in borrowed
