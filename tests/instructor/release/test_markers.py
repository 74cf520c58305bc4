"""Marker parsing on plain source strings."""

from __future__ import annotations

import re

import pytest

from course_lib.instructor.release.markers import (
    MarkerError,
    Region,
    find_regions,
    remove_hidden_regions,
    replace_solution_regions,
    stub_lines,
)

# --------------------------------------------------------------------------- find_regions


def test_no_markers_no_regions():
    assert find_regions("x = 1\ny = 2\n") == []
    assert find_regions("") == []


def test_one_solution_region_with_lines_and_indent():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    assert find_regions(source) == [Region("solution", 2, 4, "    ")]


def test_several_regions_of_both_kinds_in_order():
    source = "\n".join(
        [
            "### BEGIN SOLUTION",  # 1
            "a = 1",
            "### END SOLUTION",  # 3
            "b = 2",
            "\t### BEGIN HIDDEN TESTS",  # 5
            "\tassert b",
            "\t### END HIDDEN TESTS",  # 7
            "  ### BEGIN SOLUTION",  # 8
            "  ### END SOLUTION",  # 9
        ]
    )
    assert find_regions(source) == [
        Region("solution", 1, 3, ""),
        Region("hidden", 5, 7, "\t"),
        Region("solution", 8, 9, "  "),
    ]


def test_markers_tolerate_trailing_whitespace_and_crlf():
    source = "### BEGIN SOLUTION  \r\nx = 1\r\n### END SOLUTION\t\r\n"
    assert find_regions(source) == [Region("solution", 1, 3, "")]


def _raises(source: str, line: int, pattern: str) -> MarkerError:
    with pytest.raises(MarkerError, match=rf"^line {line}: {pattern}") as info:
        find_regions(source)
    assert info.value.line == line
    return info.value


def test_end_without_begin():
    _raises(
        "x = 1\n### END SOLUTION",
        2,
        re.escape("`### END SOLUTION` has no matching `### BEGIN SOLUTION` above it; add"),
    )


def test_end_hidden_without_begin():
    _raises(
        "### END HIDDEN TESTS",
        1,
        re.escape("`### END HIDDEN TESTS` has no matching `### BEGIN HIDDEN TESTS`"),
    )


def test_begin_without_end_points_at_the_begin_line():
    error = _raises(
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n",
        2,
        re.escape("`### BEGIN SOLUTION` is never closed; add `### END SOLUTION` on its own line"),
    )
    assert "after the last line of the solution" in error.problem


def test_nested_begin():
    _raises(
        "### BEGIN SOLUTION\nx = 1\n    ### BEGIN SOLUTION\n### END SOLUTION\n",
        3,
        re.escape(
            "`### BEGIN SOLUTION` opens a region inside the solution region opened at line 1; "
            "regions cannot nest: close that one with `### END SOLUTION` first."
        ),
    )


def test_hidden_region_inside_solution_region_is_nesting():
    _raises(
        "### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n",
        2,
        re.escape("`### BEGIN HIDDEN TESTS` opens a region inside the solution region"),
    )


def test_end_of_the_other_kind():
    _raises(
        "### BEGIN HIDDEN TESTS\nassert True\n### END SOLUTION\n",
        3,
        re.escape(
            "`### END SOLUTION` closes a region, but the region opened at line 1 holds "
            "hidden tests; close it with `### END HIDDEN TESTS`."
        ),
    )


@pytest.mark.parametrize(
    ("source", "word"),
    [
        ("x = 1  ### END SOLUTION", "END SOLUTION"),
        ("## BEGIN SOLUTION", "BEGIN SOLUTION"),
        ("print('BEGIN HIDDEN TESTS')", "BEGIN HIDDEN TESTS"),
        ("# see END HIDDEN TESTS below", "END HIDDEN TESTS"),
    ],
)
def test_marker_words_outside_a_marker_line_are_refused(source, word):
    _raises(
        "ok = True\n" + source,
        2,
        re.escape(f"mentions '{word}' but is not a marker line; a marker must stand alone"),
    )


# --------------------------------------------------------------------------- stubs


