"""A test cell's hidden tests run even when its visible check fails
(:mod:`course_lib.instructor.grading.hidden`)."""

from __future__ import annotations

import nbformat
import pytest

from course_lib.instructor.grading.grade import GradeSettings, _visible_text, grade_one
from course_lib.instructor.grading.hidden import merge_hidden_tests, split_hidden_tests
from course_lib.instructor.grading.sandbox import CellRecord, ExecutionResult, Limits
from tests.instructor.grading.tour_corpus import SOLUTIONS, TOUR, cell, scores

ASSIGNMENT = "07_two_answers"


def _cell(kind: str, grade_id: str, source: str, points: float = 0) -> nbformat.NotebookNode:
    record = {"grade_id": grade_id, "locked": kind != "solution", "schema_version": 3}
    record.update(grade=kind == "test", solution=kind == "solution")
    if kind == "test":
        record["points"] = points
    made = nbformat.v4.new_code_cell(source)
    made.metadata["nbgrader"] = record
    return made


def _notebook() -> nbformat.NotebookNode:
    """Two answers checked in one test cell: a visible check of each, then a hidden
    observation of each (so one wrong answer can still leave the other's point)."""
    return nbformat.v4.new_notebook(
        cells=[
            _cell("given", "imports", "import course_lib as cl"),
            _cell(
                "solution",
                "answers",
                "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n\n"
                "def g(x):\n    ### BEGIN SOLUTION\n    return x + 2\n    ### END SOLUTION\n",
            ),
            _cell(
                "test",
                "test_answers",
                'assert f(1) == 2, "f(1) should be 2"\nassert g(1) == 3, "g(1) should be 3"\n'
                "### BEGIN HIDDEN TESTS\n"
                'cl.observe("f", [f(x) for x in (3, 5)])\ncl.observe("g", [g(x) for x in (3, 5)])\n'
                "### END HIDDEN TESTS\n",
                points=2,
            ),
        ]
    )


def _submission(f_body: str, g_body: str) -> nbformat.NotebookNode:
    nb = _notebook()
    nb.cells[1].source = f"def f(x):\n    {f_body}\n\ndef g(x):\n    {g_body}\n"
    return nb


@pytest.fixture(scope="module")
def own_settings(tmp_path_factory):
    base = tmp_path_factory.mktemp("hidden")
    (base / "solutions").mkdir()
    nbformat.write(_notebook(), base / "solutions" / f"{ASSIGNMENT}.ipynb")
    return GradeSettings(
        solutions=base / "solutions",
        seed=5,
        cache_dir=base / "cache",
        scratch=base / "scratch",
        limits=Limits(cell_timeout_s=15, notebook_timeout_s=120),
    )


def _grade(settings: GradeSettings, tmp_path, nb: nbformat.NotebookNode):
    path = tmp_path / "submitted" / "s" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return grade_one("s", ASSIGNMENT, path, settings)


def test_a_failing_visible_check_leaves_the_verdict_to_the_graders_judge(own_settings, tmp_path):
    """f is wrong, g right: the visible check stops at f's assert, yet the grader reads both
    hidden observations; g's point stays and f's verdict is the grader's own."""
    rec = _grade(own_settings, tmp_path, _submission("return x * x", "return x + 2"))
    (test,) = rec.tests
    assert (test.score, test.status) == (1.0, "partial"), test.message
    assert "f: " in test.message and "not observed" not in test.message
    assert "g: " in test.message
    assert "AssertionError: f(1) should be 2" in test.visible  # the student's own view kept
    correct = _grade(own_settings, tmp_path, _submission("return 2 * x", "return x + 2"))
    assert correct.score == correct.max_score == 2.0


def test_a_visible_check_that_is_wrong_about_a_correct_answer_does_not_decide(
    own_settings, tmp_path
):
    """An answer right on the grader's inputs and wrong only on the visible case is judged on
    the grader's inputs: the visible check informs, the grader decides."""
    rec = _grade(
        own_settings, tmp_path, _submission("return 2 * x if x != 1 else 0", "return x + 2")
    )
    (test,) = rec.tests
    assert test.score == 2.0 and test.status == "passed"
    assert "AssertionError: f(1) should be 2" in test.visible


