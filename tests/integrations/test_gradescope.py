"""Gradescope end to end: the autograder zip `course-lib gradescope` writes, run as Gradescope
runs it (``run_autograder`` in a folder laid out like ``/autograder``), gives a results.json
that Gradescope's specification accepts (gradescope_results.schema.json), for correct, wrong,
missing and unexpected submissions, with and without bubblewrap."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest

from course_lib.instructor.cli import main
from tests.integrations.test_nbgrader import SOLUTIONS, _correct_submission

HERE = Path(__file__).parent
SCHEMA = json.loads((HERE / "gradescope_results.schema.json").read_text())
METADATA = HERE / "gradescope_submission_metadata.json"
TOUR = "00_gymnasium_tour"

pytestmark = pytest.mark.xdist_group("gradescope")


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gradescope")
    code = main(
        [
            "gradescope",
            TOUR,
            "--out",
            str(out),
            "--solutions",
            str(SOLUTIONS),
            "--fast",
            "--seed",
            "7",
        ]
    )
    assert code == 0
    return out / f"{TOUR}_autograder.zip"


def test_the_zip_holds_setup_and_run_autograder_at_its_root(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        config = json.loads(archive.read("course_lib_autograder.json"))
    assert {"setup.sh", "run_autograder", f"solutions/{TOUR}.ipynb", "README.txt"} <= names
    assert any(n.startswith("course_lib-") and n.endswith(".whl") for n in names)
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR
    assert config == {
        "assignment": TOUR,
        "seed": 7,
        "hidden_visibility": "after_published",
        "memory_mb": 3072,
        "cell_timeout_s": 600.0,
        "notebook_timeout_s": 1800.0,
        "fast": True,
    }
    assert "bubblewrap" in setup and "download.pytorch.org/whl/cpu" in setup
    assert "course_lib.instructor.grading.gradescope prepare --root /autograder" in setup
    check = subprocess.run(["bash", "-n", "-c", setup], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


@pytest.fixture(scope="module")
def container(autograder_zip, tmp_path_factory) -> Path:
    """/autograder as Gradescope lays it out after the image build (setup.sh's last step,
    the reference observations, run with this interpreter)."""
    root = tmp_path_factory.mktemp("container") / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    prepared = subprocess.run(
        [
            sys.executable,
            "-m",
            "course_lib.instructor.grading.gradescope",
            "prepare",
            "--root",
            str(root),
        ],
        capture_output=True,
        text=True,
    )
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    return root


def _env(container: Path) -> dict[str, str]:
    """run_autograder's environment: ``container`` as /autograder, this interpreter's venv."""
    return {**os.environ, "AUTOGRADER_ROOT": str(container), "COURSE_LIB_PYTHON": sys.executable}


def _submit(container: Path, files: dict[str, nbformat.NotebookNode], *, no_bwrap=False) -> dict:
    """Run run_autograder on ``files`` as Gradescope does; the results, schema-checked."""
    for folder in ("submission", "results"):
        shutil.rmtree(container / folder, ignore_errors=True)
    (container / "submission").mkdir()
    (container / "results").mkdir()
    shutil.copy(METADATA, container / "submission_metadata.json")
    for name, nb in files.items():
        nbformat.write(nb, container / "submission" / name)
    env = _env(container)
    if no_bwrap:  # a container where bubblewrap cannot create its namespaces
        fake = container.parent / "no-bwrap"
        fake.mkdir(exist_ok=True)
        (fake / "bwrap").write_text(
            "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n"
        )
        (fake / "bwrap").chmod(0o755)
        env["PATH"] = f"{fake}:{env['PATH']}"
    result = subprocess.run(
        [str(container / "run_autograder")],
        cwd=container,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((container / "results" / "results.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(results)
    return results


def test_a_correct_submission_gets_full_marks(container):
    results = _submit(container, {f"{TOUR}.ipynb": _correct_submission(TOUR)})
    assert results["score"] == results["max_score"] == 3.0
    assert [(t["name"], t["score"], t["status"]) for t in results["tests"]] == [
        ("test_run_episode", 2.0, "passed"),
        ("test_td_target", 1.0, "passed"),
    ]
    assert all(t["visibility"] == "after_published" for t in results["tests"])
    assert results["extra_data"]["submitter"]["users"][0]["email"] == "student@example.com"
    sandboxed = results["extra_data"]["sandboxed"]
    assert ("without the sandbox" in results["output"]) == (not sandboxed)


def test_a_wrong_answer_loses_its_points_with_the_graders_verdict(container):
    nb = _correct_submission(TOUR)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "td_target":
            cell.source = cell.source.split('"""', 2)
            cell.source = '"""'.join(cell.source[:2]) + '"""\n    return reward\n'
    results = _submit(container, {"my_work.ipynb": nb})  # any single notebook is taken
    assert results["score"] == 2.0
    td = results["tests"][1]
    assert (td["name"], td["score"], td["max_score"], td["status"]) == (
        "test_td_target",
        0.0,
        1.0,
        "failed",
    )
    assert "Grader's verdict" in td["output"] and "td_target" in td["output"]
    for secret in ("BEGIN HIDDEN", "probe_td_target", "grader_seed"):
        assert secret not in json.dumps(results)


