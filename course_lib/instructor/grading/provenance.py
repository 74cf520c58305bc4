"""Whose code answers a question: the student's, or the course's own.

The package carries answers to some exercises: notebook 05 gives the ``ReplayBuffer`` and
``OUNoise`` that notebook 04 asks students to write (declared by the exercise module's
``GIVEN``, :class:`course_lib.exercises.manifest.Given`), and the grading code of
``course_lib.exercises`` and ``course_lib.probes`` computes what a correct answer does. A point
is earned only by code the student wrote, so before its verdict counts the grader reads the
submission's source (outside the student's kernel, which may lie) and scores 0 a question
whose graded name

* is the given implementation (``ReplayBuffer = cl.ReplayBuffer``, an import of it), or
  inherits from it without writing every graded method itself, or reaches it from its code
  (``cl.ReplayBuffer.sample_batch(self)``, ``super()``, a helper that does), directly or
  through any of the student's own names;
* pastes it: a graded method whose code, comments and layout aside, is the given one where
  that differs from the course's own solution (short methods that anyone would write alike
  are not counted);
* calls into the course's grading code (``course_lib.exercises``, ``course_lib.probes``,
  ``course_lib.instructor``, or any private ``_name`` of the package);
* reaches the package through code the grader cannot follow (``exec``, ``eval``,
  ``importlib``, ``sys.modules``, ``globals()``, the package passed around as a value, ...).

The reading is static. It follows what the source names, not what runs; a submission that
hides a reference where no static reading finds it is still graded on behaviour, and its
code remains for the instructor to read. Everything a student is meant to call (``cl.*``,
the visible checks) is allowed.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import textwrap
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import nbformat

from course_lib.exercises.manifest import Given
from course_lib.instructor.grading.bindings import (
    DYNAMIC_CALLS,
    Program,
    collect,
    local_names,
    parse,
)
from course_lib.instructor.release.context import is_test_cell
from course_lib.instructor.release.markers import hidden_region_text

__all__ = ["PROVENANCE_KINDS", "Leaning", "leaning"]

PROVENANCE_KINDS = ("given code", "course internals", "unreadable code")
"""The tampering kinds this reading records (beside the locked-cell ones of assemble)."""
PACKAGE = "course_lib"
GRADING_PARTS = ("course_lib.exercises", "course_lib.probes", "course_lib.instructor")
DYNAMIC_MODULES = {"importlib", "gc", "ctypes", "builtins", "inspect"}
DYNAMIC_ATTRIBUTES = {
    "__subclasses__",
    "__globals__",
    "__builtins__",
    "__closure__",
    "__code__",
    "__base__",
    "__bases__",
    "__mro__",
    "f_globals",
    "f_back",
}
PASTE_MIN_NODES = 60
"""A pasted method counts when it has at least this many syntax nodes: about four lines."""


@dataclass(frozen=True)
class Leaning:
    """A question whose answer is not (only) the student's code.

    Attributes:
        observation: the observation it voids.
        kind: ``"given code"`` (the course's given implementation), ``"course internals"``
            (the grading code) or ``"unreadable code"`` (defined where no reading can see).
        message: what was found, naming the course's code and the fix.
    """

    observation: str
    kind: str
    message: str


@dataclass
class _Reference:
    kind: str  # "given" | "internal" | "dynamic"
    what: str
    via: str  # the student's name through which it was reached


def _resolve(path: str) -> Any:
    """The object a dotted path names, in the grader's own process; None if it names none.

    Only course_lib's modules are imported (what the student's kernel also has)."""
    parts = path.split(".")
    if parts[0] != PACKAGE:
        return None
    obj: Any = None
    for end in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:end]))
        except Exception:
            continue
        for attr in parts[end:]:
            try:
                obj = inspect.getattr_static(obj, attr)
            except AttributeError:
                try:
                    obj = getattr(obj, attr)
                except Exception:
                    return None
            if isinstance(obj, staticmethod | classmethod):
                obj = obj.__func__
        return obj
    return None


def _home(obj: Any) -> str:
    """The module an object of the package is defined in."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    return str(getattr(obj, "__module__", "") or "")


