"""``course-lib gradescope``: an autograder zip for one assignment.

Part of :mod:`course_lib.instructor.cli`.
"""

from __future__ import annotations

import argparse
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
from course_lib.instructor.grading.gradescope import VISIBILITIES


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
    add_exercises_argument(
        parser, "a folder of your own exercise modules, copied into the zip (as for grade)"
    )
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
                exercises=args.exercises,
            )
        except (FileNotFoundError, ValueError) as error:
            print(f"{PROG} gradescope: error: {error}", file=sys.stderr)
            return EXIT_ERROR
    print(
        f"wrote {path}: upload it as the autograder of a Gradescope programming assignment "
        f"(Ubuntu 22.04; raise memory to 4 GB or more); students submit {args.assignment}.ipynb"
    )
    return EXIT_OK
