"""What the benchmark scripts share: running one measurement in a fresh process, and the
header line that says where and when a results file was measured."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Full budgets, no progress bars, one BLAS/OpenMP thread per measurement process.
WORKER_ENV = {"COURSE_LIB_FAST": "0", "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}


def run_worker(script: str | Path, args: list[str], timeout: float | None = None) -> dict:
    """Run ``python script --worker ARGS`` in a fresh process; return the JSON it prints last.

    Raises:
        RuntimeError: the process failed; the message ends with its stderr.
    """
    env = {**os.environ, **WORKER_ENV}
    proc = subprocess.run(
        [sys.executable, str(script), "--worker", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=timeout,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"{Path(script).name} {' '.join(args)} failed (exit {proc.returncode}):\n"
            f"{proc.stderr[-3000:]}"
        )
    return json.loads(lines[-1])


def machine_line(parallel: int) -> str:
    """Date, CPU architecture, cores, runs at a time, torch threads: for a results title."""
    return (
        f"{date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"{parallel} run{'s' if parallel > 1 else ''} at a time, torch 1 thread each"
    )


def machine_speed_line() -> str:
    """The machine's unit costs (see machine.py), measured now, as one sentence."""
    sys.path.insert(0, str(Path(__file__).parent))
    from machine import describe, machine_speed

    text = describe(machine_speed())
    return f"{text[0].upper()}{text[1:]}."
