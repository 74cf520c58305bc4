"""Where the test suite's time goes: pytest's JUnit XML summed by kind of test.

    bash scripts/test.sh --junitxml=suite.xml      # on a fresh clone, timed with `time`
    python benchmarks/test_suite.py suite.xml

The kinds: unit (the package's own tests and doctests), checks and probes (the visible
checks and graded observations against buggy variants), grader (sandbox, grading end to
end), cluster (grading on Dask), nbval (the instructor notebooks at fast budgets), full
budget (the reference notebooks trained at full budget) and benchmarks (their harness).
Under pytest-xdist the seconds are spread over the workers: their sum is CPU-bound work,
not wall-clock.
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

KINDS = ["unit", "checks and probes", "grader", "cluster", "nbval", "full budget", "benchmarks"]


def kind_of(classname: str, file: str) -> str:
    """The kind of a test from its JUnit class name (dotted module path) or file."""
    where = (file or classname.replace(".", "/")).replace("\\", "/")
    if where.startswith("solutions/") or ".ipynb" in where:
        return "nbval"
    where = where.replace("tests/instructor/", "tests/")  # the layout since the tests moved
    if "tests/grading/test_cluster" in where:
        return "cluster"
    if "tests/notebooks/test_full_budget" in where:
        return "full budget"
    if "tests/grading/" in where or "tests/notebooks/" in where:
        return "grader"
    if "tests/checks/" in where or "tests/probes/" in where:
        return "checks and probes"
    if "tests/benchmarks/" in where:
        return "benchmarks"
    return "unit"


def summarize(path: Path) -> tuple[dict[str, list[float]], list[tuple[float, str]]]:
    """Seconds per kind (one entry per test) and every test's (seconds, id)."""
    per_kind: dict[str, list[float]] = defaultdict(list)
    tests = []
    for case in ET.parse(path).getroot().iter("testcase"):
        seconds = float(case.get("time") or 0.0)
        classname, name = case.get("classname", ""), case.get("name", "")
        kind = kind_of(classname, case.get("file", ""))
        per_kind[kind].append(seconds)
        tests.append((seconds, f"{classname}::{name}"))
    return per_kind, sorted(tests, reverse=True)


def table(per_kind: dict[str, list[float]]) -> str:
    total = sum(sum(v) for v in per_kind.values())
    lines = ["| kind | tests | seconds | share |", "| --- | --- | --- | --- |"]
    for kind in KINDS:
        seconds = sum(per_kind.get(kind, []))
        share = seconds / total if total else 0.0
        lines.append(f"| {kind} | {len(per_kind.get(kind, []))} | {seconds:.0f} | {share:.0%} |")
    count = sum(len(v) for v in per_kind.values())
    lines.append(f"| **all** | {count} | {total:.0f} | |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit", type=Path, help="pytest --junitxml output")
    parser.add_argument("--slowest", type=int, default=10)
    args = parser.parse_args()
    per_kind, tests = summarize(args.junit)
    print(table(per_kind))
    print()
    for seconds, test in tests[: args.slowest]:
        print(f"{seconds:7.1f} s  {test}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
