"""The gradebook: one transaction per submission, never a grade counted twice."""

from __future__ import annotations

import sqlite3

import pytest

from course_lib.instructor.grading import gradebook
from course_lib.instructor.grading.gradebook import Gradebook, SubmissionRecord

Row = gradebook.TestRecord  # (not named Test*: pytest would try to collect it)


def _rec(student="ada", file_hash="h1", score=1.0, version="v1", **kw) -> SubmissionRecord:
    rec = SubmissionRecord(student, "02_a2c", f"{student}.ipynb", file_hash, version, "graded")
    rec.tests = [
        Row("test_a", score, 2.0, "partial", "half right", 0.5, "✔ visible"),
        Row("test_b", 3.0, 3.0, "passed"),
    ]
    rec.tampering = [("test_a", "edited", "restored")]
    rec.artifacts = {"learning_curve.png": b"\x89PNG", "agent.gif": b"GIF89a"}
    for key, value in kw.items():
        setattr(rec, key, value)
    return rec


def test_a_record_reads_back_whole(tmp_path):
    with Gradebook(tmp_path / "book.sqlite") as book:
        sid = book.record(_rec(details={"notes": ["n"]}))
        (row,) = book.latest()
        assert (row["student"], row["score"], row["max_score"]) == ("ada", 4.0, 5.0)
        tests = [(t["grade_id"], t["score"], t["status"], t["visible"]) for t in book.tests_of(sid)]
        assert tests == [("test_a", 1.0, "partial", "✔ visible"), ("test_b", 3.0, "passed", "")]
        assert book.tampering_of(sid) == [("test_a", "edited", "restored")]
        assert book.artifact_names(sid) == ["learning_curve.png", "agent.gif"]
        assert book.artifact(sid, "agent.gif") == b"GIF89a"
        assert book.artifact(sid, "missing.gif") is None


def test_the_same_file_graded_again_replaces_its_grade(tmp_path):
    with Gradebook(tmp_path / "book.sqlite") as book:
        book.record(_rec(score=1.0))
        book.record(_rec(score=2.0))
        assert [r["score"] for r in book.latest()] == [5.0]
        assert len(book.snapshot()) == 2  # two tests of one submission, not four
        assert book.is_graded("ada", "02_a2c", "h1", "v1")
        assert not book.is_graded("ada", "02_a2c", "h1", "v2")  # a new grader grades again
        assert not book.is_graded("ada", "02_a2c", "h2", "v1")  # so does a new file


def test_latest_is_the_newest_submission_of_each_student(tmp_path):
    with Gradebook(tmp_path / "book.sqlite") as book:
        book.record(_rec(file_hash="old", score=0.0))
        book.record(_rec(file_hash="new", score=2.0))
        book.record(_rec(student="ben", file_hash="b", score=1.0))
        assert [(r["student"], r["file_hash"]) for r in book.latest()] == [
            ("ada", "new"),
            ("ben", "b"),
        ]


def test_a_failed_write_leaves_nothing_of_the_submission(tmp_path):
    path = tmp_path / "book.sqlite"
    with Gradebook(path) as book:
        bad = _rec()
        bad.tests.append(Row("test_a", 0.0, 1.0, "failed"))  # a duplicate grade_id
        with pytest.raises(sqlite3.IntegrityError):
            book.record(bad)
        assert book.latest() == [] and book.snapshot() == []
    with Gradebook(path) as book:  # reopened: still empty, and writable
        book.record(_rec())
        assert len(book.latest()) == 1
