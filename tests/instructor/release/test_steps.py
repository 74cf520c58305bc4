"""Each release step on its own, on tiny notebooks."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import nbformat
import pytest

from course_lib.instructor.release import STEPS, ReleaseContext, ReleaseError, cell_checksum
from course_lib.instructor.release.nbgrader import nbgrader_checksum
from course_lib.instructor.release.steps import (
    ClearOutputs,
    ClearSolutions,
    ComputeChecksums,
    InsertSetupCell,
    MarkGenerated,
    RemoveHiddenTests,
    StripVolatileMetadata,
    ValidateMarkers,
    ValidateMetadata,
    setup_cell_source,
)

# --------------------------------------------------------------------------- STEPS


def test_steps_order():
    assert [type(step).__name__ for step in STEPS] == [
        "ValidateMetadata",
        "ValidateMarkers",
        "ValidateSkipMarks",
        "ClearSolutions",
        "RemoveHiddenTests",
        "ClearOutputs",
        "StripVolatileMetadata",
        "MarkGenerated",
        "InsertSetupCell",
        "InsertColabBadge",
        "ComputeChecksums",
    ]
    assert repr(STEPS[0]) == "ValidateMetadata()"


# --------------------------------------------------------------------------- ReleaseError / context


def test_release_error_names_path_cell_grade_id_and_line():
    error = ReleaseError(
        "fix it.", path="solutions/a.ipynb", cell_index=3, cell_id="abc", grade_id="q1", line=7
    )
    assert str(error) == "solutions/a.ipynb, cell 3 (id 'abc', grade_id 'q1'), line 7: fix it."
    assert isinstance(error, ValueError)
    assert (error.path, error.cell_index, error.line) == ("solutions/a.ipynb", 3, 7)
    assert str(ReleaseError("plain.")) == "plain."
    assert str(ReleaseError("x.", path="p", cell_index=1)) == "p, cell 1 (no cell id): x."


def test_colab_source_comes_from_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.course-lib]\ncolab-install = "pkg @ git+https://h/r.git"\n', encoding="utf-8"
    )
    assert ReleaseContext(tmp_path).colab_source() == "pkg @ git+https://h/r.git"
    assert ReleaseContext(tmp_path, colab_install="other==1.0").colab_source() == "other==1.0"


def test_colab_source_missing_pyproject_or_key_is_none(tmp_path):
    assert ReleaseContext(tmp_path).colab_source() is None
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    assert ReleaseContext(tmp_path).colab_source() is None
    assert ReleaseContext(tmp_path, colab_install="pkg==1").colab_source() == "pkg==1"
    (tmp_path / "pyproject.toml").write_text("[project\n", encoding="utf-8")
    with pytest.raises(ReleaseError, match=r"cannot read .*pyproject\.toml"):
        ReleaseContext(tmp_path).colab_source()


@pytest.mark.parametrize("bad", ['pkg"; rm -rf /', "pkg-$HOME", "pkg{x}", "a\nb", "", 3])
def test_colab_source_refuses_values_that_break_the_pip_line(tmp_path, bad):
    with pytest.raises(ReleaseError, match="--colab-install"):
        ReleaseContext(tmp_path, colab_install=bad).colab_source()


def test_source_label_is_relative_posix(tmp_path):
    ctx = ReleaseContext(tmp_path, notebook_path=tmp_path / "solutions" / "a.ipynb")
    assert ctx.source_label() == "solutions/a.ipynb"
    outside = ReleaseContext(tmp_path / "repo", notebook_path=tmp_path / "elsewhere" / "b.ipynb")
    assert outside.source_label() == "elsewhere/b.ipynb"


# --------------------------------------------------------------------------- ValidateMetadata


def test_validate_metadata_accepts_the_four_kinds(nbf, ctx):
    nb = nbf.notebook(
        nbf.solution("x = 1", grade_id="a"),
        nbf.test("assert x", grade_id="b", points=0.5),
        nbf.given("import os", grade_id="c"),
        nbf.free("text", cell_type="markdown"),
        nbf.cell("y = 2", nbgrader=nbf.record("d")),  # all flags false
    )
    before = copy.deepcopy(nb)
    ValidateMetadata()(nb, ctx)
    assert nb == before


def _metadata_error(nbf, ctx, cell, pattern):
    nb = nbf.notebook(nbf.free("first"), cell)
    with pytest.raises(ReleaseError, match=pattern):
        ValidateMetadata()(nb, ctx)


def test_missing_grade_id_names_path_and_cell(nbf, ctx):
    record = nbf.record("x", solution=True)
    del record["grade_id"]
    expected = re.escape(
        f"{ctx.notebook_path}, cell 2 (id 'c9'): has nbgrader metadata but no grade_id; "
        f"give it a grade_id that is unique in the notebook"
    )
    _metadata_error(nbf, ctx, nbf.cell("x", nbgrader=record, cell_id="c9"), f"^{expected}")


def test_duplicate_grade_id(nbf, ctx):
    nb = nbf.notebook(
        nbf.solution("a", grade_id="q1", cell_id="first"),
        nbf.test("b", grade_id="q1", cell_id="second"),
    )
    expected = (
        "cell 2 (id 'second', grade_id 'q1'): grade_id 'q1' is also used by cell 1 "
        "(id 'first'); grade_ids must be unique within a notebook"
    )
    with pytest.raises(ReleaseError, match=re.escape(expected)):
        ValidateMetadata()(nb, ctx)


@pytest.mark.parametrize("points", [None, 0, -1, True, "2", float("nan")])
def test_grade_cell_needs_positive_points(nbf, ctx, points):
    record = nbf.record("t", grade=True, locked=True, points=points)  # None: no points key
    _metadata_error(
        nbf,
        ctx,
        nbf.cell("assert 1", nbgrader=record),
        r"grade_id 't'\): a test cell needs positive points, but points is",
    )


@pytest.mark.parametrize(
    ("record", "pattern"),
    [
        ({"solution": True, "locked": True}, "a solution cell cannot be locked"),
        ({"grade": True, "points": 1}, r"a test cell \(grade=true\) must be locked"),
        ({"grade": True, "solution": True, "points": 1}, "manually graded answer"),
        ({"points": 3}, "has points=3 but grade is false"),
        ({"task": True}, "tasks are not supported"),
        ({"schema_version": 2}, "only schema 3 is supported"),
        ({"solutoin": True}, r"unknown nbgrader key\(s\) 'solutoin' \(a typo\?\)"),
        ({"locked": "yes"}, "nbgrader 'locked' is 'yes'; set it to true or false"),
        ({"grade_id": "has space"}, "may only contain letters, digits"),
    ],
)
def test_metadata_schema_errors(nbf, ctx, record, pattern):
    full = nbf.record("q")
    full.update(record)
    _metadata_error(nbf, ctx, nbf.cell("x", nbgrader=full), pattern)


def test_missing_flag(nbf, ctx):
    record = nbf.record("q")
    del record["grade"]
    _metadata_error(nbf, ctx, nbf.cell("x", nbgrader=record), "nbgrader 'grade' is missing")


def test_cell_type_rules(nbf, ctx):
    test_md = nbf.cell(
        "x", cell_type="markdown", nbgrader=nbf.record("t", grade=True, locked=True, points=1)
    )
    _metadata_error(nbf, ctx, test_md, "a test cell must be a code cell, not markdown")
    raw = nbformat.v4.new_raw_cell(
        "x", id="r1", metadata={"nbgrader": nbf.record("s", solution=True)}
    )
    _metadata_error(nbf, ctx, raw, "a solution cell must be a code or markdown cell, not raw")
    frozen = nbf.solution("x", grade_id="s", editable=False)
    _metadata_error(nbf, ctx, frozen, "a solution cell is marked editable=false")


def test_setup_grade_id_is_reserved_except_first(nbf, ctx):
    _metadata_error(
        nbf,
        ctx,
        nbf.given("x", grade_id="setup-colab"),
        "'setup-colab' is reserved for the set-up cell",
    )
    nb = nbf.notebook(nbf.given("old setup", grade_id="setup-colab"), nbf.free("x"))
    ValidateMetadata()(nb, ctx)


def test_metadata_must_be_an_object(nbf, ctx):
    _metadata_error(nbf, ctx, nbf.cell("x", nbgrader=[]), "metadata.nbgrader must be an object")


# --------------------------------------------------------------------------- ValidateMarkers


def test_validate_markers_accepts_well_placed_markers(nbf, ctx):
    nb = nbf.notebook(
        nbf.solution("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        nbf.test("### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS"),
    )
    before = copy.deepcopy(nb)
    ValidateMarkers()(nb, ctx)
    assert nb == before


def test_unbalanced_marker_error_names_notebook_cell_grade_id_and_line(nbf, ctx):
    nb = nbf.notebook(
        nbf.free("intro", cell_type="markdown"),
        nbf.solution(
            "def f():\n    ### BEGIN SOLUTION\n    return 1\n", grade_id="q1", cell_id="abc"
        ),
    )
    expected = (
        f"{ctx.notebook_path}, cell 2 (id 'abc', grade_id 'q1'), line 2: "
        "`### BEGIN SOLUTION` is never closed; add `### END SOLUTION` on its own line after "
        "the last line of the solution."
    )
    with pytest.raises(ReleaseError, match=f"^{re.escape(expected)}$") as info:
        ValidateMarkers()(nb, ctx)
    assert (info.value.cell_id, info.value.grade_id, info.value.line) == ("abc", "q1", 2)


def test_solution_markers_outside_a_solution_cell(nbf, ctx):
    nb = nbf.notebook(nbf.free("a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION", cell_id="f1"))
    with pytest.raises(
        ReleaseError,
        match=re.escape(
            "cell 1 (id 'f1'), line 2: `### BEGIN SOLUTION` in a cell that is not a solution cell"
        ),
    ):
        ValidateMarkers()(nb, ctx)


def test_solution_markers_in_a_test_cell(nbf, ctx):
    nb = nbf.notebook(nbf.test("### BEGIN SOLUTION\n### END SOLUTION", grade_id="t"))
    with pytest.raises(
        ReleaseError, match="grade_id 't'\\), line 1: `### BEGIN SOLUTION` in a cell"
    ):
        ValidateMarkers()(nb, ctx)


def test_hidden_markers_outside_a_test_cell(nbf, ctx):
    nb = nbf.notebook(
        nbf.solution("x = 1\n\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", grade_id="s")
    )
    with pytest.raises(
        ReleaseError,
        match=re.escape(
            "grade_id 's'), line 3: `### BEGIN HIDDEN TESTS` in a cell that is not a test cell"
        ),
    ):
        ValidateMarkers()(nb, ctx)


def test_stray_marker_word_in_markdown(nbf, ctx):
    nb = nbf.notebook(nbf.free("Write it between the BEGIN SOLUTION lines", cell_type="markdown"))
    with pytest.raises(ReleaseError, match="line 1: mentions 'BEGIN SOLUTION' but is not a marker"):
        ValidateMarkers()(nb, ctx)


# --------------------------------------------------------------------------- ClearSolutions


def test_clear_solutions_regions_and_whole_cells(nbf, ctx):
    nb = nbf.notebook(
        nbf.solution(
            "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", grade_id="a"
        ),
        nbf.solution("x = 42", grade_id="b"),
        nbf.solution("Because.", grade_id="c", cell_type="markdown"),
        nbf.solution(
            "Q:\n### BEGIN SOLUTION\nA.\n### END SOLUTION", grade_id="d", cell_type="markdown"
        ),
        nbf.given("keep = 1"),
        nbf.free("also kept"),
    )
    ClearSolutions()(nb, ctx)
    assert [cell.source for cell in nb.cells] == [
        "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()",
        "# YOUR CODE HERE\nraise NotImplementedError()",
        "YOUR ANSWER HERE",
        "Q:\nYOUR ANSWER HERE",
        "keep = 1",
        "also kept",
    ]


# --------------------------------------------------------------------------- RemoveHiddenTests


def test_remove_hidden_tests_only_in_test_cells(nbf, ctx):
    nb = nbf.notebook(
        nbf.test("assert f() == 1\n### BEGIN HIDDEN TESTS\nassert f() != 2\n### END HIDDEN TESTS"),
        nbf.test("assert True", grade_id="t2"),
    )
    RemoveHiddenTests()(nb, ctx)
    assert [cell.source for cell in nb.cells] == ["assert f() == 1", "assert True"]


# --------------------------------------------------------------------------- ClearOutputs


def test_clear_outputs(nbf, ctx):
    code = nbf.free("print(1)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    code.execution_count = 7
    markdown = nbf.free("*hi*", cell_type="markdown")
    nb = nbf.notebook(code, markdown)
    ClearOutputs()(nb, ctx)
    assert nb.cells[0].outputs == []
    assert nb.cells[0].execution_count is None
    assert "outputs" not in nb.cells[1]


# --------------------------------------------------------------------------- StripVolatileMetadata


def test_strip_volatile_metadata(nbf, ctx):
    record = nbf.record("given", locked=True)
    record.update(checksum="stale", cell_type="code")
    given = nbf.cell(
        "import os",
        nbgrader=record,
        tags=["keep-me"],
        collapsed=True,
        scrolled=False,
        ExecuteTime={"end_time": "2024-01-01"},
        execution={"iopub.status.busy": "2024-01-01"},
        jupyter={"outputs_hidden": True},
    )
    free = nbf.free("x = 1", editable=True, deletable=True, scrolled=True)
    nb = nbf.notebook(
        given,
        free,
        widgets={"application/vnd.jupyter.widget-state+json": {"state": {}}},
        toc={"nav_menu": {}},
    )
    StripVolatileMetadata()(nb, ctx)
    assert nb.metadata == {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    assert nb.cells[0].metadata == {
        "nbgrader": nbf.record("given", locked=True),
        "tags": ["keep-me"],
        "editable": False,
        "deletable": False,
    }
    assert nb.cells[1].metadata == {"editable": True, "deletable": True}


# --------------------------------------------------------------------------- MarkGenerated


def test_mark_generated(nbf, ctx):
    nb = nbf.notebook()
    MarkGenerated()(nb, ctx)
    assert nb.metadata.course_lib == {"source": "solutions/demo.ipynb", "generated": True}


# --------------------------------------------------------------------------- InsertSetupCell


def expected_setup(source: str | None) -> str:
    return setup_cell_source(source)


def test_setup_cell_source_names_the_source():
    source = setup_cell_source("pkg @ git+https://h/r.git")
    assert 'else "pkg @ git+https://h/r.git"' in source
    assert 'if "google.colab" in sys.modules:\n    _install_course_lib()' in source
    compile(source, "setup", "exec")  # plain Python: no magics
    assert "else None" in setup_cell_source(None)
    compile(setup_cell_source(None), "setup", "exec")


def test_insert_setup_cell_first(nbf, ctx):
    nb = nbf.notebook(nbf.free("x = 1"))
    InsertSetupCell()(nb, ctx)
    assert len(nb.cells) == 2
    setup = nb.cells[0]
    assert setup.id == "setup-colab"
    assert setup.cell_type == "code"
    assert setup.source == expected_setup(ctx.colab_install)
    assert setup.metadata == {
        "nbgrader": {
            "grade": False,
            "solution": False,
            "locked": True,
            "grade_id": "setup-colab",
            "schema_version": 3,
            "task": False,
        },
        "editable": False,
        "deletable": False,
    }
    assert setup.outputs == [] and setup.execution_count is None


def test_insert_setup_cell_replaces_an_existing_one_and_is_idempotent(nbf, ctx):
    nb = nbf.notebook(
        nbf.given("!pip install old", grade_id="setup-colab", cell_id="s0"), nbf.free("x")
    )
    InsertSetupCell()(nb, ctx)
    once = copy.deepcopy(nb)
    InsertSetupCell()(nb, ctx)
    assert nb == once
    assert [cell.source for cell in nb.cells] == [expected_setup(ctx.colab_install), "x"]
    assert nb.cells[0].id == "s0"


def test_insert_setup_cell_reads_pyproject(nbf, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.course-lib]\ncolab-install = "from-pyproject"\n', encoding="utf-8"
    )
    nb = nbf.notebook()
    InsertSetupCell()(nb, ReleaseContext(tmp_path))
    assert nb.cells[0].source == expected_setup("from-pyproject")


def test_insert_setup_cell_avoids_an_id_clash(nbf, ctx):
    nb = nbf.notebook(nbf.free("x", cell_id="setup-colab"))
    InsertSetupCell()(nb, ctx)
    assert [cell.id for cell in nb.cells] == ["setup-colab-1", "setup-colab"]


# --------------------------------------------------------------------------- ComputeChecksums


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_cell_checksum_canonical_form():
    expected = _sha("code\nx = 1\n\ty = 2")
    assert cell_checksum({"cell_type": "code", "source": "x = 1   \n\ty = 2\t\n"}) == expected
    assert cell_checksum({"cell_type": "code", "source": ["x = 1\n", "\ty = 2"]}) == expected
    assert cell_checksum({"cell_type": "code", "source": "x = 1\r\n\ty = 2\n\n"}) == expected
    assert cell_checksum({"cell_type": "markdown", "source": "x = 1\n\ty = 2"}) != expected
    assert cell_checksum({"cell_type": "code", "source": "x = 2\n\ty = 2"}) != expected
    assert cell_checksum({"cell_type": "code", "source": "x = 1\n\n\ty = 2"}) != expected


def test_compute_checksums_as_nbgrader_on_solution_test_and_locked_cells(nbf, ctx):
    nb = nbf.notebook(
        nbf.given("import os  "),
        nbf.test("assert True", grade_id="t"),
        nbf.solution("x = 1", grade_id="s"),
        nbf.free("y = 2"),
        nbf.cell("z = 3", nbgrader=nbf.record("plain")),
    )
    ComputeChecksums()(nb, ctx)
    for cell in nb.cells[:3]:
        record = cell.metadata.nbgrader
        assert record.checksum == nbgrader_checksum(cell) and len(record.checksum) == 32
        assert record.cell_type == "code"
    assert "nbgrader" not in nb.cells[3].metadata
    assert "checksum" not in nb.cells[4].metadata.nbgrader


def test_nbgrader_checksum_covers_source_kind_grade_id_and_points(nbf):
    base = nbf.test("assert True", grade_id="t", points=2)
    variants = [
        nbf.test("assert  True", grade_id="t", points=2),
        nbf.test("assert True", grade_id="u", points=2),
        nbf.test("assert True", grade_id="t", points=3),
        nbf.given("assert True", grade_id="t"),
    ]
    assert len({nbgrader_checksum(c) for c in [base, *variants]}) == 5
    again = nbf.test("assert True", grade_id="t", points=2.0)
    assert nbgrader_checksum(again) == nbgrader_checksum(base)


# --------------------------------------------------------------------------- all steps together


def test_all_steps_on_a_small_notebook(nbf, ctx):
    nb = nbf.notebook(
        nbf.given("import math", grade_id="imports", cell_id="g"),
        nbf.solution(
            "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", cell_id="s"
        ),
        nbf.test(
            "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS",
            cell_id="t",
        ),
    )
    for step in STEPS:
        step(nb, ctx)
    assert [(cell.id, cell.source) for cell in nb.cells] == [
        ("setup-colab", expected_setup(ctx.colab_install)),
        ("g", "import math"),
        ("s", "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        ("t", "assert f(1) == 2"),
    ]
    assert nb.cells[3].metadata.nbgrader.checksum == nbgrader_checksum(nb.cells[3])
    assert nb.metadata.course_lib == {"source": "solutions/demo.ipynb", "generated": True}


def test_context_path_is_used_as_given():
    ctx = ReleaseContext(Path("."), notebook_path=Path("solutions/x.ipynb"))
    assert ctx.where == "solutions/x.ipynb"
    assert ctx.source_label() == "solutions/x.ipynb"
