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


def test_an_nbformat_3_notebook_is_named_with_the_command_that_converts_it(settings, tmp_path):
    import nbformat

    v3 = nbformat.v3.new_notebook(
        worksheets=[nbformat.v3.new_worksheet(cells=[nbformat.v3.new_code_cell("x = 1")])]
    )
    path = tmp_path / f"{TOUR}.ipynb"
    path.write_text(nbformat.v3.writes_json(v3))
    rec = grade_one("s", TOUR, path, settings)
    assert rec.status == "error" and rec.score == 0
    assert rec.error.startswith("an old notebook format (nbformat version 3")
    assert f"jupyter nbconvert --to notebook --nbformat 4 --output {TOUR}.ipynb" in rec.error


def test_wrong_assignment_is_an_error_row(settings, tmp_path):
    other = fill(SOLUTIONS / "02_a2c.ipynb")
    rec = grade_one("s", TOUR, _write(tmp_path, other), settings)
    assert rec.status == "error" and "wrong assignment" in rec.error


@pytest.mark.parametrize(
    ("made_from", "accepted"),
    [
        ("solutions/00_gymnasium_tour.ipynb", True),
        ("course/source/00_gymnasium_tour/00_gymnasium_tour.ipynb", True),
        ("C:\\course\\instructor\\00_gymnasium_tour.ipynb", True),
        ("course/source/02_a2c.ipynb", False),
    ],
)
def test_the_assignment_is_told_by_the_instructor_notebooks_name_not_its_folder(
    tmp_path, made_from, accepted
):
    import nbformat

    from course_lib.instructor.grading.submissions import read_submission

    source = nbformat.read(SOLUTIONS / f"{TOUR}.ipynb", as_version=4)
    released = fill(SOLUTIONS / f"{TOUR}.ipynb")
    released.metadata["course_lib"] = {"generated": True, "source": made_from}
    sub = read_submission("s", TOUR, _write(tmp_path, released), source)
    if accepted:
        assert sub.error is None and sub.notebook is not None
    else:
        assert sub.error.startswith("wrong assignment: this notebook is 02_a2c.ipynb")
