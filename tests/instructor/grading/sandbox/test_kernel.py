"""The sandboxed kernel and its watchdog (:mod:`course_lib.instructor.grading.sandbox.kernel`):
interrupts, kills, memory spread over processes."""

from __future__ import annotations

import time

import pytest

from course_lib.instructor.grading.sandbox import Limits, execute_notebook
from tests.instructor.grading.sandbox.notebooks import _nb, _stdout, _work, requires_bwrap

pytestmark = pytest.mark.notebook


@requires_bwrap
def test_cell_timeout_is_interrupted_and_later_cells_run(tmp_path):
    nb = _nb("import time", "time.sleep(60)", "print('after')")
    limits = Limits(cell_timeout_s=2, notebook_timeout_s=60)
    t0 = time.monotonic()
    result = execute_notebook(nb, _work(tmp_path), limits=limits)

    assert [c.status for c in result.cells] == ["ok", "timeout", "ok"]
    assert "cell time limit" in result.cells[1].reason
    assert _stdout(result.cells[2]) == "after\n"
    assert time.monotonic() - t0 < 20


@requires_bwrap
def test_kernel_that_ignores_the_interrupt_is_killed_and_the_rest_is_dead(tmp_path):
    stubborn = (
        "import time\nwhile True:\n    try:\n        time.sleep(10)\n"
        "    except KeyboardInterrupt:\n        pass"
    )
    nb = _nb(stubborn, "print('never')")
    limits = Limits(cell_timeout_s=1.5, notebook_timeout_s=60)
    result = execute_notebook(nb, _work(tmp_path), limits=limits, interrupt_grace_s=1)

    assert [c.status for c in result.cells] == ["timeout", "dead"]
    assert "did not respond" in result.cells[1].reason


@requires_bwrap
def test_memory_spread_over_processes_is_killed_by_the_watchdog(tmp_path):
    # Each child stays under RLIMIT_AS; together they pass memory_mb.
    spread = (
        "import subprocess, sys, time\n"
        "code = 'import time; b = b\"x\" * (400 * 2**20); time.sleep(60)'\n"
        "procs = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(4)]\n"
        "time.sleep(30)"
    )
    t0 = time.monotonic()
    result = execute_notebook(
        _nb(spread, "print('never')"), _work(tmp_path), limits=Limits(memory_mb=1024)
    )

    assert [c.status for c in result.cells] == ["dead", "dead"]
    assert "memory limit" in result.death_reason
    assert any("sandbox killed: memory limit" in note for note in result.notes)
    assert time.monotonic() - t0 < 25
