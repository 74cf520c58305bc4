"""Exports: the class CSV with the LMS's identities from a roster, and its errors."""

from __future__ import annotations

import csv

import pytest

from course_lib.instructor.cli import main
from course_lib.instructor.grading.export import RosterError, export_csv, read_roster
from course_lib.instructor.grading.gradebook import Gradebook, SubmissionRecord
from course_lib.instructor.grading.gradebook import TestRecord as Row


def _record(student: str, score: float) -> SubmissionRecord:
    rec = SubmissionRecord(
        student, "00_gymnasium_tour", f"/s/{student}.ipynb", student, "v", "graded"
    )
    rec.tests = [Row("test_run_episode", score, 2.0, "passed" if score == 2 else "failed")]
    return rec


@pytest.fixture
def gradebook(tmp_path):
    path = tmp_path / "book.sqlite"
    with Gradebook(path) as book:
        book.record(_record("alice", 2.0))
        book.record(_record("bob7", 1.0))
        book.record(_record("zed", 0.0))  # not in the roster
    return path


ROSTER = (
    "email,folder,student_id,name\n"
    "alice@uni.example,alice,1001,Alice Ada\n"
    'bob@uni.example,bob7,1002,"Bob, Jr."\n'
    "carol@uni.example,carol,1003,Carol C\n"  # never submitted
)


def _rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_roster_adds_identity_columns_and_lists_who_does_not_match(gradebook, tmp_path):
    (tmp_path / "roster.csv").write_text(ROSTER)
    roster = read_roster(tmp_path / "roster.csv")
    assert roster.columns == ["email", "student_id", "name"]
    with Gradebook(gradebook) as book:
        result = export_csv(book, tmp_path / "grades.csv", roster=roster)
    assert result.not_in_roster == ["zed"]
    assert result.without_submission == ["carol"]
    rows = {row["student"]: row for row in _rows(result.path)}
    assert list(rows) == ["alice", "bob7", "carol", "zed"]
    assert (rows["bob7"]["email"], rows["bob7"]["student_id"], rows["bob7"]["name"]) == (
        "bob@uni.example",
        "1002",
        "Bob, Jr.",
    )
    assert rows["bob7"]["00_gymnasium_tour"] == "1.0"
    assert rows["carol"]["00_gymnasium_tour status"] == "missing"
    assert rows["zed"]["email"] == "" and rows["zed"]["00_gymnasium_tour"] == "0.0"


def test_without_a_roster_the_csv_is_as_before(gradebook, tmp_path):
    with Gradebook(gradebook) as book:
        result = export_csv(book, tmp_path / "grades.csv")
    header = result.path.read_text().splitlines()[0]
    assert header.startswith("student,00_gymnasium_tour,00_gymnasium_tour max,")
    assert result.not_in_roster == [] and result.without_submission == []


def test_the_cli_writes_and_lists_them(gradebook, tmp_path, capsys):
    (tmp_path / "roster.csv").write_text(ROSTER)
    code = main(
        [
            "export",
            "--gradebook",
            str(gradebook),
            "--out",
            str(tmp_path / "out"),
            "--roster",
            str(tmp_path / "roster.csv"),
            "--solutions",
            str(tmp_path / "none"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "roster.csv (1, kept with empty identity columns): zed" in out
    assert "never submitted (1, written as missing): carol" in out
    assert "email" in (tmp_path / "out" / "grades.csv").read_text().splitlines()[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"is empty; its first line must be a header"),
        ("email,name\na@b,A\n", r"has no 'folder' column \(its columns are email, name\)"),
        ("folder,email\nalice,a@x\nalice,b@x\n", r"line 3: folder 'alice' is listed twice"),
        ("folder,email\n,a@x\n", r"line 2: the 'folder' cell is empty"),
    ],
)
def test_a_bad_roster_names_the_problem(tmp_path, text, message):
    (tmp_path / "roster.csv").write_text(text)
    with pytest.raises(RosterError, match=message):
        read_roster(tmp_path / "roster.csv")


def test_quoted_fields_may_hold_line_breaks_and_the_file_must_be_utf8(tmp_path):
    (tmp_path / "roster.csv").write_text('folder,name\nalice,"Alice\nAda"\n')
    assert read_roster(tmp_path / "roster.csv").people == {"alice": {"name": "Alice\nAda"}}
    (tmp_path / "roster.csv").write_bytes("folder,name\nb,Bj\xf6rn\n".encode("latin-1"))
    with pytest.raises(RosterError, match="is not UTF-8 text"):
        read_roster(tmp_path / "roster.csv")


def test_a_missing_roster_is_a_clean_cli_error(gradebook, tmp_path, capsys):
    code = main(["export", "--gradebook", str(gradebook), "--roster", str(tmp_path / "no.csv")])
    assert code == 2
    assert "no roster at" in capsys.readouterr().err
