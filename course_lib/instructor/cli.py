"""The ``course-lib`` command.

One subcommand per task, each a pair of functions: ``_add_<name>_parser``
declares its arguments and ``_run_<name>`` does the work and returns the exit
code. To add a subcommand (grade, export, feedback, ...), write that pair and
register the first in :data:`_SUBCOMMANDS`.

Exit codes: 0 success, 1 "not up to date" (``release --check``), 2 an error
(reported on stderr as one paragraph, without a traceback).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from course_lib.instructor.grading.gradescope import VISIBILITIES

__all__ = ["main"]

PROG = "course-lib"
EXIT_OK, EXIT_STALE, EXIT_ERROR = 0, 1, 2


class _UsageError(Exception):
    """argparse wanted to exit; carries its exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Parser(argparse.ArgumentParser):
    # argparse exits the interpreter on bad usage; main() returns a code instead.
    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            self._print_message(message, sys.stderr)
        raise _UsageError(status)


def _dir_label(path: Path) -> str:
    text = path.as_posix()
    return text if text.endswith("/") else text + "/"


# --------------------------------------------------------------------------- release

_DEFAULT_SOURCE = "solutions"
_DEFAULT_DEST = "notebooks"


def _add_release_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "release",
        help="generate the student notebooks from the instructor notebooks",
        description=(
            "Generate student notebooks (solutions stubbed, hidden tests removed, outputs "
            "cleared, a Colab set-up cell first) from the instructor notebooks."
        ),
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=Path(_DEFAULT_SOURCE),
        help="folder of instructor notebooks (default: %(default)s)",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=Path(_DEFAULT_DEST),
        help="folder of student notebooks (default: %(default)s)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the student notebooks are not up to date",
    )
    parser.add_argument(
        "--colab-install",
        metavar="SRC",
        default=None,
        help="pip requirement Colab installs course_lib from (default: [tool.course-lib] "
        "colab-install, or the repository there, in pyproject.toml)",
    )
    parser.add_argument(
        "--wheel",
        metavar="DIR",
        type=Path,
        default=None,
        help="also build the course's wheel into DIR, for students to upload to Colab",
    )
    parser.set_defaults(run=_run_release)


def _release_command(args: argparse.Namespace) -> str:
    words = [PROG, "release"]
    if args.source != Path(_DEFAULT_SOURCE):
        words += ["--source", str(args.source)]
    if args.dest != Path(_DEFAULT_DEST):
        words += ["--dest", str(args.dest)]
    if args.colab_install is not None:
        words += ["--colab-install", args.colab_install]
    return " ".join(shlex.quote(word) for word in words)


def _run_release(args: argparse.Namespace) -> int:
    from course_lib.instructor.release import check_course, release_course
    from course_lib.instructor.release.pipeline import find_repo_root
    from course_lib.instructor.release.steps import ReleaseContext

    if args.check and args.wheel is not None:
        print(f"{PROG} release: error: --check writes nothing; drop --wheel", file=sys.stderr)
        return EXIT_ERROR
    root = find_repo_root(args.source)
    settings = ReleaseContext(root, colab_install=args.colab_install).settings()

    def warn() -> None:  # after the work, so an error is the only thing an error prints
        warning = settings.missing_source_warning()
        if warning is not None:
            print(f"{PROG} release: warning: {warning}", file=sys.stderr)

    dest = _dir_label(args.dest)
    if args.check:
        problems = check_course(args.source, args.dest, colab_install=args.colab_install)
        if problems:
            for problem in problems:
                print(problem)
            print(f"{dest} is stale: run `{_release_command(args)}` to regenerate.")
            warn()
            return EXIT_STALE
        count = sum(
            1 for p in args.source.glob("*.ipynb") if p.is_file() and not p.name.startswith(".")
        )
        print(f"{dest} is up to date ({count} notebook{'' if count == 1 else 's'})")
        warn()
        return EXIT_OK
    written = release_course(args.source, args.dest, colab_install=args.colab_install, log=print)
    if not written:
        print(f"no notebooks in {_dir_label(args.source)}: nothing to release")
    warn()
    if args.wheel is not None:
        from course_lib.instructor.release.colab import SettingsError, build_wheel

        try:
            wheel = build_wheel(root, args.wheel)
        except SettingsError as error:
            print(f"{PROG} release: error: {error}", file=sys.stderr)
            return EXIT_ERROR
        print(
            f"built {wheel}: on Colab, upload it with the Files panel and run the notebook's "
            f"first cell, which installs it"
        )
    return EXIT_OK


