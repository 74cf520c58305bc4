"""The SQLite gradebook: written by the grading driver only, one transaction per submission.

A submission's row and all its per-test rows are committed together, so an
interrupted run (Ctrl-C, ``kill -9``) leaves each submission either fully graded or
not at all; re-running skips what is graded (same student, assignment, file hash and
grader version) and grades the rest. Nothing is ever counted twice: the pair
(student, assignment, file hash, grader version) is unique.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Gradebook", "SubmissionRecord", "TestRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    path TEXT NOT NULL,
    file_hash TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    status TEXT NOT NULL,              -- graded | error
    error TEXT,
    score REAL NOT NULL DEFAULT 0,
    max_score REAL NOT NULL DEFAULT 0,
    sandboxed INTEGER NOT NULL DEFAULT 0,
    exec_seconds REAL NOT NULL DEFAULT 0,
    total_seconds REAL NOT NULL DEFAULT 0,
    graded_at REAL NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    UNIQUE (student, assignment, file_hash, grader_version)
);
CREATE TABLE IF NOT EXISTS tests (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    grade_id TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL,              -- passed | partial | failed | error | timeout | not run
    message TEXT NOT NULL DEFAULT '',
    seconds REAL NOT NULL DEFAULT 0,
    visible TEXT NOT NULL DEFAULT '',  -- what the visible check printed or raised
    details TEXT NOT NULL DEFAULT '{}', -- JSON: named mistakes, the grader's measured returns
    PRIMARY KEY (submission_id, grade_id)
);
CREATE TABLE IF NOT EXISTS tampering (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    grade_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS artifacts (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (submission_id, name)
);
"""


@dataclass
class TestRecord:
    """One graded question.

    ``details`` holds what the class report reads, as JSON: ``mistakes``, the stable names
    of the known mistakes the grader's judges recognised (:class:`~course_lib.exercises.
    finding.Hint`), and ``policies``, per trained policy the grader played, its ``returns``
    on the grader's episodes and the ``criterion``.
    """

    grade_id: str
    score: float
    max_score: float
    status: str
    message: str = ""
    seconds: float = 0.0
    visible: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SubmissionRecord:
    student: str
    assignment: str
    path: str
    file_hash: str
    grader_version: str
    status: str
    error: str | None = None
    sandboxed: bool = False
    exec_seconds: float = 0.0
    total_seconds: float = 0.0
    tests: list[TestRecord] = field(default_factory=list)
    tampering: list[tuple[str, str, str]] = field(default_factory=list)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 6)


class Gradebook:
    """An SQLite gradebook file (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(tests)")}
        if "details" not in columns:  # a gradebook written before the class report
            self._db.execute("ALTER TABLE tests ADD COLUMN details TEXT NOT NULL DEFAULT '{}'")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def is_graded(self, student: str, assignment: str, file_hash: str, grader_version: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM submissions WHERE student=? AND assignment=? AND file_hash=? "
            "AND grader_version=?",
            (student, assignment, file_hash, grader_version),
        ).fetchone()
        return row is not None

    def record(self, rec: SubmissionRecord) -> int:
        """Write one submission and all its rows atomically; return its id.

        A record for the same (student, assignment, file hash, grader version) replaces the
        old one, so grading twice never counts twice.
        """
        with self._transaction() as db:
            db.execute(
                "DELETE FROM submissions WHERE student=? AND assignment=? AND file_hash=? "
                "AND grader_version=?",
                (rec.student, rec.assignment, rec.file_hash, rec.grader_version),
            )
            cur = db.execute(
                "INSERT INTO submissions (student, assignment, path, file_hash, grader_version, "
                "status, error, score, max_score, sandboxed, exec_seconds, total_seconds, "
                "graded_at, details) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    rec.student,
                    rec.assignment,
                    rec.path,
                    rec.file_hash,
                    rec.grader_version,
                    rec.status,
                    rec.error,
                    rec.score,
                    rec.max_score,
                    int(rec.sandboxed),
                    rec.exec_seconds,
                    rec.total_seconds,
                    time.time(),
                    json.dumps(rec.details),
                ),
            )
            sid = int(cur.lastrowid)
            db.executemany(
                "INSERT INTO tests (submission_id, grade_id, score, max_score, status, message, "
                "seconds, visible, details) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        sid,
                        t.grade_id,
                        t.score,
                        t.max_score,
                        t.status,
                        t.message,
                        t.seconds,
                        t.visible,
                        json.dumps(t.details, sort_keys=True),
                    )
                    for t in rec.tests
                ],
            )
            db.executemany(
                "INSERT INTO tampering VALUES (?,?,?,?)", [(sid, *t) for t in rec.tampering]
            )
            db.executemany(
                "INSERT INTO artifacts VALUES (?,?,?)",
                [(sid, name, data) for name, data in rec.artifacts.items()],
            )
        return sid

    def latest(self) -> list[sqlite3.Row]:
        """The newest graded row per (student, assignment)."""
        self._db.row_factory = sqlite3.Row
        try:
            return self._db.execute(
                "SELECT s.* FROM submissions s WHERE s.id = (SELECT s2.id FROM submissions s2 "
                "WHERE s2.student = s.student AND s2.assignment = s.assignment "
                "ORDER BY s2.graded_at DESC, s2.id DESC LIMIT 1) ORDER BY s.student, s.assignment"
            ).fetchall()
        finally:
            self._db.row_factory = None

    def tests_of(self, submission_id: int) -> list[sqlite3.Row]:
        self._db.row_factory = sqlite3.Row
        try:
            return self._db.execute(
                "SELECT * FROM tests WHERE submission_id=? ORDER BY rowid", (submission_id,)
            ).fetchall()
        finally:
            self._db.row_factory = None

    def tampering_of(self, submission_id: int) -> list[tuple[str, str, str]]:
        return self._db.execute(
            "SELECT grade_id, kind, detail FROM tampering WHERE submission_id=? ORDER BY rowid",
            (submission_id,),
        ).fetchall()

    def artifact(self, submission_id: int, name: str) -> bytes | None:
        row = self._db.execute(
            "SELECT data FROM artifacts WHERE submission_id=? AND name=?", (submission_id, name)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def artifact_names(self, submission_id: int) -> list[str]:
        """Names of a submission's artifacts, in the order they were recorded (the notebook's)."""
        rows = self._db.execute(
            "SELECT name FROM artifacts WHERE submission_id=? ORDER BY rowid", (submission_id,)
        ).fetchall()
        return [str(row[0]) for row in rows]

    def snapshot(self) -> list[tuple]:
        """Every score-bearing fact, without timings: for comparing two gradebooks."""
        return self._db.execute(
            "SELECT s.student, s.assignment, s.file_hash, s.status, s.error, s.score, s.max_score, "
            "t.grade_id, t.score, t.max_score, t.status, t.message, t.details FROM submissions s "
            "LEFT JOIN tests t ON t.submission_id = s.id "
            "ORDER BY s.student, s.assignment, s.file_hash, t.grade_id"
        ).fetchall()