def test_stub_lines():
    assert stub_lines("code") == ["# YOUR CODE HERE", "raise NotImplementedError()"]
    assert stub_lines("code", "\t\t") == ["\t\t# YOUR CODE HERE", "\t\traise NotImplementedError()"]
    assert stub_lines("markdown", "  ") == ["  YOUR ANSWER HERE"]
    with pytest.raises(ValueError, match="not 'raw' cells"):
        stub_lines("raw")


def test_replace_solution_region_keeps_indent_and_surroundings():
    source = (
        "def f(x):\n"
        '    """Twice x."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = 2 * x\n"
        "    return y\n"
        "    ### END SOLUTION\n"
        "\n"
        "print(f(2))"
    )
    assert replace_solution_regions(source) == (
        "def f(x):\n"
        '    """Twice x."""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n"
        "\n"
        "print(f(2))"
    )


def test_replace_several_regions_at_their_own_indents():
    source = (
        "class A:\n"
        "    def f(self):\n"
        "        ### BEGIN SOLUTION\n"
        "        return 1\n"
        "        ### END SOLUTION\n"
        "\n"
        "### BEGIN SOLUTION\n"
        "a = A()\n"
        "### END SOLUTION"
    )
    assert replace_solution_regions(source) == (
        "class A:\n"
        "    def f(self):\n"
        "        # YOUR CODE HERE\n"
        "        raise NotImplementedError()\n"
        "\n"
        "# YOUR CODE HERE\n"
        "raise NotImplementedError()"
    )


def test_replace_markdown_region():
    source = "**Answer:**\n\n### BEGIN SOLUTION\nBecause gamma < 1.\n### END SOLUTION\n"
    assert replace_solution_regions(source, "markdown") == "**Answer:**\n\nYOUR ANSWER HERE\n"


def test_replace_keeps_crlf_endings():
    source = "x = 0\r\n### BEGIN SOLUTION\r\nx = 1\r\n### END SOLUTION\r\n"
    assert replace_solution_regions(source) == (
        "x = 0\r\n# YOUR CODE HERE\r\nraise NotImplementedError()\r\n"
    )


def test_replace_leaves_hidden_regions_and_plain_text_alone():
    source = "### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS\n"
    assert replace_solution_regions(source) == source
    assert replace_solution_regions("x = 1") == "x = 1"


def test_replace_raises_on_malformed_markers():
    with pytest.raises(MarkerError, match=r"^line 1: `### BEGIN SOLUTION` is never closed"):
        replace_solution_regions("### BEGIN SOLUTION\nx = 1")


# --------------------------------------------------------------------------- hidden regions


def test_remove_hidden_region_at_the_end_keeps_no_trailing_newline():
    source = "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(5) == 10\n### END HIDDEN TESTS"
    assert remove_hidden_regions(source) == "assert f(1) == 2"


def test_remove_hidden_region_in_the_middle_and_indented():
    source = (
        "for x in range(3):\n"
        "    assert f(x) == 2 * x\n"
        "    ### BEGIN HIDDEN TESTS\n"
        "    assert f(-x) == -2 * x\n"
        "    ### END HIDDEN TESTS\n"
        "print('ok')\n"
    )
    assert remove_hidden_regions(source) == (
        "for x in range(3):\n    assert f(x) == 2 * x\nprint('ok')\n"
    )


def test_remove_several_hidden_regions_and_a_fully_hidden_cell():
    source = (
        "### BEGIN HIDDEN TESTS\na\n### END HIDDEN TESTS\n"
        "b\n"
        "### BEGIN HIDDEN TESTS\nc\n### END HIDDEN TESTS\n"
    )
    assert remove_hidden_regions(source) == "b\n"
    assert remove_hidden_regions("### BEGIN HIDDEN TESTS\na\n### END HIDDEN TESTS") == ""


def test_remove_leaves_solution_regions_alone():
    source = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    assert remove_hidden_regions(source) == source


def test_remove_raises_on_malformed_markers():
    with pytest.raises(MarkerError, match=r"^line 2: `### END HIDDEN TESTS` has no matching"):
        remove_hidden_regions("x\n### END HIDDEN TESTS")
