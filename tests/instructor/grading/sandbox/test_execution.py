"""Executing a notebook (:mod:`course_lib.instructor.grading.sandbox.execution`): every cell
runs, failures are recorded, outputs are capped."""

from __future__ import annotations

import time

import nbformat
import pytest

from course_lib.instructor.grading.sandbox import Limits, execute_notebook
from tests.instructor.grading.sandbox.notebooks import FAST, _nb, _stdout, _work, requires_bwrap

pytestmark = pytest.mark.notebook


@requires_bwrap
def test_normal_notebook_runs_and_outputs_come_back(tmp_path):
    nb = _nb("x = 21\nprint('hello')", "x * 2", "from IPython.display import display\ndisplay(3)")
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("not code"))
    result = execute_notebook(nb, _work(tmp_path), limits=FAST)

    assert result.sandboxed
    assert [c.status for c in result.cells] == ["ok", "ok", "ok"]
    assert [c.index for c in result.cells] == [0, 2, 3]
    assert _stdout(result.cells[0]) == "hello\n"
    assert result.cells[1].outputs[0]["data"]["text/plain"] == "42"
    assert result.cells[2].outputs[0]["output_type"] == "display_data"
    assert result.death_reason is None and result.counts()["ok"] == 3
    assert "outputs" not in nb.cells[0] or not nb.cells[0].outputs  # input left untouched


@requires_bwrap
def test_error_in_cell_2_does_not_stop_cell_3_and_stderr_is_output(tmp_path):
    nb = _nb(
        "import warnings; warnings.warn('careful'); a = 1",
        "raise ValueError('bad ' * 5000)",
        "print(a + 1)",
    )
    result = execute_notebook(nb, _work(tmp_path), limits=FAST)

    first, second, third = result.cells
    assert first.status == "ok"
    assert any(o.get("name") == "stderr" and "careful" in o["text"] for o in first.outputs)
    assert second.status == "error" and second.ename == "ValueError"
    assert len(second.evalue) <= 1000 and len(second.traceback) < 5000
    assert "\x1b[" not in second.traceback and "ValueError" in second.traceback
    assert third.status == "ok" and _stdout(third) == "2\n"


@requires_bwrap
def test_notebook_deadline_skips_the_remaining_cells(tmp_path):
    nb = _nb("import time; time.sleep(30)", "print('late')", "print('later')")
    limits = Limits(cell_timeout_s=60, notebook_timeout_s=2)
    result = execute_notebook(nb, _work(tmp_path), limits=limits)

    assert [c.status for c in result.cells] == ["timeout", "skipped", "skipped"]
    assert all("notebook time limit" in c.reason for c in result.cells)


@requires_bwrap
def test_output_flood_is_truncated_to_the_cap_with_a_note(tmp_path):
    nb = _nb(
        "print('y' * 3_000_000)",  # one 3 MB message: clipped to the cap
        "for _ in range(100):\n    print('x' * 1_000_000)",  # 100 MB: dropped, a note kept
        "print('observation: 42')",
    )
    result = execute_notebook(nb, _work(tmp_path), limits=FAST)

    clipped, flooded, graded = result.cells
    assert clipped.status == flooded.status == graded.status == "ok"
    assert clipped.output_truncated and flooded.output_truncated
    text = clipped.outputs[0]["text"]
    assert set(text) == {"y"} and len(text) == FAST.max_output_bytes
    assert "output truncated" in clipped.outputs[-1]["text"]
    assert result.output_bytes <= FAST.max_output_bytes + 3 * 16_000
    assert result.dropped_output_bytes >= 100_000_000
    assert sum("output truncated" in note for note in result.notes) == 2
    assert "observation: 42" in _stdout(graded)  # later cells keep their first bytes


@requires_bwrap
def test_os_exit_marks_later_cells_dead_and_returns_promptly(tmp_path):
    nb = _nb("print('alive')", "import os; os._exit(1)", "print('a')", "print('b')")
    t0 = time.monotonic()
    result = execute_notebook(nb, _work(tmp_path), limits=FAST)

    assert [c.status for c in result.cells] == ["ok", "dead", "dead", "dead"]
    assert "exit status 1" in result.death_reason
    assert result.cells[3].reason == result.death_reason and not result.cells[3].outputs
    assert time.monotonic() - t0 < 15
