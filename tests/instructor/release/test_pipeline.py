"""The whole pipeline on scratch repositories under tmp_path."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from course_lib.instructor.release import (
    ReleaseContext,
    ReleaseError,
    check_course,
    release_course,
    release_notebook,
    write_notebook,
)
from course_lib.instructor.release.markers import FORBIDDEN_WORDS
from course_lib.instructor.release.nbgrader import nbgrader_checksum
from course_lib.instructor.release.pipeline import is_generated, notebook_text


def _snapshot(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


# --------------------------------------------------------------------------- release_notebook


def test_release_notebook_student_version(course):
    nb = release_notebook(course.solutions / "01_demo.ipynb")
    assert [(cell.id, cell.cell_type, cell.source) for cell in nb.cells] == [
        ("setup-colab", "code", nb.cells[0].source),
        ("c1", "markdown", "# Demo"),
        ("c2", "code", "import math"),
        ("c3", "code", "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
        ("c4", "code", "assert double(1) == 2"),
    ]
    assert 'else "course-lib @ git+https://example.org/course.git"' in nb.cells[0].source
    assert nb.metadata == {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "course_lib": {"source": "solutions/01_demo.ipynb", "generated": True},
    }
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    for cell in nb.cells:
        record = cell.metadata.get("nbgrader", {})
        if record:
            assert record["checksum"] == nbgrader_checksum(cell)
        if record.get("locked"):
            assert cell.metadata.editable is False and cell.metadata.deletable is False
        if record.get("solution"):
            assert cell.metadata.deletable is False and "editable" not in cell.metadata


def test_release_notebook_does_not_change_the_source_file(course):
    path = course.solutions / "01_demo.ipynb"
    before = path.read_bytes()
    release_notebook(path)
    assert path.read_bytes() == before


def test_release_notebook_with_an_explicit_context(course, tmp_path):
    ctx = ReleaseContext(repo_root=tmp_path, colab_install="other-source==2.0")
    nb = release_notebook(course.solutions / "01_demo.ipynb", ctx)
    assert 'else "other-source==2.0"' in nb.cells[0].source
    assert nb.metadata.course_lib.source == "repo/solutions/01_demo.ipynb"


def test_no_marker_strings_in_the_written_notebook(course):
    release_course(course.solutions, course.notebooks)
    text = (course.notebooks / "01_demo.ipynb").read_text(encoding="utf-8")
    for word in FORBIDDEN_WORDS:
        assert word not in text
    assert "2 * x" not in text
    assert "double(5)" not in text


def test_safety_check_catches_a_marker_hidden_in_metadata(course, nbf):
    path = course.add("02_sneaky.ipynb", nbf.notebook(nbf.free("x = 1", tags=["END SOLUTION"])))
    with pytest.raises(
        ReleaseError, match=r"safety check failed: .*'END SOLUTION' in cell 2"
    ) as info:
        release_notebook(path)
    assert str(path) in str(info.value)


def test_marker_error_names_the_notebook_cell_and_line(course, nbf):
    path = course.add(
        "02_broken.ipynb",
        nbf.notebook(nbf.solution("x = 1\n### END SOLUTION", grade_id="q2", cell_id="bad")),
    )
    expected = (
        f"{path}, cell 1 (id 'bad', grade_id 'q2'), line 2: `### END SOLUTION` has no "
        f"matching `### BEGIN SOLUTION` above it"
    )
    with pytest.raises(ReleaseError, match=re.escape(expected)):
        release_notebook(path)


def test_old_notebooks_get_deterministic_cell_ids(course, nbf):
    nb = nbf.notebook(nbf.free("a"), nbf.given("b", grade_id="g"))
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    path = course.solutions / "02_old.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    first = notebook_text(release_notebook(path))
    assert [cell.id for cell in release_notebook(path).cells] == ["setup-colab", "cell-1", "cell-2"]
    assert notebook_text(release_notebook(path)) == first


def test_duplicate_cell_ids_are_refused(course, nbf):
    path = course.add(
        "02_dup.ipynb", nbf.notebook(nbf.free("a", cell_id="x"), nbf.free("b", cell_id="y"))
    )
    data = json.loads(path.read_text(encoding="utf-8"))
    data["cells"][1]["id"] = "x"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        ReleaseError, match=r"cell 2 \(id 'x'\): cell id 'x' is also used by cell 1"
    ):
        release_notebook(path)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("", r"is empty, so it is not a notebook; restore it from git"),
        ("   \n", r"is empty, so it is not a notebook"),
        ('{"cells": [', r"is not valid JSON \(line 1, column 12: .*\), so it is not a notebook"),
        ("<<<<<<< HEAD\n", r"is not valid JSON .*merge-conflict markers"),
        ('{"name": "package.json"}', r"is JSON but not a Jupyter notebook"),
        ("[1, 2]", r"is JSON but not a Jupyter notebook"),
        ('{"nbformat": 4, "nbformat_minor": 5, "cells": "no"}', r"is not a valid notebook \("),
    ],
)
def test_unreadable_sources_name_the_file(course, content, pattern):
    path = course.solutions / "00_bad.ipynb"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReleaseError, match=f"^{re.escape(str(path))} {pattern}"):
        release_notebook(path)
    with pytest.raises(ReleaseError, match=re.escape(str(path))):
        release_course(course.solutions, course.notebooks)
    assert not course.notebooks.exists()  # nothing written, not even the good notebook


def test_non_utf8_and_missing_files(course):
    path = course.solutions / "00_bin.ipynb"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ReleaseError, match=r"is not UTF-8 text, so it is not a notebook"):
        release_notebook(path)
    with pytest.raises(ReleaseError, match=r"nope\.ipynb does not exist"):
        release_notebook(course.solutions / "nope.ipynb")


# --------------------------------------------------------------------------- writing


def test_write_notebook_is_deterministic_and_skips_unchanged_files(course, tmp_path):
    nb = release_notebook(course.solutions / "01_demo.ipynb")
    target = tmp_path / "out" / "x.ipynb"
    assert write_notebook(nb, target) is True
    text = target.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text.startswith('{\n "cells": [\n  {\n')  # indent=1, sorted keys
    assert write_notebook(nb, target) is False
    assert target.read_text(encoding="utf-8") == text
    assert [p.name for p in target.parent.iterdir()] == ["x.ipynb"]  # no partial files left


def test_release_course_twice_gives_identical_bytes(course, nbf, tmp_path):
    course.add("00_intro.ipynb", nbf.notebook(nbf.free("Hello", cell_type="markdown")))
    written = release_course(course.solutions, course.notebooks)
    assert written == [course.notebooks / "00_intro.ipynb", course.notebooks / "01_demo.ipynb"]
    first = _snapshot(course.notebooks)
    log: list[str] = []
    release_course(course.solutions, course.notebooks, log=log.append)
    assert _snapshot(course.notebooks) == first
    assert log == [
        f"released {course.solutions / name} -> {course.notebooks / name} (unchanged)"
        for name in ("00_intro.ipynb", "01_demo.ipynb")
    ]
    other = tmp_path / "elsewhere"
    release_course(course.solutions, other)
    assert _snapshot(other) == first


def test_release_course_output_is_a_valid_notebook(course):
    release_course(course.solutions, course.notebooks)
    nb = nbformat.read(course.notebooks / "01_demo.ipynb", as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    assert is_generated(course.notebooks / "01_demo.ipynb")


def test_release_course_errors(course, tmp_path):
    with pytest.raises(ReleaseError, match=r"source directory .*missing does not exist.*--source"):
        release_course(tmp_path / "missing", course.notebooks)
    with pytest.raises(ReleaseError, match="source and destination are the same directory"):
        release_course(course.solutions, course.solutions)


def test_release_course_without_a_colab_source_writes_the_upload_cell(tmp_path, nbf):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    nbformat.write(nbf.notebook(nbf.free("x")), solutions / "a.ipynb")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    assert release_course(solutions, tmp_path / "notebooks") == [tmp_path / "notebooks" / "a.ipynb"]
    setup = nbformat.read(tmp_path / "notebooks" / "a.ipynb", as_version=4).cells[0]
    assert "else None  # this course names no install source" in setup.source
    assert release_course(solutions, tmp_path / "notebooks", colab_install="pkg") == [
        tmp_path / "notebooks" / "a.ipynb"
    ]


# --------------------------------------------------------------------------- stale files


def test_orphans_are_deleted_but_never_other_files(course, nbf):
    release_course(course.solutions, course.notebooks)
    course.add("02_extra.ipynb", nbf.notebook(nbf.free("x")))
    release_course(course.solutions, course.notebooks)
    hand_made = course.notebooks / "scratch.ipynb"
    nbformat.write(nbf.notebook(nbf.free("mine")), hand_made)
    broken = course.notebooks / "broken.ipynb"
    broken.write_text("not json", encoding="utf-8")
    odd = course.notebooks / "odd.ipynb"
    odd.write_text('{"metadata": "course_lib generated"}', encoding="utf-8")
    readme = course.notebooks / "README.md"
    readme.write_text("keep me", encoding="utf-8")

    (course.solutions / "02_extra.ipynb").unlink()
    log: list[str] = []
    release_course(course.solutions, course.notebooks, log=log.append)

    assert sorted(p.name for p in course.notebooks.iterdir()) == [
        "01_demo.ipynb",
        "README.md",
        "broken.ipynb",
        "odd.ipynb",
        "scratch.ipynb",
    ]
    assert (
        log[-1]
        == f"removed {course.notebooks / '02_extra.ipynb'} (generated, but its source is gone)"
    )


def test_a_hand_made_file_is_never_overwritten(course, nbf):
    course.notebooks.mkdir()
    target = course.notebooks / "01_demo.ipynb"
    nbformat.write(nbf.notebook(nbf.free("student work")), target)
    before = target.read_bytes()
    with pytest.raises(
        ReleaseError, match=r"refusing to overwrite .*01_demo\.ipynb: not generated"
    ):
        release_course(course.solutions, course.notebooks)
    assert target.read_bytes() == before
    assert check_course(course.solutions, course.notebooks) == [
        f"not generated: {target} was not written by `course-lib release`, which will refuse "
        f"to overwrite it with {course.solutions / '01_demo.ipynb'}; move or delete it"
    ]


def test_check_course_fresh_missing_stale_orphaned(course, nbf):
    demo_src = course.solutions / "01_demo.ipynb"
    demo_dest = course.notebooks / "01_demo.ipynb"
    assert check_course(course.solutions, course.notebooks) == [
        f"missing: {demo_dest} (from {demo_src})"
    ]
    assert not course.notebooks.exists()  # check writes nothing

    release_course(course.solutions, course.notebooks)
    assert check_course(course.solutions, course.notebooks) == []

    nb = nbformat.read(demo_src, as_version=4)
    nb.cells[0].source = "# Demo, revised"
    nbformat.write(nb, demo_src)
    course.add("02_extra.ipynb", nbf.notebook(nbf.free("x")))
    release_course(course.solutions, course.notebooks)
    (course.solutions / "02_extra.ipynb").unlink()
    nb.cells[0].source = "# Demo, revised again"
    nbformat.write(nb, demo_src)
    before = _snapshot(course.notebooks)

    assert check_course(course.solutions, course.notebooks) == [
        f"stale: {demo_dest} differs from a fresh release of {demo_src}",
        f"orphaned: {course.notebooks / '02_extra.ipynb'} was generated from a notebook that "
        f"is no longer in {course.solutions}",
    ]
    assert _snapshot(course.notebooks) == before


def test_check_course_sees_a_changed_colab_source(course):
    release_course(course.solutions, course.notebooks)
    assert check_course(course.solutions, course.notebooks, colab_install="different") == [
        f"stale: {course.notebooks / '01_demo.ipynb'} differs from a fresh release of "
        f"{course.solutions / '01_demo.ipynb'}"
    ]
