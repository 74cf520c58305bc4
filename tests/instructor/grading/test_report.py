"""The class report: what the class got wrong, read from the gradebook alone."""

from __future__ import annotations

import csv
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest

from course_lib.instructor.cli import main
from course_lib.instructor.grading.gradebook import Gradebook, SubmissionRecord
from course_lib.instructor.grading.gradebook import TestRecord as Row
from course_lib.instructor.grading.report import FINDINGS_COLUMNS, findings, read_class
from course_lib.instructor.grading.sample import KNOWN_MISTAKES, STUDENTS

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("sample-class")]


@pytest.fixture(scope="module")
def report(graded_sample_class: Path) -> Path:
    """``course-lib report`` on the graded sample class."""
    out = graded_sample_class / "report"
    code = main(
        ["report", "--gradebook", str(graded_sample_class / "book.sqlite"), "--out", str(out)]
    )
    assert code == 0
    return out


def _rows(report: Path) -> list[dict[str, str]]:
    with (report / "findings.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == FINDINGS_COLUMNS
        return list(reader)


def test_every_known_mistake_is_counted_under_its_name(report):
    rows = _rows(report)
    named = {(r["assignment"], r["question"], r["name"]): r for r in rows if r["kind"] == "mistake"}
    expected: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for (student, assignment), mistakes in KNOWN_MISTAKES.items():
        for question, name in mistakes:
            expected[(assignment, question, name)].add(student)
    missing = sorted(set(expected) - set(named))
    assert not missing, f"not in findings.csv: {missing}; named: {sorted(named)}"
    for key, students in expected.items():
        row = named[key]
        assert int(row["count"]) == len(students), (key, row)
        assert set(row["students"].split(";")) == students, (key, row)
        assert row["example"], key  # the grader's verdict, to read


def test_correct_work_has_no_named_mistake(report):
    rows = _rows(report)
    # ada's work is the reference's own; in fast mode only the reward questions lose points
    ada = [r for r in rows if "ada" in r["students"].split(";")]
    assert {r["kind"] for r in ada} <= {"below criterion"}, ada
    assert all(r["kind"] == "below criterion" and r["name"] == "trained_policy" for r in ada)


def test_most_frequent_mistakes_come_first(report):
    rows = _rows(report)
    for assignment in {r["assignment"] for r in rows}:
        counts = [
            int(r["count"])
            for r in rows
            if r["assignment"] == assignment and r["kind"] == "mistake"
        ]
        assert counts == sorted(counts, reverse=True), (assignment, counts)


def test_unreadable_hostile_and_tampered_work_is_listed(report):
    rows = _rows(report)
    unreadable = {
        (r["assignment"], tuple(r["students"].split(";")))
        for r in rows
        if r["kind"] == "unreadable"
    }
    assert unreadable == {("00_gymnasium_tour", ("cy",)), ("02_a2c", ("cy",))}
    tampering = [r for r in rows if r["kind"] == "tampering"]
    assert any(r["students"] == "eve" and r["question"] == "test_td_target" for r in tampering)
    page = (report / "00_gymnasium_tour.html").read_text()
    assert "Submissions that need a look" in page and "tampering" in page and "eve" in page


def test_the_agents_returns_are_measured_against_the_criterion(report, graded_sample_class):
    rows = _rows(report)
    below = [r for r in rows if r["kind"] == "below criterion"]
    # fast budgets: no agent reaches its criterion, and each student's agent is counted
    with Gradebook(graded_sample_class / "book.sqlite") as book:
        results = read_class(book)
    for assignment, subs in results.assignments.items():
        policies = {
            p for s in subs for q in s.questions for p in q.policies if s.status == "graded"
        }
        for policy in policies:
            got = [r for r in below if r["assignment"] == assignment and r["name"] == policy]
            assert len(got) == 1, (assignment, policy)
            players = {s.student for s in subs for q in s.questions if policy in q.policies}
            assert set(got[0]["students"].split(";")) == players
    page = (report / "05_td3.html").read_text()
    assert "trained_policy_mountaincar" in page and "criterion (90)" in page
    assert page.count("alt='returns of") == 2


def test_pages_are_linked_self_contained_and_escape_student_text(report):
    index = (report / "index.html").read_text()
    for assignment in sorted({a for work in STUDENTS.values() for a in work}):
        assert f"href='{assignment}.html'" in index
        page = (report / f"{assignment}.html").read_text()
        assert "<script" not in page
        # every image is embedded; nothing is fetched when the page opens
        sources = re.findall(r"src='([^']*)'", page)
        assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
        assert not re.search(r"(href|src)=['\"]https?://", page)
    # hostile work's text is shown, escaped (dee prints and defines things in its cells)
    assert "<script" not in (report / "00_gymnasium_tour.html").read_text()


def test_grading_cost_is_reported(report):
    page = (report / "03_ppo.html").read_text()
    assert re.search(r"Per submission: median \d+\.\d s, max \d+\.\d s", page), page[-800:]


# --------------------------------------------------------------------------- without grading


def _record(student: str, assignment: str, tests: list[Row], **kw) -> SubmissionRecord:
    return SubmissionRecord(
        student, assignment, "p", f"h-{student}", "v", "graded", tests=tests, **kw
    )


def test_findings_group_by_name_and_keep_the_failing_verdict(tmp_path):
    wrong = Row(
        "test_agent",
        0.0,
        4.0,
        "failed",
        "ddpg_agent_step: passes; ddpg_update_model: the TD target uses the online networks",
        details={
            "mistakes": ["ddpg.update_model.td_target_from_online_networks"],
            "lost": ["ddpg_update_model"],
        },
    )
    with Gradebook(tmp_path / "b.sqlite") as book:
        book.record(_record("s1", "04_ddpg", [wrong]))
        book.record(_record("s2", "04_ddpg", [wrong]))
        book.record(_record("s3", "04_ddpg", [Row("test_agent", 4.0, 4.0, "passed")]))
        rows = findings(read_class(book))
    (row,) = rows
    assert (row.kind, row.name, row.students) == (
        "mistake",
        "ddpg.update_model.td_target_from_online_networks",
        ["s1", "s2"],
    )
    assert row.example == "ddpg_update_model: the TD target uses the online networks"


def test_an_unnamed_loss_a_crash_and_a_timeout_are_kept_apart(tmp_path):
    tests = [
        Row("q1", 0.0, 1.0, "failed", "x: wrong value", details={"lost": ["x"]}),
        Row("q2", 0.0, 1.0, "error", "", visible="Traceback\nValueError: boom"),
        Row("q3", 0.0, 1.0, "timeout", "", visible="the cell ran past 60 s"),
    ]
    with Gradebook(tmp_path / "b.sqlite") as book:
        book.record(_record("s", "a", tests))
        rows = findings(read_class(book))
    got = {(r.question, r.kind): r.example for r in rows}
    assert got == {
        ("q1", "unnamed"): "x: wrong value",
        ("q2", "error"): "ValueError: boom",
        ("q3", "timeout"): "the cell ran past 60 s",
    }


def test_a_gradebook_from_before_the_report_is_read(tmp_path):
    # the tests table without its details column, as gradebooks before the report had it
    path = tmp_path / "old.sqlite"
    with Gradebook(path) as book:
        book.record(_record("s", "a", [Row("q", 0.0, 1.0, "failed", "x: wrong")]))
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE tests DROP COLUMN details")
    db.commit()
    db.close()
    with Gradebook(path) as book:  # the column comes back, empty
        rows = findings(read_class(book))
    assert [(r.kind, r.students) for r in rows] == [("unnamed", ["s"])]


def test_the_command_names_a_missing_gradebook(tmp_path, capsys):
    code = main(["report", "--gradebook", str(tmp_path / "nope.sqlite"), "--out", str(tmp_path)])
    assert code != 0
    err = capsys.readouterr().err
    assert "no gradebook at" in err and "course-lib grade" in err


def test_an_empty_gradebook_gives_a_page_that_says_so(tmp_path):
    Gradebook(tmp_path / "b.sqlite").close()
    assert (
        main(["report", "--gradebook", str(tmp_path / "b.sqlite"), "--out", str(tmp_path / "r")])
        == 0
    )
    assert "holds no submission yet" in (tmp_path / "r" / "index.html").read_text()
    assert _rows(tmp_path / "r") == []
