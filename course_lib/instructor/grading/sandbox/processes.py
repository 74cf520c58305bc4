"""The processes of a sandbox: reading /proc, finding and killing them.

Part of :mod:`course_lib.instructor.grading.sandbox`.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from course_lib.instructor.grading.sandbox.limits import (
    _PAGE,
)


@dataclass(frozen=True)
class _Proc:
    pid: int
    ppid: int
    uid: int
    threads: int
    rss_bytes: int
    start: int


def _read_proc(pid: int) -> _Proc | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
        uid = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
    rest = stat[stat.rfind(")") + 2 :].split()
    try:
        return _Proc(pid, int(rest[1]), uid, int(rest[17]), int(rest[21]) * _PAGE, int(rest[19]))
    except (IndexError, ValueError):
        return None


def _proc_table() -> dict[int, _Proc]:
    table: dict[int, _Proc] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (proc := _read_proc(int(name))) is not None:
            table[proc.pid] = proc
    return table


def _pss_bytes(proc: _Proc) -> int:
    """Proportional set size of a process (shared pages split between sharers)."""
    try:
        with open(f"/proc/{proc.pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return proc.rss_bytes


def _descendants(table: Mapping[int, _Proc], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found: set[int] = set()
    todo = [root] if root in table else []
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _has_token(pid: int, token: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return token in f.read()
    except OSError:
        return False


def _kill(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
