"""nbgrader's side of the course: its checksum, and an nbgrader course made from ``solutions/``.

The student notebooks the release writes are the ones ``nbgrader generate_assignment``
writes from the course :func:`export_course` lays out, cell for cell (a test builds the
course with nbgrader itself and compares). nbgrader then validates and autogrades them as
its own. What nbgrader cannot give is trust: it grades inside the student's kernel, where
every check and name can be rebound; ``course-lib grade`` judges outside it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

__all__ = ["export_course", "nbgrader_checksum"]


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


def export_course(
    source_dir: Path,
    course_dir: Path,
    *,
    dest_dir: Path | None = None,
    colab_install: str | None = None,
    course_id: str = "actor-critic",
) -> list[Path]:
    """Lay out an nbgrader course at ``course_dir`` from the instructor notebooks.

    Writes ``source/<assignment>/<assignment>.ipynb`` for each notebook of ``source_dir``
    (the assignment is the notebook's name, as ``course-lib grade`` names it): the
    instructor notebook validated as the release validates it, with the set-up cell (and
    badge) the release adds, so ``nbgrader generate_assignment`` writes the student
    notebooks of ``dest_dir`` cell for cell. An ``nbgrader_config.py`` is written when there
    is none; an existing one is left alone.

    Args:
        source_dir: the instructor notebooks (``solutions/``).
        course_dir: the nbgrader course folder, created if needed.
        dest_dir: where the released notebooks live (for the badge's address; default the
            ``notebooks/`` beside ``source_dir``).
        colab_install: overrides the Colab install source, as for the release.
        course_id: the course id written into a new ``nbgrader_config.py``.

    Returns:
        The written source notebooks.

    Raises:
        ReleaseError: as the release, when a notebook cannot be released.
    """
    from course_lib.release.pipeline import (
        find_repo_root,
        notebook_text,
        notebooks_in,
        read_source_notebook,
        repo_label,
        write_notebook_text,
    )
    from course_lib.release.steps import (
        ClearOutputs,
        InsertColabBadge,
        InsertSetupCell,
        ReleaseContext,
        StripVolatileMetadata,
        ValidateMarkers,
        ValidateMetadata,
        ValidateSkipMarks,
    )

    source_dir, course_dir = Path(source_dir), Path(course_dir)
    dest_dir = Path(dest_dir) if dest_dir is not None else source_dir.parent / "notebooks"
    root = find_repo_root(source_dir)
    steps = (
        ValidateMetadata(),
        ValidateMarkers(),
        ValidateSkipMarks(),
        ClearOutputs(),
        StripVolatileMetadata(),
        InsertSetupCell(),
        InsertColabBadge(),
    )
    texts = []
    for src in notebooks_in(source_dir):
        ctx = ReleaseContext(
            repo_root=root,
            notebook_path=src,
            colab_install=colab_install,
            student_path=repo_label(dest_dir / src.name, root),
        )
        nb = read_source_notebook(src)
        for step in steps:
            step(nb, ctx)
        texts.append((course_dir / "source" / src.stem / src.name, notebook_text(nb)))
    written = []
    for path, text in texts:
        write_notebook_text(path, text)
        written.append(path)
    config = course_dir / "nbgrader_config.py"
    if not config.exists():
        config.write_text(
            "# nbgrader's settings for this course (written by `course-lib nbgrader`).\n"
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {course_id!r}\n"
            "# Each notebook is its own assignment, named as the notebook (e.g. 02_a2c).\n"
        )
    return written
