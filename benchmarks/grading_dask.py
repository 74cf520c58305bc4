"""The grader's batch on a local Dask cluster vs the process pool: throughput and overhead.

- **throughput**: the sample class (``course-lib sample-class``: 8 submissions, notebooks 00
  and 02, fast budgets) graded serially, with the process pool (``--workers 2``) and on a
  2-worker ``LocalCluster`` (what ``--scheduler`` and ``--slurm`` use), each into its own
  gradebook; the gradebooks must be identical;
- **scheduling overhead per submission**: 200 submissions whose grading does nothing,
  through each path; the wall-clock per submission is what the path itself costs.

    pip install -e ".[cluster]"
    python benchmarks/grading_dask.py --out benchmarks/results/grading_dask.md
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, machine_line, machine_speed_line

from course_lib.instructor.grading import cluster
from course_lib.instructor.grading.grade import GRADER_VERSION, GradeSettings, discover, grade_batch
from course_lib.instructor.grading.gradebook import Gradebook, SubmissionRecord
from course_lib.instructor.grading.sample import make_sample_class
from course_lib.instructor.grading.sandbox import Limits


def nothing(student: str, assignment: str, path: Path, settings: GradeSettings):
    """A grading that does nothing: what is left is the path's own cost."""
    return SubmissionRecord(student, assignment, str(path), "", GRADER_VERSION, "graded")


def overhead(settings: GradeSettings, n: int = 200) -> dict[str, float]:
    todo = [(f"s{i}", "00_gymnasium_tour", Path("x.ipynb")) for i in range(n)]
    out = {}
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(abs, range(4)))  # workers started before the clock, as with Dask
        start = time.perf_counter()
        futures = [pool.submit(nothing, s, a, p, settings) for s, a, p in todo]
        [f.result() for f in futures]
        out["process pool"] = (time.perf_counter() - start) / n
    client = cluster.local_client(2)
    try:
        client.wait_for_workers(2)
        start = time.perf_counter()
        cluster.grade_on_dask(client, todo, settings, lambda rec: None, grade=nothing)
        out["Dask LocalCluster"] = (time.perf_counter() - start) / n
    finally:
        lc = client.cluster
        client.close()
        lc.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    speed = machine_speed_line()
    base = Path(tempfile.mkdtemp(prefix="grading-dask-"))
    make_sample_class(ROOT / "solutions", base)
    settings = GradeSettings(
        solutions=ROOT / "solutions", seed=7, cache_dir=base / "cache", scratch=base / "scratch",
        limits=Limits(cell_timeout_s=60, notebook_timeout_s=600), fast=True,
    )  # fmt: skip
    items = discover(base / "submitted")
    with Gradebook(base / "warm.sqlite") as book:  # reference observations cached first
        grade_batch(book, items[:1], settings)
    rows, snapshots = [], {}
    for name in ("serial", "process pool, 2 workers", "Dask LocalCluster, 2 workers"):
        client = cluster.local_client(2) if name.startswith("Dask") else None
        try:
            if client is not None:
                client.wait_for_workers(2)
            with Gradebook(base / f"{len(rows)}.sqlite") as book:
                start = time.perf_counter()
                grade_batch(book, items, settings, workers=2 if "pool" in name else 1,
                            client=client)  # fmt: skip
                wall = time.perf_counter() - start
                snapshots[name] = book.snapshot()
        finally:
            if client is not None:
                lc = client.cluster
                client.close()
                lc.close()
        rows.append((name, wall))
        print(f"{name}: {len(items)} submissions in {wall:.1f} s", flush=True)
    same = all(s == snapshots["serial"] for s in snapshots.values())
    per = overhead(settings)
    lines = [
        f"# Grading on a local Dask cluster vs the process pool ({machine_line(2)})",
        "",
        speed,
        "",
        f"The sample class: {len(items)} submissions (notebooks 00 and 02, fast budgets).",
        "",
        "| path | seconds | submissions per minute | speed-up over serial |",
        "| --- | --- | --- | --- |",
    ]
    for name, wall in rows:
        lines.append(
            f"| {name} | {wall:.1f} | {len(items) / wall * 60:.1f} | {rows[0][1] / wall:.2f}x |"
        )
    lines += [
        "",
        f"Gradebooks identical across the three paths: **{'yes' if same else 'NO'}**.",
        "",
        "Scheduling overhead per submission (200 gradings that do nothing, 2 workers):",
        "",
        "| path | ms per submission |",
        "| --- | --- |",
        *[f"| {name} | {sec * 1e3:.2f} |" for name, sec in per.items()],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
