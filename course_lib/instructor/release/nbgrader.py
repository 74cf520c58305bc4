"""nbgrader's checksum, computed as nbgrader computes it, for the cells the release writes.

With it (and nbgrader's ``cell_type``), ``nbgrader validate`` and ``nbgrader autograde``
read our student notebooks as their own; :mod:`.nbgrader_course` lays out the nbgrader
course that generates them.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["nbgrader_checksum"]


def _record(cell: Any) -> dict[str, Any]:
    record = cell.get("metadata", {}).get("nbgrader")
    return record if isinstance(record, dict) else {}


def nbgrader_checksum(cell: Any) -> str:
    """The checksum nbgrader stores for a cell (``nbgrader.utils.compute_checksum``).

    The md5 of the source, the cell type, whether the cell is a grade, solution and locked
    cell (nbgrader's meanings: a solution cell is never locked, a grade cell always is), the
    grade_id and, for a grade cell, its points as a float.

    Examples:
        >>> cell = {"cell_type": "code", "source": "x = 1", "metadata": {"nbgrader": {
        ...     "grade": False, "solution": False, "locked": True, "grade_id": "given"}}}
        >>> len(nbgrader_checksum(cell))
        32
    """
    record = _record(cell)
    grade = bool(record.get("grade", False))
    solution = bool(record.get("solution", False))
    locked = False if solution else True if grade else bool(record.get("locked", False))
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    digest = hashlib.md5(usedforsecurity=False)
    digest.update(source.encode("utf-8"))
    digest.update(str(cell["cell_type"]).encode("utf-8"))
    for flag in (grade, solution, locked):
        digest.update(str(flag).encode("utf-8"))
    digest.update(str(record["grade_id"]).encode("utf-8"))
    if grade:
        digest.update(str(float(record["points"])).encode("utf-8"))
    return digest.hexdigest()