# --------------------------------------------------------------------------- nbgrader


def _add_nbgrader_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "nbgrader",
        help="lay out an nbgrader course from the instructor notebooks",
        description=(
            "Write COURSE/source/<assignment>/<assignment>.ipynb for every instructor notebook "
            "(one assignment per notebook, with the release's Colab set-up cell), and a "
            "nbgrader_config.py if COURSE has none. `nbgrader generate_assignment` then writes "
            "the same student notebooks as `course-lib release`, cell for cell."
        ),
    )
    parser.add_argument("course", type=Path, help="the nbgrader course folder")
    parser.add_argument("--source", type=Path, default=Path(_DEFAULT_SOURCE))
    parser.add_argument(
        "--dest",
        type=Path,
        default=Path(_DEFAULT_DEST),
        help="where the released notebooks live, for the Colab badge (default: %(default)s)",
    )
    parser.add_argument("--colab-install", metavar="SRC", default=None)
    parser.add_argument("--course-id", default="actor-critic", help="for a new nbgrader_config.py")
    parser.set_defaults(run=_run_nbgrader)


def _run_nbgrader(args: argparse.Namespace) -> int:
    from course_lib.instructor.release.nbgrader_course import export_course

    written = export_course(
        args.source,
        args.course,
        dest_dir=args.dest,
        colab_install=args.colab_install,
        course_id=args.course_id,
    )
    for path in written:
        print(f"wrote {path}")
    names = " ".join(path.parent.name for path in written)
    print(f"next, in {args.course}: `nbgrader generate_assignment ASSIGNMENT` for each of {names}")
    return EXIT_OK


# --------------------------------------------------------------------------- run


def _add_run_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="execute a notebook headless and save its pictures",
        description=(
            "Execute a notebook top to bottom in a fresh kernel, write the executed notebook "
            "and every plot and animation it showed (PNG, GIF) into --out, and print the time "
            "each cell took."
        ),
    )
    parser.add_argument("notebook", type=Path, help="the .ipynb file to execute")
    parser.add_argument("--out", type=Path, required=True, help="folder for the results")
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds allowed per cell (default: %(default)s)"
    )
    parser.set_defaults(run=_run_run)


def _run_run(args: argparse.Namespace) -> int:
    from nbclient.exceptions import CellExecutionError

    from course_lib.instructor.runner import run_notebook

    print(f"running {args.notebook} ...", flush=True)
    try:
        result = run_notebook(args.notebook, args.out, timeout=args.timeout)
    except CellExecutionError as error:
        first = str(error).strip().splitlines()
        print(
            f"{PROG} run: {args.notebook} failed; the notebook up to the failing cell is in "
            f"{_dir_label(args.out)}.\n" + "\n".join(first[-12:]),
            file=sys.stderr,
        )
        return EXIT_ERROR
    slowest = sorted(result.cell_seconds, key=lambda item: -item[1])[:3]
    print(f"executed in {result.seconds:.1f} s -> {result.executed}")
    print("slowest cells: " + ", ".join(f"{cell} {sec:.1f} s" for cell, sec in slowest))
    for path in result.media:
        print(f"  wrote {path}")
    return EXIT_OK


# --------------------------------------------------------------------------- grade

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
    parser.add_argument("--fast", action="store_true", help="tiny training budgets (smoke tests)")
    parser.add_argument(
        "--require-sandbox", action="store_true", help="fail instead of grading without bubblewrap"
    )
    parser.set_defaults(run=_run_grade)


