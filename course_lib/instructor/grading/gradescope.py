"""Gradescope: an autograder zip that grades inside Gradescope's container, and results.json.

``course-lib gradescope ASSIGNMENT --out DIR`` writes ``DIR/<assignment>_autograder.zip``,
to upload as the programming assignment's autograder. Gradescope unpacks it into
``/autograder/source`` and runs ``setup.sh`` once, when it builds the image: it installs a
Python 3.11+, bubblewrap, a CPU build of torch and the course (its wheel is in the zip), then
computes the reference solution's observations (:func:`prepare`). For every submission it
runs ``run_autograder``, which grades ``/autograder/submission/*.ipynb`` with the same
sandboxed grader as ``course-lib grade`` (:func:`run`) and writes
``/autograder/results/results.json`` per Gradescope's specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/), from :func:`results_json`.

Where the container cannot run bubblewrap (unprivileged Docker usually cannot create the
namespaces it needs), the grader's documented fallback is used: the notebook runs under the
resource limits only, and the results say so. The root folder and the interpreter can be
moved for testing: ``AUTOGRADER_ROOT`` and ``COURSE_LIB_PYTHON``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import secrets
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "VISIBILITIES",
    "AutograderConfig",
    "build_autograder",
    "judge_seed",
    "prepare",
    "results_json",
    "run",
]

#: Gradescope's visibility values (its specification, "Visibility").
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
CONFIG_NAME = "course_lib_autograder.json"


@dataclass(frozen=True)
class AutograderConfig:
    """What ``run_autograder`` grades with, written into the zip.

    Attributes:
        assignment: the notebook's name (``02_a2c``); the submission is ``<assignment>.ipynb``.
        seed: the grading seed, drawn once when the zip is built. The kernel knows it (the
            hidden probes draw their inputs from it); the grader's own evaluation episodes
            use :func:`judge_seed`, one per submission, which the kernel never sees.
        hidden_visibility: when students see the tests that hold hidden tests.
        memory_mb, cell_timeout_s, notebook_timeout_s: the sandbox's limits.
        fast: tiny training budgets (smoke tests of the autograder only).
        exercise_dirs: the instructor's own exercise folders in the zip (``exercises/0``, ...),
            relative to the autograder's ``source/`` folder.
    """

    assignment: str
    seed: int
    hidden_visibility: str = "after_published"
    memory_mb: int = 3072
    cell_timeout_s: float = 600.0
    notebook_timeout_s: float = 1800.0
    fast: bool = False
    exercise_dirs: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- results.json


def _is_test_cell(cell: Any) -> bool:
    # imported here: the command imports this module, which must load without nbformat
    from course_lib.instructor.release.context import is_test_cell

    return is_test_cell(cell)


def _has_hidden_tests(cell: Any) -> bool:
    from course_lib.instructor.release.markers import find_regions

    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    return any(region.kind == "hidden" for region in find_regions(source))


def results_json(
    rec: Any,
    source: Any | None,
    *,
    hidden_visibility: str = "after_published",
    student: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Gradescope's results.json for one graded submission.

    One test per graded cell, in notebook order. A cell that holds hidden tests (every cell,
    when ``source`` is unknown) gets ``hidden_visibility``; its output is the cell's visible
    output and the grader's own verdict (the hidden tests' code is never shown). The
    top-level ``score`` is the submission's; ``max_score`` is written too (not in the results
    specification, but written by Gradescope's own samples; the assignment's total is set on
    Gradescope).

    Args:
        rec: the :class:`~course_lib.instructor.grading.gradebook.SubmissionRecord`.
        source: the instructor notebook (to tell which cells hold hidden tests), or None.
        hidden_visibility: one of :data:`VISIBILITIES`.
        student: stored in ``extra_data`` (e.g. the submitter from Gradescope's metadata).
    """
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(
            f"hidden visibility {hidden_visibility!r} is not one of {', '.join(VISIBILITIES)}"
        )
    hidden: set[str] = set()
    if source is not None:
        for cell in source.cells:
            if _is_test_cell(cell) and _has_hidden_tests(cell):
                hidden.add(cell["metadata"]["nbgrader"]["grade_id"])

    def points(value: float) -> float:  # results.json is strict JSON: no NaN or infinity
        value = float(value)
        return value if math.isfinite(value) else 0.0

    tests = []
    for number, t in enumerate(rec.tests, start=1):
        passed = t.status == "passed" and t.score >= t.max_score
        visible = (t.visible or "").strip()
        lines = []
        if visible:
            lines += ["Your notebook printed:", visible, ""]
        lines.append(f"Grader's verdict ({t.status}, {t.score:g} / {t.max_score:g}):")
        lines.append(t.message or "no message")
        test = {
            "name": t.grade_id,
            "number": str(number),
            "score": points(t.score),
            "max_score": points(t.max_score),
            "status": "passed" if passed else "failed",
            "output": "\n".join(lines),
            "output_format": "text",
            "visibility": (
                hidden_visibility if source is None or t.grade_id in hidden else "visible"
            ),
        }
        tests.append(test)
    notes = []
    if rec.status == "error":
        notes.append(f"This notebook could not be graded: {rec.error}")
    for grade_id, kind, detail in rec.tampering:
        notes.append(f"Cell {grade_id}: {kind} ({detail}).")
    if rec.status != "error" and not rec.sandboxed:
        notes.append(
            "Graded without the sandbox (bubblewrap cannot run in this container): the "
            "notebook ran under resource limits only."
        )
    return {
        "score": points(rec.score),
        "max_score": points(rec.max_score),
        "execution_time": round(points(rec.total_seconds), 1),
        "output": "\n".join(notes) if notes else f"Graded {rec.assignment}.",
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "assignment": rec.assignment,
            "grader_version": rec.grader_version,
            "sandboxed": bool(rec.sandboxed),
            "status": rec.status,
            **({"submitter": student} if student else {}),
        },
    }


