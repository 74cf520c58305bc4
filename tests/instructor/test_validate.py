"""``course-lib validate``: a student's notebook run top to bottom, and what is left to do."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from course_lib.instructor.cli import main
from course_lib.instructor.grading.sample import fill

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("validate")]


def _validate(capsys, path: Path, *extra: str) -> tuple[int, str]:
    code = main(["validate", str(path), "--fast", *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_finished_notebook_has_no_problem(tmp_path, capsys):
    path = tmp_path / "01_actor_critic.ipynb"
    nbformat.write(fill(SOLUTIONS / "01_actor_critic.ipynb"), path)
    code, out = _validate(capsys, path)
    assert code == 0, out
    assert "✔ test_actor_critic_loss" in out and "✔ trained_policy: exists and exports" in out
    assert "NO PROBLEM FOUND at fast budgets" in out and "slowest cells: " in out


def test_the_released_notebook_lists_what_is_not_written(tmp_path, capsys):
    path = tmp_path / "00_gymnasium_tour.ipynb"
    path.write_bytes((ROOT / "notebooks" / "00_gymnasium_tour.ipynb").read_bytes())
    code, out = _validate(capsys, path)
    assert code == 1
    assert "✘ not written yet: run_episode, td_target" in out
    assert "✘ test_td_target: td_target() is not written yet" in out
    assert "NOT READY" in out


def test_a_wrong_answer_an_edited_locked_cell_and_a_missing_policy_are_named(tmp_path, capsys):
    wrong = {"normalized_returns": "return torch.as_tensor(rewards, dtype=torch.float32)"}
    nb = fill(SOLUTIONS / "01_actor_critic.ipynb", wrong)
    for cell in nb.cells:
        gid = (cell.metadata.get("nbgrader") or {}).get("grade_id")
        if gid == "test_action_log_probs":
            cell.source = "# checks removed"
        if gid == "run_training":
            cell.source = cell.source.replace("trained_policy =", "my_policy =")
    path = tmp_path / "01_actor_critic.ipynb"
    nbformat.write(nb, path)
    code, out = _validate(capsys, path)
    assert code == 1, out
    assert "✘ test_normalized_returns: [check_normalized_returns]" in out
    assert "✘ locked cells edited: test_action_log_probs, run_training" in out
    assert "✘ trained_policy: not defined: run its training cell" in out


@pytest.mark.parametrize(
    ("content", "says"),
    [(None, "no such file"), (b"", "the file is empty"), (b"{not json", "not a notebook")],
)
def test_a_file_that_is_no_notebook_is_named_with_its_fix(tmp_path, capsys, content, says):
    path = tmp_path / "mine.ipynb"
    if content is not None:
        path.write_bytes(content)
    code, out = _validate(capsys, path)
    assert code == 2 and says in out
