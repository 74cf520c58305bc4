"""``course-lib validate``: a student's self-check before submitting."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_lib.instructor.cli.common import EXIT_ERROR, EXIT_OK, PROG

EXIT_NOT_READY = 1


def _add_validate_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="run your notebook top to bottom and say whether it is ready to submit",
        description="Run a copy of the notebook top to bottom in a fresh kernel (nbval) and "
        "report: the visible checks, exercises not written yet, locked cells edited, whether "
        "each trained policy exists and exports, and how long it took. Exit code 0 only when "
        "the notebook is ready to submit.",
    )
    parser.add_argument("notebook", type=Path, help="your .ipynb file")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="tiny training budgets: a quick run of every cell (the reward is not checked)",
    )
    parser.add_argument(
        "--cell-timeout", type=int, default=1800, help="seconds one cell may take (1800)"
    )
    parser.set_defaults(run=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    from course_lib.instructor.readiness import ValidationError, validate

    try:
        result = validate(args.notebook, fast=args.fast, cell_timeout=args.cell_timeout)
    except ValidationError as err:
        print(f"{PROG} validate: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    print(result.report())
    return EXIT_OK if result.ready else EXIT_NOT_READY
