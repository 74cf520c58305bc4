"""Reference notebooks at full budget: each trained policy meets its reward criterion.

These run the instructor notebooks top to bottom with ``COURSE_LIB_FAST=0`` in a real
kernel; the notebook's own reward check (``check_reward``) must pass, not be skipped.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


@pytest.mark.parametrize("name", ["01_actor_critic", "02_a2c", "03_ppo", "04_ddpg", "05_td3"])
def test_reference_meets_the_reward_criterion(name, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_LIB_FAST", "0")
    nb = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    reward_cells = [
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_reward")
    ]
    assert reward_cells, f"{name} has no reward check"
    for cell in reward_cells:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "✔ check_reward passed" in text, text