# --------------------------------------------------------------------------- the zip

_SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
SRC=/autograder/source
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq bubblewrap >/dev/null \
  || echo "setup: no bubblewrap; grading will fall back to resource limits"
# course_lib needs Python 3.11+; Ubuntu 22.04's python3 is 3.10.
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null \
    && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY=$(command -v "$candidate"); break
  fi
done
if [ -z "$PY" ]; then
  apt-get install -y -qq python3.11 python3.11-venv >/dev/null
  PY=$(command -v python3.11)
fi
"$PY" -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
# A CPU build of torch (PyPI's default Linux build carries CUDA, several GB).
/autograder/venv/bin/python -m pip install --quiet \
  --index-url https://download.pytorch.org/whl/cpu "torch>=2.4,<3"
WHEEL=$(ls "$SRC"/course_lib-*.whl | tail -n 1)
/autograder/venv/bin/python -m pip install --quiet "$WHEEL[instructor]"
# The reference solution's observations, once, with this image's torch and numpy.
/autograder/venv/bin/python -m course_lib.instructor.grading.gradescope prepare --root /autograder
"""

_RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission, from /autograder. It always writes
# results/results.json, also when grading fails.
ROOT=${AUTOGRADER_ROOT:-/autograder}
PYTHON=${COURSE_LIB_PYTHON:-/autograder/venv/bin/python}
# Only root reads source/ (the instructor's notebook, the seed, the reference) and writes
# results/: where bubblewrap cannot run, the student's kernel runs as an unprivileged uid.
mkdir -p "$ROOT/results"
chmod 700 "$ROOT/source" "$ROOT/results" 2>/dev/null || true
exec "$PYTHON" -m course_lib.instructor.grading.gradescope run --root "$ROOT"
"""

_README = """Autograder for {assignment} ({points:g} points), built by `course-lib gradescope`.

On Gradescope: a Programming Assignment, Configure Autograder > upload this zip, base image
Ubuntu 22.04. In the autograder settings raise the memory to at least 4 GB and the timeout to
what the notebook's training needs (up to 40 minutes); the default 768 MB and 10 minutes are
too little for torch and a training run. Students submit the notebook as {assignment}.ipynb.

Tests that hold hidden tests are shown {hidden_visibility}; the others at once. Each test's
output is what the student's notebook printed and the grader's verdict.
"""


