"""How long the whole course takes: every instructor notebook, top to bottom, at full budget.

Each notebook in ``solutions/`` runs in a fresh kernel
(``course_lib.instructor.runner.run_notebook``,
``COURSE_LIB_FAST=0``), one after the other, as an instructor checking the course would run
them. Reports the seconds per notebook (kernel start included) and in total, the slowest
cells of each, and whether each notebook's reward checks passed. The goal: the whole
course in under 10 minutes on a 2-core machine.

    python benchmarks/course_timing.py --out benchmarks/results/course_timing.md

``--keep DIR`` keeps the executed notebooks, to look at their plots and animations.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, machine_line, machine_speed_line

GOAL_SECONDS = 600.0


def _reward_checks(executed: Path) -> tuple[int, int]:
    """(passed, total) reward checks in an executed notebook."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    cells = [
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_reward")
    ]
    passed = sum(
        "✔ check_reward passed" in "".join(o.get("text", "") for o in c.get("outputs", []))
        for c in cells
    )
    return passed, len(cells)


def run(notebooks: list[Path], out: Path | None, keep: Path | None = None) -> int:
    from nbclient.exceptions import CellExecutionError

    from course_lib.instructor.runner import run_notebook

    speed = machine_speed_line()
    os.environ.update({"COURSE_LIB_FAST": "0", "TQDM_DISABLE": "1"})
    rows, failed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for path in notebooks:
            print(f"running {path.name} ...", flush=True)
            try:
                result = run_notebook(path, Path(keep or tmp) / path.stem)
            except CellExecutionError as error:
                failed.append(path.name)
                print(f"{path.name} FAILED:\n{str(error)[-2000:]}", file=sys.stderr, flush=True)
                continue
            passed, total = _reward_checks(result.executed)
            slowest = sorted(result.cell_seconds, key=lambda c: -c[1])[:3]
            rows.append((path.stem, result.seconds, slowest, passed, total))
            print(f"{path.name}: {result.seconds:.1f} s", flush=True)
    total_seconds = sum(r[1] for r in rows)
    lines = [
        f"# The whole course at full budget ({machine_line(1)})",
        "",
        f"{speed}",
        "",
        "Every instructor notebook executed top to bottom in a fresh kernel with "
        "`COURSE_LIB_FAST=0`, one after the other (kernel start included). Goal: the whole "
        f"course in under {GOAL_SECONDS / 60:g} minutes.",
        "",
        "| notebook | seconds | reward checks passed | slowest cells (id: seconds) |",
        "| --- | --- | --- | --- |",
    ]
    for stem, seconds, slowest, passed, total in rows:
        cells = ", ".join(f"`{cid}`: {s:.1f}" for cid, s in slowest)
        checks = f"{passed}/{total}" if total else "none in this notebook"
        lines.append(f"| {stem} | {seconds:.1f} | {checks} | {cells} |")
    verdict = "met" if total_seconds < GOAL_SECONDS and not failed else "not met"
    lines += [
        f"| **total** | **{total_seconds:.1f}** ({total_seconds / 60:.1f} min) | | |",
        "",
        f"Goal (under {GOAL_SECONDS / 60:g} min): **{verdict}**."
        + (f" Failed to run: {', '.join(failed)}." if failed else ""),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="default: every notebook in solutions/"
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the executed notebooks (and their plots) in DIR/<notebook>/",
    )
    args = parser.parse_args()
    notebooks = args.notebooks or sorted((ROOT / "solutions").glob("*.ipynb"))
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    return run(notebooks, args.out, args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
