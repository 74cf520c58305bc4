"""Helpers of the sandbox tests: tiny notebooks, a work folder, the kernel's stdout."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

import course_lib
from course_lib.instructor.grading.sandbox import (
    Limits,
    probe_bwrap,
)

COURSE_LIB = Path(course_lib.__file__).resolve().parent
REPO = COURSE_LIB.parent
FAST = Limits(cell_timeout_s=60, notebook_timeout_s=120)

requires_bwrap = pytest.mark.skipif(
    not probe_bwrap()[0], reason=f"bubblewrap sandbox unavailable: {probe_bwrap()[1]}"
)


def _nb(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def _work(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work


def _stdout(record) -> str:
    return "".join(o.get("text", "") for o in record.outputs if o.get("name") == "stdout")


def _pids_with(token: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline:
            found.append(int(name))
    return found