def test_without_bubblewrap_the_fallback_is_used_and_the_results_say_so(container):
    results = _submit(container, {f"{TOUR}.ipynb": _correct_submission(TOUR)}, no_bwrap=True)
    assert results["score"] == 3.0
    assert results["extra_data"]["sandboxed"] is False
    assert "Graded without the sandbox" in results["output"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, f"no notebook was submitted: upload {TOUR}.ipynb."),
        ({"a.ipynb": None, "b.ipynb": None}, "2 notebooks were submitted (a.ipynb, b.ipynb)"),
    ],
)
def test_no_or_too_many_notebooks_give_zero_with_the_reason(container, files, message):
    blank = nbformat.v4.new_notebook()
    results = _submit(container, {name: blank for name in files})
    assert results["score"] == 0.0 and results["tests"] == []
    assert message in results["output"]


def test_a_broken_notebook_is_an_error_row_not_a_missing_file(container):
    _submit(container, {})  # fresh submission/ and results/ folders
    (container / "submission" / f"{TOUR}.ipynb").write_text("{ not json")
    subprocess.run(
        [str(container / "run_autograder")], cwd=container, env=_env(container), check=True
    )
    results = json.loads((container / "results" / "results.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(results)
    assert results["score"] == 0.0
    assert "could not be graded" in results["output"] and "not valid JSON" in results["output"]


def test_a_symlink_to_the_instructors_notebook_is_refused(container):
    _submit(container, {})  # fresh submission/ and results/ folders
    link = container / "submission" / f"{TOUR}.ipynb"
    link.symlink_to(container / "source" / "solutions" / f"{TOUR}.ipynb")
    subprocess.run(
        [str(container / "run_autograder")], cwd=container, env=_env(container), check=True
    )
    results = json.loads((container / "results" / "results.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(results)
    assert results["score"] == 0.0 and results["tests"] == []
    assert "is a symbolic link, not a notebook" in results["output"]


def test_run_autograder_keeps_the_instructors_files_to_root(container):
    _submit(container, {f"{TOUR}.ipynb": _correct_submission(TOUR)})
    for folder in ("source", "results"):
        assert stat.S_IMODE((container / folder).stat().st_mode) == 0o700


def test_each_submission_gets_its_own_evaluation_seed():
    from course_lib.instructor.grading.gradescope import judge_seed

    seeds = {judge_seed(7, submission) for submission in range(50)}
    assert len(seeds) == 50
    assert judge_seed(7, 123456) == judge_seed(7, 123456)  # a re-run of one submission
    assert judge_seed(8, 123456) != judge_seed(7, 123456)
