"""``course-lib grade``: grade submissions, locally or on a Dask cluster.

Part of :mod:`course_lib.instructor.cli`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from course_lib.instructor.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    PROG,
    add_exercises_argument,
)
from course_lib.instructor.cli.release import (
    _DEFAULT_SOURCE,
)

_DEFAULT_GRADEBOOK = "grading/gradebook.sqlite"


def _add_grade_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade",
        help="grade submissions in a sandbox and record them in the gradebook",
        description=(
            "Grade submitted notebooks: restore locked and test cells from the instructor "
            "notebooks, execute each submission in a sandbox, judge its observations outside "
            "it, and record scores in an SQLite gradebook. Already graded submissions (same "
            "file, same grader version) are skipped, so an interrupted run resumes."
        ),
    )
    parser.add_argument(
        "submitted", type=Path, nargs="?", help="submitted/ folder (nbgrader layout)"
    )
    parser.add_argument("--files", type=Path, nargs="+", default=[], help="notebooks to grade")
    parser.add_argument("--solutions", type=Path, default=Path(_DEFAULT_SOURCE))
    parser.add_argument("--gradebook", type=Path, default=Path(_DEFAULT_GRADEBOOK))
    parser.add_argument("--assignment", action="append", help="grade only this assignment")
    parser.add_argument(
        "--workers", type=int, default=1, help="parallel local processes (default 1)"
    )
    cluster = parser.add_argument_group(
        "grading on a Dask cluster (needs the cluster extra: pip install 'course-lib[cluster]')"
    )
    cluster.add_argument(
        "--scheduler", metavar="ADDRESS", help="send the batch to a running Dask scheduler"
    )
    cluster.add_argument(
        "--slurm", action="store_true", help="start Dask workers as Slurm jobs (dask-jobqueue)"
    )
    cluster.add_argument("--slurm-queue", help="partition (default: the cluster's)")
    cluster.add_argument("--slurm-account", help="account to charge (default: yours)")
    cluster.add_argument(
        "--slurm-cores", type=int, default=4, help="cores per job; one worker each (default 4)"
    )
    cluster.add_argument("--slurm-memory", default="24GB", help="memory per job (default 24GB)")
    cluster.add_argument(
        "--slurm-walltime", default="02:00:00", help="walltime per job (default 02:00:00)"
    )
    cluster.add_argument(
        "--slurm-max-jobs", type=int, default=10, help="jobs at most at once (default 10)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="grading seed (default: the gradebook's)"
    )
    parser.add_argument("--cell-timeout", type=float, default=300.0)
    parser.add_argument("--notebook-timeout", type=float, default=1800.0)
    parser.add_argument("--memory-mb", type=int, default=4096)
    add_exercises_argument(
        parser,
        "a folder of your own exercise modules, for notebooks that name one in their "
        "metadata (course_lib.exercises); students' kernels can read it (docs/authoring.md)",
    )
    parser.add_argument("--fast", action="store_true", help="tiny training budgets (smoke tests)")
    parser.add_argument(
        "--require-sandbox", action="store_true", help="fail instead of grading without bubblewrap"
    )
    parser.set_defaults(run=_run_grade)


def _run_grade(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from course_lib.instructor.grading.grade import (
        GradeSettings,
        check_exercise_dirs,
        default_seed,
        discover,
        grade_batch,
    )
    from course_lib.instructor.grading.gradebook import Gradebook
    from course_lib.instructor.grading.sandbox import Limits

    if args.submitted is None and not args.files:
        print(f"{PROG} grade: error: give a submitted/ folder or --files", file=sys.stderr)
        return EXIT_ERROR
    if args.workers < 1:
        print(f"{PROG} grade: error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return EXIT_ERROR
    if args.scheduler and args.slurm:
        print(f"{PROG} grade: error: give --scheduler or --slurm, not both", file=sys.stderr)
        return EXIT_ERROR
    try:
        exercise_dirs = check_exercise_dirs(args.exercises, args.solutions)
    except ValueError as error:
        print(f"{PROG} grade: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    wanted = set(args.assignment) if args.assignment else None
    items = discover(args.submitted, args.files, wanted)
    seed = args.seed if args.seed is not None else default_seed(args.gradebook)
    settings = GradeSettings(
        solutions=args.solutions.resolve(),
        seed=seed,
        cache_dir=args.gradebook.resolve().parent / ".reference",
        scratch=Path(tempfile.gettempdir()) / f"course-lib-grading-{os.getuid()}",
        limits=Limits(
            memory_mb=args.memory_mb,
            cell_timeout_s=args.cell_timeout,
            notebook_timeout_s=args.notebook_timeout,
        ),
        fast=args.fast,
        require_sandbox=args.require_sandbox,
        exercise_dirs=exercise_dirs,
    )
    stats = {"graded": 0, "errors": 0, "score": 0.0, "max": 0.0}
    bar = tqdm(total=len(items), desc="grading", unit="nb")

    def progress(rec: object) -> None:
        if rec is not None:
            stats["graded"] += 1
            stats["errors"] += rec.status == "error"  # type: ignore[attr-defined]
            stats["score"] += rec.score  # type: ignore[attr-defined]
            stats["max"] += rec.max_score  # type: ignore[attr-defined]
        pct = 100 * stats["score"] / stats["max"] if stats["max"] else 0.0
        bar.set_postfix(graded=stats["graded"], errors=stats["errors"], mean=f"{pct:.0f}%")
        bar.update(1)

    try:
        client = _dask_client(args, settings)
    except (ImportError, OSError, ValueError) as error:
        bar.close()
        print(f"{PROG} grade: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    try:
        with Gradebook(args.gradebook) as book:
            summary = grade_batch(
                book, items, settings, workers=args.workers, progress=progress, client=client
            )
    finally:
        bar.close()
        if client is not None:
            cluster = client.cluster
            client.close()
            if cluster is not None and not args.scheduler:
                cluster.close()
    print(
        f"graded {summary.graded}, skipped {summary.skipped} (already graded), "
        f"{len(summary.errors)} error(s) in {summary.seconds:.1f} s -> {args.gradebook}"
    )
    if summary.errors:
        print("errors:")
        width = max(len(f"{s}/{a}") for s, a, _ in summary.errors)
        for student, assignment, error in summary.errors:
            print(f"  {f'{student}/{assignment}':<{width}}  {error}")
    return EXIT_OK


def _dask_client(args: argparse.Namespace, settings: object) -> object | None:
    """The Dask client the flags ask for (None: the local path); prints where to watch it."""
    if not (args.scheduler or args.slurm):
        return None
    from course_lib.instructor.grading import cluster

    if args.scheduler:
        client = cluster.scheduler_client(args.scheduler)
        where = f"scheduler {args.scheduler}"
    else:
        options = cluster.SlurmOptions(
            queue=args.slurm_queue,
            account=args.slurm_account,
            cores=args.slurm_cores,
            memory=args.slurm_memory,
            walltime=args.slurm_walltime,
            max_jobs=args.slurm_max_jobs,
        )
        client = cluster.slurm_client(options, settings)
        where = f"Slurm, up to {options.max_jobs} jobs of {options.cores} workers"
    print(f"grading on Dask ({where}); dashboard: {client.dashboard_link}", flush=True)
    return client
