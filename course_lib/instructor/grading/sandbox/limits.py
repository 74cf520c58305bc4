"""The sandbox's limits, errors and constants.

Part of :mod:`course_lib.instructor.grading.sandbox`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

KERNEL_NAME = "course-lib-sandbox"
_SANDBOX_USER = "student"
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TORCH_NUM_THREADS")
_TOKEN_VAR = "COURSE_LIB_SANDBOX_TOKEN"
_UNIX_PATH_MAX = 107  # sun_path holds 108 bytes with the terminating NUL
_TRACEBACK_HEAD = 1_000
_TRACEBACK_TAIL = 3_000
_EVALUE_MAX = 1_000
OMITTED_REASON = "not run by the grader: marked not needed for grading"
_LOG_KEEP = 64_000
_MAX_MESSAGE_BYTES = 32 * 2**20  # kernel messages above this are replaced by a note
_ZMQ_RCVHWM = 4  # messages queued on each grader socket
_NICE = 10  # niceness of the sandboxed kernel
_CELL_OUTPUT_FLOOR = 16_000  # bytes of output every cell keeps even past the cap
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PAGE = os.sysconf("SC_PAGE_SIZE")

# Sets resource limits given as NAME=value, then execs what follows "--"; used where
# `prlimit` is missing.
_RLIMIT_LAUNCHER = (
    "import os,resource,sys\n"
    "i=sys.argv.index('--')\n"
    "for a in sys.argv[1:i]:\n"
    " n,v=a.split('=');v=int(v);resource.setrlimit(getattr(resource,n),(v,v))\n"
    "os.execvp(sys.argv[i+1],sys.argv[i+1:])\n"
)


class SandboxError(RuntimeError):
    """The sandboxed kernel could not be started or driven."""


class SandboxUnavailableWarning(UserWarning):
    """bubblewrap is unavailable: the kernel runs without the sandbox."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed notebook run.

    Attributes:
        memory_mb: ``RLIMIT_AS`` of every sandbox process, in MiB, and the cap on the
            resident memory of all of them together (watchdog). 4096 MiB runs torch.
        cell_timeout_s: Wall-clock seconds one cell may run before it is interrupted.
        notebook_timeout_s: Wall-clock seconds for the whole notebook; cells after the
            deadline are skipped.
        max_processes: ``RLIMIT_NPROC``: tasks (processes *and threads*) the sandbox's
            uid may have (at least 16). An idle kernel uses 11.
        threads: Value of ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``,
            ``OPENBLAS_NUM_THREADS`` and ``TORCH_NUM_THREADS``.
        max_output_bytes: Total size of the outputs kept for the notebook. Past it,
            outputs are dropped (stream text clipped) and a note is recorded, except that
            every cell still keeps its first 16 KB, so that the observations printed by
            graded cells survive an earlier flood.
        max_file_mb: ``RLIMIT_FSIZE`` (largest file the kernel may write), and the size
            of the in-memory ``/tmp`` and ``/dev/shm``.
    """

    memory_mb: int = 4096
    cell_timeout_s: float = 300
    notebook_timeout_s: float = 1800
    max_processes: int = 64
    threads: int = 1
    max_output_bytes: int = 2_000_000
    max_file_mb: int = 1024

    def __post_init__(self) -> None:
        for name in ("memory_mb", "max_processes", "threads", "max_file_mb"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"Limits.{name} must be at least 1, got {getattr(self, name)!r}")
        for name in ("cell_timeout_s", "notebook_timeout_s"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")
        if self.max_output_bytes < 0:
            raise ValueError(f"Limits.max_output_bytes must be >= 0, got {self.max_output_bytes}")
        if self.max_processes < 16:
            raise ValueError(
                f"Limits.max_processes={self.max_processes} is too low: the kernel itself "
                "needs about 10 tasks (threads count); use at least 16."
            )
