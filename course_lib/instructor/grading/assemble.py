"""Put a submission back together with the instructor's locked and test cells.

Cells are matched by nbgrader ``grade_id``, never by position. Every test cell and
every locked (given) cell is taken from the instructor source, hidden tests included;
the student's copies are only compared with the released ones, to record tampering
(edited, deleted, duplicated). Solution cells and the student's own extra cells are
kept as the student wrote them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from course_lib.instructor.release.context import is_test_cell
from course_lib.instructor.release.markers import replace_solution_regions
from course_lib.instructor.release.steps import cell_checksum

__all__ = ["Assembled", "Tamper", "assemble"]


@dataclass(frozen=True)
class Tamper:
    """One change the student made to a cell they were not meant to change."""

    grade_id: str
    kind: str  # "edited" | "deleted" | "duplicated" | "missing solution"
    detail: str


@dataclass
class Assembled:
    notebook: nbformat.NotebookNode
    tampering: list[Tamper]
    tests: list[tuple[str, float]]  # (grade_id, points) in notebook order


def _gid(cell: nbformat.NotebookNode) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def _meta(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader") or {}


def _released_version(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The cell as students received it (hidden tests removed), for checksum comparison."""
    from course_lib.instructor.release.markers import remove_hidden_regions

    released = copy.deepcopy(cell)
    released.source = remove_hidden_regions(released.source)
    return released


def assemble(source: nbformat.NotebookNode, student: nbformat.NotebookNode) -> Assembled:
    """The notebook to execute for ``student``, and what was tampered with.

    Args:
        source: the instructor notebook (solutions and hidden tests).
        student: the submitted notebook.
    """
    tampering: list[Tamper] = []
    source_cells = {g: c for c in source.cells if (g := _gid(c))}
    protected = {g for g, c in source_cells.items() if _meta(c).get("locked") or is_test_cell(c)}
    order = [g for g in (_gid(c) for c in source.cells) if g]

    seen: set[str] = set()
    kept: list[nbformat.NotebookNode] = []
    for cell in student.cells:
        gid = _gid(cell)
        if gid in source_cells:
            if gid in seen:
                if gid in protected:
                    tampering.append(Tamper(gid, "duplicated", "a copy of this cell was removed"))
                continue  # later copies of a graded or solution cell never run
            seen.add(gid)
            if gid in protected:
                original = source_cells[gid]
                if cell_checksum(_plain(cell)) != cell_checksum(_released_version(original)):
                    tampering.append(Tamper(gid, "edited", "restored from the instructor's copy"))
                kept.append(_fresh(original))
            else:
                # The student's code with the instructor's metadata: points and flags
                # never come from the submission.
                solution = _fresh(source_cells[gid])
                solution.source = (
                    cell.source if isinstance(cell.source, str) else "".join(cell.source)
                )
                kept.append(solution)
        elif gid == "setup-colab":
            continue  # the release's Colab set-up cell does nothing outside Colab
        else:
            if is_test_cell(cell) or _meta(cell).get("locked"):
                # A cell claiming to be graded or locked that the source does not know.
                tampering.append(Tamper(str(gid), "edited", "an unknown locked cell was dropped"))
                continue
            kept.append(_fresh(cell, strip_meta=True))

    # Put back what is missing, right after the closest preceding cell that is present.
    for index, gid in enumerate(order):
        if gid in seen:
            continue
        original = source_cells[gid]
        if gid in protected:
            tampering.append(Tamper(gid, "deleted", "restored from the instructor's copy"))
            cell = _fresh(original)
        else:
            tampering.append(Tamper(gid, "missing solution", "the exercise cell was deleted"))
            cell = _fresh(original)
            cell.source = replace_solution_regions(cell.source, cell.cell_type)
        previous = [g for g in order[:index] if g in seen]
        position = 0
        if previous:
            position = next(i for i, c in enumerate(kept) if _gid(c) == previous[-1]) + 1
        kept.insert(position, cell)
        seen.add(gid)

    for index, cell in enumerate(kept):
        cell["id"] = f"cell-{index}"  # unique whatever the submission's ids were
    nb = nbformat.v4.new_notebook(cells=kept, metadata=copy.deepcopy(source.metadata))
    tests = [
        (g, float(_meta(c).get("points", 0)))
        for c in source.cells
        if (g := _gid(c)) and is_test_cell(c)
    ]
    return Assembled(nb, tampering, tests)


def _plain(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.from_dict({"cell_type": cell.cell_type, "source": cell.source, "metadata": {}})


def _fresh(cell: nbformat.NotebookNode, strip_meta: bool = False) -> nbformat.NotebookNode:
    """A clean copy: no outputs, no execution count, only the nbgrader record and the
    grading mark (:mod:`course_lib.instructor.release.skipmarks`), if any, unless ``strip_meta``."""
    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    meta: dict = {}
    if not strip_meta:
        meta = {
            key: copy.deepcopy(cell.metadata[key])
            for key in ("nbgrader", "course_lib")
            if cell.get("metadata", {}).get(key)
        }
    data = {"cell_type": cell.cell_type, "source": source, "metadata": meta}
    if cell.cell_type == "code":
        data.update(outputs=[], execution_count=None)
    return nbformat.from_dict(data)
