"""docs/authoring.md, followed on its worked example: a notebook of one's own with one
exercise on a toy env, released and then graded by the real grader (sandboxed when
bubblewrap is there) on a correct, a wrong and a hostile submission."""

from __future__ import annotations

import copy
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "authoring.md"
HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"
EXERCISES = HERE / "exercises"
ASSIGNMENT = "06_toy_returns"

SUBMISSIONS = {
    # a correct variant that is not the reference's code: numpy, an index loop
    "correct": (
        "    import numpy as np\n"
        "    g, running = np.zeros(len(rewards)), 0.0\n"
        "    for t in range(len(rewards) - 1, -1, -1):\n"
        "        running = rewards[t] + gamma * running\n"
        "        g[t] = running\n"
        "    return g\n"
    ),
    # the classic bug: accumulated from the first step forwards
    "wrong": (
        "    out, g = [], 0.0\n"
        "    for r in rewards:\n"
        "        g = r + gamma * g\n"
        "        out.append(g)\n"
        "    return out\n"
    ),
    # wrong, and it fakes the visible check, replaces the probe, forges an observation and
    # edits the test cell
    "hostile": "    return [sum(rewards)] * len(rewards)\n",
}
HOSTILE_CELL = (
    "import toy_returns, course_lib as cl\n"
    'toy_returns.check_returns_to_go = lambda f: print("✔ check_returns_to_go passed")\n'
    'toy_returns.probe_returns_to_go = lambda f, seed: "forged"\n'
    'cl.observe("returns_to_go", [{"forged": True}])\n'
)
HOSTILE_TEST = 'toy_returns.check_returns_to_go(returns_to_go)\ncl.observe("returns_to_go", [])\n'


def _commands() -> list[str]:
    """The guide's shell commands (lines of its ``bash`` blocks), without line breaks."""
    blocks = re.findall(r"```bash\n(.*?)```", GUIDE.read_text(), re.S)
    return [line for b in blocks for line in b.replace("\\\n", " ").splitlines() if line]


def _course_lib(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "course_lib", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)


def _submit(released: Path, folder: Path, student: str) -> None:
    nb = copy.deepcopy(nbformat.read(released, as_version=4))
    for index, cell in enumerate(list(nb.cells)):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "returns_to_go":
            assert "raise NotImplementedError()" in cell.source  # the stub the student sees
            cell.source = "def returns_to_go(rewards, gamma):\n" + SUBMISSIONS[student]
            if student == "hostile":
                nb.cells.insert(index + 1, nbformat.v4.new_code_cell(HOSTILE_CELL))
        if grade_id == "test_returns_to_go" and student == "hostile":
            cell.source = HOSTILE_TEST
    path = folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)


def test_the_guide_shows_the_commands_this_test_runs():
    commands = _commands()
    for expected in (
        "course-lib release --source tests/authoring/source --dest /tmp/toy/release",
        "course-lib grade /tmp/toy/submitted --solutions tests/authoring/source "
        "--exercises tests/authoring/exercises --gradebook /tmp/toy/gradebook.sqlite",
    ):
        assert any(re.sub(r"\s+", " ", c).strip() == expected for c in commands), expected


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Release the example, submit three notebooks, grade them: the gradebook's rows."""
    base = tmp_path_factory.mktemp("toy")
    _course_lib("release", "--source", str(SOURCE), "--dest", str(base / "release"))
    released = base / "release" / f"{ASSIGNMENT}.ipynb"
    for student in SUBMISSIONS:
        _submit(released, base / "submitted", student)
    book = base / "gradebook.sqlite"
    _course_lib(
        "grade", str(base / "submitted"), "--solutions", str(SOURCE),
        "--exercises", str(EXERCISES), "--gradebook", str(book), "--seed", "7",
    )  # fmt: skip
    db = sqlite3.connect(book)
    rows = db.execute(
        "SELECT s.student, s.status, t.score, t.max_score, t.message, t.visible "
        "FROM submissions s JOIN tests t ON t.submission_id = s.id"
    ).fetchall()
    tampering = db.execute(
        "SELECT s.student, m.grade_id, m.kind FROM tampering m "
        "JOIN submissions s ON s.id = m.submission_id"
    ).fetchall()
    return {row[0]: row[1:] for row in rows}, tampering, released


