"""Progress bars that suit both notebooks and terminals.

:func:`progress` is ``tqdm.auto.tqdm`` with course defaults: a widget bar in
Jupyter, a text bar elsewhere, and few refreshes when nobody is watching (CI,
output piped to a file), so logs stay short.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm.std import tqdm

__all__ = ["progress"]

_INTERACTIVE_INTERVAL = 0.5
_QUIET_INTERVAL = 5.0
_FALSE = {"", "0", "false", "no", "off"}


def _quiet() -> bool:
    """True when nobody watches the bar live: ``CI`` is set, or stderr is not a
    terminal and we are not in a Jupyter kernel."""
    if os.environ.get("CI", "").strip().lower() not in _FALSE:
        return True
    from course_lib.plotting import in_notebook

    if in_notebook():
        return False
    try:
        return not sys.stderr.isatty()
    except (AttributeError, ValueError):  # stderr is None, replaced, or closed
        return True


def progress(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    **kwargs: Any,
) -> tqdm:
    """A ``tqdm.auto`` progress bar with course defaults.

    The bar refreshes at most every 0.5 s (``mininterval``), or every 5 s in a
    non-interactive run (environment variable ``CI`` set, or stderr not a
    terminal outside Jupyter). Its width follows the window (``dynamic_ncols``).

    Args:
        iterable: what to iterate over; ``None`` for a manual bar that you
            advance with ``bar.update(n)``.
        total: the number of steps, if ``iterable`` has no ``len()``.
        desc: a label shown before the bar.
        **kwargs: any other ``tqdm`` argument; overrides the defaults above.

    Returns:
        The bar (iterate over it, or call ``.update()`` / ``.set_postfix()``).

    Examples:
        >>> import io
        >>> list(progress(range(3), desc="demo", file=io.StringIO()))
        [0, 1, 2]
        >>> bar = progress(total=10, file=io.StringIO(), mininterval=1.0)
        >>> bar.total, bar.mininterval
        (10, 1.0)
        >>> bar.close()
    """
    from tqdm.auto import tqdm

    kwargs.setdefault("mininterval", _QUIET_INTERVAL if _quiet() else _INTERACTIVE_INTERVAL)
    kwargs.setdefault("dynamic_ncols", True)
    return _course_bar(tqdm)(iterable, total=total, desc=desc, **kwargs)


@functools.cache
def _course_bar(base: type[tqdm]) -> type[tqdm]:
    """``base`` (tqdm.auto's choice of bar) as the course's bar: see :class:`CourseBar`."""

    class CourseBar(base):  # type: ignore[valid-type,misc]
        """A bar that finishes green when the run stops before its total, and that, in a
        notebook, leaves plain text behind when closed.

        A training loop's bar counts up to a budget, and the run stops earlier when the
        stop rule is met: a success, which tqdm's widget would paint red. Closed before its
        total, the bar ends at what was done, with the budget in its label. In Jupyter the
        live widget is then replaced by the same line as text, so that a saved notebook shows
        the bar, not "Error displaying widget: model not found" once the widgets are gone.
        """

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._handle: Any = None
            notebook = any(k.__module__ == "tqdm.notebook" for k in base.__mro__)
            if notebook and kwargs.get("display", True) and not kwargs.get("disable"):
                kwargs["display"] = False
                super().__init__(*args, **kwargs)
                if not self.disable and hasattr(self, "container"):
                    from IPython.display import display

                    self._handle = display(self.container, display_id=True)
                    self.displayed = True
            else:
                super().__init__(*args, **kwargs)

        def close(self) -> None:
            if self.disable or getattr(self, "_closed_here", False):
                return super().close()
            self._closed_here = True
            if self.total and 0 < self.n < self.total:
                label = f"{self.desc} " if self.desc else ""
                self.set_description(
                    f"{label}(stopped at {self.n:,} of {self.total:,})", refresh=False
                )
                self.total = self.n
                if hasattr(self, "container"):
                    self.container.children[1].max = self.n
            super().close()
            if self._handle is not None:
                text = self.format_meter(**{**self.format_dict, "ncols": 100})
                self._handle.update({"text/plain": text}, raw=True)

    CourseBar.__name__ = CourseBar.__qualname__ = f"CourseBar[{base.__module__}]"
    return CourseBar
