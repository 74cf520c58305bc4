"""Cells marked not needed for grading: which marks stand, and which the release refuses."""

from __future__ import annotations

import re

import nbformat
import pytest

from course_lib.instructor.release import ReleaseError, release_notebook
from course_lib.instructor.release.skipmarks import (
    SkipMarkError,
    cells_to_skip,
    check_skip_marks,
    defined_names,
    read_names,
)
from course_lib.instructor.release.steps import ValidateSkipMarks

SKIP = {"course_lib": {"grading": "skip"}}


def _skipped_given(nbf, source, grade_id="illustration"):
    return nbf.given(source, grade_id=grade_id, **SKIP)


# --------------------------------------------------------------------------- names


def test_defined_names_cover_every_way_a_cell_binds_or_changes_a_name():
    source = """
import numpy as np, os.path
from math import pi as PI
a, (b, *c) = 1, (2, 3)
d: int = 4
e += 1
f.attr = 5
g["key"][0] = 6
del h
for i in range(2):
    pass
with open("x") as j:
    pass
try:
    pass
except ValueError as k:
    pass
if (m := 3):
    pass
def n(param):
    local = 1
    global o
    o = param
class P:
    inside = 1
total = sum(q for q in range(3))
"""
    assert defined_names(source) == {
        *"abcdefghijkmno",
        "np",
        "os",
        "PI",
        "P",
        "total",
    }


def test_read_names_leave_out_what_a_function_or_comprehension_binds_itself():
    source = """
def td(reward, terminated):
    done = terminated
    return reward * (1 - done) + gamma
values = [v * scale for v in rewards]
print(values)
"""
    assert read_names(source) == {"gamma", "scale", "rewards", "print", "values"}


def test_magics_are_read_as_python_and_bad_code_reads_nothing_knowable():
    assert read_names("%matplotlib inline\nx = y + 1") == {"y", "get_ipython"}
    assert read_names("def broken(:\n") is None


# --------------------------------------------------------------------------- check_skip_marks


def test_a_mark_whose_names_a_later_cell_reads_is_refused_naming_both_cells(nbf):
    nb = nbf.notebook(
        nbf.given("import numpy as np", grade_id="imports"),
        _skipped_given(nbf, "results = {'TD3': [1, 2]}\nsteps = [0, 1]", grade_id="ablation"),
        nbf.free("# notes", cell_type="markdown"),
        nbf.test("assert len(steps) == 2", grade_id="test_steps", points=1),
    )
    with pytest.raises(SkipMarkError) as info:
        check_skip_marks(nb)
    message = str(info.value)
    assert info.value.cell_index == 1
    assert "defines `steps`, which cell 4 (grade_id 'test_steps') reads" in message
    assert "Remove the mark from cell 2 (grade_id 'ablation')" in message


def test_a_hidden_test_or_a_solution_that_reads_the_name_counts_too(nbf):
    hidden = nbf.test(
        "assert True\n### BEGIN HIDDEN TESTS\nassert table['x'] == 1\n### END HIDDEN TESTS",
        grade_id="test_table",
    )
    nb = nbf.notebook(_skipped_given(nbf, "table = {'x': 1}"), hidden)
    with pytest.raises(SkipMarkError, match=r"defines `table`, which cell 2 \(grade_id "):
        check_skip_marks(nb)
    solution = nbf.solution(
        "def f():\n    ### BEGIN SOLUTION\n    return table\n    ### END SOLUTION"
    )
    nb = nbf.notebook(_skipped_given(nbf, "table = {'x': 1}"), solution)
    with pytest.raises(SkipMarkError, match=r"which cell 2 \(grade_id 'answer'\) reads"):
        check_skip_marks(nb)


def test_a_mark_stands_when_later_cells_bind_the_name_again_or_only_use_parameters(nbf):
    nb = nbf.notebook(
        _skipped_given(nbf, "env = make('Pendulum')\nterminated = False\nframes = []"),
        nbf.solution(
            "def step(env, terminated):\n    ### BEGIN SOLUTION\n    return env, terminated\n"
            "    ### END SOLUTION"
        ),
        nbf.given("frames = record()\nshow(frames)", grade_id="show"),
        nbf.test("assert step(1, 2) == (1, 2)", grade_id="test_step"),
    )
    assert check_skip_marks(nb) == [0]


