"""Grades out of the gradebook: a CSV for the class (with the LMS's identities from a
roster), Gradescope's results.json per submission."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.instructor.grading.gradebook import Gradebook

__all__ = [
    "Roster",
    "RosterError",
    "export_csv",
    "export_gradescope",
    "export_questions",
    "read_roster",
]

#: The roster column that holds the folder name of ``submitted/<folder>/``.
ROSTER_KEY = "folder"


class RosterError(ValueError):
    """The roster file cannot be used; the message names the problem and the fix."""


@dataclass
class Roster:
    """Who each submission folder is, as the LMS knows them.

    Attributes:
        columns: the identity columns besides ``folder`` (e.g. email, student_id, name), in
            the file's order.
        people: folder name -> that student's identity columns.
    """

    columns: list[str]
    people: dict[str, dict[str, str]] = field(default_factory=dict)


def read_roster(path: Path) -> Roster:
    """Read a roster CSV: a header with ``folder`` and any identity columns, one row each.

    Raises:
        RosterError: if the file is missing, empty, has no ``folder`` column, or names a
            folder twice.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RosterError(f"no roster at {path}; give the CSV exported from the LMS.") from None
    except UnicodeDecodeError:
        raise RosterError(
            f"{path} is not UTF-8 text; export the roster from the LMS (or save it from a "
            f"spreadsheet) as CSV UTF-8."
        ) from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise RosterError(
            f"{path} is empty; its first line must be a header such as "
            f"'folder,email,student_id,name'."
        )
    header = [cell.strip() for cell in rows[0]]
    lowered = [cell.lower() for cell in header]
    if ROSTER_KEY not in lowered:
        raise RosterError(
            f"{path} has no '{ROSTER_KEY}' column (its columns are {', '.join(header)}); add "
            f"one holding each student's folder name in submitted/, e.g. "
            f"'folder,email,student_id,name'."
        )
    key = lowered.index(ROSTER_KEY)
    columns = [name for i, name in enumerate(header) if i != key and name]
    roster = Roster(columns)
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        row = [*row, *([""] * (len(header) - len(row)))]
        folder = row[key].strip()
        if not folder:
            raise RosterError(f"{path}, line {number}: the '{ROSTER_KEY}' cell is empty.")
        if folder in roster.people:
            raise RosterError(
                f"{path}, line {number}: folder {folder!r} is listed twice; keep one line."
            )
        roster.people[folder] = {
            name: row[i].strip() for i, name in enumerate(header) if i != key and name
        }
    return roster


@dataclass
class CsvExport:
    """What :func:`export_csv` wrote, and who did not match the roster."""

    path: Path
    questions: Path | None = None
    not_in_roster: list[str] = field(default_factory=list)
    without_submission: list[str] = field(default_factory=list)


QUESTION_COLUMNS = ("student", "assignment", "question", "score", "max", "result", "verdict")
"""The long-format CSV: one row per student and question, with the grader's verdict."""


