"""``course-lib release``: the student notebooks from the instructor notebooks.

Part of :mod:`course_lib.instructor.cli`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from course_lib.instructor.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_STALE,
    PROG,
    _dir_label,
)

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
