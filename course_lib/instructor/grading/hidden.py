"""The hidden tests of a test cell run even when its visible check fails.

A test cell holds the visible check (what the student sees) and, between hidden-test
markers, the probe that records observations for the grader. Run as one cell, a visible
check that raises stops the cell before the probe: the grader would then see nothing and
score 0 from that, without its own judge (or any partial credit) ever reading the student's
code. So the grader runs each test cell as two: the cell without its hidden regions (what
the student received), then the hidden regions as a cell of their own, and merges the two
records back into one under the test cell's ``grade_id``.

The hidden regions must therefore not depend on what the visible part computes; a region
that is indented (inside a block of the visible code) cannot stand alone, and its cell runs
whole, as written.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from course_lib.instructor.grading.sandbox import CellRecord, ExecutionResult
from course_lib.instructor.release.context import is_test_cell
from course_lib.instructor.release.markers import (
    find_regions,
    hidden_region_text,
    remove_hidden_regions,
)

__all__ = ["Split", "merge_hidden_tests", "split_hidden_tests"]


@dataclass(frozen=True)
class Split:
    """A notebook whose test cells have their hidden tests in a cell of their own.

    Attributes:
        notebook: the notebook to execute.
        parent: for each cell of ``notebook`` that holds hidden tests, the position of its
            test cell in ``notebook``.
        original: for each position in ``notebook``, the position of the cell it came from
            in the notebook that was split.
    """

    notebook: nbformat.NotebookNode
    parent: dict[int, int]
    original: list[int]


def _source(cell: nbformat.NotebookNode) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _splittable(source: str) -> bool:
    regions = [r for r in find_regions(source) if r.kind == "hidden"]
    return bool(regions) and all(r.indent == "" for r in regions)


def split_hidden_tests(nb: nbformat.NotebookNode) -> Split:
    """``nb`` with each test cell followed by a cell of its hidden tests (``nb`` unchanged)."""
    cells: list[nbformat.NotebookNode] = []
    parent: dict[int, int] = {}
    original: list[int] = []
    for index, cell in enumerate(nb.cells):
        source = _source(cell)
        if cell.cell_type != "code" or not is_test_cell(cell) or not _splittable(source):
            cells.append(cell)
            original.append(index)
            continue
        visible = copy.deepcopy(cell)
        visible.source = remove_hidden_regions(source)
        hidden = nbformat.v4.new_code_cell(hidden_region_text(source))
        if cell.get("id"):
            hidden["id"] = f"{cell['id'][:57]}-hidden"
        cells.append(visible)
        original.append(index)
        parent[len(cells)] = len(cells) - 1
        cells.append(hidden)
        original.append(index)
    split = copy.copy(nb)
    split.cells = cells
    return Split(split, parent, original)


def _merge(visible: CellRecord, hidden: CellRecord) -> None:
    visible.visible_outputs = len(visible.outputs)
    visible.outputs = [*visible.outputs, *hidden.outputs]
    visible.seconds += hidden.seconds
    visible.output_truncated = visible.output_truncated or hidden.output_truncated
    if visible.status == "ok" and hidden.status != "ok":
        # The visible check passed; what stopped the hidden tests is the cell's outcome,
        # as it was when the two ran as one cell.
        visible.status = hidden.status
        visible.ename, visible.evalue = hidden.ename, hidden.evalue
        visible.traceback, visible.reason = hidden.traceback, hidden.reason


def merge_hidden_tests(result: ExecutionResult, split: Split) -> ExecutionResult:
    """``result`` of running ``split.notebook``, as if each test cell had run whole.

    Each hidden-tests record is merged into its test cell's record: outputs appended after
    the ``visible_outputs`` the student's own view shows, times added, and the cell's status
    the visible part's unless that passed and the hidden tests did not. Every record's
    ``index`` is the position in the notebook that was split.
    """
    by_index = {record.index: record for record in result.cells}
    kept: list[CellRecord] = []
    for record in result.cells:
        if record.index in split.parent:
            owner = by_index.get(split.parent[record.index])
            if owner is not None:
                _merge(owner, record)
            continue
        kept.append(record)
    for record in kept:
        record.index = split.original[record.index]
    result.cells = kept
    executed = result.notebook
    for index in sorted(split.parent, reverse=True):
        owner = executed.cells[split.parent[index]]
        owner.outputs = [*owner.get("outputs", []), *executed.cells[index].get("outputs", [])]
        del executed.cells[index]
    return result