def test_the_release_hides_the_solution_and_the_hidden_test(graded):
    _, _, released = graded
    text = released.read_text()
    assert "reversed(range(len(rewards)))" not in text
    assert "probe_returns_to_go" not in text and "HIDDEN" not in text
    assert "toy_returns.check_returns_to_go(returns_to_go)" in text


def test_a_correct_variant_earns_the_points(graded):
    rows, _, _ = graded
    status, score, max_score, message, visible = rows["correct"]
    assert (status, score, max_score) == ("graded", 2.0, 2.0)
    assert message == "returns_to_go: every return-to-go right"
    assert visible.startswith("✔ check_returns_to_go passed")


def test_a_wrong_submission_loses_them_with_the_bug_named(graded):
    rows, _, _ = graded
    status, score, _, _, visible = rows["wrong"]
    assert (status, score) == ("graded", 0.0)
    assert "likely bug: accumulate from the last step backwards" in visible


def test_a_hostile_submission_earns_nothing_and_its_edit_is_recorded(graded):
    rows, tampering, _ = graded
    status, score, _, message, _ = rows["hostile"]
    assert (status, score) == ("graded", 0.0)
    assert message == "returns_to_go: the observation does not have one record per case"
    assert ("hostile", "test_returns_to_go", "edited") in tampering


def test_the_grader_refuses_an_exercise_folder_that_holds_a_notebook(tmp_path):
    (tmp_path / "leak.ipynb").write_text("{}")
    with pytest.raises(subprocess.CalledProcessError) as err:
        _course_lib(
            "grade", "--files", str(tmp_path / "leak.ipynb"), "--solutions", str(SOURCE),
            "--exercises", str(tmp_path), "--gradebook", str(tmp_path / "book.sqlite"),
        )  # fmt: skip
    assert "it holds a notebook (leak.ipynb)" in err.value.stderr


def test_on_gradescope_the_exercise_folder_goes_into_the_autograder(tmp_path, graded):
    """The same example as a Gradescope autograder: the zip carries the exercise folder, and
    run_autograder grades the correct and the hostile submission as the local grader did."""
    _, _, released = graded
    module_before = (EXERCISES / "toy_returns.py").read_bytes()
    args = ["gradescope", ASSIGNMENT, "--solutions", str(SOURCE), "--out", str(tmp_path)]
    refused = subprocess.run(
        [sys.executable, "-m", "course_lib", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert refused.returncode != 0
    assert "give its folder with --exercises DIR" in refused.stderr
    _course_lib(*args, "--exercises", str(EXERCISES), "--seed", "7")
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    assert (EXERCISES / "toy_returns.py").read_bytes() == module_before  # copied, not moved
    with zipfile.ZipFile(tmp_path / f"{ASSIGNMENT}_autograder.zip") as archive:
        assert archive.read("exercises/0/toy_returns.py") == module_before
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    module = "course_lib.instructor.grading.gradescope"
    subprocess.run(
        [sys.executable, "-m", module, "prepare", "--root", str(root)], check=True, cwd=ROOT
    )
    folder = tmp_path / "submitted"
    for student in ("correct", "hostile"):
        _submit(released, folder, student)
        nb = nbformat.read(folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        results = _submit_to(root, nb)
        assert results["score"] == (2.0 if student == "correct" else 0.0), results


def _submit_to(root: Path, nb: nbformat.NotebookNode) -> dict:
    from tests.integrations.test_gradescope import _submit as run_autograder

    return run_autograder(root, {f"{ASSIGNMENT}.ipynb": nb})


def test_the_examples_judge_names_a_malformed_record_instead_of_raising(monkeypatch):
    monkeypatch.syspath_prepend(str(EXERCISES))
    import toy_returns

    case = toy_returns.hidden_cases(7)[0]
    forged = [{"case": case, "returns": "abc"}, {"case": case}, {}]
    found = toy_returns.judge_returns_to_go(forged, [{"case": c} for c in [case] * 3])
    assert found is not None and found.problem == "the returns are not numbers"
    assert toy_returns.judge_returns_to_go([{}], [{"case": case}]).problem == (
        "case 0: the record is not for the grader's case"
    )
