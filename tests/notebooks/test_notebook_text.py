"""The instructor notebooks' text agrees with their cells: read with nbformat, no kernel.

Each notebook opens with a block of four run-in headings (You will learn, Before you start,
Points, References); its Points table must match the nbgrader metadata of the graded cells,
section by section. A Plan paragraph names every numbered section. An animation is shown
only where the notebook displays it, and the visible checks are described as they print.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
NOTEBOOKS = sorted(SOLUTIONS.glob("*.ipynb"))

SECTION = re.compile(r"^## (\d+) · (.+?)\s*$")
POINTS_HEADER = "| section | you write | points |"
HEADINGS = ("You will learn", "Before you start", "Points", "References")
LINK = re.compile(r"\[[^\]]+\]\((https?://[^)\s]+)\)")
COUNT_SENTENCE = re.compile(r"\b\w+ exercises?(?: here)?,? (?:worth )?\d+ points\b", re.I)


# --------------------------------------------------------------------------- helpers


def _markdown_lines(source: str) -> list[str]:
    """The lines of a markdown source outside fenced code blocks."""
    lines, fenced = [], False
    for line in source.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def _graded_points(cell) -> int:
    record = cell.metadata.get("nbgrader", {})
    points = record.get("points", 0) or 0
    return points if record.get("grade") and points > 0 else 0


def sections(nb) -> dict[int, tuple[str, int]]:
    """``{k: (title, points)}`` for every ``## k · Title`` header.

    A graded cell belongs to the last ``## `` header above it; a header without a number
    (``## What's next``) ends the section before it.
    """
    found: dict[int, list] = {}
    current = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for line in _markdown_lines(cell.source):
                if line.startswith("## "):
                    match = SECTION.match(line)
                    current = int(match.group(1)) if match else None
                    if match:
                        assert current not in found, f"section {current} appears twice"
                        found[current] = [match.group(2), 0]
        points = _graded_points(cell)
        if points:
            assert current is not None, f"graded cell {index} ({cell.get('id')}) is in no section"
            found[current][1] += points
    return {k: (title, points) for k, (title, points) in found.items()}


def intro(nb) -> str:
    """The markdown before the first ``## `` header: the title cell and what follows it."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        if any(line.startswith("## ") for line in _markdown_lines(cell.source)):
            break
        parts.append(cell.source)
    return "\n\n".join(parts)


def points_table(text: str) -> list[list[str]] | None:
    """The rows (cells stripped) of the Points table in ``text``, without header and rule."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == POINTS_HEADER]
    if len(starts) != 1:
        return None
    rows = []
    for line in lines[starts[0] + 1 :]:
        if not line.strip().startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(set(c) <= set("-: ") for c in cells):
            continue
        rows.append(cells)
    return rows


def points_problems(nb) -> list[str]:
    """What is wrong with the notebook's Points table (empty if nothing)."""
    rows = points_table(intro(nb))
    if rows is None:
        return [f"no single `{POINTS_HEADER}` table before the first section"]
    found = sections(nb)
    problems, listed = [], {}
    *body, last = rows or [[""]]
    for row in body:
        if len(row) != 3:
            problems.append(f"row {row}: three columns expected")
            continue
        match = re.fullmatch(r"(\d+) · (.+)", row[0])
        if not match:
            problems.append(f"row {row}: the first column must read 'k · Title'")
            continue
        k, title = int(match.group(1)), match.group(2)
        if k not in found:
            problems.append(f"row {row}: there is no section {k}")
            continue
        if title != found[k][0]:
            problems.append(f"row {row}: section {k} is titled {found[k][0]!r}")
        if not row[2].isdigit() or int(row[2]) != found[k][1]:
            problems.append(f"row {row}: section {k}'s graded cells are worth {found[k][1]}")
        if k in listed:
            problems.append(f"section {k} has two rows")
        listed[k] = row
    for k, (title, points) in found.items():
        if points > 0 and k not in listed:
            problems.append(f"section {k} · {title} has {points} points but no row")
    total = sum(points for _, points in found.values())
    if len(last) != 3 or last[0] != "total" or last[2] != str(total):
        problems.append(f"last row {last}: expected | total | | {total} |")
    return problems


def heading_problems(nb) -> list[str]:
    text = intro(nb)
    problems = [
        f"no **{name}** heading before the first section"
        for name in HEADINGS
        if not re.search(rf"\*\*{name}\b", text)
    ]
    learn = re.search(r"\*\*You will learn\b(.*?)\*\*Before you start\b", text, re.S)
    if learn:
        bullets = [line for line in learn.group(1).splitlines() if line.startswith("- ")]
        if not 3 <= len(bullets) <= 5:
            problems.append(f"You will learn has {len(bullets)} bullets, not 3-5")
    refs = re.search(r"\*\*References\b(.*?)(?=\n\*\*[A-Z]|\Z)", text, re.S)
    if refs and not LINK.search(refs.group(1)):
        problems.append("References has no markdown link")
    for match in COUNT_SENTENCE.finditer(text):
        problems.append(f"the intro still counts exercises and points: {match.group(0)!r}")
    return problems


def plan_problems(nb) -> list[str]:
    numbers = set(sections(nb))
    problems = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for paragraph in re.split(r"\n\s*\n", cell.source):
            if not paragraph.startswith("**Plan"):
                continue
            named = {int(n) for n in re.findall(r"(?<![\d.])(\d+) ·", paragraph)}
            if named != numbers:
                problems.append(
                    f"the plan names sections {sorted(named)}, the notebook has {sorted(numbers)}"
                )
    return problems


def _is_show_animation(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "show_animation"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "cl"
    )


def animation_problems(nb) -> list[str]:
    """``cl.show_animation(...)`` returns HTML: it shows only as a cell's last expression or
    through ``display(...)``; anywhere else (a loop, the middle of a cell) it shows nothing."""
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "show_animation" not in cell.source:
            continue
        code = "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines()
        )
        tree = ast.parse(code)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        last = tree.body[-1] if tree.body else None
        for node in ast.walk(tree):
            if not _is_show_animation(node):
                continue
            parent = parents.get(node)
            shown_last = isinstance(last, ast.Expr) and last.value is node
            displayed = (
                isinstance(parent, ast.Call)
                and isinstance(parent.func, ast.Name)
                and parent.func.id == "display"
                and node in parent.args
            )
            if not (shown_last or displayed):
                problems.append(
                    f"cell {index} ({cell.get('id')}), line {node.lineno}: cl.show_animation(...) "
                    f"is neither the cell's last expression nor inside display(...)"
                )
    return problems


