"""What the release steps share: the context, the error, the constants, the cell helpers.

Cell kinds follow nbgrader's cell metadata, schema version 3
(``cell.metadata["nbgrader"]``):

* solution cell: ``solution=True`` (its solution is replaced by a stub);
* test cell: ``grade=True, locked=True, points > 0`` (hidden tests removed);
* given cell: ``locked=True`` only (students may not edit it);
* written answer: a markdown cell with ``grade`` and ``solution`` true and 0 points;
* free cell: no nbgrader metadata, or all three flags false.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from course_lib.instructor.release.colab import (
    BADGE_ID,
    CourseSettings,
    SettingsError,
    read_settings,
)
from course_lib.instructor.release.markers import (
    MarkerError,
    Region,
    find_regions,
)

#: grade_id of the set-up cell that :class:`InsertSetupCell` puts first.
SETUP_GRADE_ID = "setup-colab"

#: Keys an nbgrader (schema 3) cell record may hold. ``checksum`` and
#: ``cell_type`` are written by nbgrader itself; the release recomputes or drops them.
NBGRADER_KEYS = frozenset(
    {"grade", "solution", "locked", "grade_id", "points", "schema_version", "task"}
    | {"checksum", "cell_type"}
)

#: The only cell-level metadata a student notebook keeps (``course_lib``: the grader's
#: skip mark, :mod:`course_lib.instructor.release.skipmarks`).
KEPT_CELL_METADATA = ("nbgrader", "course_lib", "tags", "editable", "deletable")

_GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class ReleaseError(ValueError):
    """The source notebook (or course) cannot be released as it is.

    The message names the notebook, the cell (1-based position, nbformat cell
    id and grade_id) and the line when they are known, then says what to fix.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: Path | str | None = None,
        cell_index: int | None = None,
        cell_id: str | None = None,
        grade_id: str | None = None,
        line: int | None = None,
    ) -> None:
        self.problem = problem
        self.path = path
        self.cell_index = cell_index
        self.cell_id = cell_id
        self.grade_id = grade_id
        self.line = line
        where: list[str] = []
        if path is not None:
            where.append(str(path))
        if cell_index is not None:
            names = [f"id {cell_id!r}" if cell_id else "no cell id"]
            if grade_id:
                names.append(f"grade_id {grade_id!r}")
            where.append(f"cell {cell_index} ({', '.join(names)})")
        if line is not None:
            where.append(f"line {line}")
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)


@dataclass(frozen=True)
class ReleaseContext:
    """What the steps need to know beyond the notebook itself.

    Attributes:
        repo_root: the directory whose ``pyproject.toml`` holds the ``[tool.course-lib]``
            settings (:mod:`course_lib.instructor.release.colab`).
        notebook_path: the instructor notebook being released, as the user
            named it (for messages and for ``metadata.course_lib.source``).
        colab_install: overrides the pyproject's Colab install source when given.
        student_path: where the student notebook will live, POSIX and relative to
            ``repo_root`` (for the "Open in Colab" badge); default ``notebooks/<name>``.
    """

    repo_root: Path
    notebook_path: Path | None = None
    colab_install: str | None = None
    student_path: str | None = None

    @property
    def where(self) -> str:
        """How messages name the notebook."""
        return str(self.notebook_path) if self.notebook_path is not None else "<notebook>"

    def source_label(self) -> str:
        """The source notebook as a stable POSIX path, e.g. ``solutions/01_a2c.ipynb``.

        Relative to the repository root when possible, otherwise the parent
        folder and file name: never absolute, so outputs do not depend on
        where the repository is checked out.
        """
        if self.notebook_path is None:
            return "<notebook>"
        path = self.notebook_path
        try:
            return path.resolve().relative_to(self.repo_root.resolve()).as_posix()
        except ValueError:
            return f"{path.parent.name}/{path.name}" if path.parent.name else path.name

    def student_label(self) -> str:
        """Where the student notebook lives, relative to the repository root."""
        if self.student_path is not None:
            return self.student_path
        name = self.notebook_path.name if self.notebook_path is not None else "notebook.ipynb"
        return f"notebooks/{name}"

    def settings(self) -> CourseSettings:
        """The course's Colab settings (``[tool.course-lib]``, with the override).

        Raises:
            ReleaseError: if the settings cannot be read or a value is unusable.
        """
        try:
            return read_settings(self.repo_root, colab_install=self.colab_install)
        except SettingsError as error:
            raise ReleaseError(str(error)) from None

    def colab_source(self) -> str | None:
        """The pip requirement Colab installs course_lib from, or None when none is set."""
        return self.settings().install_source


