"""Builders of tiny instructor notebooks for the release tests.

Cells get deterministic ids (``c1``, ``c2``, ...) unless one is given, so
tests can pin exact messages and bytes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib.instructor.release.steps import ReleaseContext

COLAB_INSTALL = "course-lib @ git+https://example.org/course.git"


class NotebookFactory:
    """Makes cells of each nbgrader kind and notebooks out of them."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def _id(self, cell_id: str | None) -> str:
        return cell_id if cell_id is not None else f"c{next(self._ids)}"

    @staticmethod
    def record(
        grade_id: str,
        *,
        grade: bool = False,
        solution: bool = False,
        locked: bool = False,
        points: float | None = None,
    ) -> dict[str, Any]:
        """An nbgrader schema-3 cell record."""
        record: dict[str, Any] = {
            "grade": grade,
            "solution": solution,
            "locked": locked,
            "grade_id": grade_id,
            "schema_version": 3,
            "task": False,
        }
        if points is not None:
            record["points"] = points
        return record

    def cell(
        self,
        source: str,
        *,
        cell_type: str = "code",
        nbgrader: dict[str, Any] | None = None,
        cell_id: str | None = None,
        **metadata: Any,
    ) -> nbformat.NotebookNode:
        make = new_code_cell if cell_type == "code" else new_markdown_cell
        meta = dict(metadata)
        if nbgrader is not None:
            meta["nbgrader"] = nbgrader
        return make(source, id=self._id(cell_id), metadata=nbformat.from_dict(meta))

    def solution(
        self, source: str, grade_id: str = "answer", **kwargs: Any
    ) -> nbformat.NotebookNode:
        return self.cell(source, nbgrader=self.record(grade_id, solution=True), **kwargs)

    def test(
        self, source: str, grade_id: str = "test_answer", points: float = 1, **kwargs: Any
    ) -> nbformat.NotebookNode:
        record = self.record(grade_id, grade=True, locked=True, points=points)
        return self.cell(source, nbgrader=record, **kwargs)

    def given(self, source: str, grade_id: str = "given", **kwargs: Any) -> nbformat.NotebookNode:
        return self.cell(source, nbgrader=self.record(grade_id, locked=True), **kwargs)

    def free(self, source: str, **kwargs: Any) -> nbformat.NotebookNode:
        return self.cell(source, **kwargs)

    @staticmethod
    def notebook(*cells: Any, **metadata: Any) -> nbformat.NotebookNode:
        meta = {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.7"},
        }
        meta.update(metadata)
        return new_notebook(cells=list(cells), metadata=nbformat.from_dict(meta))


@pytest.fixture
def nbf() -> NotebookFactory:
    return NotebookFactory()


@pytest.fixture
def ctx(tmp_path: Path) -> ReleaseContext:
    """A context for ``<tmp>/solutions/demo.ipynb`` with an explicit Colab source."""
    return ReleaseContext(
        repo_root=tmp_path,
        notebook_path=tmp_path / "solutions" / "demo.ipynb",
        colab_install=COLAB_INSTALL,
    )


@dataclass
class Course:
    """A scratch repository: ``pyproject.toml``, ``solutions/``, ``notebooks/``."""

    root: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    def add(self, name: str, nb: nbformat.NotebookNode) -> Path:
        path = self.solutions / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path


@pytest.fixture
def course(tmp_path: Path, nbf: NotebookFactory) -> Course:
    """A scratch repository holding one releasable notebook, ``solutions/01_demo.ipynb``."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\n\n[tool.course-lib]\ncolab-install = "{COLAB_INSTALL}"\n',
        encoding="utf-8",
    )
    scratch = Course(root)
    scratch.add(
        "01_demo.ipynb",
        nbf.notebook(
            nbf.free("# Demo", cell_type="markdown"),
            nbf.given("import math", grade_id="imports"),
            nbf.solution(
                "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                grade_id="double",
            ),
            nbf.test(
                "assert double(1) == 2\n### BEGIN HIDDEN TESTS\nassert double(5) == 10\n"
                "### END HIDDEN TESTS",
                grade_id="test_double",
                points=2,
            ),
        ),
    )
    return scratch
