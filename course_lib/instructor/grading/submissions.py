"""Finding and reading submissions.

Submissions come in nbgrader's layout, ``submitted/<student>/<assignment>/<notebook>.ipynb``,
or as a plain list of files (the student is then the file's parent folder name). An
assignment is the stem of an instructor notebook in ``solutions/``. Reading never raises
for a bad file: it returns a :class:`Submission` whose ``error`` says what is wrong and
how to fix it, so that one broken file becomes one error row and the batch goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

__all__ = ["MAX_NOTEBOOK_BYTES", "Submission", "discover", "read_submission"]

MAX_NOTEBOOK_BYTES = 50 * 2**20
"""Submissions larger than this are refused (a notebook with outputs cleared is a few 100 KB)."""


@dataclass
class Submission:
    """One submitted notebook, read and checked, or the reason it could not be.

    Attributes:
        student: the student id (the folder name in nbgrader's layout).
        assignment: the assignment it was submitted for.
        path: where the file is.
        file_hash: sha256 of the file's bytes ("" if unreadable).
        notebook: the parsed notebook, or None when ``error`` is set.
        error: what is wrong with the file, for the gradebook's error row.
    """

    student: str
    assignment: str
    path: Path
    file_hash: str = ""
    notebook: nbformat.NotebookNode | None = field(default=None, repr=False)
    error: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.assignment)


def discover(
    root: Path | None = None, files: list[Path] | None = None, assignments: set[str] | None = None
) -> list[tuple[str, str, Path]]:
    """List ``(student, assignment, path)`` for a submitted/ folder and/or explicit files.

    In a submitted/ folder, every ``<student>/<assignment>/*.ipynb`` counts (checkpoint
    folders are skipped); an assignment folder with no notebook is listed with the
    folder as its path, so that it gets an error row rather than silence.
    """
    found: list[tuple[str, str, Path]] = []
    if root is not None:
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(
                f"no submissions folder at {root}: expected submitted/<student>/<assignment>/"
                f"<notebook>.ipynb (nbgrader's layout), or pass the notebooks as files."
            )
        for student_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
                if assignments is not None and assignment_dir.name not in assignments:
                    continue
                notebooks = sorted(
                    p for p in assignment_dir.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
                )
                if not notebooks:
                    found.append((student_dir.name, assignment_dir.name, assignment_dir))
                for nb_path in notebooks:
                    found.append((student_dir.name, assignment_dir.name, nb_path))
    for path in files or []:
        path = Path(path)
        found.append((path.parent.name or "unknown", path.stem, path))
    return found


def read_submission(
    student: str, assignment: str, path: Path, source: nbformat.NotebookNode | None
) -> Submission:
    """Read one file and check that it is a notebook of ``assignment``.

    Args:
        source: the instructor notebook of the assignment (None: unknown assignment).
    """
    sub = Submission(student, assignment, Path(path))
    if source is None:
        sub.error = (
            f"unknown assignment {assignment!r}: there is no solutions/{assignment}.ipynb; "
            f"put the notebook in the folder of the assignment it belongs to."
        )
        return sub
    if path.is_dir():
        sub.error = f"no notebook in {path}: the assignment folder holds no .ipynb file."
        return sub
    if path.is_symlink():
        # A link could point at the instructor's notebook (or any file the grader can read).
        sub.error = (
            f"{path.name} is a symbolic link, not a notebook: submit the .ipynb file itself."
        )
        return sub
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
    except OSError as err:
        sub.error = f"cannot read {path}: {err.strerror or err}."
        return sub
    sub.file_hash = hashlib.sha256(data).hexdigest()
    if not data.strip():
        sub.error = "the file is empty: submit the notebook saved from Jupyter (File > Save)."
        return sub
    if len(data) > MAX_NOTEBOOK_BYTES:
        sub.error = (
            f"the file is {len(data) / 2**20:.0f} MB, more than {MAX_NOTEBOOK_BYTES // 2**20} MB: "
            f"clear the outputs (Edit > Clear All Outputs) and submit again."
        )
        return sub
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        sub.error = (
            f"not a notebook: the file is not valid JSON ({err}); was it corrupted or renamed?"
        )
        return sub
    major = raw.get("nbformat") if isinstance(raw, dict) else None
    if isinstance(major, int) and not isinstance(major, bool) and major < 4:
        sub.error = (
            f"an old notebook format (nbformat version {major}, from IPython {major - 1} or "
            f"earlier), which the grader does not read: convert it with `jupyter nbconvert "
            f"--to notebook --nbformat 4 --output {path.name} {path.name}` (or open it in "
            f"Jupyter or Colab and save it), then submit again."
        )
        return sub
    if not isinstance(raw, dict) or "cells" not in raw:
        sub.error = "not a notebook: the JSON has no 'cells'; submit the .ipynb file itself."
        return sub
    if major != 4:
        sub.error = (
            f"unsupported notebook format version {major!r} (expected 4): open and save it with "
            f"Jupyter 4+ or Colab."
        )
        return sub
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as err:  # nbformat raises many kinds
        sub.error = f"not a valid notebook: {type(err).__name__}: {str(err)[:300]}"
        return sub
    made_for = (nb.metadata.get("course_lib") or {}).get("source")
    # the instructor notebook it was released from, whatever its folder was called
    made_for_name = PurePosixPath(str(made_for).replace("\\", "/")).name if made_for else None
    if made_for_name and made_for_name != f"{assignment}.ipynb":
        sub.error = (
            f"wrong assignment: this notebook is {made_for_name}, "
            f"submitted for {assignment}; submit it in the right assignment folder."
        )
        return sub
    wanted = {c.metadata.get("nbgrader", {}).get("grade_id") for c in source.cells} - {None}
    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}
    if wanted and not (wanted & present):
        sub.error = (
            f"wrong assignment: none of the graded cells of {assignment} are in this notebook; "
            f"submit the notebook released for {assignment}."
        )
        return sub
    sub.notebook = nb
    return sub
