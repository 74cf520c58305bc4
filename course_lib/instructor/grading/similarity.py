"""Similarity screening: pairs of students whose answers to an assignment are alike.

For every assignment, each student's answer cells (the cells nbgrader marks as solutions,
matched by ``grade_id``) are fingerprinted from their syntax tree: the nodes in source order,
the student's own names replaced by their order of first use (so renaming changes nothing),
attribute names kept (``.log_prob``, ``.detach``: the library calls carry the meaning),
docstrings, comments and layout gone; every run of 6 nodes is hashed. What the released
notebook already gives in that cell (the signature, the docstring, the stub, and the code its
text shows) is fingerprinted too and subtracted, so two students are never alike for keeping
the given code. A pair's score is the share of the larger answer's fingerprints found in the
other's, over all the assignment's answer cells (each weighs by its size). Pairs at or above
the threshold are listed with the matched lines side by side.

The screening points an instructor at pairs to read; it never changes a score.
``benchmarks/similarity.py`` compares this fingerprint with copydetect's token winnowing on
copied and independent work.
"""

from __future__ import annotations

import ast
import hashlib
import html
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "DEFAULT_THRESHOLD",
    "ExerciseMatch",
    "PairMatch",
    "answer_cells",
    "fingerprints",
    "given_cells",
    "read_answers",
    "render_pairs",
    "screen",
]

DEFAULT_THRESHOLD = 0.6
"""The share of the larger answer found in the other at which a pair is listed."""

K = 6
"""Nodes per fingerprint: a run of 6 syntax nodes is about one short statement."""


@dataclass(frozen=True)
class ExerciseMatch:
    """One exercise cell of a pair: how much of each answer is found in the other, and where
    (the 1-based lines of each answer that the shared fingerprints cover)."""

    grade_id: str
    share_a: float
    share_b: float
    code_a: str
    code_b: str
    lines_a: frozenset[int]
    lines_b: frozenset[int]


@dataclass
class PairMatch:
    """Two students of one assignment and their alike exercises."""

    assignment: str
    a: str
    b: str
    score: float
    exercises: list[ExerciseMatch] = field(default_factory=list)


def answer_cells(nb: Any) -> dict[str, str]:
    """``{grade_id: source}`` of a notebook's answer cells (nbgrader ``solution`` code cells)."""
    cells = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("solution") and meta.get("grade_id"):
            cells[str(meta["grade_id"])] = str(cell.get("source", ""))
    return cells


_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def given_cells(released: Any) -> dict[str, str]:
    """What the released notebook gives for each answer cell: the cell's released code (the
    signature, docstring and stub) and every code block its text shows (students copy those:
    the tracker and plot calls, for instance), one block per paragraph."""
    shown = [
        block
        for cell in released.cells
        if cell.get("cell_type") == "markdown"
        for block in _FENCE.findall(str(cell.get("source", "")))
    ]
    return {gid: "\n\n".join([code, *shown]) for gid, code in answer_cells(released).items()}


def _parse(code: str) -> ast.AST | None:
    """``code`` as a syntax tree; a fragment (a loop body with ``break``, an indented block)
    is tried inside a function and a loop. None when it does not parse at all."""
    attempts = [code, "def _():\n    for _ in ():\n" + _indent(code, 8), _dedented(code)]
    for text in attempts:
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError):
            continue
    return None


def _indent(code: str, n: int) -> str:
    return "\n".join(" " * n + line for line in code.splitlines())


def _dedented(code: str) -> str:
    import textwrap

    return textwrap.dedent(code)


def _nodes(node: ast.AST, names: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Pre-order (source order) tokens of the tree, with the line each comes from."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return  # a docstring or a bare constant: not code
    kind = type(node).__name__
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Name):
        kind += names.setdefault(node.id, f"#{len(names)}")
    elif isinstance(node, ast.arg):
        kind += names.setdefault(node.arg, f"#{len(names)}")
    elif isinstance(node, ast.FunctionDef | ast.ClassDef):
        kind += names.setdefault(node.name, f"#{len(names)}")
    elif isinstance(node, ast.Attribute):
        kind += "." + node.attr
    elif isinstance(node, ast.Constant):
        kind += type(node.value).__name__
    if not isinstance(node, ast.Load | ast.Store | ast.Del):
        yield kind, line
    for child in ast.iter_child_nodes(node):
        yield from _nodes(child, names)


def fingerprints(code: str) -> dict[int, frozenset[int]]:
    """``{hash of K consecutive nodes: the lines they span}`` of ``code`` ({} if it does not
    parse)."""
    tree = _parse(code)
    if tree is None:
        return {}
    tokens = list(_nodes(tree, {}))
    prints: dict[int, set[int]] = {}
    for i in range(len(tokens) - K + 1):
        window = tokens[i : i + K]
        digest = hashlib.blake2b(" ".join(t for t, _ in window).encode(), digest_size=8)
        lines = [n for _, n in window if n]
        span = set(range(min(lines), max(lines) + 1)) if lines else set()
        prints.setdefault(int.from_bytes(digest.digest(), "big"), set()).update(span)
    return {h: frozenset(lines) for h, lines in prints.items()}


