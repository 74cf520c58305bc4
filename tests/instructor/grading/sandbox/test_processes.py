"""Processes a student starts (:mod:`course_lib.instructor.grading.sandbox.processes`): contained,
and none outlives the kernel."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from course_lib.instructor.grading.sandbox import Limits, execute_notebook
from tests.instructor.grading.sandbox.notebooks import (
    FAST,
    _nb,
    _pids_with,
    _stdout,
    _work,
    requires_bwrap,
)

pytestmark = pytest.mark.notebook


@requires_bwrap
def test_fork_bomb_is_contained_by_the_process_limit(tmp_path):
    # A bomb with a deadline: every process forks as fast as it can for 3 s, then exits.
    bomb = """
import os, time
deadline = time.time() + 3
failures = peak = 0
while time.time() < deadline:
    try:
        pid = os.fork()
    except BlockingIOError:
        failures += 1
        peak = max(peak, sum(n.isdigit() for n in os.listdir('/proc')))
        time.sleep(0.005)
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        continue
    if pid == 0:
        try:
            while time.time() < deadline:
                try:
                    os.fork()
                except BlockingIOError:
                    time.sleep(0.005)
        finally:
            os._exit(0)
print(failures > 0, peak)
"""
    limits = Limits(max_processes=48, cell_timeout_s=30, notebook_timeout_s=60)
    t0 = time.monotonic()
    result = execute_notebook(_nb(bomb, "print('kernel ok')"), _work(tmp_path), limits=limits)

    bombed, after = result.cells
    assert bombed.status == "ok", bombed.traceback
    failed, peak = _stdout(bombed).split()
    assert failed == "True"
    assert int(peak) <= 48
    assert _stdout(after) == "kernel ok\n"
    assert time.monotonic() - t0 < 60


@requires_bwrap
def test_no_process_started_by_the_student_survives(tmp_path):
    token = secrets.token_hex(6)
    seconds = f"1000.{int(token, 16) % 10**6:06d}"
    start = f"""
import os, subprocess, sys, time
subprocess.Popen(["sleep", "{seconds}"], start_new_session=True)
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(1000)", "{token}"])
    os._exit(0)
os.waitpid(pid, 0)
time.sleep(1)
"""
    seen: dict[int, list[int]] = {}

    def on_cell(record) -> None:
        seen[record.index] = _pids_with(seconds) + _pids_with(token)

    result = execute_notebook(
        _nb(start, "print('done')"), _work(tmp_path), limits=FAST, on_cell=on_cell
    )

    assert [c.status for c in result.cells] == ["ok", "ok"]
    assert len(seen[0]) == 2, "the daemons should be running while the kernel is"
    assert _pids_with(seconds) == [] and _pids_with(token) == []
    for pid in seen[0]:
        assert not Path(f"/proc/{pid}").exists()