def build_autograder(
    assignment: str,
    solutions: Path,
    out_dir: Path,
    *,
    wheel: Path,
    hidden_visibility: str = "after_published",
    seed: int | None = None,
    fast: bool = False,
    memory_mb: int = 3072,
    exercises: Sequence[Path] = (),
) -> Path:
    """Write ``out_dir/<assignment>_autograder.zip`` and return its path.

    Args:
        assignment: a notebook of ``solutions`` (without ``.ipynb``).
        solutions: the instructor notebooks; only this assignment's goes into the zip.
        wheel: the course's wheel (:func:`course_lib.instructor.release.colab.build_wheel`).
        hidden_visibility: when tests holding hidden tests are shown (:data:`VISIBILITIES`).
        seed: the grading seed (default: drawn now).
        fast: tiny training budgets, for trying the autograder out.
        exercises: folders of the instructor's own exercise modules, for a notebook that names
            one in its metadata (see ``course-lib grade --exercises``); copied into the zip.

    Raises:
        FileNotFoundError: if the assignment's notebook or the wheel is missing.
        ValueError: for an unknown visibility, a bad exercise folder, or a notebook whose
            exercise module is neither the course's nor in ``exercises``.
    """
    import nbformat

    if hidden_visibility not in VISIBILITIES:
        raise ValueError(
            f"--hidden-visibility {hidden_visibility!r} is not one of {', '.join(VISIBILITIES)}"
        )
    notebook = Path(solutions) / f"{assignment}.ipynb"
    if not notebook.is_file():
        names = ", ".join(p.stem for p in sorted(Path(solutions).glob("*.ipynb"))) or "none"
        raise FileNotFoundError(
            f"no instructor notebook {notebook}; the assignments in {solutions} are: {names}"
        )
    wheel = Path(wheel)
    if not wheel.is_file():
        raise FileNotFoundError(f"no course wheel at {wheel}")
    nb = nbformat.read(notebook, as_version=4)
    exercise_dirs = _exercise_files(assignment, nb, notebook.parent, exercises)
    points = sum(
        float(c.metadata["nbgrader"].get("points", 0)) for c in nb.cells if _is_test_cell(c)
    )
    config = AutograderConfig(
        assignment=assignment,
        seed=secrets.randbelow(2**31) if seed is None else seed,
        hidden_visibility=hidden_visibility,
        memory_mb=memory_mb,
        fast=fast,
        exercise_dirs=[f"exercises/{i}" for i in range(len(exercise_dirs))],
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{assignment}_autograder.zip"
    partial = path.with_name(f".{path.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", _SETUP_SH), ("run_autograder", _RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16  # executable, as Gradescope requires
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
        written = {k: v for k, v in asdict(config).items() if k != "exercise_dirs" or v}
        archive.writestr(CONFIG_NAME, json.dumps(written, indent=2) + "\n")
        archive.write(notebook, f"solutions/{notebook.name}")
        archive.write(wheel, wheel.name)
        for i, files in enumerate(exercise_dirs):
            for relative, file in files:
                archive.write(file, f"exercises/{i}/{relative}")
        archive.writestr(
            "README.txt",
            _README.format(
                assignment=assignment, points=points, hidden_visibility=hidden_visibility
            ),
        )
    os.replace(partial, path)
    return path


def _exercise_files(
    assignment: str, nb: Any, solutions: Path, exercises: Sequence[Path]
) -> list[list[tuple[str, Path]]]:
    """The files of each exercise folder for the zip (no caches), after checking that the
    notebook's exercise module is the course's or in one of them."""
    from course_lib.exercises.manifest import NOTEBOOKS, exercise_module
    from course_lib.instructor.grading.grade import check_exercise_dirs

    folders = check_exercise_dirs(exercises, solutions)
    module = exercise_module(assignment, nb.metadata)
    if module is not None and module not in NOTEBOOKS.values():
        top = module.split(".")[0]
        if not any((f / top).is_dir() or (f / f"{top}.py").is_file() for f in folders):
            raise ValueError(
                f"{assignment} names the exercise module {module!r}, which is not the "
                f"course's: give its folder with --exercises DIR"
            )
    return [
        [
            (p.relative_to(folder).as_posix(), p)
            for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        ]
        for folder in folders
    ]


# --------------------------------------------------------------------------- in the container


def _config(root: Path) -> AutograderConfig:
    data = json.loads((root / "source" / CONFIG_NAME).read_text())
    return AutograderConfig(**data)


def judge_seed(seed: int, submission: object) -> int:
    """The seed of the grader's own episodes for one submission: drawn from the autograder's
    secret seed and the submission's id, so it differs between submissions (a student who
    reads the kernel's seed and resubmits still meets unknown evaluation episodes), and is
    the same when Gradescope re-runs one submission."""
    digest = hashlib.sha256(f"{seed}:{submission}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


def _settings(root: Path, config: AutograderConfig, submission: object = None) -> Any:
    from course_lib.instructor.grading.grade import GradeSettings
    from course_lib.instructor.grading.sandbox import Limits

    if submission is None:
        submission = secrets.token_hex(8)  # no id from Gradescope: a fresh draw
    return GradeSettings(
        solutions=root / "source" / "solutions",
        seed=config.seed,
        cache_dir=root / "source" / "reference",
        scratch=Path(tempfile.gettempdir()) / "course-lib-grading",
        limits=Limits(
            memory_mb=config.memory_mb,
            cell_timeout_s=config.cell_timeout_s,
            notebook_timeout_s=config.notebook_timeout_s,
        ),
        fast=config.fast,
        judge_seed=judge_seed(config.seed, submission),
        exercise_dirs=tuple(root / "source" / d for d in config.exercise_dirs),
    )


def prepare(root: Path) -> Path:
    """Compute the reference observations into ``root/source/reference`` (setup.sh)."""
    from course_lib.instructor.grading.grade import reference_observations

    config = _config(root)
    settings = _settings(root, config)
    reference_observations(config.assignment, settings)
    return settings.cache_dir


def _submitter(root: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((root / "submission_metadata.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    users = meta.get("users") if isinstance(meta, dict) else None
    if not isinstance(users, list) or not users:
        return None
    people = [
        {k: u.get(k) for k in ("email", "name", "id", "sid") if u.get(k) is not None}
        for u in users
        if isinstance(u, dict)
    ]
    return {"users": people, "submission_id": meta.get("id")}


def _submitted_notebooks(folder: Path) -> list[Path]:
    """The notebooks under ``folder``: regular files reached without a symbolic link (a link
    could point at the instructor's notebook), leaving out Jupyter's checkpoints and the
    ``__MACOSX``/``._*`` copies a Mac's zip adds."""
    found = []
    base = folder.resolve()
    for path in folder.rglob("*.ipynb"):
        relative = path.relative_to(folder)
        if ".ipynb_checkpoints" in relative.parts or "__MACOSX" in relative.parts:
            continue
        if path.name.startswith("._"):
            continue
        chain = [folder / Path(*relative.parts[: i + 1]) for i in range(len(relative.parts))]
        if any(step.is_symlink() for step in chain) or not path.resolve().is_relative_to(base):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


def _pick_notebook(folder: Path, assignment: str) -> tuple[Path | None, str | None]:
    """The submitted notebook, or why there is none."""
    found = _submitted_notebooks(folder)
    wanted = folder / f"{assignment}.ipynb"
    if wanted in found:
        return wanted, None
    if wanted.is_symlink():
        return None, f"{wanted.name} is a symbolic link, not a notebook: upload the file itself."
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, f"no notebook was submitted: upload {assignment}.ipynb."
    names = ", ".join(p.relative_to(folder).as_posix() for p in found)
    return None, f"{len(found)} notebooks were submitted ({names}): upload only {assignment}.ipynb."


def _error_results(message: str, started: float) -> dict[str, Any]:
    return {
        "score": 0.0,
        "execution_time": round(time.perf_counter() - started, 1),
        "output": message,
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def run(root: Path) -> dict[str, Any]:
    """Grade the submission under ``root`` and write ``root/results/results.json``.

    Always writes the file: a submission without a notebook, or a grader failure, gives a
    result with score 0 and the reason, never a missing file.
    """
    import nbformat

    from course_lib.instructor.grading.grade import grade_one

    started = time.perf_counter()
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        config = _config(root)
        notebook, problem = _pick_notebook(root / "submission", config.assignment)
        if notebook is None:
            results = _error_results(problem or "", started)
        else:
            student = _submitter(root)
            submission = student.get("submission_id") if student else None
            settings = _settings(root, config, submission)
            key = "gradescope" if submission is None else f"gradescope-{submission}"
            rec = grade_one(key, config.assignment, notebook, settings)
            source = nbformat.read(settings.solutions / f"{config.assignment}.ipynb", as_version=4)
            results = results_json(
                rec, source, hidden_visibility=config.hidden_visibility, student=student
            )
    except Exception as error:  # the grader's own failure: still a valid results.json
        results = _error_results(
            f"The autograder failed ({type(error).__name__}: {error}); this is not your "
            f"notebook's fault: tell the course staff.",
            started,
        )
    text = json.dumps(results, indent=2, allow_nan=False)
    partial = out.with_name(".results.json.partial")
    partial.write_text(text)
    os.replace(partial, out)
    print(f"wrote {out}: score {results.get('score')}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.instructor.grading.gradescope")
    parser.add_argument("step", choices=("prepare", "run"))
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    if args.step == "prepare":
        print(f"reference observations in {prepare(args.root)}")
    else:
        run(args.root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
