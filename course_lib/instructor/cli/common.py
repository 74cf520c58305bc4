"""What every subcommand shares: the program's name, exit codes, the parser.

Part of :mod:`course_lib.instructor.cli`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROG = "course-lib"
EXIT_OK = 0
EXIT_STALE = 1  # `release --check`: not up to date
EXIT_ERROR = 2


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


def add_exercises_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """``--exercises DIR`` (repeatable): folders of the instructor's own exercise modules."""
    parser.add_argument(
        "--exercises", type=Path, action="append", default=[], metavar="DIR", help=help
    )


def _dir_label(path: Path) -> str:
    text = path.as_posix()
    return text if text.endswith("/") else text + "/"
