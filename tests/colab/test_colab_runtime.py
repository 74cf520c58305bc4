"""The course on Colab's stack: a venv pinned as Colab's runtime (tests/colab/constraints.txt),
the course's wheel installed by the notebooks' own set-up cell, notebooks 00 and 04 run in
fast mode with ``google.colab`` faked. No package Colab ships changes, and every check passes.

The venv is kept in ``.venv-colab`` and rebuilt when the constraints or this file's package
list change; building it takes about a minute (downloads from PyPI).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.instructor.cli import main
from course_lib.instructor.release.steps import InsertSetupCell, ReleaseContext

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "tests" / "colab" / "constraints.txt"
VENV = ROOT / ".venv-colab"
#: What Colab's runtime has that a course notebook touches: the kernel stack (ipykernel
#: 6.17, jupyter_client 7, notebook 6, ipywidgets 7) and the course's own dependencies.
COLAB_PACKAGES = (
    "ipykernel",
    "ipython",
    "jupyter_client",
    "jupyter_core",
    "traitlets",
    "tornado",
    "pyzmq",
    "notebook",
    "ipywidgets",
    "widgetsnbextension",
    "jupyterlab_widgets",
    "numpy",
    "matplotlib",
    "gymnasium",
    "pygame",
    "tqdm",
    "imageio",
    "pillow",
)

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("colab")]


def _pip(*args: str) -> None:
    subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args],
        check=True,
        capture_output=True,
        text=True,
    )


def _freeze() -> dict[str, str]:
    out = subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(out)}


@pytest.fixture(scope="module")
def colab_venv() -> Path:
    """A venv holding Colab's kernel stack and the course's dependencies at Colab's pins."""
    recipe = hashlib.sha256(
        CONSTRAINTS.read_bytes() + repr((COLAB_PACKAGES, sys.version)).encode()
    ).hexdigest()
    stamp = VENV / "recipe.sha256"
    if not (stamp.is_file() and stamp.read_text() == recipe):
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        torch = next(
            line for line in CONSTRAINTS.read_text().splitlines() if line.startswith("torch==")
        )
        _pip("install", "--quiet", torch)
        _pip("install", "--quiet", "-c", str(CONSTRAINTS), *COLAB_PACKAGES)
        stamp.write_text(recipe)
    course = [n for n in _freeze() if n.startswith("course-lib")]
    if course:  # a previous run's install: start from Colab's state
        _pip("uninstall", "--yes", *course)
    return VENV


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The course's wheel, built by `course-lib release --wheel`."""
    out = tmp_path_factory.mktemp("wheel")
    code = main(
        [
            "release",
            "--source",
            str(ROOT / "solutions"),
            "--dest",
            str(out / "notebooks"),
            "--wheel",
            str(out / "dist"),
        ]
    )
    assert code == 0
    (built,) = (out / "dist").glob("course_lib-*.whl")
    return built


def _kernel(tmp: Path, python: Path) -> Path:
    """A kernel spec running ``python`` with ``google.colab`` imported at start, as on Colab."""
    fake = tmp / "fake-colab"
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "colab" / "__init__.py").write_text('"""Stands in for Colab\'s module."""\n')
    (fake / "sitecustomize.py").write_text("import google.colab  # noqa: F401\n")
    spec = tmp / "jupyter" / "kernels" / "colab"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Colab-pinned Python",
                "language": "python",
                "env": {"PYTHONPATH": str(fake), "COURSE_LIB_FAST": "1"},
            }
        )
    )
    return tmp / "jupyter"


def _with_setup_cell(name: str, install: str | None, repo_root: Path) -> nbformat.NotebookNode:
    """The reference notebook with the release's set-up cell first."""
    nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    InsertSetupCell()(nb, ReleaseContext(repo_root=repo_root, colab_install=install))
    return nb


def _run(nb: nbformat.NotebookNode, cwd: Path, jupyter_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    client = NotebookClient(
        nb, kernel_name="colab", timeout=900, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()


def _text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") + str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_notebooks_00_and_04_on_colabs_stack(colab_venv, wheel, tmp_path, monkeypatch):
    before = _freeze()
    assert "course-lib" not in before
    for name in ("ipykernel", "jupyter-client", "notebook", "ipywidgets", "numpy"):
        assert name in before
    jupyter_path = _kernel(tmp_path, colab_venv / "bin" / "python")
    empty = tmp_path / "empty-root"  # a repository with no install source configured
    empty.mkdir()

    # 00: the course names no source; the student uploaded the wheel into the working folder.
    upload = tmp_path / "content"
    upload.mkdir()
    shutil.copy(wheel, upload / wheel.name)
    tour = _with_setup_cell("00_gymnasium_tour", None, empty)
    _run(tour, upload, jupyter_path, monkeypatch)
    assert f"installing course_lib from {wheel.name}" in _text(tour)
    after_tour = _freeze()
    _pip("uninstall", "--yes", "course-lib")  # a fresh runtime for the next notebook

    # 04: the course names the wheel as its install source; nothing uploaded.
    elsewhere = tmp_path / "content-04"
    elsewhere.mkdir()
    ddpg = _with_setup_cell("04_ddpg", str(wheel), empty)
    _run(ddpg, elsewhere, jupyter_path, monkeypatch)
    assert f"installing course_lib from {wheel}" in _text(ddpg)

    for nb, checks in ((tour, 2), (ddpg, 6)):
        text = _text(nb)
        assert "CheckFailed" not in text and "Traceback" not in text
        assert text.count("passed") >= checks, text[-2000:]

    after = _freeze()
    assert after == after_tour
    added = {name: after[name] for name in set(after) - set(before)}
    assert added == {"course-lib": "0.1.0"}
    changed = {
        name: (before[name], after[name]) for name in before if after.get(name) != before[name]
    }
    assert changed == {}, f"installing the course changed Colab's packages: {changed}"
    check = subprocess.run(
        [str(colab_venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
