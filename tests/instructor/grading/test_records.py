"""Error rows: every graded cell of the assignment at 0 points, with the reason."""

from __future__ import annotations

from course_lib.instructor.grading.records import GRADER_VERSION, failed_record
from tests.instructor.grading.tour_corpus import SOLUTIONS, TOUR


def test_a_submission_the_grader_failed_on_is_an_error_row_of_every_test(settings, tmp_path):
    path = tmp_path / f"{TOUR}.ipynb"
    path.write_text("{}")
    rec = failed_record("ada", TOUR, path, settings, "the worker died")
    assert (rec.status, rec.error, rec.grader_version) == (
        "error",
        "the worker died",
        GRADER_VERSION,
    )
    assert rec.file_hash and rec.score == 0.0 and rec.max_score == 3.0
    assert {t.status for t in rec.tests} == {"not run"}
    assert {t.message for t in rec.tests} == {"the grader could not grade this submission"}
    assert [t.grade_id for t in rec.tests] == ["test_run_episode", "test_td_target"]


def test_a_missing_file_or_assignment_still_gives_a_row(settings, tmp_path):
    rec = failed_record("ada", "99_nothing", tmp_path / "gone.ipynb", settings, "lost")
    assert (rec.status, rec.file_hash, rec.tests) == ("error", "", [])
    assert (SOLUTIONS / f"{TOUR}.ipynb").is_file()
