"""Marker regions inside a cell's source: find them, stub them, drop them.

Pure functions on source strings; nothing here knows about notebooks. A
region starts at a line that holds only a BEGIN marker (any indentation) and
ends at the next line that holds only the matching END marker::

    def f(x):
        ### BEGIN SOLUTION
        return 2 * x
        ### END SOLUTION

Problems are reported as :class:`MarkerError`, which carries the 1-based line
number within the source; the release steps add the notebook and cell.

Any line that mentions a marker keyword without being exactly a marker line
(``x = 1  ### END SOLUTION``, ``## BEGIN SOLUTION``) is refused too: the
release must never ship those words to students, so it is better to point at
the line now than to fail the final safety check later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BEGIN_HIDDEN",
    "BEGIN_SOLUTION",
    "CODE_STUB",
    "END_HIDDEN",
    "END_SOLUTION",
    "FORBIDDEN_WORDS",
    "MARKDOWN_STUB",
    "MarkerError",
    "Region",
    "find_regions",
    "hidden_region_text",
    "remove_hidden_regions",
    "replace_solution_regions",
    "stub_lines",
]

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"

#: What a student notebook may never contain, anywhere.
FORBIDDEN_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")

#: The lines a code solution region becomes (indented like its BEGIN marker).
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
#: The line a markdown solution region becomes.
MARKDOWN_STUB = ("YOUR ANSWER HERE",)

Kind = Literal["solution", "hidden"]

# kind -> (begin marker, end marker, what the region holds)
_MARKERS: dict[Kind, tuple[str, str, str]] = {
    "solution": (BEGIN_SOLUTION, END_SOLUTION, "solution"),
    "hidden": (BEGIN_HIDDEN, END_HIDDEN, "hidden tests"),
}
_BEGIN = {BEGIN_SOLUTION: "solution", BEGIN_HIDDEN: "hidden"}
_END = {END_SOLUTION: "solution", END_HIDDEN: "hidden"}

# One line including its line ending; the last line may have none.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


class MarkerError(ValueError):
    """A marker problem at a 1-based line of one cell's source.

    Attributes:
        line: the 1-based line number within the source.
        problem: what is wrong and how to fix it, without the line number.
    """

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}")


@dataclass(frozen=True)
class Region:
    """One marked region.

    Attributes:
        kind: ``"solution"`` or ``"hidden"``.
        begin: 1-based line number of the BEGIN marker.
        end: 1-based line number of the END marker.
        indent: the leading whitespace of the BEGIN marker line.
    """

    kind: Kind
    begin: int
    end: int
    indent: str


def _lines(source: str) -> list[str]:
    """Split into lines that keep their endings, so ``"".join`` restores ``source``."""
    return _LINE.findall(source)


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _loose_mention(text: str) -> str | None:
    for word in FORBIDDEN_WORDS:
        if word in text:
            return word
    return None


def find_regions(source: str) -> list[Region]:
    """All marker regions of ``source``, in order.

    Raises:
        MarkerError: for an END without BEGIN, a BEGIN inside an open region,
            an END that closes the other kind of region, a BEGIN that is never
            closed, or a marker keyword on a line that is not a marker line.

    Examples:
        >>> src = "def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION"
        >>> find_regions(src)
        [Region(kind='solution', begin=2, end=4, indent='    ')]
    """
    regions: list[Region] = []
    open_kind: Kind | None = None
    open_line = 0
    open_indent = ""
    for number, line in enumerate(_lines(source), start=1):
        text = line.strip()
        if text in _BEGIN:
            kind: Kind = _BEGIN[text]  # type: ignore[assignment]
            if open_kind is not None:
                close = _MARKERS[open_kind][1]
                raise MarkerError(
                    number,
                    f"`{text}` opens a region inside the {_MARKERS[open_kind][2]} region "
                    f"opened at line {open_line}; regions cannot nest: close that one "
                    f"with `{close}` first.",
                )
            open_kind, open_line, open_indent = kind, number, line[: len(line) - len(line.lstrip())]
        elif text in _END:
            kind = _END[text]  # type: ignore[assignment]
            begin = _MARKERS[kind][0]
            if open_kind is None:
                raise MarkerError(
                    number,
                    f"`{text}` has no matching `{begin}` above it; add `{begin}` where "
                    f"the region starts, or delete this line.",
                )
            if open_kind != kind:
                close = _MARKERS[open_kind][1]
                raise MarkerError(
                    number,
                    f"`{text}` closes a region, but the region opened at line {open_line} "
                    f"holds {_MARKERS[open_kind][2]}; close it with `{close}`.",
                )
            regions.append(Region(kind, open_line, number, open_indent))
            open_kind = None
        elif (word := _loose_mention(text)) is not None:
            raise MarkerError(
                number,
                f"mentions '{word}' but is not a marker line; a marker must stand alone "
                f"on its line, exactly `### {word}` (these words are never shipped to "
                f"students, so reword or remove any other mention).",
            )
    if open_kind is not None:
        begin, close, what = _MARKERS[open_kind]
        raise MarkerError(
            open_line,
            f"`{begin}` is never closed; add `{close}` on its own line after the last "
            f"line of the {what}.",
        )
    return regions


def stub_lines(cell_type: str, indent: str = "") -> list[str]:
    """The placeholder lines (without endings) that replace a solution.

    Examples:
        >>> stub_lines("code", "    ")
        ['    # YOUR CODE HERE', '    raise NotImplementedError()']
        >>> stub_lines("markdown")
        ['YOUR ANSWER HERE']
    """
    if cell_type == "code":
        stub = CODE_STUB
    elif cell_type == "markdown":
        stub = MARKDOWN_STUB
    else:
        raise ValueError(f"solutions live in code or markdown cells, not {cell_type!r} cells")
    return [indent + line for line in stub]


def replace_solution_regions(source: str, cell_type: str = "code") -> str:
    """Replace every solution region (markers included) by its stub.

    Each stub is indented like its BEGIN marker; lines outside the regions,
    hidden-test regions included, are kept byte for byte.

    Raises:
        MarkerError: if the markers are malformed (see :func:`find_regions`).

    Examples:
        >>> src = "def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION\\n"
        >>> print(replace_solution_regions(src), end="")
        def f():
            # YOUR CODE HERE
            raise NotImplementedError()
    """
    lines = _lines(source)
    out: list[str] = []
    done = 0  # lines[:done] are dealt with
    for region in find_regions(source):
        if region.kind != "solution":
            continue
        out.extend(lines[done : region.begin - 1])
        stub = stub_lines(cell_type, region.indent)
        inner_ending = _ending(lines[region.begin - 1])  # never empty: an END line follows
        last_ending = _ending(lines[region.end - 1])  # empty when END is the last line
        out.extend(line + inner_ending for line in stub[:-1])
        out.append(stub[-1] + last_ending)
        done = region.end
    out.extend(lines[done:])
    return "".join(out)


def remove_hidden_regions(source: str) -> str:
    """Delete every hidden-test region, marker lines included.

    If the source did not end with a line ending, neither does the result.

    Raises:
        MarkerError: if the markers are malformed (see :func:`find_regions`).

    Examples:
        >>> src = "ok()\\n### BEGIN HIDDEN TESTS\\nsecret()\\n### END HIDDEN TESTS"
        >>> remove_hidden_regions(src)
        'ok()'
    """
    lines = _lines(source)
    keep = [True] * len(lines)
    for region in find_regions(source):
        if region.kind == "hidden":
            keep[region.begin - 1 : region.end] = [False] * (region.end - region.begin + 1)
    kept = [line for line, wanted in zip(lines, keep, strict=True) if wanted]
    if kept and not _ending(lines[-1]):
        kept[-1] = kept[-1].rstrip("\r\n")  # the source ended without a line ending
    return "".join(kept)


def hidden_region_text(source: str) -> str:
    """The lines inside the hidden-test regions, marker lines excluded, in order.

    Raises:
        MarkerError: if the markers are malformed (see :func:`find_regions`).

    Examples:
        >>> src = "ok()\\n### BEGIN HIDDEN TESTS\\nsecret()\\n### END HIDDEN TESTS"
        >>> hidden_region_text(src)
        'secret()\\n'
    """
    lines = _lines(source)
    inside = [
        line
        for region in find_regions(source)
        if region.kind == "hidden"
        for line in lines[region.begin : region.end - 1]
    ]
    return "".join(line if _ending(line) else line + "\n" for line in inside)
