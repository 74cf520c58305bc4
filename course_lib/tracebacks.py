"""Short error reports in notebooks: what went wrong first, the course's internals hidden.

A failing visible check raises :class:`~course_lib.checks.core.CheckFailed`, whose message
says what was expected, what came, and the likely bug. In IPython, the 35-45 lines of the
check's own frames would push that message below the fold, so the exception renders itself
(``_render_traceback_``, IPython's hook) as its message and one line pointing at the
student's own code: the cell that ran the check and, when the student's code raised, the
line that raised.

An exercise still holding its stub raises ``NotImplementedError`` from the stub. In a
notebook that imported the course's checks, :func:`install` reports it as the exercise not
written yet: which function or method, and which cell defines it.

The full traceback is one call away: ``cl.full_tracebacks()`` (or the environment variable
``COURSE_LIB_FULL_TRACEBACKS=1``) turns both off for the session.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from types import TracebackType
from typing import Any

__all__ = [
    "full_tracebacks",
    "install",
    "render_check_failure",
    "render_not_written",
    "short_tracebacks_on",
]

_RED, _BOLD, _DIM, _RESET = "\x1b[31m", "\x1b[1m", "\x1b[2m", "\x1b[0m"
_STATE = {"full": False}
_HOW_TO_SEE_ALL = "full traceback: run cl.full_tracebacks(), then this cell again"


def full_tracebacks(on: bool = True) -> None:
    """Show Python's full tracebacks for failed checks and unwritten exercises (``on``),
    or the short reports again (``on=False``), for the rest of the session."""
    _STATE["full"] = bool(on)


def short_tracebacks_on() -> bool:
    """Whether errors render as short reports (not after :func:`full_tracebacks`, nor with
    ``COURSE_LIB_FULL_TRACEBACKS`` set to a true value)."""
    flag = os.environ.get("COURSE_LIB_FULL_TRACEBACKS", "").strip().lower()
    return not _STATE["full"] and flag in ("", "0", "false", "no", "off")


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with every notebook
        return None
    return get_ipython()


def _cell_label(filename: str) -> str | None:
    """``"Cell In[7]"`` for a notebook cell's code, None for a file."""
    shell = _shell()
    number = getattr(getattr(shell, "compile", None), "_filename_map", {}).get(filename)
    if number is not None:
        return f"Cell In[{number}]"
    if filename.startswith("<ipython-input-"):  # IPython 7 (Colab)
        return "Cell In[" + filename.split("-")[2] + "]"
    return None


def _cell_frames(tb: TracebackType | None) -> Iterator[tuple[traceback.FrameSummary, str]]:
    """The frames of ``tb`` that run a notebook cell's code, outermost first."""
    for frame in traceback.extract_tb(tb):
        label = _cell_label(frame.filename)
        if label is not None:
            yield frame, label


def _where(frame: traceback.FrameSummary, label: str) -> str:
    inside = "" if frame.name == "<module>" else f", in {frame.name}"
    line = (frame.line or "").strip()
    return f"{label}, line {frame.lineno}{inside}" + (f": {line}" if line else "")


def render_check_failure(exc: BaseException) -> list[str]:
    """The short report of a failed check: its message, the cell that ran it, and the line
    of the student's code that raised (when the failure is an error of theirs)."""
    first, *rest = str(exc).splitlines() or [type(exc).__name__]
    lines = [f"{_RED}{_BOLD}✘ {first}{_RESET}", *rest]
    called = next(iter(_cell_frames(exc.__traceback__)), None)
    cause = exc.__cause__
    raised = list(_cell_frames(cause.__traceback__)) if cause is not None else []
    if raised:
        frame, label = raised[-1]
        lines.append(
            f"{_DIM}your code raised {type(cause).__name__} at {_where(frame, label)}{_RESET}"
        )
    if called is not None:
        lines.append(f"{_DIM}checked in {_where(*called)}{_RESET}")
    lines.append(f"{_DIM}({type(exc).__name__}; {_HOW_TO_SEE_ALL}){_RESET}")
    return lines


def render_not_written(exc: BaseException) -> list[str] | None:
    """The short report of an exercise still holding its stub, or None when the
    ``NotImplementedError`` did not come from a notebook cell's code."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return None
    code = tb.tb_frame.f_code
    label = _cell_label(code.co_filename)
    if label is None:  # raised by a library (torch's missing forward, ...): not a stub
        return None
    name = getattr(code, "co_qualname", None) or code.co_name
    if name == "<module>":
        what = "this cell's exercise"
    else:
        what = f"{name.replace('.__init__', '')}{'' if '.' in name else '()'}"
    lines = [
        f"{_RED}{_BOLD}✘ {what} is not written yet{_RESET}: {label} still raises "
        "NotImplementedError there.",
        f"  Replace `# YOUR CODE HERE` and `raise NotImplementedError()` in {label} with your "
        "code, run that cell, then run this one again.",
    ]
    called = next(iter(_cell_frames(exc.__traceback__)), None)
    if called is not None and called[1] != label:
        lines.append(f"{_DIM}called from {_where(*called)}{_RESET}")
    lines.append(f"{_DIM}({_HOW_TO_SEE_ALL}){_RESET}")
    return lines


def _not_written_handler(
    shell: Any, etype: type, value: BaseException, tb: TracebackType, tb_offset: Any = None
) -> list[str] | None:
    """IPython's custom handler for ``NotImplementedError``: the short report, shown as the
    cell's error output; Python's traceback when there is nothing short to say."""
    stb = render_not_written(value) if short_tracebacks_on() else None
    if stb is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    shell._showtraceback(etype, value, stb)
    return stb


def install() -> bool:
    """Report unwritten exercises briefly in this IPython session (once; a no-op outside
    IPython). Returns whether the handler is in place."""
    shell = _shell()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    current = getattr(shell, "custom_exceptions", ())
    if NotImplementedError in current:
        return True
    if current:  # someone else's handler: leave it
        return False
    shell.set_custom_exc((NotImplementedError,), _not_written_handler)
    return True
