"""Grading overhead and throughput on copies of a correct notebook-00 submission.

Overhead per submission = total grading time - time spent running its cells
(sandbox start and teardown, restoring cells, judging, writing the gradebook).
Throughput compares a serial batch with ``--workers 2`` on the same submissions.

    python benchmarks/grading.py --copies 6
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from course_lib.grading.grade import GradeSettings, discover, grade_batch
from course_lib.grading.gradebook import Gradebook
from course_lib.grading.sample import fill

ROOT = Path(__file__).resolve().parents[1]
TOUR = "00_gymnasium_tour"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    nb = fill(ROOT / "solutions" / f"{TOUR}.ipynb")
    for i in range(args.copies):
        path = base / "submitted" / f"student{i:02d}" / TOUR / f"{TOUR}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    settings = GradeSettings(
        solutions=ROOT / "solutions", seed=7, cache_dir=base / "cache", scratch=base / "scratch"
    )
    items = discover(base / "submitted")
    rows = {}
    for workers in (1, 2):
        records = []
        with Gradebook(base / f"book{workers}.sqlite") as book:
            start = time.perf_counter()
            grade_batch(book, items, settings, workers=workers, progress=None)
            wall = time.perf_counter() - start
            for row in book.latest():
                import json

                details = json.loads(row["details"])
                records.append((row["total_seconds"], details["cell_seconds"]))
        rows[workers] = (wall, records)
        overheads = [total - cells for total, cells in records]
        print(
            f"workers={workers}: {len(records)} submissions in {wall:.1f} s "
            f"({len(records) / wall * 60:.1f} per minute); per submission: total median "
            f"{statistics.median(t for t, _ in records):.2f} s, cells "
            f"{statistics.median(c for _, c in records):.2f} s, overhead median "
            f"{statistics.median(overheads):.2f} s (max {max(overheads):.2f} s)"
        )
    print(f"speed-up with 2 workers: {rows[1][0] / rows[2][0]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
