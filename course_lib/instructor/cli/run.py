"""``course-lib run``: execute a notebook headless and keep its pictures.

Part of :mod:`course_lib.instructor.cli`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_lib.instructor.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    PROG,
    _dir_label,
)


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
