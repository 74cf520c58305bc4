"""The release steps: each turns one aspect of an instructor notebook into its student form.

Every step is a small callable ``step(nb, ctx) -> None`` that mutates ``nb``
in place (the pipeline hands the steps a deep copy of the source notebook)
and raises :class:`ReleaseError` when the source is not releasable. The
pipeline runs them in the order of :data:`STEPS`. The validating steps are in
:mod:`.validate`; the context, the error and the cell kinds in :mod:`.context` (both
re-exported here).
"""

from __future__ import annotations

import hashlib
from typing import Any

import nbformat

from course_lib.instructor.release.colab import (
    BADGE_ID,
    badge_source,
    setup_cell_source,
)
from course_lib.instructor.release.context import (
    _LINE_BREAK,
    KEPT_CELL_METADATA,
    NBGRADER_KEYS,
    SETUP_GRADE_ID,
    ReleaseContext,
    ReleaseError,
    Step,
    _drop_release_head,
    _free_id,
    _is_badge,
    _is_grade,
    _is_locked,
    _is_solution,
    _nbgrader,
    _regions,
    _source,
    _Step,
)
from course_lib.instructor.release.markers import (
    remove_hidden_regions,
    replace_solution_regions,
    stub_lines,
)
from course_lib.instructor.release.nbgrader import nbgrader_checksum
from course_lib.instructor.release.validate import (
    ValidateMarkers,
    ValidateMetadata,
    ValidateSkipMarks,
)

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
