"""Notebook 00 in a real kernel: the reference passes, a broken reference fails its check."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

SOURCE = Path(__file__).resolve().parents[2] / "solutions" / "00_gymnasium_tour.ipynb"
SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n.*?### END SOLUTION", re.S | re.M)

pytestmark = pytest.mark.notebook


def _execute(nb: nbformat.NotebookNode, cwd: Path) -> None:
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()


def _with_solution(grade_id: str, body: str) -> nbformat.NotebookNode:
    nb = nbformat.read(SOURCE, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    cell.source = SOLUTION.sub(lambda _: indented, cell.source)
    return nb


def test_broken_run_episode_fails_its_visible_check(tmp_path):
    # The classic bug: the loop watches only `terminated` and runs past the time limit.
    nb = _with_solution(
        "run_episode",
        """
obs, info = env.reset(seed=seed)
total_reward, n_steps, terminated, truncated = 0.0, 0, False, False
while not terminated:
    obs, reward, terminated, truncated, info = env.step(policy(obs))
    total_reward += reward
    n_steps += 1
return total_reward, n_steps, terminated, truncated
""",
    )
    with pytest.raises(CellExecutionError) as info:
        _execute(nb, tmp_path)
    message = str(info.value)
    assert "CheckFailed" in message
    assert "[check_run_episode] your loop stepped the environment after the episode had ended." in message
    assert "end the loop when `terminated or truncated` is true" in message


def test_broken_td_target_fails_its_visible_check(tmp_path):
    nb = _with_solution(
        "td_target",
        "return reward + gamma * (1.0 - float(terminated or truncated)) * next_value",
    )
    # Cells before the exercise must still pass; the failure is the td_target check's.
    with pytest.raises(CellExecutionError) as info:
        _execute(nb, tmp_path)
    message = str(info.value)
    assert "[check_td_target] TD targets: wrong value" in message
    assert "truncation is a time limit, not a terminal state" in message
