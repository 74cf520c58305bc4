"""The ``course-lib`` command.

One subcommand per task, each a pair of functions: ``_add_<name>_parser``
declares its arguments and ``_run_<name>`` does the work and returns the exit
code. To add a subcommand (grade, export, feedback, ...), write that pair and
register the first in :data:`_SUBCOMMANDS` (each command has its module here).

Exit codes: 0 success, 1 "not up to date" (``release --check``), 2 an error
(reported on stderr as one paragraph, without a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from course_lib.instructor.cli.common import EXIT_ERROR, PROG, _Parser, _UsageError
from course_lib.instructor.cli.grade import (
    _add_grade_parser,
)
from course_lib.instructor.cli.gradescope import (
    _add_gradescope_parser,
)
from course_lib.instructor.cli.nbgrader import (
    _add_nbgrader_parser,
)
from course_lib.instructor.cli.release import (
    _add_release_parser,
)
from course_lib.instructor.cli.results import (
    _add_export_parser,
    _add_feedback_parser,
    _add_report_parser,
    _add_sample_parser,
)
from course_lib.instructor.cli.run import (
    _add_run_parser,
)
from course_lib.instructor.cli.validate import (
    _add_validate_parser,
)

__all__ = ["main"]

_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_release_parser,
    _add_nbgrader_parser,
    _add_run_parser,
    _add_sample_parser,
    _add_grade_parser,
    _add_export_parser,
    _add_gradescope_parser,
    _add_feedback_parser,
    _add_report_parser,
    _add_validate_parser,
)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Release, grade and export the actor-critic course's notebooks.",
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
