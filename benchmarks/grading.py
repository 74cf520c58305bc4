"""What grading costs: a correct submission of each notebook at full budget, in the grader.

For each notebook, one after the other on this machine:

- **standalone**: the instructor notebook executed top to bottom in a fresh kernel at full
  budget (``course_lib.instructor.runner.run_notebook``), as a student or an instructor runs it;
- **reference**: the grader's run of the reference solution (once per assignment and
  grading seed, then cached: amortized over the class);
- **graded**: a correct submission (the released notebook filled with the reference
  answers) graded by ``grade_one``: the sandbox's start, the cells' execution, and the
  judging outside the sandbox (exported networks probed, the grader's own evaluation
  episodes, the agent's GIF).

Seconds are wall-clock; CPU seconds are the whole machine's busy time during the run (the
kernel, the processes it starts, the judging process): run it alone. From the figures: one
student's six notebooks, a class of 300 in CPU-hours, and the wall-clock of that class on
this machine with ``--workers 2``.

    python benchmarks/grading.py --out benchmarks/results/grading.md --json runs.json
    python benchmarks/grading.py --before before.json ...   # adds the before columns

Targets: the six graded notebooks together in at most 3 CPU-minutes, and no notebook's
grading more than 1.3 times its standalone execution.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, machine_line, machine_speed_line

NOTEBOOKS = ["00_gymnasium_tour", "01_actor_critic", "02_a2c", "03_ppo", "04_ddpg", "05_td3"]
CLASS_SIZE = 300
TARGET_CPU_MINUTES = 3.0
TARGET_RATIO = 1.3


def _cpu() -> float:
    """CPU seconds the whole machine has spent busy so far (all cores, from /proc/stat).

    A grading run starts processes that are not this one's children to wait for (the
    sandboxed kernel, the processes it starts), so the benchmark measures the machine:
    run it with nothing else running.
    """
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _standalone(name: str, scratch: Path) -> dict[str, float]:
    from course_lib.instructor.runner import run_notebook

    cpu, wall = _cpu(), time.perf_counter()
    run_notebook(ROOT / "solutions" / f"{name}.ipynb", scratch / "standalone" / name)
    return {"wall": time.perf_counter() - wall, "cpu": _cpu() - cpu}


def _grade(name: str, scratch: Path) -> dict[str, Any]:
    import nbformat

    from course_lib.instructor.grading.grade import GradeSettings, grade_one, reference_observations
    from course_lib.instructor.grading.sample import fill

    settings = GradeSettings(
        solutions=ROOT / "solutions",
        seed=20261203,
        cache_dir=scratch / "cache",
        scratch=scratch / "runs",
    )
    cpu, wall = _cpu(), time.perf_counter()
    reference_observations(name, settings)
    reference = {"wall": time.perf_counter() - wall, "cpu": _cpu() - cpu}
    path = scratch / "submitted" / "student" / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(fill(ROOT / "solutions" / f"{name}.ipynb"), path)
    cpu, wall = _cpu(), time.perf_counter()
    rec = grade_one("student", name, path, settings)
    graded = {"wall": time.perf_counter() - wall, "cpu": _cpu() - cpu}
    graded.update(
        sandbox=float(rec.details.get("startup_seconds", 0.0)),
        cells=float(rec.details.get("cell_seconds", 0.0)),
        execution=float(rec.exec_seconds or 0.0),
    )
    graded["judging"] = graded["wall"] - graded["execution"]
    omitted = rec.details.get("counts", {}).get("omitted", 0)
    return {
        "reference": reference,
        "graded": graded,
        "score": rec.score,
        "max_score": rec.max_score,
        "omitted_cells": omitted,
        "tests": {t.grade_id: [t.score, t.max_score, t.message] for t in rec.tests},
    }


def measure(notebooks: list[str], standalone: bool) -> dict[str, Any]:
    os.environ.update({"COURSE_LIB_FAST": "0", "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"})
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        scratch = Path(tmp)
        for name in notebooks:
            print(f"{name}: grading ...", flush=True)
            row = _grade(name, scratch)
            if standalone:
                print(f"{name}: standalone ...", flush=True)
                row["standalone"] = _standalone(name, scratch)
            runs[name] = row
            g = row["graded"]
            print(
                f"{name}: graded {g['wall']:.1f} s wall, {g['cpu']:.1f} CPU-s (execution "
                f"{g['execution']:.1f}, judging {g['judging']:.1f}); score "
                f"{row['score']:g}/{row['max_score']:g}",
                flush=True,
            )
    return runs


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def report(runs: dict[str, Any], before: dict[str, Any] | None, speed: str) -> str:
    names = [n for n in NOTEBOOKS if n in runs]
    before = before or {}
    lines = [
        f"# Grading cost at full budget ({machine_line(1)})",
        "",
        speed,
        "",
        "A correct submission of each notebook graded by `grade_one` (sandbox, execution, "
        "judging outside the sandbox), beside the notebook's standalone run in a fresh kernel. "
        "Seconds are wall-clock; CPU-s are the machine's busy time over all cores during the "
        "run (the kernel and what it starts, the judging process; nothing else ran). The "
        "reference run is the grader's run of the instructor "
        "notebook, once per assignment and seed (cached, so amortized over a class). "
        "`python benchmarks/grading.py` measures it.",
        "",
        "| notebook | standalone s | graded s | graded CPU-s | sandbox start s | cells s "
        "| judging s | graded / standalone | reference s | score | cells omitted |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    total = {"standalone": 0.0, "wall": 0.0, "cpu": 0.0, "reference": 0.0}
    worst_ratio = 0.0
    for name in names:
        row = runs[name]
        g = row["graded"]
        alone = (row.get("standalone") or {}).get("wall")
        ratio = g["wall"] / alone if alone else None
        worst_ratio = max(worst_ratio, ratio or 0.0)
        total["standalone"] += alone or 0.0
        total["wall"] += g["wall"]
        total["cpu"] += g["cpu"]
        total["reference"] += row["reference"]["wall"]
        lines.append(
            f"| {name} | {_fmt(alone)} | {g['wall']:.1f} | {g['cpu']:.1f} | {g['sandbox']:.1f} "
            f"| {g['cells']:.1f} | {g['judging']:.1f} | {_fmt(ratio, 2)} "
            f"| {row['reference']['wall']:.1f} | {row['score']:g} / {row['max_score']:g} "
            f"| {row.get('omitted_cells', 0)} |"
        )
    lines.append(
        f"| **six notebooks** | {total['standalone']:.1f} | **{total['wall']:.1f}** "
        f"| **{total['cpu']:.1f}** | | | | | {total['reference']:.1f} | | |"
    )
    cpu_minutes = total["cpu"] / 60
    class_cpu_hours = CLASS_SIZE * total["cpu"] / 3600
    class_wall_hours = (CLASS_SIZE * total["wall"] / 2 + total["reference"]) / 3600
    lines += [
        "",
        f"- One student's six notebooks: {total['wall']:.0f} s wall, {total['cpu']:.0f} CPU-s "
        f"= **{cpu_minutes:.2f} CPU-minutes** (target: at most {TARGET_CPU_MINUTES:g}: "
        f"{'met' if cpu_minutes <= TARGET_CPU_MINUTES else 'NOT met'}).",
        (
            f"- Slowest grading against its standalone run: {worst_ratio:.2f}x (target: at "
            f"most {TARGET_RATIO:g}x: {'met' if worst_ratio <= TARGET_RATIO else 'NOT met'})."
            if worst_ratio
            else "- Standalone runs: not measured in this run."
        ),
        f"- A class of {CLASS_SIZE}: {class_cpu_hours:.1f} CPU-hours; on this 2-core machine "
        f"with `--workers 2`, about {class_wall_hours:.1f} h wall-clock (the graded seconds "
        f"above, two submissions at a time, plus the six reference runs once).",
    ]
    if before:
        lines += [
            "",
            "## Before and after",
            "",
            "| notebook | graded s before | after | judging s before | after "
            "| graded CPU-s before | after |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        sums = [0.0, 0.0, 0.0, 0.0]
        for name in names:
            if name not in before:
                continue
            b, a = before[name]["graded"], runs[name]["graded"]
            sums = [
                sums[0] + b["wall"],
                sums[1] + a["wall"],
                sums[2] + b["cpu"],
                sums[3] + a["cpu"],
            ]
            lines.append(
                f"| {name} | {b['wall']:.1f} | {a['wall']:.1f} | {b['judging']:.1f} "
                f"| {a['judging']:.1f} | {b['cpu']:.1f} | {a['cpu']:.1f} |"
            )
        lines.append(
            f"| **six notebooks** | {sums[0]:.1f} | {sums[1]:.1f} | | | {sums[2]:.1f} "
            f"| {sums[3]:.1f} |"
        )
        changed = [
            f"{name}/{gid}"
            for name in names
            if name in before
            for gid, t in runs[name]["tests"].items()
            if before[name]["tests"].get(gid, [None])[:2] != t[:2]
        ]
        lines += [
            "",
            "Scores, test by test, before and after: "
            + ("identical." if not changed else f"DIFFERENT for {', '.join(changed)}."),
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="+", default=NOTEBOOKS, choices=NOTEBOOKS)
    parser.add_argument("--no-standalone", action="store_true", help="grade only")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--before", type=Path, help="raw figures of an earlier run to compare")
    parser.add_argument("--out", type=Path, help="write the report (Markdown) here")
    parser.add_argument(
        "--standalone-from", type=Path, help="take the standalone figures from this raw file"
    )
    args = parser.parse_args()
    speed = machine_speed_line()
    runs = measure(args.notebooks, standalone=not (args.no_standalone or args.standalone_from))
    if args.standalone_from:
        earlier = json.loads(args.standalone_from.read_text())
        for name, row in runs.items():
            if "standalone" in earlier.get(name, {}):
                row["standalone"] = earlier[name]["standalone"]
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    before = json.loads(args.before.read_text()) if args.before else None
    text = report(runs, before, speed)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