def test_the_tour_reports_the_graders_verdict_on_a_bug_its_check_catches(settings, tmp_path):
    from course_lib.instructor.grading.sample import fill
    from tests.instructor.grading.tour_corpus import write

    nb = fill(SOLUTIONS / f"{TOUR}.ipynb", {"td_target": "return reward + gamma * next_value"})
    rec = grade_one("s", TOUR, write(tmp_path, nb), settings)
    assert scores(rec) == {"test_run_episode": 2.0, "test_td_target": 0.0}
    (td,) = [t for t in rec.tests if t.grade_id == "test_td_target"]
    assert "not observed" not in td.message and td.message.startswith("td_target: ")
    assert "check_td_target" in td.visible


def test_split_keeps_the_released_visible_part_and_runs_the_hidden_part_after_it():
    nb = nbformat.read(SOLUTIONS / f"{TOUR}.ipynb", as_version=4)
    split = split_hidden_tests(nb)
    test = cell(nb, "test_td_target")
    position = nb.cells.index(test)
    shifted = position + 1  # one test cell (test_run_episode) comes before it
    assert split.notebook.cells[shifted].source == "checks.check_td_target(td_target)"
    hidden = split.notebook.cells[shifted + 1]
    assert hidden.source.startswith("from course_lib.probes import tour as probes")
    assert "### " not in hidden.source and not hidden.metadata
    assert split.parent[shifted + 1] == shifted
    assert split.original[shifted] == split.original[shifted + 1] == position
    assert len(split.notebook.cells) == len(nb.cells) + 2
    assert nb.cells[position].source == test.source  # the notebook itself is not changed


def test_a_hidden_region_inside_a_block_is_not_split():
    nb = _notebook()
    nb.cells[2].source = (
        "if True:\n    assert f(1) == 2\n    ### BEGIN HIDDEN TESTS\n    cl.observe('f', f(3))\n"
        "    ### END HIDDEN TESTS\n"
    )
    split = split_hidden_tests(nb)
    assert len(split.notebook.cells) == 3 and not split.parent


def _record(index: int, status: str = "ok", **kw) -> CellRecord:
    return CellRecord(
        index=index, cell_id=None, grade_id=kw.pop("grade_id", None), status=status, **kw
    )


def _result(cells: list[CellRecord], nb: nbformat.NotebookNode) -> ExecutionResult:
    return ExecutionResult(cells, True, 1.0, 0.1, None, 0, 0, [], nb)


@pytest.mark.parametrize(
    ("visible", "hidden", "outcome"),
    [
        ("ok", "ok", ("ok", None)),
        ("error", "ok", ("error", "AssertionError")),  # the visible failure is what it shows
        ("ok", "error", ("error", "NotImplementedError")),  # as when the cell ran whole
        ("error", "error", ("error", "AssertionError")),
        ("timeout", "dead", ("timeout", None)),
    ],
)
def test_merge_gives_one_record_per_test_cell(visible, hidden, outcome):
    split = split_hidden_tests(_notebook())
    names = {"error": "AssertionError"}
    seen = _record(
        2,
        visible,
        grade_id="test_answers",
        seconds=1.0,
        outputs=[{"a": 1}],
        ename=names.get(visible),
    )
    probe = _record(
        3,
        hidden,
        seconds=0.5,
        outputs=[{"b": 2}],
        ename="NotImplementedError" if hidden == "error" else None,
    )
    result = _result([_record(0), _record(1), seen, probe], split.notebook)
    merged = merge_hidden_tests(result, split)
    assert [r.index for r in merged.cells] == [0, 1, 2]
    (test,) = [r for r in merged.cells if r.grade_id == "test_answers"]
    assert (test.status, test.ename) == outcome
    assert test.outputs == [{"a": 1}, {"b": 2}] and test.seconds == 1.5
    assert len(merged.notebook.cells) == 3


def test_what_the_hidden_tests_print_stays_out_of_the_students_view():
    # A probe runs the student's code, which may print; the feedback shows the student only
    # what the visible part printed, as in their own notebook.
    split = split_hidden_tests(_notebook())
    stream = {"output_type": "stream", "name": "stdout"}
    seen = _record(2, "ok", grade_id="test_answers", outputs=[{**stream, "text": "mine\n"}])
    probe = _record(3, "ok", outputs=[{**stream, "text": "printed by the probe's run\n"}])
    merged = merge_hidden_tests(
        _result([_record(0), _record(1), seen, probe], split.notebook), split
    )
    (test,) = [r for r in merged.cells if r.grade_id == "test_answers"]
    assert test.visible_outputs == 1 and len(test.outputs) == 2
    assert _visible_text(test) == "mine"
