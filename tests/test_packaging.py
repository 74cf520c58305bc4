"""What each install of course-lib needs: the student's kernel imports only the base
dependencies; the instructor's tools say which extra to install; the declared floors are the
ones CI installs (tests/constraints/floors.txt) and Colab's pins satisfy them."""

from __future__ import annotations

import json
import pkgutil
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import course_lib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FLOORS = ROOT / "tests" / "constraints" / "floors.txt"
COLAB = ROOT / "tests" / "colab" / "constraints.txt"

#: What a student's kernel must not need: Jupyter and grading tools (the instructor extra).
INSTRUCTOR_MODULES = (
    "nbformat",
    "nbclient",
    "nbval",
    "nbconvert",
    "jupyterlab",
    "jupyter_server",
    "notebook",
    "ipykernel",
    "jupyter_client",
    "pytest",
)
#: The package's instructor side; everything else is imported by student notebooks.
INSTRUCTOR_SIDE = ("course_lib.instructor", "course_lib.__main__")

_BLOCKER = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED:
        del sys.modules[name]
sys.meta_path.insert(0, Blocker())
"""


def _run_blocked(code: str, blocked: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    script = _BLOCKER.format(blocked=set(blocked)) + code
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def _student_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(course_lib.__path__, "course_lib.")
        if not info.name.startswith(INSTRUCTOR_SIDE)
    ]
    assert "course_lib.checks.ddpg" in names and "course_lib.probes.ppo" in names
    return sorted(names)


def test_student_modules_import_without_jupyter_or_grading_tools():
    """Every module a notebook can import loads with the instructor extra absent."""
    modules = _student_modules()
    result = _run_blocked(
        "import importlib\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "import course_lib as cl\n"
        "for name in cl.__all__:\n"
        "    getattr(cl, name)\n"
        "print('ok', len(sys.modules))\n",
        INSTRUCTOR_MODULES,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")


def test_the_blocker_does_block():
    """The check above would see an instructor import (it is not vacuous)."""
    result = _run_blocked("import course_lib.instructor.runner\n", INSTRUCTOR_MODULES)
    assert result.returncode != 0
    assert "No module named 'nbformat'" in result.stderr


@pytest.mark.parametrize(
    ("argv", "blocked", "extra"),
    [
        (["release", "--check"], ("nbformat",), "instructor"),
        (["grade", "--files", "x.ipynb"], ("nbformat", "nbclient"), "instructor"),
        (["run", "x.ipynb", "--out", "out"], ("nbclient",), "instructor"),
    ],
)
def test_the_cli_names_the_extra_to_install(argv, blocked, extra, tmp_path):
    result = _run_blocked(
        f"from course_lib.instructor.cli import main\nraise SystemExit(main({argv!r}))\n", blocked
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"pip install 'course-lib[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr


def _requirements(names: list[str], environment: dict[str, str] | None = None):
    """The requirements that apply to ``environment`` (default: this interpreter's)."""
    out = {}
    for text in names:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate(environment):
            out[canonicalize_name(req.name)] = req
    return out


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
            assert match, f"{path.name}: not a name==version line: {line!r}"
            pins[canonicalize_name(match[1].split("[")[0])] = match[2]
    return pins


def _floor(req: Requirement) -> str | None:
    floors = [spec.version for spec in req.specifier if spec.operator == ">="]
    return floors[0] if floors else None


BASE = _requirements(PYPROJECT["project"]["dependencies"])
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
INSTRUCTOR = _requirements(
    [r for r in EXTRAS["instructor"] + EXTRAS["jupyter"] if not r.startswith("course-lib")]
)


def test_the_base_install_is_what_a_student_kernel_imports():
    assert set(BASE) == {
        "torch",
        "numpy",
        "gymnasium",
        "pygame",
        "matplotlib",
        "ipywidgets",
        "imageio",
        "tqdm",
    }
    assert not set(BASE) & {canonicalize_name(m) for m in INSTRUCTOR_MODULES}


def test_every_declared_floor_is_the_version_ci_installs():
    pins = _pins(FLOORS)
    for name, req in {**BASE, **INSTRUCTOR}.items():
        if name == "ipywidgets" and name in INSTRUCTOR:
            continue  # the base floor (7.7.1) is Colab's pin, installed by tests/colab
        floor = _floor(req)
        assert floor is not None, f"{req} declares no floor"
        if name == "torch":
            continue  # see floors.txt: only the 2.13.0 CPU build can be installed here
        pin = pins.get(name)
        assert pin is not None and Version(pin) == Version(floor), (
            f"{name}: pyproject's floor is {floor}, floors.txt installs {pin}"
        )
    assert Version(pins["ipywidgets"]) == Version(_floor(INSTRUCTOR["ipywidgets"]))


def test_colabs_pins_satisfy_the_base_install():
    """Installing course-lib on Colab changes none of Colab's packages: each base dependency
    Colab has is already in range (torch is the local CPU build, as in the Colab test)."""
    pins = _pins(COLAB)
    colab_python = {"python_version": "3.13", "python_full_version": "3.13.15"}
    colab_base = _requirements(PYPROJECT["project"]["dependencies"], colab_python)
    assert "pygame" in colab_base and "pygame-ce" not in colab_base
    for name, req in colab_base.items():
        assert name in pins, f"{name} is not in {COLAB.name}"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"Colab has {name}=={pins[name]}, outside course-lib's {req.specifier}"
        )
    assert Version(_floor(BASE["ipywidgets"])) == Version(pins["ipywidgets"])


def _notebook_imports(path: Path) -> list[str]:
    """Every import statement of a notebook's code cells (hidden tests included)."""
    import ast

    nb = json.loads(path.read_text())
    statements = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                statements.append(ast.unparse(node))
    return statements


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb")))
def test_a_notebooks_imports_load_no_instructor_module(name):
    """Run every import a notebook makes, hidden tests included, in a fresh interpreter:
    nothing of the instructor side (release, grading, the command) is loaded."""
    statements = _notebook_imports(ROOT / "solutions" / name)
    assert any("course_lib" in s for s in statements)
    code = "\n".join(
        [
            *statements,
            "import course_lib as cl",
            "for name in cl.__all__:\n    getattr(cl, name)",
            "loaded = sorted(m for m in sys.modules if m.startswith('course_lib.instructor'))",
            "print(loaded)",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