def test_marked_cells_may_use_each_others_names(nbf):
    nb = nbf.notebook(
        _skipped_given(nbf, "curves = run_all()", grade_id="runs"),
        _skipped_given(nbf, "plot(curves)", grade_id="plot"),
        nbf.test("assert True", grade_id="test_x"),
    )
    assert check_skip_marks(nb) == [0, 1]


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda nbf: nbf.test("assert True", grade_id="t", **SKIP), "is a test cell"),
        (
            lambda nbf: nbf.solution("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", **SKIP),
            "is a solution cell",
        ),
        (lambda nbf: nbf.free("x = 1", **SKIP), "is a cell without nbgrader metadata"),
        (
            lambda nbf: nbf.cell(
                "x = 1", nbgrader=nbf.record("loose", locked=False), cell_id="c9", **SKIP
            ),
            "is not locked",
        ),
        (lambda nbf: nbf.given("# text", cell_type="markdown", **SKIP), "is not a code cell"),
        (
            lambda nbf: nbf.given("x = 1", course_lib={"grading": "later"}),
            r"metadata.course_lib is \{'grading': 'later'\}",
        ),
        (
            lambda nbf: nbf.given("x = 1", course_lib={"grading": "skip", "why": "slow"}),
            "the only cell record understood",
        ),
    ],
)
def test_marks_only_stand_on_given_code_cells(nbf, make, pattern):
    nb = nbf.notebook(make(nbf))
    with pytest.raises(SkipMarkError, match=pattern):
        check_skip_marks(nb)


# --------------------------------------------------------------------------- the release


def test_the_release_refuses_a_bad_mark_with_the_notebook_and_both_cells(nbf, ctx):
    nb = nbf.notebook(
        _skipped_given(nbf, "scale = 2", grade_id="setup_scale"),
        nbf.test("assert scale == 2", grade_id="test_scale"),
    )
    with pytest.raises(ReleaseError) as info:
        ValidateSkipMarks()(nb, ctx)
    assert re.search(
        r"solutions/demo\.ipynb, cell 1 \(id 'c1', grade_id 'setup_scale'\): is marked not "
        r"needed for grading, but it defines `scale`, which cell 2 \(grade_id 'test_scale'\)",
        str(info.value),
    ), str(info.value)


def test_the_release_keeps_the_mark_and_students_see_the_cell_as_usual(nbf, course):
    nb = nbformat.read(course.solutions / "01_demo.ipynb", as_version=4)
    nb.cells.append(_skipped_given(nbf, "print(double(21))", grade_id="show"))
    course.add("01_demo.ipynb", nb)
    released = release_notebook(course.solutions / "01_demo.ipynb")
    (cell,) = [
        c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "show"
    ]
    assert cell.source == "print(double(21))"
    assert cell.metadata.course_lib == {"grading": "skip"}
    assert cell.metadata.editable is False


