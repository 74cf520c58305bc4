"""Grades out of the gradebook: a CSV for the class, Gradescope JSON per submission."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from course_lib.grading.gradebook import Gradebook

__all__ = ["export_csv", "export_gradescope"]


def export_csv(gradebook: Gradebook, path: Path) -> Path:
    """One row per student; per assignment a total, a status and one column per question."""
    rows = gradebook.latest()
    students = sorted({r["student"] for r in rows})
    assignments = sorted({r["assignment"] for r in rows})
    questions: dict[str, list[str]] = {a: [] for a in assignments}
    cells: dict[tuple[str, str], dict[str, object]] = {}
    for r in rows:
        entry: dict[str, object] = {
            "total": r["score"],
            "max": r["max_score"],
            "status": r["status"],
        }
        if r["status"] == "error":
            entry["status"] = f"error: {r['error']}"
        for t in gradebook.tests_of(r["id"]):
            entry[t["grade_id"]] = t["score"]
            if t["grade_id"] not in questions[r["assignment"]]:
                questions[r["assignment"]].append(t["grade_id"])
        cells[(r["student"], r["assignment"])] = entry
    header = ["student"]
    for a in assignments:
        header += [f"{a}", f"{a} max", f"{a} status", *(f"{a}:{q}" for q in questions[a])]
    header.append("total")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for student in students:
            line: list[object] = [student]
            total = 0.0
            for a in assignments:
                entry = cells.get((student, a))
                if entry is None:
                    line += [0, "", "missing", *("" for _ in questions[a])]
                    continue
                total += float(entry["total"])  # type: ignore[arg-type]
                line += [
                    entry["total"],
                    entry["max"],
                    entry["status"],
                    *(entry.get(q, "") for q in questions[a]),
                ]
            line.append(round(total, 2))
            writer.writerow(line)
    return path


def export_gradescope(gradebook: Gradebook, out_dir: Path) -> list[Path]:
    """``<out>/<student>/<assignment>/results.json`` in Gradescope's autograder format.

    Hidden tests appear by name and score; their messages are not shown to students.
    """
    written = []
    for r in gradebook.latest():
        tests = []
        for t in gradebook.tests_of(r["id"]):
            tests.append(
                {
                    "name": t["grade_id"],
                    "score": t["score"],
                    "max_score": t["max_score"],
                    "status": "passed" if t["status"] == "passed" else "failed",
                    "output": t["visible"],
                    "visibility": "visible",
                }
            )
        result = {
            "score": r["score"],
            "execution_time": round(r["total_seconds"], 1),
            "output": r["error"] or "",
            "tests": tests,
        }
        path = out_dir / r["student"] / r["assignment"] / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2))
        written.append(path)
    return written