Step = Callable[[nbformat.NotebookNode, ReleaseContext], None]


class _Step:
    """Base of the step classes: only gives them a readable repr."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# --------------------------------------------------------------------------- helpers


def _nbgrader(cell: Any) -> dict[str, Any] | None:
    record = cell.get("metadata", {}).get("nbgrader")
    return record if isinstance(record, dict) else None


def _flag(cell: Any, name: str) -> bool:
    record = _nbgrader(cell)
    return bool(record and record.get(name) is True)


def _is_solution(cell: Any) -> bool:
    return _flag(cell, "solution")


def _is_grade(cell: Any) -> bool:
    return _flag(cell, "grade")


def _is_locked(cell: Any) -> bool:
    return _flag(cell, "locked")


def is_test_cell(cell: Any) -> bool:
    """A test cell: graded and not the student's to answer (a grade cell that is also a
    solution cell is an ungraded written answer, the student's own)."""
    record = _nbgrader(cell) or {}
    return bool(record.get("grade")) and not record.get("solution")


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _cell_error(
    ctx: ReleaseContext, index: int, cell: Any, problem: str, line: int | None = None
) -> ReleaseError:
    record = _nbgrader(cell)
    grade_id = record.get("grade_id") if record else None
    return ReleaseError(
        problem,
        path=ctx.where,
        cell_index=index + 1,
        cell_id=cell.get("id"),
        grade_id=grade_id if isinstance(grade_id, str) else None,
        line=line,
    )


def _regions(ctx: ReleaseContext, index: int, cell: Any) -> list[Region]:
    try:
        return find_regions(_source(cell))
    except MarkerError as error:
        raise _cell_error(ctx, index, cell, error.problem, error.line) from None


def _is_badge(cell: Any) -> bool:
    """An "Open in Colab" badge cell the release wrote (id ``colab-badge``, ``-1``, ...)."""
    cell_id = str(cell.get("id") or "")
    return (
        cell.get("cell_type") == "markdown"
        and (cell_id == BADGE_ID or cell_id.startswith(f"{BADGE_ID}-"))
        and _source(cell).startswith("[![Open In Colab]")
    )


def _is_setup(cell: Any) -> bool:
    return (_nbgrader(cell) or {}).get("grade_id") == SETUP_GRADE_ID


def _setup_position(nb: nbformat.NotebookNode) -> int:
    """Where a set-up cell may stand in a source: first, or second after a badge (a
    released notebook, released again)."""
    return 1 if nb.cells and _is_badge(nb.cells[0]) else 0


def _drop_release_head(nb: nbformat.NotebookNode) -> str | None:
    """Remove the badge and set-up cells a previous release put at the top (in either
    order); the old set-up cell's id, to keep."""
    kept_id = None
    while nb.cells and (_is_badge(nb.cells[0]) or _is_setup(nb.cells[0])):
        if _is_setup(nb.cells[0]):
            kept_id = nb.cells[0].get("id") or kept_id
        del nb.cells[0]
    return kept_id


def _free_id(nb: nbformat.NotebookNode, wanted: str) -> str:
    taken = {cell.get("id") for cell in nb.cells}
    cell_id, suffix = wanted, 1
    while cell_id in taken:
        cell_id = f"{wanted}-{suffix}"
        suffix += 1
    return cell_id
