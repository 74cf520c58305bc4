"""``course-lib nbgrader``: an nbgrader course from the instructor notebooks.

Part of :mod:`course_lib.instructor.cli`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from course_lib.instructor.cli.common import EXIT_OK
from course_lib.instructor.cli.release import (
    _DEFAULT_DEST,
    _DEFAULT_SOURCE,
)


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
