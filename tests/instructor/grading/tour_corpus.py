"""Submissions of notebook 00 written from the instructor notebook, for the grading tests."""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[3]
SOLUTIONS = ROOT / "solutions"
TOUR = "00_gymnasium_tour"


def write(tmp_path: Path, nb: nbformat.NotebookNode, student: str = "s") -> Path:
    """``nb`` as ``student``'s submission of notebook 00 under ``tmp_path/submitted``."""
    path = tmp_path / "submitted" / student / TOUR / f"{TOUR}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def scores(rec) -> dict[str, float]:
    return {t.grade_id: t.score for t in rec.tests}


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
