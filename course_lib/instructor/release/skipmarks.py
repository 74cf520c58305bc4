"""Cells the grader does not execute: ``metadata.course_lib.grading = "skip"``.

An instructor marks a cell that only illustrates (an ablation, an animation, a tour of
a second environment) so that grading a submission does not pay for it. Students see and
run the cell as usual; the release keeps the mark; the grader records the cell as
``"omitted"`` instead of running it.

A mark is only allowed where skipping cannot change what is graded:

* on a given cell (locked, not graded, not a solution), which the grader restores from
  the instructor's copy, so a submission cannot move the mark onto another cell;
* on a cell that defines no name a later executed cell reads (the notebook's own code,
  read with :mod:`ast`: assignments, imports, ``def`` and ``class``, ``for`` and ``with``
  targets, and objects changed through an attribute or an item).

:func:`check_skip_marks` enforces both on an instructor notebook (the release and the
grader's reference run refuse a bad mark with a message naming both cells).
:func:`cells_to_skip` is what the grader uses on an assembled submission: there a later
cell is the student's own code, so a mark whose names a student's cell reads is not
honoured for that submission, and the cell runs.
"""

from __future__ import annotations

import ast
import functools
import symtable
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SKIP",
    "SkipMarkError",
    "cells_to_skip",
    "check_skip_marks",
    "defined_names",
    "is_marked",
    "read_names",
]

SKIP = "skip"
"""The value of ``metadata.course_lib.grading`` that keeps a cell out of grading."""


class SkipMarkError(ValueError):
    """A skip mark that the grader cannot honour; the message names the cells and the fix.

    Attributes:
        cell_index: the marked cell's position in the notebook (0-based).
        problem: the message without the location.
    """

    def __init__(self, problem: str, cell_index: int) -> None:
        self.problem = problem
        self.cell_index = cell_index
        super().__init__(problem)


def _record(cell: Any) -> Any:
    return (cell.get("metadata") or {}).get("course_lib")


def is_marked(cell: Any) -> bool:
    """Whether the cell carries ``metadata.course_lib.grading = "skip"``."""
    record = _record(cell)
    return isinstance(record, dict) and record.get("grading") == SKIP


def _nbgrader(cell: Any) -> dict[str, Any]:
    record = (cell.get("metadata") or {}).get("nbgrader")
    return record if isinstance(record, dict) else {}


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _label(nb: Any, index: int) -> str:
    """``cell 16 (grade_id 'ablation')``: 1-based, as the release's messages count."""
    grade_id = _nbgrader(nb.cells[index]).get("grade_id")
    return f"cell {index + 1}" + (f" (grade_id {grade_id!r})" if grade_id else "")


@functools.lru_cache(maxsize=512)
def _parse(source: str) -> ast.Module | None:
    """The cell's code as Python (IPython magics and shell escapes turned into calls).

    Cached: each marked cell is checked against every other cell, on every pass. The trees
    are only read, never changed."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # IPython is a grading dependency; without it, plain Python
        pass
    try:
        return ast.parse(source)
    except Exception:  # SyntaxError, or code too deeply nested to read (RecursionError...)
        return None


def _target_names(target: ast.AST) -> set[str]:
    """Names a store into ``target`` binds or changes: ``a``, ``a, b``, ``a.x``, ``a[i]``."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple | ast.List):
        return set().union(*(_target_names(t) for t in target.elts)) if target.elts else set()
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    if isinstance(target, ast.Attribute | ast.Subscript):
        base: ast.AST = target.value
        while isinstance(base, ast.Attribute | ast.Subscript):
            base = base.value
        return {base.id} if isinstance(base, ast.Name) else set()
    return set()


