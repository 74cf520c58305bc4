"""The grader's settings, one per test module (the helpers are in :mod:`.tour_corpus`)."""

from __future__ import annotations

import pytest

from course_lib.instructor.grading.grade import GradeSettings
from course_lib.instructor.grading.sandbox import Limits
from tests.instructor.grading.tour_corpus import SOLUTIONS


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    return GradeSettings(
        solutions=SOLUTIONS,
        seed=31337,
        cache_dir=base / "cache",
        scratch=base / "scratch",
        limits=Limits(cell_timeout_s=15, notebook_timeout_s=300),
    )
