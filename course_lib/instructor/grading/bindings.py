"""A submission's source as the names its top-level code binds: where, by whom, and to what.

Read by :mod:`.provenance` to follow what a graded name is made of. Each code cell is parsed
(IPython magics and shell lines read as ``pass``); every top-level statement that binds a
name (``def``, ``class``, assignments, imports, loop and ``with`` targets) is a
:class:`Binding` of that name in that cell, and a statement that changes an object a name
holds (``X.attr = ...``, ``setattr(X, ...)``, ``del X.attr``) is a mutation of it.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Binding", "Program", "collect", "local_names", "parse", "root_name"]

DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "globals", "breakpoint"}
"""Builtins through which code can bind or reach names no reading can follow."""


@dataclass
class Binding:
    """One statement that binds (or changes) a top-level name."""

    cell: int
    course: bool  # bound by the instructor's locked or test cells
    nodes: list[ast.AST]  # what the name's value is made of
    unconditional: bool
    module: str | None = None  # an import: the dotted path imported
    kind: str = "value"  # "value" | "import" | "class" | "mutation"
    node: ast.AST | None = None


@dataclass
class Program:
    """The submission's top-level names, where they are bound, and by whom."""

    cells: list[tuple[bool, ast.Module | None]] = field(default_factory=list)
    bindings: dict[str, list[Binding]] = field(default_factory=dict)

    def visible(self, name: str, before: int) -> list[Binding]:
        """The bindings of ``name`` that may hold when cell ``before`` runs."""
        held: list[Binding] = []
        for binding in self.bindings.get(name, []):
            if binding.cell >= before:
                break
            if binding.unconditional and binding.kind != "mutation":
                held = [binding]
            else:
                held.append(binding)
        return held


_MAGIC = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)


def parse(source: str) -> ast.Module | None:
    """The cell as Python (IPython magics and shell lines read as ``pass``), None if it is
    not valid Python (then it defines nothing when it runs either)."""
    text = _MAGIC.sub(lambda m: f"{m.group(1)}pass", source)
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _targets(node: ast.AST) -> Iterator[ast.AST]:
    """Names and attribute roots assigned by an assignment target."""
    if isinstance(node, ast.Name):
        yield node
    elif isinstance(node, ast.Starred):
        yield from _targets(node.value)
    elif isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from _targets(element)
    elif isinstance(node, ast.Attribute | ast.Subscript):
        yield node


def root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _star_names(module: str) -> list[str]:
    try:
        loaded = importlib.import_module(module)
    except Exception:
        return []
    names = getattr(loaded, "__all__", None)
    if names is None:
        names = [n for n in vars(loaded) if not n.startswith("_")]
    return [str(n) for n in names]


def collect(program: Program, index: int, course: bool, tree: ast.Module) -> None:
    def bind(name: str, binding: Binding) -> None:
        program.bindings.setdefault(name, []).append(binding)

    def statements(body: list[ast.stmt], unconditional: bool) -> None:
        for stmt in body:
            one(stmt, unconditional)

    def one(stmt: ast.stmt, unconditional: bool) -> None:
        def make(**kw: Any) -> Binding:
            return Binding(index, course, kw.pop("nodes", [stmt]), unconditional, **kw)

        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            bind(stmt.name, make(node=stmt))
        elif isinstance(stmt, ast.ClassDef):
            bind(stmt.name, make(kind="class", node=stmt))
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    bind(alias.asname, make(kind="import", module=alias.name))
                else:
                    top = alias.name.split(".")[0]
                    bind(top, make(kind="import", module=top))
        elif isinstance(stmt, ast.ImportFrom):
            base = "." * stmt.level + (stmt.module or "")
            for alias in stmt.names:
                if alias.name == "*":
                    for name in _star_names(base):
                        bind(name, make(kind="import", module=f"{base}.{name}"))
                else:
                    bind(
                        alias.asname or alias.name,
                        make(kind="import", module=f"{base}.{alias.name}"),
                    )
        elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value = [stmt.value] if stmt.value is not None else []
            for target in targets:
                for node in _targets(target):
                    if isinstance(node, ast.Name):
                        keep = unconditional and not isinstance(stmt, ast.AugAssign)
                        bind(node.id, Binding(index, course, value, keep))
                    elif (root := root_name(node)) is not None and root not in DYNAMIC_CALLS:
                        bind(root, make(kind="mutation", nodes=[node, *value]))
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            for node in _targets(stmt.target):
                if isinstance(node, ast.Name):
                    bind(node.id, Binding(index, course, [stmt.iter], False))
            statements(stmt.body + stmt.orelse, False)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                if item.optional_vars is not None:
                    for node in _targets(item.optional_vars):
                        if isinstance(node, ast.Name):
                            bind(node.id, Binding(index, course, [item.context_expr], False))
            statements(stmt.body, unconditional)
        elif isinstance(stmt, ast.If | ast.While):
            statements(stmt.body + stmt.orelse, False)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            statements(stmt.body + stmt.orelse + stmt.finalbody, False)
            for handler in stmt.handlers:
                statements(handler.body, False)
        elif isinstance(stmt, ast.Match):
            for case in stmt.cases:
                statements(case.body, False)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                if (root := root_name(target)) is not None:
                    bind(root, make(kind="mutation"))
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            # setattr(X, ...) and X.update(...)-like calls change what X holds
            call = stmt.value
            if isinstance(call.func, ast.Name) and call.func.id in ("setattr", "delattr"):
                if call.args and (root := root_name(call.args[0])) is not None:
                    bind(root, make(kind="mutation"))
        # walrus targets at top level
        for node in ast.walk(stmt):
            if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
                if not _inside_scope(stmt, node):
                    bind(node.target.id, Binding(index, course, [node.value], False))

    statements(tree.body, True)


def _inside_scope(stmt: ast.stmt, target: ast.AST) -> bool:
    for node in ast.walk(stmt):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            if any(child is target for child in ast.walk(node)):
                return True
    return False


def local_names(scope: ast.AST) -> set[str]:
    """Names local to a function, lambda or comprehension (parameters and assignments)."""
    names: set[str] = set()
    declared: set[str] = set()
    args = getattr(scope, "args", None)
    if isinstance(args, ast.arguments):
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            names.add(arg.arg)
        for arg in (args.vararg, args.kwarg):
            if arg is not None:
                names.add(arg.arg)
    if isinstance(scope, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        for generator in scope.generators:
            names.update(n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name))
        return names
    body = scope.body if isinstance(scope.body, list) else [scope.body]
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue  # its own scope
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        stack.extend(ast.iter_child_nodes(node))
    return names - declared