def _run_grade(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from course_lib.instructor.grading.grade import (
        GradeSettings,
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


def _existing(gradebook: Path) -> Path:
    if not gradebook.is_file():
        raise FileNotFoundError(f"no gradebook at {gradebook}; run `{PROG} grade` first")
    return gradebook


def _add_export_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write grades as CSV and Gradescope JSON",
        description="Write the latest grades: a CSV for the class, Gradescope results.json files.",
    )
    parser.add_argument("--gradebook", type=Path, default=Path(_DEFAULT_GRADEBOOK))
    parser.add_argument("--out", type=Path, default=Path("grading/export"))
    parser.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="CSV from the LMS with a 'folder' column (the submitted/ folder name) and identity "
        "columns (email, student_id, name, ...) to write beside each student",
    )
    parser.add_argument(
        "--solutions",
        type=Path,
        default=Path(_DEFAULT_SOURCE),
        help="instructor notebooks, to tell which tests are hidden (default: %(default)s)",
    )
    parser.add_argument(
        "--hidden-visibility",
        default="after_published",
        choices=VISIBILITIES,
        help="Gradescope visibility of tests holding hidden tests (default: %(default)s)",
    )
    parser.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from course_lib.instructor.grading.export import (
        RosterError,
        export_csv,
        export_gradescope,
        read_roster,
    )
    from course_lib.instructor.grading.gradebook import Gradebook

    try:
        roster = read_roster(args.roster) if args.roster is not None else None
    except RosterError as error:
        print(f"{PROG} export: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    solutions = args.solutions if args.solutions.is_dir() else None
    with Gradebook(_existing(args.gradebook)) as book:
        exported = export_csv(book, args.out / "grades.csv", roster=roster)
        files = export_gradescope(
            book,
            args.out / "gradescope",
            solutions=solutions,
            hidden_visibility=args.hidden_visibility,
        )
    print(f"wrote {exported.path} and {len(files)} Gradescope results in {args.out / 'gradescope'}")
    if roster is not None:
        if exported.not_in_roster:
            print(
                f"not in {args.roster} ({len(exported.not_in_roster)}, kept with empty identity "
                f"columns): {', '.join(exported.not_in_roster)}"
            )
        if exported.without_submission:
            print(
                f"in {args.roster} but never submitted ({len(exported.without_submission)}, "
                f"written as missing): {', '.join(exported.without_submission)}"
            )
    return EXIT_OK


# --------------------------------------------------------------------------- gradescope


def _add_gradescope_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gradescope",
        help="write a Gradescope autograder zip for one assignment",
        description=(
            "Write OUT/<assignment>_autograder.zip: setup.sh and run_autograder, the instructor "
            "notebook and the course's wheel. On Gradescope it installs the course, grades "
            "/autograder/submission/*.ipynb with the sandboxed grader and writes "
            "/autograder/results/results.json."
        ),
    )
    parser.add_argument("assignment", help="a notebook of --solutions, e.g. 02_a2c")
    parser.add_argument("--out", type=Path, required=True, help="folder for the zip")
    parser.add_argument("--solutions", type=Path, default=Path(_DEFAULT_SOURCE))
    parser.add_argument(
        "--hidden-visibility",
        default="after_published",
        choices=VISIBILITIES,
        help="when students see the tests that hold hidden tests (default: %(default)s)",
    )
    parser.add_argument(
        "--wheel", type=Path, default=None, help="the course wheel (default: built now)"
    )
    parser.add_argument("--seed", type=int, default=None, help="grading seed (default: drawn now)")
    parser.add_argument("--memory-mb", type=int, default=3072)
    parser.add_argument("--fast", action="store_true", help="tiny training budgets (to try it out)")
    parser.set_defaults(run=_run_gradescope)


