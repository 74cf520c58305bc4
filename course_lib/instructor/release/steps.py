"""The release steps: each turns one aspect of an instructor notebook into its student form.

Every step is a small callable ``step(nb, ctx) -> None`` that mutates ``nb``
in place (the pipeline hands the steps a deep copy of the source notebook)
and raises :class:`ReleaseError` when the source is not releasable. The
pipeline runs them in the order of :data:`STEPS`.

Cell kinds follow nbgrader's cell metadata, schema version 3
(``cell.metadata["nbgrader"]``):

* solution cell: ``solution=True`` (its solution is replaced by a stub);
* test cell: ``grade=True, locked=True, points > 0`` (hidden tests removed);
* given cell: ``locked=True`` only (students may not edit it);
* free cell: no nbgrader metadata, or all three flags false.
"""

from __future__ import annotations

import hashlib
import math
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
    badge_source,
    read_settings,
    setup_cell_source,
)
from course_lib.instructor.release.markers import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    MarkerError,
    Region,
    find_regions,
    remove_hidden_regions,
    replace_solution_regions,
    stub_lines,
)
from course_lib.instructor.release.nbgrader import nbgrader_checksum
from course_lib.instructor.release.skipmarks import SkipMarkError, check_skip_marks

__all__ = [
    "KEPT_CELL_METADATA",
    "NBGRADER_KEYS",
    "SETUP_GRADE_ID",
    "STEPS",
    "ClearOutputs",
    "ClearSolutions",
    "ComputeChecksums",
    "InsertColabBadge",
    "InsertSetupCell",
    "MarkGenerated",
    "ReleaseContext",
    "ReleaseError",
    "RemoveHiddenTests",
    "Step",
    "StripVolatileMetadata",
    "ValidateMarkers",
    "ValidateMetadata",
    "ValidateSkipMarks",
    "cell_checksum",
    "setup_cell_source",
]

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