def screen(
    answers: Mapping[str, Mapping[str, dict[str, str]]],
    released: Mapping[str, dict[str, str]],
    threshold: float = DEFAULT_THRESHOLD,
) -> list[PairMatch]:
    """The pairs of students at or above ``threshold``, most alike first.

    Args:
        answers: ``{assignment: {student: {grade_id: source}}}``.
        released: ``{assignment: {grade_id: what the released notebook gives}}``, subtracted.
        threshold: the share of the larger answer found in the other (0..1).
    """
    pairs: list[PairMatch] = []
    for assignment, students in sorted(answers.items()):
        given = {gid: set(fingerprints(code)) for gid, code in released.get(assignment, {}).items()}
        prints = {
            student: {
                gid: {h: v for h, v in fingerprints(code).items() if h not in given.get(gid, ())}
                for gid, code in cells.items()
            }
            for student, cells in students.items()
        }
        for a, b in itertools.combinations(sorted(prints), 2):
            matches, found, total = [], 0, 0
            for gid in sorted(set(prints[a]) & set(prints[b])):
                pa, pb = prints[a][gid], prints[b][gid]
                larger = max(len(pa), len(pb))
                if not larger:
                    continue
                shared = pa.keys() & pb.keys()
                found += len(shared)
                total += larger
                if shared:
                    matches.append(
                        ExerciseMatch(
                            gid,
                            len(shared) / len(pa) if pa else 0.0,
                            len(shared) / len(pb) if pb else 0.0,
                            students[a][gid],
                            students[b][gid],
                            frozenset().union(*(pa[h] for h in shared)),
                            frozenset().union(*(pb[h] for h in shared)),
                        )
                    )
            score = found / total if total else 0.0
            if score >= threshold:
                pairs.append(PairMatch(assignment, a, b, score, matches))
    return sorted(pairs, key=lambda p: (-p.score, p.assignment, p.a, p.b))


def read_answers(paths: Mapping[str, Mapping[str, Path]]) -> tuple[dict, list[str]]:
    """``{assignment: {student: {grade_id: source}}}`` from the submitted files, and a note
    for each file that could not be read (left out of the screening)."""
    answers: dict[str, dict[str, dict[str, str]]] = {}
    notes = []
    for assignment, students in paths.items():
        for student, path in students.items():
            try:
                nb = nbformat.read(Path(path), as_version=4)
            except Exception as err:  # an unreadable file is screened out, and said so
                notes.append(f"{assignment}/{student}: not screened ({type(err).__name__})")
                continue
            cells = answer_cells(nb)
            if cells:
                answers.setdefault(assignment, {})[student] = cells
    return answers, notes


def _marked(code: str, lines: frozenset[int]) -> str:
    return "\n".join(
        f"<mark>{html.escape(text)}</mark>" if n in lines else html.escape(text)
        for n, text in enumerate(code.splitlines(), start=1)
    )


def render_pairs(pairs: list[PairMatch], threshold: float, notes: list[str]) -> list[str]:
    """The HTML body of the similarity page."""
    e = html.escape
    body = [
        "<h1>Similarity screening</h1>",
        "<p class='sub'>Pairs whose answers are alike once their own names, comments and "
        "layout are set aside and the released notebook's code is subtracted; the score is the "
        "share "
        f"of the larger answer found in the other. Listed from {threshold:.0%}. This points at "
        "pairs to read; it changes no score. <a href='index.html'>Class report</a></p>",
    ]
    if not pairs:
        body.append("<p>No pair reaches the threshold.</p>")
    else:
        body.append(
            "<table><tr><th>assignment</th><th>students</th><th>score</th>"
            "<th>alike exercises</th></tr>"
        )
        for i, p in enumerate(pairs):
            alike = ", ".join(
                f"{m.grade_id} ({max(m.share_a, m.share_b):.0%})" for m in p.exercises
            )
            body.append(
                f"<tr><td>{e(p.assignment)}</td><td><a href='#pair-{i}'>{e(p.a)} and {e(p.b)}"
                f"</a></td><td class='n'>{p.score:.0%}</td><td>{e(alike)}</td></tr>"
            )
        body.append("</table>")
    for i, p in enumerate(pairs):
        body.append(
            f"<h2 id='pair-{i}'>{e(p.assignment)}: {e(p.a)} and {e(p.b)} ({p.score:.0%})</h2>"
        )
        for m in p.exercises:
            body.append(
                f"<h3><code>{e(m.grade_id)}</code>: {m.share_a:.0%} of {e(p.a)}'s, "
                f"{m.share_b:.0%} of {e(p.b)}'s</h3><div class='side'>"
                f"<pre>{_marked(m.code_a, m.lines_a)}</pre>"
                f"<pre>{_marked(m.code_b, m.lines_b)}</pre></div>"
            )
    if notes:
        body.append("<p class='legend'>" + "<br>".join(e(n) for n in notes) + "</p>")
    return body
