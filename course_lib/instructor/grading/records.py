"""Error rows: the record of a submission that could not be graded, and the grader's version.

Shared by the local batch (:mod:`.grade`) and the Dask one (:mod:`.cluster`), which must not
import each other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import nbformat

import course_lib
from course_lib.instructor.grading.gradebook import SubmissionRecord, TestRecord
from course_lib.instructor.release.context import is_test_cell

__all__ = ["GRADER_VERSION", "failed_record"]

GRADER_VERSION = f"{course_lib.__version__}-g10"
"""Part of every gradebook row; a new version re-grades everything."""


def _error_record(
    rec: SubmissionRecord, source: nbformat.NotebookNode | None, error: str | None, why: str
) -> SubmissionRecord:
    """``rec`` as an error row: every graded cell of ``source`` at 0 points, with ``why``."""
    rec.status, rec.error = "error", error
    for cell in source.cells if source is not None else []:
        meta = cell.metadata.get("nbgrader", {})
        if is_test_cell(cell):
            rec.tests.append(
                TestRecord(meta["grade_id"], 0.0, float(meta.get("points", 0)), "not run", why)
            )
    return rec


def failed_record(
    student: str, assignment: str, path: Path, settings: Any, error: str
) -> SubmissionRecord:
    """The error row of a submission whose grading itself failed (e.g. its worker died)."""
    path = Path(path)
    file_hash = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    source_path = settings.solutions / f"{assignment}.ipynb"
    source = nbformat.read(source_path, as_version=4) if source_path.is_file() else None
    rec = SubmissionRecord(student, assignment, str(path), file_hash, GRADER_VERSION, "error")
    return _error_record(rec, source, error, "the grader could not grade this submission")
