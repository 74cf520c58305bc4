"""Fixtures shared across test folders.

``graded_sample_class``: the bundled sample class (``course-lib sample-class``), graded once
per test session at fast budgets. The modules that use it share the ``sample-class``
pytest-xdist group, so they run on one worker and the class is graded once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def graded_sample_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding ``submitted/`` (the sample class) and ``book.sqlite`` (its grades)."""
    from course_lib.instructor.grading.grade import GradeSettings, discover, grade_batch
    from course_lib.instructor.grading.gradebook import Gradebook
    from course_lib.instructor.grading.sample import make_sample_class
    from course_lib.instructor.grading.sandbox import Limits

    base = tmp_path_factory.mktemp("sample_class")
    solutions = ROOT / "solutions"
    make_sample_class(solutions, base)
    settings = GradeSettings(
        solutions=solutions,
        seed=4242,
        cache_dir=base / "cache",
        scratch=base / "scratch",
        limits=Limits(cell_timeout_s=60, notebook_timeout_s=600),
        fast=True,
    )
    with Gradebook(base / "book.sqlite") as book:
        grade_batch(book, discover(base / "submitted"), settings)
    return base