def test_the_course_notebooks_mark_their_illustrations():
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    marked = {}
    for path in sorted((root / "solutions").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        marked[path.stem] = [nb.cells[i].metadata.nbgrader.grade_id for i in check_skip_marks(nb)]
        released = nbformat.read(root / "notebooks" / path.name, as_version=4)
        assert [
            c.metadata.nbgrader.grade_id
            for c in released.cells
            if c.metadata.get("course_lib", {}).get("grading") == "skip"
        ] == marked[path.stem]
    assert marked["05_td3"] == ["ablation", "exploration", "show_agents"]
    assert all(marked.values()), marked


# --------------------------------------------------------------------------- cells_to_skip


def test_the_grader_runs_a_marked_cell_whose_names_the_students_own_cell_reads(nbf):
    nb = nbf.notebook(
        _skipped_given(nbf, "curves = run_all()", grade_id="ablation"),
        nbf.free("best = max(curves)"),  # the student's own cell, after the mark
        nbf.test("assert True", grade_id="test_x"),
    )
    skipped, notes = cells_to_skip(nb)
    assert skipped == []
    assert notes == [
        "cell 1 (grade_id 'ablation') ran although marked not needed for grading: "
        "cell 2 reads curves from it"
    ]
    nb.cells[1].source = "best = 3"
    assert cells_to_skip(nb) == ([0], [])


def test_the_grader_ignores_marks_a_submission_put_on_other_cells(nbf):
    nb = nbf.notebook(
        nbf.free("x = 1", **SKIP),
        nbf.test("assert True", grade_id="test_x", **SKIP),
        _skipped_given(nbf, "y = 2"),
    )
    assert cells_to_skip(nb) == ([2], [])


def test_an_earlier_function_that_reads_the_name_when_called_counts(nbf):
    nb = nbf.notebook(
        nbf.given("def run():\n    return steps * 2", grade_id="helpers"),
        _skipped_given(nbf, "steps = 5", grade_id="demo"),
        nbf.test("assert run() == 10", grade_id="test_run"),
    )
    with pytest.raises(SkipMarkError, match=r"which a function or class of cell 1 \(grade_id"):
        check_skip_marks(nb)


def test_a_method_called_on_an_object_changes_it_but_a_modules_function_does_not(nbf):
    nb = nbf.notebook(
        nbf.given("import numpy as np\nbuffer = []", grade_id="imports"),
        _skipped_given(nbf, "buffer.append(np.zeros(3))\nnp.random.seed(0)", grade_id="demo"),
        nbf.test("assert len(buffer) == 0 and np.pi > 3", grade_id="test_buffer"),
    )
    with pytest.raises(SkipMarkError, match=r"defines `buffer`, which cell 3"):
        check_skip_marks(nb)


def test_updates_and_deletions_read_the_name(nbf):
    for reader in ("count += 1", "del count", "def bump():\n    global count\n    count += 1"):
        nb = nbf.notebook(
            _skipped_given(nbf, "count = 0", grade_id="demo"),
            nbf.given(reader, grade_id="reader"),
        )
        with pytest.raises(SkipMarkError, match="defines `count`"):
            check_skip_marks(nb)
    nb = nbf.notebook(
        _skipped_given(nbf, "count = 0", grade_id="demo"),
        nbf.given("def f():\n    count = 1\n    count += 1\n    return count", grade_id="local"),
    )
    assert check_skip_marks(nb) == [0]


def test_a_loops_own_target_is_not_a_read_of_the_marked_value(nbf):
    nb = nbf.notebook(
        _skipped_given(nbf, "steps = [1, 2]", grade_id="demo"),
        nbf.given("for steps in range(3):\n    print(steps)", grade_id="loop"),
        nbf.test("assert True", grade_id="test_x"),
    )
    assert check_skip_marks(nb) == [0]


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("%time results = run_all()", "IPython magics"),
        ("from helpers import *", r"imports \* from helpers"),
        ("exec('results = 1')", r"calls exec\(\)"),
        ("globals()['results'] = 1", r"calls globals\(\)"),
        ("def broken(:", "not valid Python"),
    ],
)
def test_a_marked_cell_whose_names_cannot_be_read_is_refused(nbf, source, why):
    nb = nbf.notebook(_skipped_given(nbf, source), nbf.test("assert True", grade_id="t"))
    with pytest.raises(SkipMarkError, match=why):
        check_skip_marks(nb)
    assert cells_to_skip(nb) == ([], [])  # and the grader runs it


def test_a_students_cell_the_analysis_cannot_read_keeps_the_marked_cell_running(nbf):
    nb = nbf.notebook(
        _skipped_given(nbf, "curves = run_all()", grade_id="ablation"),
        nbf.free("%%time\nbest = max(curves)"),
        nbf.test("assert True", grade_id="test_x"),
    )
    assert cells_to_skip(nb)[0] == []
    deep = "y = " + "-" * 5000 + "1"
    nb.cells[1].source = deep  # too deep for the parser: read as reading everything
    assert cells_to_skip(nb)[0] == []


def test_a_students_rebinding_does_not_end_the_marked_cells_names(nbf):
    nb = nbf.notebook(
        _skipped_given(nbf, "table = {'x': 1}", grade_id="demo"),
        nbf.free("table = build()  # may raise before it binds"),
        nbf.free("print(table)"),
        nbf.test("assert True", grade_id="test_x"),
    )
    assert cells_to_skip(nb)[0] == []
    assert check_skip_marks(nb) == [0]  # the instructor's own cells do end them
