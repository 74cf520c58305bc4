"""The limits (:mod:`course_lib.instructor.grading.sandbox.limits`): validated, and a memory
bomb fails inside the kernel."""

from __future__ import annotations

import resource

import pytest

from course_lib.instructor.grading.sandbox import (
    Limits,
    SandboxError,
    SandboxKernel,
    execute_notebook,
)
from tests.instructor.grading.sandbox.notebooks import _nb, _stdout, _work, requires_bwrap

pytestmark = pytest.mark.notebook


@requires_bwrap
def test_memory_bombs_fail_inside_and_the_grader_survives(tmp_path):
    grow = (
        "chunks = []\n"
        "try:\n"
        "    while True:\n"
        "        chunks.append(bytearray(64 * 2**20))\n"
        "except MemoryError:\n"
        "    print('stopped at', len(chunks) * 64, 'MiB')\n"
        "del chunks"
    )
    nb = _nb("x = bytearray(50 * 2**30)", grow, "print('still here')")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = execute_notebook(nb, _work(tmp_path), limits=Limits(memory_mb=1024))

    big, loop, after = result.cells
    assert big.status == "error" and big.ename == "MemoryError"
    if loop.status == "ok":  # RLIMIT_AS stopped the loop
        assert int(_stdout(loop).split()[2]) < 1024
        assert _stdout(after) == "still here\n"
    else:  # or the watchdog killed the whole sandbox
        assert loop.status == "dead" and "memory limit" in loop.reason
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 200 * 1024


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_processes"):
        Limits(max_processes=2)
    with pytest.raises(ValueError, match="cell_timeout_s"):
        Limits(cell_timeout_s=0)
    with pytest.raises(SandboxError, match="does not exist"):
        SandboxKernel("/nonexistent/work")
