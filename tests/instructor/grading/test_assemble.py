"""Putting a submission back together: locked and test cells restored, tampering recorded."""

from __future__ import annotations

import nbformat
import pytest

from course_lib.instructor.grading.grade import grade_one
from course_lib.instructor.grading.sample import fill
from tests.instructor.grading.tour_corpus import SOLUTIONS, TOUR
from tests.instructor.grading.tour_corpus import cell as _cell
from tests.instructor.grading.tour_corpus import scores as _scores
from tests.instructor.grading.tour_corpus import write as _write

pytestmark = pytest.mark.notebook


def test_tampered_cells_are_restored_and_recorded(settings, tmp_path):
    nb = fill(SOLUTIONS / f"{TOUR}.ipynb")
    _cell(nb, "test_td_target").source = "print('all tests passed')"  # edited
    nb.cells.remove(_cell(nb, "test_run_episode"))  # deleted
    nb.cells.append(nbformat.from_dict(dict(_cell(nb, "td_target"))))  # duplicated solution
    rec = grade_one("s", TOUR, _write(tmp_path, nb), settings)
    assert _scores(rec) == {"test_run_episode": 2.0, "test_td_target": 1.0}
    kinds = sorted((g, k) for g, k, _ in rec.tampering)
    assert kinds == [("test_run_episode", "deleted"), ("test_td_target", "edited")]
