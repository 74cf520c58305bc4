"""Similarity screening: alike answers are found, renamed or not; independent ones and the
released notebook's own code are not."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.instructor.cli import main
from course_lib.instructor.grading.gradebook import Gradebook, SubmissionRecord
from course_lib.instructor.grading.gradebook import TestRecord as Row
from course_lib.instructor.grading.similarity import fingerprints, given_cells, screen

ROOT = Path(__file__).resolve().parents[3]

RETURNS = """def compute_returns(rewards, gamma):
    returns, g = [], 0.0
    for reward in reversed(rewards):
        g = reward + gamma * g
        returns.append(g)
    return returns[::-1]
"""
RENAMED = """def compute_returns(rewards, gamma):
    # from the end backwards
    out, acc = [], 0.0
    for r in reversed(rewards):
        acc = r + gamma * acc   # discounted sum
        out.append(acc)
    return out[::-1]
"""
OTHER = """def compute_returns(rewards, gamma):
    n = len(rewards)
    result = [0.0] * n
    running = 0.0
    for t in range(n - 1, -1, -1):
        running = rewards[t] + gamma * running
        result[t] = running
    return result
"""
GIVEN = '''def compute_returns(rewards, gamma):
    """Discounted returns of one episode."""
    # YOUR CODE HERE
    raise NotImplementedError()
'''


def test_names_comments_and_layout_change_no_fingerprint():
    assert set(fingerprints(RETURNS)) == set(fingerprints(RENAMED))
    assert set(fingerprints(RETURNS)) != set(fingerprints(OTHER))
    # the library's calls are kept: another method is another program
    assert set(fingerprints(RETURNS)) != set(fingerprints(RETURNS.replace(".append", ".add")))


def test_code_that_does_not_parse_has_no_fingerprint_and_fragments_do():
    assert fingerprints("def f(:\n    pass") == {}
    assert fingerprints("if done:\n    break\nx = step(x)\nx = step(x)")  # a loop's body


def test_a_renamed_copy_is_listed_with_its_lines_and_an_independent_answer_is_not():
    answers = {"02": {"a": {"ret": RETURNS}, "b": {"ret": RENAMED}, "c": {"ret": OTHER}}}
    pairs = screen(answers, {"02": {"ret": GIVEN}}, threshold=0.6)
    assert [(p.a, p.b) for p in pairs] == [("a", "b")]
    (match,) = pairs[0].exercises
    assert pairs[0].score == pytest.approx(1.0)
    # every line of the body is marked (the def line too, where a fingerprint starts there)
    assert set(range(2, 7)) <= match.lines_a <= set(range(1, 7))
    assert set(range(3, 8)) <= match.lines_b <= set(range(1, 8))


def test_what_the_notebook_gives_is_subtracted():
    stub_and_snippet = (
        GIVEN + "\nif tracker.due(steps) and tracker.check(policy, steps):\n    stop = 1\n"
    )
    answers = {"02": {"a": {"ret": stub_and_snippet}, "b": {"ret": stub_and_snippet}}}
    subtracted = screen(answers, {"02": {"ret": stub_and_snippet}}, threshold=0.0)
    assert [p.score for p in subtracted] == [0.0]
    # without the subtraction the two are the same program
    assert screen(answers, {}, threshold=0.6)[0].score == pytest.approx(1.0)


def test_the_released_notebook_gives_its_cells_and_the_code_its_text_shows():
    from course_lib.instructor.release import release_notebook

    given = given_cells(release_notebook(ROOT / "solutions" / "02_a2c.ipynb"))
    assert "raise NotImplementedError()" in given["compute_returns"]
    assert "tracker.due" in given["train"]  # shown in the text of the training exercise


def test_the_measurement_set_copies_are_found_and_independent_work_is_not(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import similarity as bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from course_lib.instructor.grading.similarity import read_answers

    answers, notes = read_answers({"02_a2c": bench.measurement_set(tmp_path)})
    assert notes == []
    pairs = screen(answers, {"02_a2c": bench.given_code()}, threshold=0.6)
    listed = {frozenset((p.a, p.b)) for p in pairs}
    assert {frozenset(("indie_1", "copy_of_indie_1")), frozenset(("ada", "copy_of_ada"))} <= listed
    for independent in ("indie_1", "indie_2"):
        others = {s for pair in listed if independent in pair for s in pair} - {independent}
        assert others <= {"copy_of_indie_1"}, (independent, others)


def _class(tmp: Path) -> Path:
    """A gradebook of three submissions of notebook 02, two of them alike."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import similarity as bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    paths = bench.measurement_set(tmp / "class")
    book = tmp / "book.sqlite"
    with Gradebook(book) as gb:
        for student in ("indie_1", "copy_of_indie_1", "indie_2"):
            gb.record(
                SubmissionRecord(
                    student, "02_a2c", str(paths[student]), f"h{student}", "v", "graded",
                    tests=[Row("test_compute_returns", 2.0, 2.0, "passed")],
                )
            )  # fmt: skip
    return book


def test_the_report_lists_the_pair_side_by_side_and_changes_no_score(tmp_path):
    book = _class(tmp_path)
    with Gradebook(book) as gb:
        before = gb.snapshot()
    out = tmp_path / "report"
    assert main(["report", "--gradebook", str(book), "--out", str(out), "--similarity"]) == 0
    with (out / "similarity.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["student_a"], r["student_b"]) for r in rows] == [("copy_of_indie_1", "indie_1")]
    assert float(rows[0]["score"]) >= 0.6
    page = (out / "similarity.html").read_text()
    assert page.count("<mark>") > 10 and "class='side'" in page
    assert "href='similarity.html'" in (out / "index.html").read_text()
    with Gradebook(book) as gb:
        assert gb.snapshot() == before


def test_a_missing_or_broken_file_is_noted_not_fatal(tmp_path):
    book = _class(tmp_path)
    with Gradebook(book) as gb:
        broken = tmp_path / "broken.ipynb"
        broken.write_text("{not json")
        gb.record(SubmissionRecord("zed", "02_a2c", str(broken), "hz", "v", "graded"))
    out = tmp_path / "report"
    assert main(["report", "--gradebook", str(book), "--out", str(out), "--similarity"]) == 0
    assert "02_a2c/zed: not screened" in (out / "similarity.html").read_text()


def test_a_threshold_outside_0_1_is_refused(tmp_path, capsys):
    book = tmp_path / "b.sqlite"
    Gradebook(book).close()
    code = main(["report", "--gradebook", str(book), "--similarity", "--threshold", "60"])
    assert code != 0 and "between 0 and 1" in capsys.readouterr().err


def test_cells_are_read_by_grade_id():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"solution": True, "grade_id": "ex"}
    nb.cells = [cell, nbformat.v4.new_code_cell("y = 2")]
    from course_lib.instructor.grading.similarity import answer_cells

    assert answer_cells(nb) == {"ex": "x = 1"}
