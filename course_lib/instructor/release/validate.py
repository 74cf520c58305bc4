"""The validating steps: they change nothing, and refuse a source that cannot be released.

Part of :data:`course_lib.instructor.release.steps.STEPS`, which runs them first.
"""

from __future__ import annotations

import math
from typing import Any

import nbformat

from course_lib.instructor.release.context import (
    _GRADE_ID,
    NBGRADER_KEYS,
    SETUP_GRADE_ID,
    ReleaseContext,
    ReleaseError,
    _cell_error,
    _is_grade,
    _is_solution,
    _regions,
    _setup_position,
    _Step,
)
from course_lib.instructor.release.markers import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
)
from course_lib.instructor.release.skipmarks import SkipMarkError, check_skip_marks


class ValidateMetadata(_Step):
    """Check every cell's nbgrader record (schema 3) before anything is changed.

    Requires: a ``grade_id`` (letters, digits, ``_``, ``-``) unique in the
    notebook; boolean ``grade``/``solution``/``locked``; no unknown keys;
    ``schema_version`` 3 and ``task`` false when present; one of the four
    supported kinds; positive ``points`` on test cells and on no other cell.
    The grade_id ``setup-colab`` is reserved for the first cell.
    """

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        seen: dict[str, int] = {}
        for index, cell in enumerate(nb.cells):
            if "nbgrader" not in cell.get("metadata", {}):
                continue
            self._check_cell(ctx, index, cell)
            grade_id = cell.metadata.nbgrader["grade_id"]
            if grade_id in seen:
                first = seen[grade_id]
                raise _cell_error(
                    ctx,
                    index,
                    cell,
                    f"grade_id {grade_id!r} is also used by cell {first + 1} "
                    f"(id {nb.cells[first].get('id')!r}); grade_ids must be unique within "
                    f"a notebook: rename one of them.",
                )
            seen[grade_id] = index
            if grade_id == SETUP_GRADE_ID and index != _setup_position(nb):
                raise _cell_error(
                    ctx,
                    index,
                    cell,
                    f"grade_id {SETUP_GRADE_ID!r} is reserved for the set-up cell the release "
                    f"inserts first; rename this cell's grade_id.",
                )

    @staticmethod
    def _check_cell(ctx: ReleaseContext, index: int, cell: Any) -> None:
        def fail(problem: str) -> ReleaseError:
            return _cell_error(ctx, index, cell, problem)

        record = cell.metadata["nbgrader"]
        if not isinstance(record, dict):
            raise fail(
                f"metadata.nbgrader must be an object, not {type(record).__name__}; "
                f"recreate the cell's nbgrader metadata."
            )
        grade_id = record.get("grade_id")
        if not isinstance(grade_id, str) or not grade_id:
            raise fail(
                "has nbgrader metadata but no grade_id; give it a grade_id that is unique "
                "in the notebook, e.g. 'q1_solution'."
            )
        if not _GRADE_ID.match(grade_id):
            raise fail(
                f"grade_id {grade_id!r} may only contain letters, digits, '_' and '-'; rename it."
            )
        unknown = sorted(set(record) - NBGRADER_KEYS)
        if unknown:
            raise fail(
                f"unknown nbgrader key(s) {', '.join(map(repr, unknown))} (a typo?); the "
                f"allowed keys are {', '.join(sorted(NBGRADER_KEYS))}."
            )
        for flag in ("grade", "solution", "locked"):
            if not isinstance(record.get(flag), bool):
                state = "is missing" if flag not in record else f"is {record[flag]!r}"
                raise fail(f"nbgrader {flag!r} {state}; set it to true or false.")
        if record.get("schema_version", 3) != 3:
            raise fail(
                f"nbgrader schema_version is {record['schema_version']!r}; only schema 3 is "
                f"supported: set it to 3 (and check the other keys follow schema 3)."
            )
        if record.get("task", False) is not False:
            raise fail("nbgrader tasks are not supported; set task to false.")

        grade, solution, locked = record["grade"], record["solution"], record["locked"]
        points = record.get("points")
        if grade and solution:
            if cell.cell_type != "markdown" or points != 0 or isinstance(points, bool):
                raise fail(
                    "grade and solution are both true (an nbgrader manually graded answer); "
                    "this course grades code automatically and takes that kind only for an "
                    "ungraded written answer: a markdown cell with points 0. Otherwise split it "
                    "into a solution cell and a test cell."
                )
        elif solution and cell.cell_type == "markdown":
            raise fail(
                "a markdown solution cell must also be a grade cell (nbgrader refuses it "
                "otherwise): for an ungraded written answer set grade to true and points to 0."
            )
        if solution and locked:
            raise fail(
                "a solution cell cannot be locked (students must edit it); set locked to false."
            )
        if solution and cell.cell_type not in ("code", "markdown"):
            raise fail(
                f"a solution cell must be a code or markdown cell, not {cell.cell_type}; change "
                f"the cell type."
            )
        if solution and cell.get("metadata", {}).get("editable") is False:
            raise fail(
                "a solution cell is marked editable=false, so students could not answer; "
                "remove metadata.editable."
            )
        test = grade and not solution
        if test:
            if not locked:
                raise fail("a test cell (grade=true) must be locked; set locked to true.")
            if cell.cell_type != "code":
                raise fail(f"a test cell must be a code cell, not {cell.cell_type}.")
        if test:
            if (
                isinstance(points, bool)
                or not isinstance(points, int | float)
                or not math.isfinite(points)
                or points <= 0
            ):
                state = "missing" if points is None else repr(points)
                raise fail(f"a test cell needs positive points, but points is {state}; set them.")
        elif points not in (None, 0) and not grade:
            raise fail(
                f"has points={points!r} but grade is false; make it a test cell (grade=true, "
                f"locked=true) or remove the points."
            )


class ValidateSkipMarks(_Step):
    """Check the cells marked not needed for grading (``metadata.course_lib.grading``).

    A mark must stand on a given cell and define no name that a later cell reads,
    hidden tests and solutions included
    (:func:`course_lib.instructor.release.skipmarks.check_skip_marks`).
    """

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        try:
            check_skip_marks(nb)
        except SkipMarkError as error:
            raise _cell_error(
                ctx, error.cell_index, nb.cells[error.cell_index], error.problem
            ) from None


class ValidateMarkers(_Step):
    """Check all markers are balanced and sit in the right kind of cell.

    Solution markers only in solution cells, hidden-test markers only in test
    cells, no stray marker words anywhere. Runs before any source is changed.
    """

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        for index, cell in enumerate(nb.cells):
            for region in _regions(ctx, index, cell):
                if region.kind == "solution" and not _is_solution(cell):
                    raise _cell_error(
                        ctx,
                        index,
                        cell,
                        f"`{BEGIN_SOLUTION}` in a cell that is not a solution cell; mark the "
                        f"cell as a solution cell (nbgrader solution=true, with a grade_id) or "
                        f"remove the markers.",
                        region.begin,
                    )
                if region.kind == "hidden" and not (_is_grade(cell) and not _is_solution(cell)):
                    raise _cell_error(
                        ctx,
                        index,
                        cell,
                        f"`{BEGIN_HIDDEN}` in a cell that is not a test cell; hidden tests "
                        f"belong in a test cell (nbgrader grade=true, locked=true, points>0).",
                        region.begin,
                    )