def _run_gradescope(args: argparse.Namespace) -> int:
    from course_lib.instructor.grading.gradescope import build_autograder
    from course_lib.instructor.release.colab import SettingsError, build_wheel
    from course_lib.instructor.release.pipeline import find_repo_root

    with tempfile.TemporaryDirectory() as scratch:
        wheel = args.wheel
        if wheel is None:
            try:
                wheel = build_wheel(find_repo_root(args.solutions), Path(scratch))
            except SettingsError as error:
                print(f"{PROG} gradescope: error: {error}", file=sys.stderr)
                return EXIT_ERROR
        try:
            path = build_autograder(
                args.assignment,
                args.solutions,
                args.out,
                wheel=wheel,
                hidden_visibility=args.hidden_visibility,
                seed=args.seed,
                fast=args.fast,
                memory_mb=args.memory_mb,
            )
        except (FileNotFoundError, ValueError) as error:
            print(f"{PROG} gradescope: error: {error}", file=sys.stderr)
            return EXIT_ERROR
    print(
        f"wrote {path}: upload it as the autograder of a Gradescope programming assignment "
        f"(Ubuntu 22.04; raise memory to 4 GB or more); students submit {args.assignment}.ipynb"
    )
    return EXIT_OK


def _add_feedback_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "feedback",
        help="write one HTML feedback page per student and assignment",
        description="Write an HTML feedback page per student and assignment from the gradebook.",
    )
    parser.add_argument("--gradebook", type=Path, default=Path(_DEFAULT_GRADEBOOK))
    parser.add_argument("--out", type=Path, default=Path("grading/feedback"))
    parser.set_defaults(run=_run_feedback)


def _run_feedback(args: argparse.Namespace) -> int:
    from course_lib.instructor.grading.feedback import write_feedback
    from course_lib.instructor.grading.gradebook import Gradebook

    with Gradebook(_existing(args.gradebook)) as book:
        pages = write_feedback(book, args.out)
    print(f"wrote {len(pages)} feedback pages in {args.out}")
    return EXIT_OK


def _add_sample_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample-class",
        help="write a sample class of submissions to try the grader on",
        description="Write submitted/<student>/<assignment>/ notebooks made from the solutions: "
        "correct, partly wrong, broken, tampered and hostile work.",
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--solutions", type=Path, default=Path(_DEFAULT_SOURCE))
    parser.set_defaults(run=_run_sample)


def _run_sample(args: argparse.Namespace) -> int:
    from course_lib.instructor.grading.sample import make_sample_class

    files = make_sample_class(args.solutions, args.out)
    print(f"wrote {len(files)} submissions in {args.out / 'submitted'}")
    return EXIT_OK


# --------------------------------------------------------------------------- main

_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_release_parser,
    _add_nbgrader_parser,
    _add_run_parser,
    _add_sample_parser,
    _add_grade_parser,
    _add_export_parser,
    _add_gradescope_parser,
    _add_feedback_parser,
)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Release, check and (later) grade the actor-critic course notebooks.",
    )
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", parser_class=_Parser
    )
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


#: Which extra of course-lib installs a module a command imports: the student install
#: (``pip install course-lib``) has none of them.
EXTRA_OF_MODULE = {
    **dict.fromkeys(
        ("nbformat", "nbclient", "nbval", "jupyter_client", "jupyter_core", "ipykernel"),
        "instructor",
    ),
    **dict.fromkeys(("dask", "distributed", "dask_jobqueue"), "cluster"),
    "stable_baselines3": "bench",
}


def _missing_extra(error: ModuleNotFoundError) -> str | None:
    """The paragraph to print when ``error`` is a module one of our extras installs."""
    top = (error.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    if extra is None:
        return None
    return (
        f"this command needs {top}, which the {extra!r} extra of course-lib installs; "
        f"install it with `pip install 'course-lib[{extra}]'` (from a clone of the course: "
        f"`pip install -e '.[{extra}]'`), then run the command again."
    )


def _is_release_error(error: BaseException) -> bool:
    steps = sys.modules.get("course_lib.instructor.release.steps")
    return steps is not None and isinstance(error, steps.ReleaseError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``course-lib`` with ``argv`` (default: the process arguments); return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as error:
        return error.code
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return args.run(args)
    except ModuleNotFoundError as error:
        message = _missing_extra(error)
        if message is None:
            raise
        print(f"{PROG} {args.command}: error: {message}", file=sys.stderr)
    except OSError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
    except Exception as error:
        if not _is_release_error(error):
            raise
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