def green_line_problems(nb) -> list[str]:
    return [
        f"cell {index} ({cell.get('id')}) says 'green line'; a passing check prints a line "
        f"starting with ✔"
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown" and re.search(r"green\s+line", cell.source, re.I)
    ]


# --------------------------------------------------------------------------- tests


def _read(path: Path):
    return nbformat.read(path, as_version=4)


params = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])


def test_the_solutions_are_there():
    assert len(NOTEBOOKS) >= 6, NOTEBOOKS


@params
def test_points_table_matches_the_graded_cells(path):
    assert points_problems(_read(path)) == []


@params
def test_intro_has_the_four_headings(path):
    assert heading_problems(_read(path)) == []


@params
def test_plan_names_every_section(path):
    assert plan_problems(_read(path)) == []


@params
def test_animations_are_displayed(path):
    assert animation_problems(_read(path)) == []


@params
def test_no_green_line(path):
    assert green_line_problems(_read(path)) == []


# --------------------------------------------------------------------------- the checkers


def _nb(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def _graded(points, source="check()"):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "points": points, "grade_id": f"t{points}"}
    return cell


INTRO = """**You will learn** to:

- a;
- b;
- c.

**Before you start.** Notebook 00.

**Points.** What the graded checks of each section are worth:

| section | you write | points |
| --- | --- | --- |
| 1 · One | `f` | 2 |
| 2 · Two | `g` | 3 |
| total | | 5 |

**References.**

- [A paper](https://example.org/paper)."""


def _demo(intro=INTRO, points=(2, 3)):
    return _nb(
        nbformat.v4.new_markdown_cell("# 09 · Demo"),
        nbformat.v4.new_markdown_cell(intro),
        nbformat.v4.new_markdown_cell("## 1 · One"),
        _graded(points[0]),
        nbformat.v4.new_markdown_cell("## 2 · Two\n\n```python\n## not a header\n```"),
        _graded(points[1]),
        nbformat.v4.new_markdown_cell("## What did you notice?"),
        _graded(0),
    )


def test_the_checkers_pass_a_consistent_notebook():
    nb = _demo()
    assert points_problems(nb) == heading_problems(nb) == plan_problems(nb) == []


def test_the_checkers_catch_wrong_points_and_missing_rows():
    problems = points_problems(_demo(points=(2, 4)))
    assert any("worth 4" in p for p in problems) and any("total" in p for p in problems)
    wrong = INTRO.replace("| 2 · Two | `g` | 3 |\n", "")
    problems = points_problems(_demo(intro=wrong))
    assert problems == ["section 2 · Two has 3 points but no row"]
    retitled = INTRO.replace("2 · Two", "2 · Too")
    assert any("titled 'Two'" in p for p in points_problems(_demo(intro=retitled)))


def test_the_checkers_catch_missing_headings_and_links():
    no_refs = INTRO.replace("[A paper](https://example.org/paper)", "A paper")
    assert heading_problems(_demo(intro=no_refs)) == ["References has no markdown link"]
    counted = INTRO.replace("Notebook 00.", "Notebook 00. Two exercises here, worth 5 points.")
    assert len(heading_problems(_demo(intro=counted))) == 1
    assert len(heading_problems(_demo(intro=INTRO.replace("**Before you start.**", "")))) == 1


def test_the_checkers_catch_a_short_plan():
    nb = _demo()
    nb.cells[1].source += "\n\n**Plan.** 1 · one."
    assert plan_problems(nb) == ["the plan names sections [1], the notebook has [1, 2]"]
    nb.cells[1].source = nb.cells[1].source.replace("1 · one.", "1 · one; 2 · two.")
    assert plan_problems(nb) == []


@pytest.mark.parametrize(
    "source, ok",
    [
        ("frames = f()\ncl.show_animation(frames)", True),
        ("%time x = 1\ncl.show_animation(frames)", True),
        ("for f in fs:\n    display(cl.show_animation(f))", True),
        ("for f in fs:\n    cl.show_animation(f)", False),
        ("cl.show_animation(a)\nprint('done')", False),
        ("x = cl.show_animation(a)", False),
    ],
)
def test_the_animation_checker(source, ok):
    nb = _nb(nbformat.v4.new_code_cell(source))
    assert (animation_problems(nb) == []) is ok


def test_the_green_line_checker():
    nb = _nb(nbformat.v4.new_markdown_cell("a green\nline means it passed"))
    assert len(green_line_problems(nb)) == 1
