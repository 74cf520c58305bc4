"""The sample class: the reference answers filled in, or a named bug in their place."""

from __future__ import annotations

import nbformat
import pytest

from course_lib.instructor.grading.sample import STUDENTS, fill, make_sample_class
from tests.instructor.grading.tour_corpus import SOLUTIONS, TOUR


def _cell(nb, grade_id):
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return cell.source


def test_fill_puts_the_reference_answer_where_the_student_writes():
    nb = fill(SOLUTIONS / f"{TOUR}.ipynb")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "raise NotImplementedError()" not in code and "SOLUTION" not in code
    assert "HIDDEN TESTS" not in code  # it is the released notebook, filled in
    assert "def td_target" in code


def test_an_override_replaces_the_answer_or_edits_it():
    body = "return 0.0"
    nb = fill(SOLUTIONS / f"{TOUR}.ipynb", {"td_target": body})
    assert _cell(nb, "td_target").rstrip().endswith("    return 0.0")
    edited = fill(SOLUTIONS / f"{TOUR}.ipynb", {"td_target": lambda src: src + "\n# edited"})
    assert _cell(edited, "td_target").endswith("# edited")
    with pytest.raises(ValueError, match="changed nothing"):
        fill(SOLUTIONS / f"{TOUR}.ipynb", {"td_target": lambda src: src})


def test_the_class_has_every_student_and_the_broken_files(tmp_path):
    written = make_sample_class(SOLUTIONS, tmp_path)
    expected = {(s, a) for s, work in STUDENTS.items() for a in work}
    assert {(p.parts[-3], p.parts[-2]) for p in written} == expected
    cy = tmp_path / "submitted" / "cy"
    assert (cy / "02_a2c" / "02_a2c.ipynb").read_bytes() == b""
    with pytest.raises(Exception):  # noqa: B017 (nbformat raises several kinds)
        nbformat.read(cy / TOUR / f"{TOUR}.ipynb", as_version=4)
    eve = nbformat.read(tmp_path / "submitted" / "eve" / TOUR / f"{TOUR}.ipynb", as_version=4)
    assert _cell(eve, "test_td_target") == "# checks removed"
    assert make_sample_class(SOLUTIONS, tmp_path / "one", ["02_a2c"]) == [
        tmp_path / "one" / "submitted" / s / "02_a2c" / "02_a2c.ipynb"
        for s, work in STUDENTS.items()
        if "02_a2c" in work
    ]