# --------------------------------------------------------------------------- validation


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
    """Check the cells marked not needed for grading (``metadata.course_lib.instructor.grading``).

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


# --------------------------------------------------------------------------- transformations


class ClearSolutions(_Step):
    """Replace each solution region by its stub; a solution cell without markers is
    replaced whole (``# YOUR CODE HERE`` / ``raise NotImplementedError()``, or
    ``YOUR ANSWER HERE`` in markdown)."""

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        for index, cell in enumerate(nb.cells):
            if not _is_solution(cell):
                continue
            regions = _regions(ctx, index, cell)
            if any(region.kind == "solution" for region in regions):
                cell.source = replace_solution_regions(_source(cell), cell.cell_type)
            else:
                cell.source = "\n".join(stub_lines(cell.cell_type))


class RemoveHiddenTests(_Step):
    """Delete the hidden-test regions (marker lines included) of test cells."""

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        for index, cell in enumerate(nb.cells):
            if _is_grade(cell) and any(r.kind == "hidden" for r in _regions(ctx, index, cell)):
                cell.source = remove_hidden_regions(_source(cell))


class ClearOutputs(_Step):
    """Empty the outputs and execution counts of every code cell."""

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None


class StripVolatileMetadata(_Step):
    """Keep only stable metadata, and lock locked cells in Jupyter.

    Notebook level: ``kernelspec`` and ``language_info.name`` only (no
    ``widgets``, versions, ...). Cell level: only ``nbgrader``, ``course_lib``
    (the skip mark), ``tags``, ``editable`` and ``deletable`` (no ``execution``, ``collapsed``,
    ``scrolled``, ``ExecuteTime``, ``jupyter``, ...); nbgrader's own
    ``checksum`` and ``cell_type`` are dropped (:class:`ComputeChecksums` writes them).
    Cells are locked in Jupyter as nbgrader's ``LockCells`` locks them: locked and test
    cells get ``editable: false`` and ``deletable: false``, solution cells
    ``deletable: false``.
    """

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        old = nb.metadata
        kept = nbformat.NotebookNode()
        if isinstance(old.get("kernelspec"), dict):
            kept.kernelspec = old.kernelspec
        language = old.get("language_info")
        if isinstance(language, dict) and "name" in language:
            kept.language_info = nbformat.NotebookNode(name=language["name"])
        nb.metadata = kept

        for cell in nb.cells:
            metadata = nbformat.NotebookNode(
                {key: cell.metadata[key] for key in KEPT_CELL_METADATA if key in cell.metadata}
            )
            record = metadata.get("nbgrader")
            if isinstance(record, dict):
                record.pop("checksum", None)
                record.pop("cell_type", None)
            if _is_solution(cell):
                metadata.deletable = False
            elif _is_locked(cell) or _is_grade(cell):
                metadata.editable = False
                metadata.deletable = False
            cell.metadata = metadata


class MarkGenerated(_Step):
    """Record where the notebook came from: ``metadata.course_lib = {source, generated}``.

    No timestamp or version, so releasing twice gives the same bytes.
    """

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        nb.metadata["course_lib"] = nbformat.NotebookNode(source=ctx.source_label(), generated=True)


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


class InsertSetupCell(_Step):
    """Put a locked set-up cell (grade_id ``setup-colab``) first.

    The cell installs course_lib on Colab and does nothing elsewhere; the
    install source comes from :meth:`ReleaseContext.colab_source`. A
    ``setup-colab`` cell already at the top of the source is replaced (its id
    kept), so releasing is idempotent.
    """

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        source = setup_cell_source(ctx.colab_source())
        cell_id = _free_id(nb, _drop_release_head(nb) or SETUP_GRADE_ID)
        cell = nbformat.v4.new_code_cell(
            source=source,
            id=cell_id,
            metadata=nbformat.NotebookNode(
                nbgrader=nbformat.NotebookNode(
                    grade=False,
                    solution=False,
                    locked=True,
                    grade_id=SETUP_GRADE_ID,
                    schema_version=3,
                    task=False,
                ),
                editable=False,
                deletable=False,
            ),
        )
        nb.cells.insert(0, cell)


class InsertColabBadge(_Step):
    """Put an "Open in Colab" badge first when the course names its GitHub repository
    (``[tool.course-lib] repository``); nothing otherwise. The badge opens the student
    notebook (:meth:`ReleaseContext.student_label`) on the configured branch. A badge cell
    already at the top (id ``colab-badge``) is replaced, so releasing is idempotent."""

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        while nb.cells and _is_badge(nb.cells[0]):
            del nb.cells[0]
        source = badge_source(ctx.settings(), ctx.student_label())
        if source is None:
            return
        cell = nbformat.v4.new_markdown_cell(source=source, id=_free_id(nb, BADGE_ID))
        nb.cells.insert(0, cell)


def cell_checksum(cell: Any) -> str:
    """The sha256 (hex) the grader compares to tell whether a locked cell was edited.

    Not stored in the notebook (the grader recomputes it from the instructor's copy); the
    checksum stored for nbgrader is
    :func:`course_lib.instructor.release.nbgrader.nbgrader_checksum`.

    Hashes ``cell_type + "\\n" + source`` where the source has trailing
    whitespace stripped from every line and trailing line breaks removed, so
    an editor that trims whitespace or adds a final newline does not count as
    an edit. ``source`` may be a string or a list of strings.

    Examples:
        >>> a = {"cell_type": "code", "source": "x = 1  \\ny = 2\\n"}
        >>> b = {"cell_type": "code", "source": ["x = 1\\n", "y = 2"]}
        >>> cell_checksum(a) == cell_checksum(b)
        True
    """
    lines = [line.rstrip() for line in _LINE_BREAK.split(_source(cell))]
    canonical = "\n".join(lines).rstrip("\n")
    payload = f"{cell['cell_type']}\n{canonical}".encode()
    return hashlib.sha256(payload).hexdigest()


class ComputeChecksums(_Step):
    """Store nbgrader's ``checksum`` and ``cell_type`` in every solution, test or locked
    cell's record, computed as nbgrader computes them, so ``nbgrader validate`` and
    ``nbgrader autograde`` read the student notebook as one nbgrader generated."""

    def __call__(self, nb: nbformat.NotebookNode, ctx: ReleaseContext) -> None:
        for cell in nb.cells:
            record = _nbgrader(cell)
            if record is not None and (_is_locked(cell) or _is_grade(cell) or _is_solution(cell)):
                record["checksum"] = nbgrader_checksum(cell)
                record["cell_type"] = cell.cell_type


# The order matters:
# 1-3. The validators run first and change nothing, so a bad source fails
#      before any text is touched; markers come second because where a marker
#      may stand depends on the (now trusted) cell kinds; skip marks third, on
#      the whole source (hidden tests and solutions read names too).
# 4-5. Solutions are stubbed and hidden tests removed only once the markers
#      are known to be well-formed; they touch disjoint cells.
# 6.   Outputs go after the source edits (a solution cell's output would leak
#      its answer); independent of them otherwise.
# 7-8. Metadata is stripped to an allow-list, then the provenance record is
#      added (stripping first would delete it).
# 9-10. The set-up cell, then the badge above it, are inserted after validation
#      (an old set-up or badge cell at the top of the source is replaced, not
#      flagged or duplicated) and are built with final metadata, so nothing after
#      them needs to clean them.
# 11.  Checksums last: any earlier step may change a locked cell's text or add
#      a locked cell, and a checksum of a text that later changes is useless.
STEPS: tuple[Step, ...] = (
    ValidateMetadata(),
    ValidateMarkers(),
    ValidateSkipMarks(),
    ClearSolutions(),
    RemoveHiddenTests(),
    ClearOutputs(),
    StripVolatileMetadata(),
    MarkGenerated(),
    InsertSetupCell(),
    InsertColabBadge(),
    ComputeChecksums(),
)
