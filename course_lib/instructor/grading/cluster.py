"""Grading a large class on a Dask cluster: a running scheduler, or Slurm through dask-jobqueue.

One submission is one Dask task. A worker runs
:func:`~course_lib.instructor.grading.grade.grade_one`,
the same sandboxed execution as the local path, and returns the
:class:`~course_lib.instructor.grading.gradebook.SubmissionRecord` as data; the driver alone writes
the
gradebook, as each result arrives, so an interrupted batch resumes like a local one.

A worker lost mid-task (killed, pre-empted, out of memory) has its submission rescheduled on
another worker by the scheduler. After ``allowed_failures`` such losses the scheduler gives
up on it (Dask's ``KilledWorker``). The scheduler blames every task the dying worker held,
so a submission that merely shared workers with one that kills them can be given up on too:
each given-up submission is therefore graded once more at the end, alone on the cluster, and
only one that kills its workers there as well gets an error row. The batch goes on either
way. Workers need the course folder (``--solutions``) and the gradebook's folder (its
reference cache) at the same paths as the driver: on a cluster, a shared filesystem.

Needs the ``cluster`` extra: ``pip install "course-lib[cluster]"``.
"""

from __future__ import annotations

import math
import re
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_lib.instructor.grading.gradebook import SubmissionRecord
from course_lib.instructor.grading.records import failed_record

__all__ = [
    "CLUSTER_EXTRA",
    "SlurmOptions",
    "grade_on_dask",
    "local_client",
    "scheduler_client",
    "slurm_client",
    "slurm_cluster",
]

CLUSTER_EXTRA = 'pip install "course-lib[cluster]"'
ALLOWED_FAILURES = 2
"""Worker losses a submission may cause before it is recorded as an error (then 3 workers died
while grading it)."""
WORKER_OVERHEAD_MB = 768
"""Memory of one Dask worker process itself, beside the sandboxed kernel it runs."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise ImportError(
            f"grading on a Dask cluster needs the 'cluster' extra: {CLUSTER_EXTRA} "
            f"(or grade locally with --workers N)"
        ) from error
    return distributed


def _grade_on_worker(
    student: str, assignment: str, path: Path, settings: Any, grade: Callable[..., Any]
) -> SubmissionRecord:
    """Runs on a worker: check that it sees the course, then grade."""
    if not Path(settings.solutions).is_dir():
        import socket

        raise FileNotFoundError(
            f"worker on {socket.gethostname()} cannot see the course folder "
            f"{settings.solutions}: workers need it (and the gradebook's folder) at the same "
            f"path as the driver, e.g. on a shared filesystem"
        )
    return grade(student, assignment, path, settings)


def grade_on_dask(
    client: Any,
    todo: Iterable[tuple[str, str, Path]],
    settings: Any,
    done: Callable[[SubmissionRecord], None],
    *,
    grade: Callable[..., SubmissionRecord],
) -> None:
    """Grade ``todo`` on ``client``'s cluster; call ``done`` on the driver for each result.

    A submission the scheduler gave up on (its workers kept dying) is graded once more at the
    end, alone on the cluster. One that kills its worker there too, or whose grading raised on
    the worker, gets an error row (:func:`~course_lib.instructor.grading.grade.failed_record`)
    instead of
    a result; every other submission is graded as if nothing had happened.

    Args:
        client: a connected ``dask.distributed.Client``.
        todo: ``(student, assignment, path)`` triples.
        settings: the :class:`~course_lib.instructor.grading.grade.GradeSettings` of the batch.
        done: called on the driver with each record, as soon as it is known.
        grade: the function a worker runs (:func:`~course_lib.instructor.grading.grade.grade_one`).
    """
    distributed = _distributed()

    def submit(items: list[tuple[str, str, Path]]) -> list[Any]:
        # One graph, one task group ("grade"): a batch larger than twice the cluster's
        # threads is queued on the scheduler and handed out one submission per free thread.
        return client.map(
            _grade_on_worker, *zip(*items, strict=True), settings=settings, grade=grade,
            key=[f"grade-{uuid.uuid4().hex[:8]}-{s}-{a}" for s, a, _ in items],
            pure=False,
        )  # fmt: skip

    def record(future: Any, item: tuple[str, str, Path]) -> SubmissionRecord | None:
        """The future's record; None when the scheduler gave up on it (KilledWorker)."""
        try:
            return future.result()
        except distributed.KilledWorker:
            return None
        except Exception as error:
            return failed_record(
                *item, settings, f"grading failed on a worker: {type(error).__name__}: {error}"
            )
        finally:
            future.release()

    items = [(student, assignment, Path(path)) for student, assignment, path in todo]
    if not items:
        return
    futures = dict(zip(submit(items), items, strict=True))
    given_up: list[tuple[str, str, Path]] = []
    for future in distributed.as_completed(list(futures)):
        item = futures.pop(future)
        rec = record(future, item)
        if rec is None:
            given_up.append(item)
        else:
            done(rec)
    # Alone on the cluster, a submission can only be blamed for the workers it kills itself.
    for item in given_up:
        (future,) = submit([item])
        distributed.wait(future)
        rec = record(future, item)
        if rec is None:
            rec = failed_record(
                *item, settings,
                "grading it killed its worker repeatedly, also when it ran alone on the "
                "cluster; it was not tried again: check the submission's memory use, or the "
                "workers' memory limit",
            )  # fmt: skip
        done(rec)