class _Definitions(ast.NodeVisitor):
    """Module-level bindings of a cell; function and class bodies are their own scopes,
    except for names they declare ``global``."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.called_on: set[str] = set()
        self.imported: set[str] = set()

    def _bind(self, target: ast.AST) -> None:
        self.names |= _target_names(target)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._bind(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._bind(node.target)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind(node.target)
        self.generic_visit(node)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self._bind(node.target)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._bind(item.optional_vars)
        self.generic_visit(node)

    visit_AsyncWith = visit_With

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.names.add(alias.asname or alias.name.split(".")[0])
                self.imported.add(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._bind(target)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_FunctionDef(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    ) -> None:
        self.names.add(node.name)
        for inner in ast.walk(node):
            if isinstance(inner, ast.Global):
                self.names.update(inner.names)
        for decorator in node.decorator_list:
            self.visit(decorator)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return  # its arguments are its own

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.names.add(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.names.add(node.rest)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        # `agent.train()`, `buffer.append(x)`: a method called at the top level may change
        # the object it is called on (a module's functions are left out: see below).
        if isinstance(node.func, ast.Attribute):
            base: ast.AST = node.func.value
            while isinstance(base, ast.Attribute | ast.Subscript):
                base = base.value
            if isinstance(base, ast.Name):
                self.called_on.add(base.id)
        self.generic_visit(node)

    def visit_ListComp(self, node: ast.AST) -> None:
        for inner in ast.walk(node):
            if isinstance(inner, ast.NamedExpr):
                self._bind(inner.target)  # a walrus in a comprehension binds outside it

    visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp


#: What no reading of names can follow: code that binds names it does not spell out.
_OPAQUE_CALLS = frozenset({"exec", "eval", "globals", "vars", "locals", "setattr", "delattr"})


def opaque(source: str) -> str | None:
    """Why the names a cell binds or reads cannot be told from its code, or None.

    Examples:
        >>> opaque("%time x = f()")
        'it uses IPython magics or shell commands'
        >>> opaque("x = 1") is None
        True
    """
    tree = _parse(source)
    if tree is None:
        return "it is not valid Python here"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return f"it imports * from {node.module}"
        if isinstance(node, ast.Name) and node.id == "get_ipython":
            return "it uses IPython magics or shell commands"
        if isinstance(node, ast.Name) and node.id in _OPAQUE_CALLS:
            return f"it calls {node.id}()"
    return None


def _definitions(tree: ast.Module, modules: set[str]) -> set[str]:
    visitor = _Definitions()
    visitor.visit(tree)
    return visitor.names | (visitor.called_on - modules - visitor.imported)


def defined_names(source: str, modules: Iterable[str] = ()) -> set[str]:
    """Names a cell's code binds or changes at the notebook's top level: what it assigns
    or imports, the objects it assigns into, and those it calls a method on (except the
    ``modules``, names bound by imports, whose functions are taken not to change them).

    Examples:
        >>> sorted(defined_names("import numpy as np\\nx, (y, z) = f()\\ncfg.lr = 1"))
        ['cfg', 'np', 'x', 'y', 'z']
        >>> sorted(defined_names("for i in range(3):\\n    total += i\\nwith open(p) as fh: pass"))
        ['fh', 'i', 'total']
        >>> sorted(defined_names("frames = agent.test()\\nnp.random.seed(0)", modules={"np"}))
        ['agent', 'frames']
    """
    tree = _parse(source)
    return set() if tree is None else _definitions(tree, set(modules))


def _global_reads(code: str, top: bool = True) -> set[str]:
    """Names ``code`` reads from the notebook's namespace: at its top level (unless not
    ``top``), and inside functions and classes the names they do not bind themselves (read
    when called). ``x += 1`` and ``del x`` read ``x`` too."""
    names: set[str] = set()

    def walk(table: symtable.SymbolTable, at_top: bool) -> None:
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (symbol.is_global() if not at_top else top):
                names.add(symbol.get_name())
        for child in table.get_children():
            walk(child, False)

    walk(symtable.symtable(code, "<cell>", "exec"), True)
    names |= _updated_globals(ast.parse(code).body, declared=None if top else set())
    return names


def _updated_globals(body: list[ast.stmt], declared: set[str] | None) -> set[str]:
    """Names that ``x += 1`` or ``del x`` read from the notebook's namespace: at the top
    level (``declared`` None), or in a function where they are declared ``global``."""
    found: set[str] = set()
    scopes: list[ast.AST] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            scopes.append(node)
            continue
        if isinstance(node, ast.AugAssign | ast.Delete):
            targets = [node.target] if isinstance(node, ast.AugAssign) else node.targets
            for target in targets:
                if isinstance(target, ast.Name) and (declared is None or target.id in declared):
                    found.add(target.id)
        stack.extend(ast.iter_child_nodes(node))
    for scope in scopes:
        inner = {n for g in ast.walk(scope) if isinstance(g, ast.Global) for n in g.names}
        if inner and not isinstance(scope, ast.Lambda):
            found |= _updated_globals(list(scope.body), inner)
    return found


def _statement_reads(statement: ast.stmt) -> set[str]:
    """What one top-level statement reads; in a ``for`` loop, the body's uses of the loop's
    own target names are not reads of an earlier value."""
    if isinstance(statement, ast.For | ast.AsyncFor):
        own = _plain_names(statement.target) or set()
        body = ast.Module(body=[*statement.body, *statement.orelse], type_ignores=[])
        return (
            _global_reads(ast.unparse(statement.iter))
            | (_global_reads(ast.unparse(statement.target)) - own)
            | (_global_reads(ast.unparse(body)) - own)
        )
    return _global_reads(ast.unparse(statement))


def _rebound(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds whenever it runs (so earlier values are gone)."""
    if isinstance(statement, ast.Assign):
        bound: set[str] = set()
        for target in statement.targets:
            names = _plain_names(target)
            if names is None:
                return set()
            bound |= names
        return bound
    if isinstance(statement, ast.AnnAssign) and statement.value is not None:
        return _plain_names(statement.target) or set()
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {a.asname or a.name.split(".")[0] for a in statement.names if a.name != "*"}
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    return set()


