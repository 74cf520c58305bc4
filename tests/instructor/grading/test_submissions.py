"""Reading a submission: a file that is not a notebook of the assignment is an error row."""

from __future__ import annotations

import pytest

from course_lib.instructor.grading.grade import grade_one
from course_lib.instructor.grading.sample import fill
from tests.instructor.grading.tour_corpus import SOLUTIONS, TOUR
from tests.instructor.grading.tour_corpus import write as _write

pytestmark = pytest.mark.notebook


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"the file is empty"),
        (b"{not json", r"not valid JSON"),
        (b'{"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "cells": []}', r"version 3"),
        (b"[1, 2]", r"has no 'cells'"),
    ],
)
def test_malformed_files_get_an_error_row(settings, tmp_path, content, message):
    path = tmp_path / f"{TOUR}.ipynb"
    path.write_bytes(content)
    rec = grade_one("s", TOUR, path, settings)
    assert rec.status == "error"
    assert pytest.approx(rec.max_score) == 3.0 and rec.score == 0
    import re

    assert re.search(message, rec.error)


def test_wrong_assignment_is_an_error_row(settings, tmp_path):
    other = fill(SOLUTIONS / "02_a2c.ipynb")
    rec = grade_one("s", TOUR, _write(tmp_path, other), settings)
    assert rec.status == "error" and "wrong assignment" in rec.error