def export_questions(gradebook: Gradebook, path: Path) -> Path:
    """One row per student and question (:data:`QUESTION_COLUMNS`): the score, the kind of
    result (passed, partial, failed, error, timeout, not run) and the grader's verdict on it,
    for the instructor's own analysis (a spreadsheet's filter, pandas)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(QUESTION_COLUMNS)
        for r in sorted(gradebook.latest(), key=lambda r: (r["student"], r["assignment"])):
            for t in gradebook.tests_of(r["id"]):
                writer.writerow(
                    [
                        r["student"],
                        r["assignment"],
                        t["grade_id"],
                        t["score"],
                        t["max_score"],
                        t["status"],
                        t["message"],
                    ]
                )
    return path


def export_csv(gradebook: Gradebook, path: Path, *, roster: Roster | None = None) -> CsvExport:
    """One row per student; per assignment a total, a status and one column per question.
    Beside it, ``<stem>_questions.csv`` holds each question's result and the grader's verdict
    (:func:`export_questions`).

    With a ``roster``, its identity columns follow ``student``, and its students without any
    submission get a row too (every assignment "missing"); students of the gradebook the
    roster does not know are kept, with empty identity columns, and listed.
    """
    rows = gradebook.latest()
    graded = sorted({r["student"] for r in rows})
    students = sorted(set(graded) | set(roster.people if roster else ()))
    assignments = sorted({r["assignment"] for r in rows})
    questions: dict[str, list[str]] = {a: [] for a in assignments}
    cells: dict[tuple[str, str], dict[str, object]] = {}
    for r in rows:
        entry: dict[str, object] = {
            "total": r["score"],
            "max": r["max_score"],
            "status": r["status"],
        }
        if r["status"] == "error":
            entry["status"] = f"error: {r['error']}"
        for t in gradebook.tests_of(r["id"]):
            entry[t["grade_id"]] = t["score"]
            if t["grade_id"] not in questions[r["assignment"]]:
                questions[r["assignment"]].append(t["grade_id"])
        cells[(r["student"], r["assignment"])] = entry
    identity = roster.columns if roster else []
    header = ["student", *identity]
    for a in assignments:
        header += [f"{a}", f"{a} max", f"{a} status", *(f"{a}:{q}" for q in questions[a])]
    header.append("total")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for student in students:
            person = roster.people.get(student, {}) if roster else {}
            line: list[object] = [student, *(person.get(c, "") for c in identity)]
            total = 0.0
            for a in assignments:
                entry = cells.get((student, a))
                if entry is None:
                    line += [0, "", "missing", *("" for _ in questions[a])]
                    continue
                total += float(entry["total"])  # type: ignore[arg-type]
                line += [
                    entry["total"],
                    entry["max"],
                    entry["status"],
                    *(entry.get(q, "") for q in questions[a]),
                ]
            line.append(round(total, 2))
            writer.writerow(line)
    questions = path.with_name(f"{path.stem}_questions.csv")
    result = CsvExport(path, export_questions(gradebook, questions))
    if roster is not None:
        result.not_in_roster = [s for s in graded if s not in roster.people]
        result.without_submission = [s for s in roster.people if s not in set(graded)]
    return result


def export_gradescope(
    gradebook: Gradebook,
    out_dir: Path,
    *,
    solutions: Path | None = None,
    hidden_visibility: str = "after_published",
) -> list[Path]:
    """``<out>/<student>/<assignment>/results.json`` in Gradescope's results format.

    The same results as the autograder writes on Gradescope
    (:func:`course_lib.instructor.grading.gradescope.results_json`): with ``solutions``, tests that
    hold hidden tests get ``hidden_visibility``.
    """
    import nbformat

    from course_lib.instructor.grading.gradebook import SubmissionRecord, TestRecord
    from course_lib.instructor.grading.gradescope import results_json

    sources: dict[str, object] = {}
    written = []
    for r in gradebook.latest():
        assignment = r["assignment"]
        if solutions is not None and assignment not in sources:
            path = Path(solutions) / f"{assignment}.ipynb"
            sources[assignment] = nbformat.read(path, as_version=4) if path.is_file() else None
        rec = SubmissionRecord(
            student=r["student"],
            assignment=assignment,
            path=r["path"],
            file_hash=r["file_hash"],
            grader_version=r["grader_version"],
            status=r["status"],
            error=r["error"],
            sandboxed=bool(r["sandboxed"]),
            total_seconds=float(r["total_seconds"] or 0.0),
            tests=[
                TestRecord(
                    grade_id=t["grade_id"],
                    score=t["score"],
                    max_score=t["max_score"],
                    status=t["status"],
                    message=t["message"] or "",
                    visible=t["visible"] or "",
                )
                for t in gradebook.tests_of(r["id"])
            ],
            tampering=gradebook.tampering_of(r["id"]),
        )
        result = results_json(rec, sources.get(assignment), hidden_visibility=hidden_visibility)
        path = out_dir / r["student"] / assignment / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2))
        written.append(path)
    return written
