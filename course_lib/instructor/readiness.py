"""A student's self-check before submitting: ``course-lib validate NOTEBOOK``.

The notebook is read (a missing, empty, corrupt or old-format file is named with its fix),
then a copy runs top to bottom in a fresh kernel under nbval (``pytest --nbval-lax``), with
one cell appended that looks for the trained policies and exports them as the grader will.
The report says:

* which visible checks pass, and the first line of each failure;
* which exercises still hold their stub (``raise NotImplementedError()``);
* which locked cells were edited (the grader puts the originals back);
* whether each trained policy exists and exports;
* how long the run took, and its slowest cells.

The notebook is ready when all of them are right; only then is the exit code 0 (with
``--fast``, tiny training budgets: when nothing but the reward is left unchecked). Nothing
here grades: the grader re-runs everything with inputs of its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from course_lib.instructor.release.nbgrader import nbgrader_checksum

__all__ = ["Validation", "ValidationError", "validate"]

_STUB = re.compile(r"^\s*raise NotImplementedError\(\)", re.M)
_POLICY = re.compile(r"cl\.evaluate\(\s*([\w.]+)\s*,\s*greedy\(\s*(\w+)\s*\)")


class ValidationError(ValueError):
    """The notebook cannot be validated at all; the message names the file and the fix."""


@dataclass
class Validation:
    """What :func:`validate` found."""

    path: Path
    checks: dict[str, str | None] = field(default_factory=dict)  # grade_id -> failure or None
    stubs: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    policies: dict[str, str | None] = field(default_factory=dict)  # name -> problem or None
    errors: list[str] = field(default_factory=list)  # other cells that raised
    seconds: float = 0.0
    slowest: list[tuple[str, float]] = field(default_factory=list)
    fast: bool = False

    @property
    def ready(self) -> bool:
        return not (
            self.stubs
            or self.edited
            or any(self.checks.values())
            or any(self.policies.values())
            or self.errors
        )

    def report(self) -> str:
        """The lines a student reads."""
        mode = "fast budgets: the reward is not checked" if self.fast else "the notebook's budgets"
        out = [f"{self.path.name}: ran top to bottom in {self.seconds:.0f} s ({mode})"]
        for grade_id, failure in self.checks.items():
            out.append(
                f"  {'✘' if failure else '✔'} {grade_id}" + (f": {failure}" if failure else "")
            )
        if self.stubs:
            out.append(
                f"  ✘ not written yet: {', '.join(self.stubs)} (still raise NotImplementedError)"
            )
        if self.edited:
            out.append(
                f"  ✘ locked cells edited: {', '.join(self.edited)}: the grader runs the original "
                "instead; undo the edit (or copy your code out of it)"
            )
        for name, problem in self.policies.items():
            out.append(f"  {'✘' if problem else '✔'} {name}: {problem or 'exists and exports'}")
        out += [f"  ✘ {error}" for error in self.errors]
        if self.slowest:
            out.append("  slowest cells: " + ", ".join(f"{g} {s:.1f} s" for g, s in self.slowest))
        problems = (
            len(self.stubs) + len(self.edited) + len(self.errors)
            + sum(1 for v in self.checks.values() if v)
            + sum(1 for v in self.policies.values() if v)
        )  # fmt: skip
        if self.ready and self.fast:
            out.append(
                "NO PROBLEM FOUND at fast budgets. The trained agent's reward is checked only "
                f"at the notebook's own: run `course-lib validate {self.path.name}` before "
                "submitting."
            )
        elif self.ready:
            out.append("READY: every check passes; submit this notebook.")
        else:
            out.append(
                f"NOT READY: {problems} problem{'s' * (problems != 1)}. Fix them and run "
                f"`course-lib validate {self.path.name}` again."
            )
        return "\n".join(out)


def _read(path: Path) -> nbformat.NotebookNode:
    if not path.is_file():
        raise ValidationError(f"{path}: no such file; give the path of your .ipynb notebook.")
    data = path.read_bytes()
    if not data.strip():
        raise ValidationError(f"{path}: the file is empty; save the notebook in Jupyter first.")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValidationError(f"{path}: not a notebook (not valid JSON: {err}).") from err
    major = raw.get("nbformat") if isinstance(raw, dict) else None
    if major != 4 or "cells" not in raw:
        raise ValidationError(
            f"{path}: not a notebook of format 4 (nbformat {major!r}); open it in Jupyter or "
            "Colab and save it, or convert it with `jupyter nbconvert --to notebook "
            "--nbformat 4`."
        )
    return nbformat.reads(data.decode("utf-8"), as_version=4)


def _meta(cell: Any) -> dict[str, Any]:
    return cell.metadata.get("nbgrader") or {}


def _policy_cell(nb: nbformat.NotebookNode, out: Path) -> tuple[str, list[str]]:
    """The cell appended to the copy, which writes to ``out`` what it found of each trained
    policy, and the policies it looks for."""
    found: dict[str, str] = {}
    for cell in nb.cells:
        if _meta(cell).get("grade"):
            for env, name in _POLICY.findall(cell.source):
                found[name] = env
    lines = ["import json as _json", "import course_lib as _cl", "_found = {}"]
    for name, env in found.items():
        lines += [
            f"if {name!r} not in globals():",
            f"    _found[{name!r}] = 'not defined: run its training cell'",
            "else:",
            "    try:",
            f"        _cl.policy_to_data({name}, {env})",
            f"        _found[{name!r}] = None",
            "    except Exception as _err:",
            f"        _found[{name!r}] = f'does not export: {{type(_err).__name__}}: {{_err}}'",
        ]
    lines.append(f"open({str(out)!r}, 'w').write(_json.dumps(_found))")
    return "\n".join(lines), list(found)


def _failure_line(text: str) -> str:
    """The first line a student should read of a failed cell."""
    clean = re.sub(r"(\x1b|#x1B)\[[0-9;]*m", "", text)
    lines = clean.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("✘"):
            first = line.strip().removeprefix("✘ ").strip()
            first = re.sub(r"Cell In\[\d+\]", "its cell", first)  # this run's numbering
            hint = next((x.strip() for x in lines[i + 1 :] if "likely bug:" in x), None)
            return first + (f"\n      {hint}" if hint else "")
    lines = [
        line.strip()
        for line in clean.splitlines()
        if re.match(r"^\w*(Error|Exception)", line.strip())
    ]
    return lines[-1] if lines else "the cell raised an error (run it in Jupyter to see it)"


def validate(path: Path, *, fast: bool = False, cell_timeout: int = 1800) -> Validation:
    """Run ``path`` in a fresh kernel and check it is ready to submit (see the module)."""
    path = Path(path)
    nb = _read(path)
    result = Validation(path, fast=fast)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code_cells:
        meta = _meta(cell)
        gid = meta.get("grade_id")
        if meta.get("solution") and _STUB.search(cell.source):
            result.stubs.append(str(gid))
        if meta.get("locked") and meta.get("checksum") and gid:
            try:
                edited = nbgrader_checksum(cell) != meta["checksum"]
            except (KeyError, TypeError):
                edited = True
            if edited:
                result.edited.append(str(gid))
    with tempfile.TemporaryDirectory(prefix="course-lib-validate-") as tmp:
        work = Path(tmp)
        source, policies = _policy_cell(nb, work / "policies.json")
        copy_nb = nbformat.from_dict(json.loads(nbformat.writes(nb)))
        copy_nb.cells.append(nbformat.v4.new_code_cell(source))
        copy = work / path.name
        nbformat.write(copy_nb, copy)
        (work / "pytest.ini").write_text("[pytest]\n")
        xml_path = work / "report.xml"
        env = {**os.environ, "COURSE_LIB_FAST": "1" if fast else "0"}
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={cell_timeout}",
                f"--junitxml={xml_path}", "--rootdir", str(work), "-c", str(work / "pytest.ini"),
                str(copy),
            ],
            cwd=work, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        result.seconds = time.perf_counter() - start
        if not xml_path.is_file():
            raise ValidationError(
                f"{path}: the notebook could not be run (is nbval installed? `pip install "
                "'course-lib[instructor]'`)."
            )
        cases = ET.parse(xml_path).getroot().iter("testcase")
        timing: list[tuple[str, float]] = []
        for case in cases:
            match = re.search(r"Cell (\d+)", case.get("name", ""))
            if not match:
                continue
            number = int(match.group(1))
            seconds = float(case.get("time", 0) or 0)
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            text = (
                ""
                if problem is None
                else (problem.get("message", "") + "\n" + (problem.text or ""))
            )
            if number >= len(code_cells):  # the appended cell
                continue
            cell = code_cells[number]
            meta = _meta(cell)
            gid = str(meta.get("grade_id") or f"cell {number + 1}")
            timing.append((gid, seconds))
            if meta.get("grade"):
                result.checks[gid] = _failure_line(text) if problem is not None else None
            elif problem is not None and gid not in result.stubs:
                failure = _failure_line(text)
                if "is not written yet" not in failure:  # a stub's consequence: listed above
                    result.errors.append(f"{gid} raised: {failure}")
        result.slowest = sorted(timing, key=lambda t: -t[1])[:3]
        found = work / "policies.json"
        reported = json.loads(found.read_text()) if found.is_file() else {}
    for name in policies:
        result.policies[name] = reported.get(name, "not checked: the notebook stopped before")
    return result
