"""nbgrader itself accepts the course: it generates our student notebooks cell for cell,
validates them (reporting the stubs as failing) and autogrades a correct submission made
from ``notebooks/`` with full marks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import compute_checksum

from course_lib.instructor.cli import main
from course_lib.instructor.release.markers import BEGIN_SOLUTION, END_SOLUTION
from course_lib.instructor.release.nbgrader import nbgrader_checksum

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
ASSIGNMENTS = sorted(path.stem for path in SOLUTIONS.glob("*.ipynb"))

pytestmark = pytest.mark.xdist_group("nbgrader")


def _nbgrader(course: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COURSE_LIB_FAST": "1"}
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """An nbgrader course laid out by `course-lib nbgrader`, every assignment generated."""
    course = tmp_path_factory.mktemp("nbgrader") / "course"
    assert (
        main(["nbgrader", str(course), "--source", str(SOLUTIONS), "--dest", str(NOTEBOOKS)]) == 0
    )
    for name in ASSIGNMENTS:
        result = _nbgrader(course, "generate_assignment", name, "--force")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "ERROR" not in result.stderr, result.stderr
    return course


def test_the_course_has_one_assignment_per_notebook(course):
    assert sorted(p.name for p in (course / "source").iterdir()) == ASSIGNMENTS
    assert "course_id" in (course / "nbgrader_config.py").read_text()


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_generate_assignment_writes_our_student_notebook_cell_for_cell(course, name):
    generated = json.loads((course / "release" / name / f"{name}.ipynb").read_text())["cells"]
    ours = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
    assert len(generated) == len(ours)
    for index, (theirs, mine) in enumerate(zip(generated, ours, strict=True)):
        assert theirs == mine, f"{name} cell {index + 1} ({mine.get('id')}) differs"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_our_checksums_are_nbgraders(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    checked = 0
    for cell in nb.cells:
        record = cell.metadata.get("nbgrader")
        if record and (record["grade"] or record["solution"] or record["locked"]):
            assert record["checksum"] == compute_checksum(cell) == nbgrader_checksum(cell)
            checked += 1
    assert checked >= 5


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_validate_runs_and_reports_every_test_of_the_stubs_as_failing(course, name):
    result = _nbgrader(course, "validate", str(NOTEBOOKS / f"{name}.ipynb"))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "may be corrupted" not in out and "ValidationError" not in out, out[-3000:]
    nb = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    tests = [
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    ]
    match = re.search(r"VALIDATION FAILED ON (\d+) CELL\(S\)", out)
    assert match, out[-3000:]
    assert int(match[1]) == len(tests)
    assert "NotImplementedError" in out


def _correct_submission(name: str) -> nbformat.NotebookNode:
    """The released notebook with every solution cell answered as the reference does."""
    reference = {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        record = cell.metadata.get("nbgrader", {})
        if record.get("solution"):
            lines = reference[record["grade_id"]].source.splitlines()
            cell.source = "\n".join(
                line for line in lines if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)
            )
    return nb


def test_autograde_gives_a_correct_submission_of_00_full_marks(course):
    name = "00_gymnasium_tour"
    path = course / "submitted" / "alice" / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(_correct_submission(name), path)
    result = _nbgrader(course, "autograde", name, "--create")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as book:
        submission = book.find_submission(name, "alice")
        grades = {g.name: (g.score, g.max_score) for nb in submission.notebooks for g in nb.grades}
        assert submission.max_score == 3
        assert submission.score == submission.max_score, grades
    assert set(grades) == {"test_run_episode", "test_td_target"}
