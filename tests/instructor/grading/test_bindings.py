"""A submission's top-level bindings (course_lib.instructor.grading.bindings)."""

from __future__ import annotations

import ast

from course_lib.instructor.grading.bindings import Program, collect, local_names, parse


def _program(*cells: str) -> Program:
    program = Program()
    for index, source in enumerate(cells):
        tree = parse(source)
        if tree is not None:
            collect(program, index, False, tree)
    return program


def test_the_last_plain_binding_before_a_cell_is_what_it_sees():
    program = _program("X = 1", "def X():\n    pass", "X = 3")
    assert [b.cell for b in program.visible("X", 2)] == [1]
    assert [b.cell for b in program.visible("X", 3)] == [2]
    assert program.visible("X", 0) == []


def test_conditional_bindings_and_mutations_add_to_what_may_hold():
    program = _program("class X:\n    pass", "if flag:\n    X = 2", "X.method = other")
    assert [(b.cell, b.kind) for b in program.visible("X", 3)] == [
        (0, "class"),
        (1, "value"),
        (2, "mutation"),
    ]


def test_imports_record_the_dotted_path_they_bind():
    program = _program(
        "import course_lib as cl\nimport course_lib.buffers\n"
        "from course_lib.noise import OUNoise as N"
    )
    assert program.visible("cl", 1)[0].module == "course_lib"
    assert program.visible("course_lib", 1)[0].module == "course_lib"
    assert program.visible("N", 1)[0].module == "course_lib.noise.OUNoise"


def test_star_imports_bind_the_public_names_of_the_module():
    program = _program("from course_lib import *")
    assert program.visible("ReplayBuffer", 1)[0].module == "course_lib.ReplayBuffer"


def test_magics_read_as_pass_and_a_broken_cell_binds_nothing():
    assert parse("%matplotlib inline\n!pip install x\nY = 1") is not None
    assert parse("def broken(:\n") is None
    assert _program("def broken(:\n", "Y = 1").visible("Y", 2)[0].cell == 1


def test_dynamic_builtins_are_not_names_the_cell_binds():
    program = _program("globals()['X'] = 1")
    assert "globals" not in program.bindings


def test_local_names_are_parameters_and_assignments_not_globals():
    fn = ast.parse(
        "def f(a, *rest, key=1, **kw):\n    b = 1\n    global g\n    g = 2\n    for c in a:\n"
        "        pass\n    import numpy as np\n"
    ).body[0]
    assert local_names(fn) == {"a", "rest", "key", "kw", "b", "c", "np"}