def _plain_names(target: ast.AST) -> set[str] | None:
    """The names of ``a`` or ``a, (b, *c)``; None for a target that changes an object."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Starred):
        return _plain_names(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        names: set[str] = set()
        for element in target.elts:
            inner = _plain_names(element)
            if inner is None:
                return None
            names |= inner
        return names
    return None


def _reads_before_rebinding(
    source: str, live: set[str], rebinds: bool = True
) -> tuple[set[str], set[str]]:
    """Of the ``live`` names, those the cell reads before binding them again, and (if the
    cell ``rebinds``: it is the instructor's) those it binds again unconditionally at its
    top level. Code that cannot be read counts as reading every live name."""
    tree = _parse(source)
    if tree is None or opaque(source) is not None:
        return set(live), set()
    reads: set[str] = set()
    live = set(live)
    rebound: set[str] = set()
    for statement in tree.body:
        try:
            reads |= live & _statement_reads(statement)
        except Exception:  # e.g. a top-level await, which IPython runs
            reads |= live
        if rebinds:
            gone = _rebound(statement) & live
            live -= gone
            rebound |= gone
    return reads, rebound


def _function_reads(source: str) -> set[str] | None:
    """Globals read inside the functions and classes a cell defines (read when they are
    called, which may be after a later cell); None when the code cannot be read."""
    tree = _parse(source)
    if tree is None or opaque(source) is not None:
        return None
    try:
        return _global_reads(ast.unparse(tree), top=False)
    except Exception:
        return None


def read_names(source: str) -> set[str] | None:
    """Every name a cell's code reads from the notebook's namespace, function bodies
    included (they read globals when called); None when it is not valid Python.

    Examples:
        >>> sorted(read_names("def f(env):\\n    return env.steps + total\\nprint(f(e))"))
        ['e', 'f', 'print', 'total']
    """
    tree = _parse(source)
    if tree is None:
        return None
    return _global_reads(ast.unparse(tree))


@dataclass(frozen=True)
class _Conflict:
    marked: int
    reader: int
    names: tuple[str, ...]


def _modules(nb: Any) -> set[str]:
    """Names any code cell of the notebook binds by an import."""
    names: set[str] = set()
    for cell in nb.cells:
        tree = _parse(_source(cell)) if cell.get("cell_type") == "code" else None
        if tree is not None:
            visitor = _Definitions()
            visitor.visit(tree)
            names |= visitor.imported
    return names


def _conflicts(
    nb: Any, marked: Iterable[int], rebinds: Callable[[Any], bool] = lambda cell: True
) -> list[_Conflict]:
    """For each marked cell, an executed code cell that needs a name the marked cell
    defines: a later cell reading it before a cell that ``rebinds`` has bound it again, or
    an earlier cell whose functions read it (they may be called after the marked cell)."""
    skipped = set(marked)
    modules = _modules(nb)
    found = []
    for index in sorted(skipped):
        tree = _parse(_source(nb.cells[index]))
        defined = _definitions(tree, modules) if tree is not None else set()
        executed = [
            i
            for i, cell in enumerate(nb.cells)
            if i not in skipped and cell.get("cell_type") == "code"
        ]
        conflict = None
        for earlier in (i for i in executed if i < index):
            reads = _function_reads(_source(nb.cells[earlier]))
            shared = defined if reads is None else defined & reads
            if shared:
                conflict = _Conflict(index, earlier, tuple(sorted(shared)))
                break
        live = set(defined)
        for later in (i for i in executed if i > index):
            if conflict is not None or not live:
                break
            cell = nb.cells[later]
            reads, rebound = _reads_before_rebinding(_source(cell), live, rebinds(cell))
            if reads:
                conflict = _Conflict(index, later, tuple(sorted(reads)))
            live -= rebound
        if conflict is not None:
            found.append(conflict)
    return found


def _marked(nb: Any) -> list[int]:
    return [i for i, cell in enumerate(nb.cells) if _record(cell) is not None]


def _shape_problem(cell: Any) -> str | None:
    """Why a ``metadata.course_lib`` record cannot stand on this cell, or None."""
    record = _record(cell)
    if not isinstance(record, dict) or set(record) != {"grading"} or record["grading"] != SKIP:
        return (
            f"metadata.course_lib is {record!r}; the only cell record understood is "
            f'{{"grading": "{SKIP}"}} (the grader does not execute the cell): fix it or remove it.'
        )
    nbgrader = _nbgrader(cell)
    if cell.get("cell_type") != "code":
        return (
            'is marked {"grading": "skip"} but is not a code cell; only code cells run: '
            "remove the mark."
        )
    if not (nbgrader.get("grade_id") and nbgrader.get("locked")) or (
        nbgrader.get("grade") or nbgrader.get("solution")
    ):
        if nbgrader.get("grade"):
            kind = "a test cell"
        elif nbgrader.get("solution"):
            kind = "a solution cell"
        elif not nbgrader.get("grade_id"):
            kind = "a cell without nbgrader metadata"
        else:
            kind = "not locked"
        return (
            f'is marked {{"grading": "{SKIP}"}} but is {kind}; only a given cell (locked, '
            f"with a grade_id, neither graded nor a solution) can be skipped, since the "
            f"grader restores those from the instructor's copy. Make it a given cell or "
            f"remove the mark."
        )
    return None


def check_skip_marks(nb: Any) -> list[int]:
    """The skip-marked cells of an instructor notebook, after checking every mark.

    Raises:
        SkipMarkError: a mark on a cell that cannot be skipped, or on a cell defining a
            name that a later executed cell reads (the message names both cells).
    """
    marked = _marked(nb)
    for index in marked:
        problem = _shape_problem(nb.cells[index])
        if problem is not None:
            raise SkipMarkError(problem, index)
    for index in marked:
        why = opaque(_source(nb.cells[index]))
        if why is not None:
            raise SkipMarkError(
                f"is marked not needed for grading, but {why}, so the names it sets cannot "
                f"be read from its code; remove the mark, or write the cell without it.",
                index,
            )
    for conflict in _conflicts(nb, marked):
        names = ", ".join(f"`{n}`" for n in conflict.names)
        reader = _label(nb, conflict.reader)
        if conflict.reader < conflict.marked:
            reader = f"a function or class of {reader}"
        raise SkipMarkError(
            f"is marked not needed for grading, but it defines {names}, which {reader} "
            f"reads: the grader would run that code without it. Remove the mark from "
            f"{_label(nb, conflict.marked)}, or move what {reader} needs into a cell that "
            f"is not marked.",
            conflict.marked,
        )
    return marked


def _is_instructors(cell: Any) -> bool:
    """A cell the grader takes from the instructor's copy (given or test cell)."""
    record = _nbgrader(cell)
    return bool(record.get("locked") or record.get("grade"))


def cells_to_skip(nb: Any) -> tuple[list[int], list[str]]:
    """The cells of an assembled submission the grader does not execute, and notes.

    Only marks on given cells count (those cells come from the instructor's copy). A mark
    whose names a later cell of the submission reads (a student's code using the
    ablation's results, say) is not honoured: that cell runs, and a note says why.
    """
    marked = [
        i
        for i, cell in enumerate(nb.cells)
        if is_marked(cell) and _shape_problem(cell) is None and opaque(_source(cell)) is None
    ]
    notes: list[str] = []
    while True:
        # Only the instructor's cells end a marked cell's names: a student's cell that
        # binds one again may fail before it does.
        conflicts = _conflicts(nb, marked, rebinds=_is_instructors)
        if not conflicts:
            return marked, notes
        for conflict in conflicts:
            marked.remove(conflict.marked)
            notes.append(
                f"{_label(nb, conflict.marked)} ran although marked not needed for grading: "
                f"{_label(nb, conflict.reader)} reads {', '.join(conflict.names)} from it"
                + (" (in a function)" if conflict.reader < conflict.marked else "")
            )