# ----------------------------------------------------------------------------- clients


def _scheduler_config(allowed_failures: int) -> dict[str, Any]:
    """Settings for a scheduler this module starts.

    A worker-saturation of 1 sends a one-thread worker one submission at a time (Dask's
    default queues a second one on it), so a dying worker takes no bystander with it.
    """
    return {
        "distributed.scheduler.allowed-failures": allowed_failures,
        "distributed.scheduler.worker-saturation": 1.0,
    }


def local_client(workers: int, allowed_failures: int = ALLOWED_FAILURES) -> Any:
    """A ``Client`` on a new ``LocalCluster`` of ``workers`` one-thread processes."""
    import dask

    distributed = _distributed()
    with dask.config.set(_scheduler_config(allowed_failures)):
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    return distributed.Client(cluster)


def scheduler_client(address: str) -> Any:
    """A ``Client`` on a running Dask scheduler (``tcp://host:8786``).

    How often a lost worker's task is retried is that scheduler's own setting
    (``distributed.scheduler.allowed-failures``).

    Raises:
        OSError: no scheduler answers at ``address``; the message says how to start one.
    """
    distributed = _distributed()
    try:
        return distributed.Client(address, timeout="20s")
    except OSError as error:
        raise OSError(
            f"no Dask scheduler answered at {address} ({error}); start one with "
            f"`dask scheduler` and workers with `dask worker {address} --nthreads 1`"
        ) from error


@dataclass(frozen=True)
class SlurmOptions:
    """The Slurm jobs that run the workers: each job runs ``cores`` one-thread workers."""

    queue: str | None = None
    account: str | None = None
    cores: int = 4
    memory: str = "24GB"
    walltime: str = "02:00:00"
    max_jobs: int = 10


def _bytes(text: str) -> int:
    from dask.utils import parse_bytes

    try:
        return parse_bytes(text)
    except (ValueError, TypeError):
        raise ValueError(f"--slurm-memory {text!r}: give a size such as 16GB or 32000MB") from None


def _seconds(walltime: str) -> int:
    """Seconds in a Slurm walltime written ``HH:MM:SS`` or ``D-HH:MM:SS``."""
    match = re.fullmatch(r"(?:(\d+)-)?(\d+):(\d\d):(\d\d)", walltime.strip())
    if not match:
        raise ValueError(f"--slurm-walltime {walltime!r}: give HH:MM:SS or D-HH:MM:SS")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def slurm_cluster(options: SlurmOptions, settings: Any) -> Any:
    """A ``dask_jobqueue.SLURMCluster`` whose job script carries the grader's settings.

    Each job asks for ``options.cores`` cores and ``options.memory``, and runs that many
    one-thread workers. The job script exports one thread per numeric library, checks
    for bubblewrap when the batch requires the sandbox (the job fails at once otherwise),
    and workers retire a few minutes before the walltime, so their tasks move to other jobs
    instead of dying with them.

    Raises:
        ValueError: the memory asked for cannot hold ``cores`` sandboxed kernels at
            ``settings.limits.memory_mb`` each, or a malformed option; the message says
            what to ask for.
    """
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError as error:
        raise ImportError(f"--slurm needs dask-jobqueue: {CLUSTER_EXTRA}") from error
    if options.cores < 1 or options.max_jobs < 1:
        raise ValueError("--slurm-cores and --slurm-max-jobs must be at least 1")
    need = options.cores * (settings.limits.memory_mb + WORKER_OVERHEAD_MB) * 2**20
    if _bytes(options.memory) < need:
        raise ValueError(
            f"--slurm-memory {options.memory} cannot hold {options.cores} workers, each with a "
            f"{settings.limits.memory_mb} MiB sandbox and ~{WORKER_OVERHEAD_MB} MiB for itself: "
            f"ask for at least {math.ceil(need / 1e9)}GB, fewer --slurm-cores, or a lower "
            f"--memory-mb"
        )
    walltime = _seconds(options.walltime)
    lifetime = max(60, walltime - 300)
    prologue = [
        "export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1",
        "export COURSE_LIB_FAST=" + ("1" if settings.fast else "0"),
    ]
    if settings.require_sandbox:
        prologue.append(
            'command -v bwrap >/dev/null || { echo "course-lib: bubblewrap (bwrap) is not '
            "installed on $(hostname); install it there or grade without "
            '--require-sandbox" >&2; exit 1; }'
        )
    return SLURMCluster(
        queue=options.queue,
        account=options.account,
        cores=options.cores,
        processes=options.cores,
        memory=options.memory,
        walltime=options.walltime,
        job_name="course-lib-grade",
        job_script_prologue=prologue,
        worker_extra_args=["--lifetime", f"{lifetime}s", "--lifetime-stagger", "60s"],
        python=sys.executable,
    )


def slurm_client(
    options: SlurmOptions, settings: Any, allowed_failures: int = ALLOWED_FAILURES
) -> Any:
    """A ``Client`` on a new Slurm cluster of at most ``options.max_jobs`` jobs."""
    import dask

    distributed = _distributed()
    with dask.config.set(_scheduler_config(allowed_failures)):
        cluster = slurm_cluster(options, settings)
    cluster.adapt(minimum_jobs=0, maximum_jobs=options.max_jobs)
    return distributed.Client(cluster)