class _Reader:
    """Walks what a graded name is made of, through the student's own names."""

    def __init__(self, program: Program, given: Sequence[tuple[Given, Any]]):
        self.program = program
        self.given = given

    def course_reference(self, path: str, bare_module: bool, via: str) -> Iterator[_Reference]:
        obj = _resolve(path)
        if obj is None:
            return
        parts = path.split(".")
        if bare_module and isinstance(obj, types.ModuleType):
            yield _Reference("dynamic", f"the module {path} used as a value", via)
            return
        for spec, implementation in self.given:
            if obj is implementation or obj is sys.modules.get(implementation.__module__):
                yield _Reference("given", spec.implementation.replace(":", "."), via)
            elif (
                inspect.isfunction(obj)
                and obj.__qualname__.startswith(implementation.__qualname__ + ".")
                and obj.__module__ == implementation.__module__
            ):
                yield _Reference(
                    "given", f"{spec.implementation.replace(':', '.')}.{obj.__name__}", via
                )
        home = _home(obj)
        if any(home == p or home.startswith(p + ".") for p in GRADING_PARTS) or any(
            part.startswith("_") for part in parts[1:]
        ):
            yield _Reference("internal", path, via)

    def name(
        self,
        name: str,
        before: int,
        via: str,
        stop: set[str],
        seen: set[str],
        course: bool,
        imports: bool = True,
    ) -> Iterator[_Reference]:
        """What ``name`` may hold when cell ``before`` runs; ``imports=False`` leaves out its
        import bindings (an attribute chain reads those itself)."""
        if name in DYNAMIC_CALLS and name not in self.program.bindings:
            yield _Reference("dynamic", f"{name}()", via)
            return
        for binding in self.program.visible(name, before):
            if binding.kind == "import":
                if not imports:
                    continue
                module = binding.module or ""
                if module.split(".")[0] == PACKAGE:
                    yield from self.course_reference(module, True, via)
                elif module.split(".")[0] in DYNAMIC_MODULES or module == "sys.modules":
                    yield _Reference("dynamic", f"the module {module}", via)
                continue
            if binding.course and not course:
                # the instructor's own names: only what they hold matters, not how
                # they are written (they may use the grading code themselves)
                key = f"course:{name}:{binding.cell}"
            else:
                key = f"{name}:{binding.cell}:{id(binding)}"
            if key in seen or (name in stop and not binding.course):
                continue
            seen.add(key)
            for node in binding.nodes:
                for ref in self.node(node, before, name, stop, seen, course or binding.course):
                    if binding.course and ref.kind != "given":
                        continue  # the instructor's code may use what students may not
                    yield ref

    def node(
        self,
        node: ast.AST,
        before: int,
        via: str,
        stop: set[str],
        seen: set[str],
        course: bool,
        local: frozenset[str] = frozenset(),
    ) -> Iterator[_Reference]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inner = local | local_names(node)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.arguments):
                    for default in [*child.defaults, *[d for d in child.kw_defaults if d]]:
                        yield from self.node(default, before, via, stop, seen, course, local)
                    continue
                yield from self.node(child, before, via, stop, seen, course, inner)
            return
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            inner = local | local_names(node)
            for child in ast.iter_child_nodes(node):
                yield from self.node(child, before, via, stop, seen, course, inner)
            return
        if isinstance(node, ast.ClassDef):
            yield from self.class_def(node, before, via, stop, seen, course, local)
            return
        if isinstance(node, ast.Attribute):
            chain: list[str] = []
            base: ast.AST = node
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            chain.reverse()
            if any(attr in DYNAMIC_ATTRIBUTES for attr in chain):
                yield _Reference(
                    "dynamic", f".{next(a for a in chain if a in DYNAMIC_ATTRIBUTES)}", via
                )
            if isinstance(base, ast.Name) and base.id not in local:
                yield from self.attribute_chain(base.id, chain, before, via, stop, seen, course)
                return
            yield from self.node(base, before, via, stop, seen, course, local)
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("getattr", "setattr", "delattr", "hasattr", "vars", "dir"):
                if node.func.id not in local and node.args and isinstance(node.args[0], ast.Name):
                    target, rest = node.args[0], node.args[1:]
                    literal = (
                        rest
                        and isinstance(rest[0], ast.Constant)
                        and isinstance(rest[0].value, str)
                    )
                    if literal and node.func.id in ("getattr", "hasattr"):
                        chain = [rest[0].value]
                        yield from self.attribute_chain(
                            target.id, chain, before, via, stop, seen, course
                        )
                        for child in rest[1:]:
                            yield from self.node(child, before, via, stop, seen, course, local)
                        return
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "super"
        ):
            yield _Reference("super", "super()", via)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id not in local:
                yield from self.name(node.id, before, via, stop, seen, course)
            return
        for child in ast.iter_child_nodes(node):
            yield from self.node(child, before, via, stop, seen, course, local)

    def attribute_chain(
        self,
        root: str,
        chain: list[str],
        before: int,
        via: str,
        stop: set[str],
        seen: set[str],
        course: bool,
    ) -> Iterator[_Reference]:
        imports = [b for b in self.program.visible(root, before) if b.kind == "import"]
        for binding in imports:
            module = binding.module or ""
            if module.split(".")[0] == PACKAGE:
                yield from self.course_reference(".".join([module, *chain]), False, via)
            elif module.split(".")[0] in DYNAMIC_MODULES or (
                module == "sys" and chain[:1] == ["modules"]
            ):
                yield _Reference("dynamic", ".".join([module, *chain[:1]]), via)
        if len(imports) < len(self.program.visible(root, before)) or not imports:
            if root in DYNAMIC_CALLS and root not in self.program.bindings:
                yield _Reference("dynamic", root, via)
            else:
                yield from self.name(root, before, via, stop, seen, course, imports=False)

    def class_def(
        self,
        node: ast.ClassDef,
        before: int,
        via: str,
        stop: set[str],
        seen: set[str],
        course: bool,
        local: frozenset[str],
    ) -> Iterator[_Reference]:
        written = {
            s.name for s in node.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        base_refs: list[_Reference] = []
        for base in [*node.bases, *(k.value for k in node.keywords), *node.decorator_list]:
            base_refs.extend(self.node(base, before, via, stop, seen, course, local))
        inherits_given = [r for r in base_refs if r.kind == "given"]
        for ref in base_refs:
            if ref.kind != "given":
                yield ref
        body_refs: list[_Reference] = []
        for stmt in node.body:
            body_refs.extend(self.node(stmt, before, via, stop, seen, course, local))
        for ref in inherits_given:
            spec = next(s for s, _ in self.given if s.implementation.replace(":", ".") == ref.what)
            missing = [m for m in spec.methods if m not in written]
            if missing:
                yield _Reference(
                    "given", ref.what, f"{node.name} inherits {', '.join(missing)} from it"
                )
            elif any(r.kind == "super" for r in body_refs):
                yield _Reference("given", ref.what, f"{node.name} calls it through super()")
        for ref in body_refs:
            if ref.kind != "super":
                yield ref


def _normalized(body: list[ast.stmt]) -> tuple[str, int]:
    """A method body without its docstring, as a layout-free dump, and its node count."""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            body = body[1:]
    module = ast.Module(body=list(body), type_ignores=[])
    return ast.dump(module, annotate_fields=False), sum(1 for _ in ast.walk(module))


def _methods(tree: ast.AST | None, name: str) -> dict[str, list[ast.stmt]]:
    if tree is None:
        return {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            return {
                s.name: s.body
                for s in node.body
                if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
            }
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return {name: node.body}
    return {}


def _pasted(
    spec: Given, implementation: Any, student: ast.AST | None, reference: ast.AST | None
) -> list[str]:
    """The graded methods of the student's ``spec.name`` that paste the given implementation."""
    try:
        given_tree = ast.parse(textwrap.dedent(inspect.getsource(implementation)))
    except (OSError, TypeError, SyntaxError):
        return []
    name = implementation.__name__
    given = _methods(given_tree, name)
    ours = _methods(reference, spec.name)
    theirs = _methods(student, spec.name)
    pasted = []
    for method in spec.methods or (spec.name,):
        if method not in given or method not in theirs:
            continue
        dump, size = _normalized(given[method])
        if size < PASTE_MIN_NODES or (method in ours and _normalized(ours[method])[0] == dump):
            continue
        if _normalized(theirs[method])[0] == dump:
            pasted.append(method)
    return pasted


def _subjects(
    source: nbformat.NotebookNode, solution_names: set[str]
) -> dict[str, tuple[str, set[str]]]:
    """``{observation: (test cell grade_id, the student's names its probe is given)}``."""
    found: dict[str, tuple[str, set[str]]] = {}
    for cell in source.cells:
        if cell.cell_type != "code" or not is_test_cell(cell):
            continue
        gid = cell.metadata["nbgrader"]["grade_id"]
        text = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        try:
            tree = parse(hidden_region_text(text)) or parse(text)
        except ValueError:
            tree = parse(text)
        for node in ast.walk(tree) if tree is not None else []:
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if called != "observe" or not (
                isinstance(first, ast.Constant) and isinstance(first.value, str)
            ):
                continue
            names = {
                n.id
                for arg in [*node.args[1:], *(k.value for k in node.keywords)]
                for n in ast.walk(arg)
                if isinstance(n, ast.Name) and n.id in solution_names
            }
            found[first.value] = (gid, names)
    return found


def _role(cell: nbformat.NotebookNode) -> bool:
    """True for the instructor's cells (locked or test), False for the student's."""
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    return bool(meta.get("locked") or is_test_cell(cell)) and not meta.get("solution")


def _defined_names(cells: list[nbformat.NotebookNode]) -> set[str]:
    program = Program()
    for index, cell in enumerate(cells):
        tree = parse(cell.source if isinstance(cell.source, str) else "".join(cell.source))
        if tree is not None:
            collect(program, index, False, tree)
    return set(program.bindings)


def leaning(
    source: nbformat.NotebookNode, assembled: nbformat.NotebookNode, given: Sequence[Given]
) -> list[Leaning]:
    """The questions of ``assembled`` (a submission put back together with the instructor's
    ``source``) whose answers are the course's code rather than the student's."""
    code = [c for c in assembled.cells if c.cell_type == "code"]
    solution_cells = [
        c
        for c in source.cells
        if c.cell_type == "code" and (c.metadata.get("nbgrader") or {}).get("solution")
    ]
    subjects = _subjects(source, _defined_names(solution_cells))
    if not subjects:
        return []
    program = Program()
    for index, cell in enumerate(code):
        course = _role(cell)
        tree = parse(cell.source if isinstance(cell.source, str) else "".join(cell.source))
        program.cells.append((course, tree))
        if tree is not None:
            collect(program, index, course, tree)
    loaded: list[tuple[Given, Any]] = []
    for spec in given:
        obj = _resolve(spec.implementation.replace(":", "."))
        if obj is not None:
            loaded.append((spec, obj))
    reader = _Reader(program, loaded)
    position = {(c.metadata.get("nbgrader") or {}).get("grade_id"): i for i, c in enumerate(code)}
    all_subjects = {n for _, names in subjects.values() for n in names}
    # Code that rebinds names where no reading can follow (exec, globals(), ...) and also
    # names a given implementation anywhere may hand that implementation to any question.
    anywhere = [
        ref
        for course, tree in program.cells
        if not course and tree is not None
        for ref in reader.node(tree, len(code), "the notebook", set(), set(), False)
    ]
    rebinding = next((r for r in anywhere if r.kind == "dynamic"), None)
    found: list[Leaning] = []
    for observation, (gid, names) in subjects.items():
        before = position.get(gid, len(code))
        answers = [(s, o) for s, o in loaded if observation in s.answers]
        message = _given_message(reader, program, answers, names, before, source)
        if message is None and rebinding is not None:
            for spec, _ in answers:
                named = [
                    r
                    for r in anywhere
                    if r.kind == "given"
                    and r.what.startswith(spec.implementation.replace(":", "."))
                ]
                if named:
                    message = (
                        f"the notebook names the course's given {spec.name} ({named[0].what}, "
                        f"in {named[0].via}) and rebinds names through code the grader cannot "
                        f"follow ({rebinding.what}, in {rebinding.via}); {spec.name} earns no "
                        f"points: write it plainly yourself"
                    )
                    break
        if message is not None:
            found.append(Leaning(observation, "given code", message))
            continue
        message = _internal_message(reader, names, before, all_subjects)
        kind = "course internals"
        if message is None and rebinding is not None:
            unread = sorted(n for n in names if not _student_bound(program, n, before))
            if unread:
                kind = "unreadable code"
                message = (
                    f"{unread[0]} is not defined by any code the grader can read: it comes "
                    f"from {rebinding.what} (in {rebinding.via}), which earns no points; define "
                    f"{unread[0]} in its exercise cell with plain code"
                )
        if message is not None:
            found.append(Leaning(observation, kind, message))
    return found


def _given_message(
    reader: _Reader,
    program: Program,
    answers: list[tuple[Given, Any]],
    names: set[str],
    before: int,
    source: nbformat.NotebookNode,
) -> str | None:
    for spec, implementation in answers:
        if spec.name not in names:
            continue
        where = spec.implementation.replace(":", ".")
        refs = list(reader.name(spec.name, before, spec.name, set(), set(), False))
        given = [r for r in refs if r.kind == "given"]
        dynamic = [r for r in refs if r.kind == "dynamic"]
        if given:
            ref = given[0]
            if " " in ref.via:
                how = ref.via  # what a class statement found: "X inherits ... from it"
            elif ref.via == spec.name and ref.what == where:
                how = f"{spec.name} is that implementation"
            else:
                how = f"{ref.via} uses {ref.what}"
            return (
                f"{spec.name} leans on the course's given implementation ({where}, which a "
                f"later notebook gives): {how}. Code the course gives earns no points here; "
                f"write {spec.name} yourself"
            )
        if dynamic:
            return (
                f"{spec.name} reaches the course package through code the grader cannot "
                f"follow ({dynamic[0].what} in {dynamic[0].via}), and the package carries its "
                f"answer ({where}); it earns no points: write {spec.name} plainly yourself"
            )
        student = _last_definition(program, spec.name, before)
        reference = _source_definition(source, spec.name)
        pasted = _pasted(spec, implementation, student, reference)
        if pasted:
            listed = ", ".join(f"{spec.name}.{m}" if m != spec.name else m for m in pasted)
            verb = "is" if len(pasted) == 1 else "are"
            return (
                f"{listed} {verb} the code of the course's given implementation ({where}) pasted "
                f"in; it earns no points here: write {spec.name} yourself"
            )
    return None


def _internal_message(
    reader: _Reader, names: set[str], before: int, all_subjects: set[str]
) -> str | None:
    for name in sorted(names):
        stop = all_subjects - {name}
        for ref in reader.name(name, before, name, stop, set(), False):
            if ref.kind in ("internal", "dynamic"):
                what = (
                    "calls the course's grading code"
                    if ref.kind == "internal"
                    else ("reaches into the course package through code the grader cannot follow")
                )
                return (
                    f"{name} {what} ({ref.what}, in {ref.via}); answers built on it earn no "
                    f"points: write {name} with your own code and the notebook's helpers (cl.*)"
                )
    return None


def _student_bound(program: Program, name: str, before: int) -> bool:
    return any(not b.course for b in program.visible(name, before))


def _last_definition(program: Program, name: str, before: int) -> ast.AST | None:
    for binding in reversed(program.visible(name, before)):
        if binding.kind == "class" or isinstance(binding.node, ast.FunctionDef):
            return binding.node
    return None


def _source_definition(source: nbformat.NotebookNode, name: str) -> ast.AST | None:
    for cell in source.cells:
        if cell.cell_type != "code":
            continue
        text = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        tree = parse(text)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == name:
                return node
    return None
