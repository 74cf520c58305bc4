"""Grading a batch of submissions: restore, execute in the sandbox, judge outside, record.

For each submission (one task, possibly in a worker process):

1. read it (a bad file becomes an error row);
2. restore the instructor's locked and test cells by ``grade_id`` (:mod:`.assemble`);
3. execute it in the sandbox with the grader's seed (:mod:`.sandbox`);
4. collect the observations that the test cells emitted and judge them against the
   reference solution's, run the same way (:mod:`.judges`, :mod:`.programs`);
5. return a :class:`~.gradebook.SubmissionRecord` as data.

The driver alone writes the gradebook, one transaction per submission, and skips what is
already graded with the same file hash and grader version.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

import course_lib
from course_lib.exercises.manifest import (
    Close,
    Entry,
    NetworkProbe,
    PolicyCriterion,
    load_given,
    load_manifest,
)
from course_lib.instructor.grading.assemble import assemble
from course_lib.instructor.grading.causes import (
    earlier_error,
    located,
    question_status,
    reward_causes,
)
from course_lib.instructor.grading.gradebook import Gradebook, SubmissionRecord, TestRecord
from course_lib.instructor.grading.hidden import merge_hidden_tests, split_hidden_tests
from course_lib.instructor.grading.judges import judge_data
from course_lib.instructor.grading.programs import (
    EXERCISE_PATHS,
    PROGRAM_TIMEOUT_S,
    run_jobs,
    start_judge,
    stop_judge,
)
from course_lib.instructor.grading.provenance import Leaning, leaning
from course_lib.instructor.grading.records import GRADER_VERSION, _error_record, failed_record
from course_lib.instructor.grading.sandbox import ExecutionResult, Limits, execute_notebook
from course_lib.instructor.grading.submissions import discover, read_submission
from course_lib.instructor.release.skipmarks import SkipMarkError, cells_to_skip, check_skip_marks
from course_lib.observations import GRADER_SEED_ENV_VAR, MIME_TYPE

__all__ = ["GRADER_VERSION", "GradeSettings", "grade_batch", "grade_one"]


@dataclass
class GradeSettings:
    """Everything a worker needs to grade one submission (picklable)."""

    solutions: Path
    seed: int
    cache_dir: Path
    scratch: Path
    limits: Limits = field(default_factory=Limits)
    fast: bool = False
    policy_episodes: int | None = None
    """Episodes per policy evaluation; None: each criterion's own count."""
    require_sandbox: bool = False
    exercise_dirs: tuple[Path, ...] = ()
    """Folders of the instructor's own exercise modules (a notebook names its module in its
    metadata, ``course_lib.exercises``): importable by the grader, and bound read-only into
    the sandbox and put on the kernel's ``PYTHONPATH`` (students may read them, as they read
    ``course_lib``; see :func:`check_exercise_dirs`)."""
    judge_seed: int | None = None
    """Seed of what the grader does outside the kernel (its evaluation episodes, network
    probes, animations); None: ``seed``. The kernel knows ``seed`` (its probes need it), so
    where a student can resubmit after reading it, a per-submission ``judge_seed`` keeps the
    evaluation episodes unknown (the Gradescope autograder draws one per submission)."""

    @property
    def outside_seed(self) -> int:
        """The seed of the grader's own episodes and probes."""
        return self.seed if self.judge_seed is None else self.judge_seed


def _package_dir() -> Path:
    return Path(course_lib.__file__).resolve().parent


def _kernel_env(settings: GradeSettings) -> dict[str, str]:
    env = {
        GRADER_SEED_ENV_VAR: str(settings.seed),
        "COURSE_LIB_FAST": "1" if settings.fast else "0",
    }
    if settings.exercise_dirs:
        env["PYTHONPATH"] = os.pathsep.join(str(d) for d in settings.exercise_dirs)
    return env


def check_exercise_dirs(dirs: Iterable[Path], solutions: Path) -> tuple[Path, ...]:
    """``dirs`` resolved, once each, after checking that none can show a student the answers.

    Raises:
        ValueError: a folder is missing, holds a notebook, or holds or lies inside the
            instructor notebooks' folder.
    """
    solutions = Path(solutions).resolve()
    checked: list[Path] = []
    for given in dirs:
        folder = Path(given).resolve()
        if not folder.is_dir():
            raise ValueError(f"--exercises {given}: no such folder")
        if (
            folder == solutions
            or solutions.is_relative_to(folder)
            or folder.is_relative_to(solutions)
        ):
            raise ValueError(
                f"--exercises {given}: the folder overlaps the instructor notebooks "
                f"({solutions}), which the student's kernel must never see; keep the exercise "
                f"modules in a folder of their own"
            )
        notebook = next(folder.rglob("*.ipynb"), None)
        if notebook is not None:
            raise ValueError(
                f"--exercises {given}: it holds a notebook ({notebook.relative_to(folder)}); "
                f"the folder is readable from the student's kernel, so keep only the exercise "
                f"modules there"
            )
        if folder not in checked:
            checked.append(folder)
    return tuple(checked)


def _use_exercise_dirs(settings: GradeSettings) -> None:
    """Make the instructor's exercise modules importable here and in the judging process."""
    for folder in map(str, settings.exercise_dirs):
        if folder not in sys.path:
            sys.path.insert(0, folder)
        if folder not in EXERCISE_PATHS:
            EXERCISE_PATHS.append(folder)


def _execute(nb: nbformat.NotebookNode, settings: GradeSettings) -> ExecutionResult:
    """Run ``nb`` in the sandbox, without the cells marked not needed for grading; each test
    cell's hidden tests run even when its visible check fails (:mod:`.hidden`)."""
    split = split_hidden_tests(nb)
    nb = split.notebook
    try:
        omit, notes = cells_to_skip(nb)
    except Exception as err:  # code the analysis cannot read: run every cell
        omit, notes = [], [f"every cell ran: the grader could not read the code ({err!r:.200})"]
    settings.scratch.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=settings.scratch))
    try:
        result = execute_notebook(
            nb,
            workdir,
            limits=settings.limits,
            env=_kernel_env(settings),
            extra_ro_binds=[_package_dir(), *settings.exercise_dirs],
            require_sandbox=settings.require_sandbox,
            omit=omit,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result.notes.extend(notes)
    return merge_hidden_tests(result, split)


def observations_by_cell(result: ExecutionResult) -> dict[str, dict[str, list[Any]]]:
    """``{grade_id: {name: [data, ...]}}`` from the graded cells' outputs only."""
    found: dict[str, dict[str, list[Any]]] = {}
    for cell in result.cells:
        if not cell.grade_id:
            continue
        for output in cell.outputs:
            payload = (output.get("data") or {}).get(MIME_TYPE)
            if isinstance(payload, dict) and isinstance(payload.get("name"), str):
                found.setdefault(cell.grade_id, {}).setdefault(payload["name"], []).append(
                    payload.get("data")
                )
    return found


def reference_observations(assignment: str, settings: GradeSettings) -> dict[str, dict[str, Any]]:
    """The reference solution's observations with the grader's seed (cached on disk)."""
    source_path = settings.solutions / f"{assignment}.ipynb"
    digest = hashlib.sha256(source_path.read_bytes()).hexdigest()[:16]
    cache = (
        settings.cache_dir
        / f"{assignment}-{digest}-{settings.seed}-{GRADER_VERSION}-{int(settings.fast)}.json"
    )
    if cache.is_file():
        return json.loads(cache.read_text())
    source = nbformat.read(source_path, as_version=4)
    try:
        check_skip_marks(source)
    except SkipMarkError as err:
        raise RuntimeError(
            f"{source_path}, cell {err.cell_index + 1}: {err.problem} (`course-lib release` "
            f"refuses this notebook too); fix the instructor notebook first."
        ) from None
    result = _execute(source, settings)
    failed = [c for c in result.cells if c.status not in ("ok", "omitted")]
    if failed:
        first = failed[0]
        raise RuntimeError(
            f"the reference solution {source_path} does not run cleanly in the grader "
            f"(cell {first.grade_id or first.index}: {first.status} {first.ename or ''} "
            f"{first.evalue or first.reason or ''}); fix the instructor notebook first."
        )
    reference = {
        gid: {n: v[-1] for n, v in obs.items()} for gid, obs in observations_by_cell(result).items()
    }
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(reference))
    tmp.replace(cache)
    return reference


def _policy_criterion(name: str, reference: Any) -> dict[str, Any]:
    """The env, pass mark and episodes that the reference's observation ``name`` carries
    (the notebook's config, through ``policy_to_data(..., pass_mark=..., episodes=...)``)."""
    criterion = reference.get("criterion") if isinstance(reference, dict) else None
    try:
        return {
            "env_id": str(criterion["env_id"]),
            "threshold": float(criterion["threshold"]),
            "episodes": int(criterion["episodes"]),
        }
    except (KeyError, TypeError, ValueError):
        raise RuntimeError(
            f"the reference's observation {name!r} carries no criterion: its hidden test must "
            f"observe `cl.policy_to_data(policy, env_id, pass_mark=config.criterion, "
            f"episodes=config.eval_episodes)`; fix the instructor notebook first."
        ) from None


def _program_job(
    entry: Entry, name: str, student: Any, reference: Any, settings: GradeSettings
) -> dict[str, Any] | tuple[float, str] | None:
    """The exported-program job that judges observation ``name`` (a network or a trained
    policy), the verdict of a malformed one, or None when the observation is judged here."""
    if isinstance(entry, NetworkProbe):
        if not isinstance(student, dict):
            return 0.0, "malformed network observation"
        return {
            "type": "network",
            "kind": entry.kind,
            "problems": entry.problems,
            "data": student,
            "seed": settings.outside_seed,
        }
    if isinstance(entry, PolicyCriterion):
        criterion = _policy_criterion(name, reference)
        if not isinstance(student, dict):
            return 0.0, "malformed policy observation"
        return {
            "type": "policy",
            "data": student,
            "env_id": criterion["env_id"],
            "threshold": criterion["threshold"],
            "n_episodes": settings.policy_episodes or criterion["episodes"],
            "seed": settings.outside_seed,
        }
    return None


def _is_program(entry: Entry | None) -> bool:
    return isinstance(entry, NetworkProbe | PolicyCriterion)


def _needs_programs(manifest: dict[str, Entry], reference: dict[str, dict[str, Any]]) -> bool:
    """Whether the assignment's observations include networks or trained policies."""
    return any(_is_program(manifest.get(name)) for names in reference.values() for name in names)


Judged = tuple[float, str, dict[str, Any]]
"""An emission's verdict: the fraction earned, the message, and what the class report reads
(``mistake``: the known mistake's name; ``returns``, ``criterion``: a trained policy's
measurement on the grader's episodes)."""


def _judge_here(entry: Entry, student: Any, reference: Any, seed: int) -> Judged:
    try:
        verdict = judge_data(entry, student, reference, seed)
    except Exception as err:  # a judge must not take the whole batch down
        why = f"the grader could not judge this observation ({type(err).__name__}: {err})"
        return 0.0, why, {}
    return verdict.fraction, verdict.message, _named(verdict.mistake)


def _named(mistake: Any) -> dict[str, Any]:
    return {"mistake": mistake} if isinstance(mistake, str) and mistake else {}


def _from_program(out: dict[str, Any], job: dict[str, Any]) -> Judged:
    """The verdict of an exported program's job: a policy's returns and criterion are kept
    for the class report; a network's named problem, when its probe knows the mistake."""
    extra = _named(out.get("mistake"))
    if job["type"] == "policy" and isinstance(out.get("returns"), list):
        extra.update(returns=out["returns"], criterion=job["threshold"])
    return float(out["fraction"]), str(out["message"]), extra


def _judge_all(
    manifest: dict[str, Entry],
    emitted: list[tuple[str, Any, Any]],
    gif_jobs: list[dict[str, Any]],
    settings: GradeSettings,
    judge: subprocess.Popen[str] | None = None,
) -> tuple[list[Judged], list[dict[str, Any]]]:
    """Verdicts of ``(name, student, reference)`` emissions, and the GIF jobs' results.

    Exported networks and policies are judged, and the GIFs made, in one separate process
    for the whole submission (:func:`course_lib.instructor.grading.programs.run_jobs`).
    """
    verdicts: list[Judged | None] = []
    jobs: list[dict[str, Any]] = []
    waiting: list[int] = []
    for name, student, reference in emitted:
        entry = manifest.get(name, Close())
        job = _program_job(entry, name, student, reference, settings)
        if job is None:
            verdicts.append(_judge_here(entry, student, reference, settings.seed))
        elif isinstance(job, tuple):
            verdicts.append((*job, {}))
        else:
            waiting.append(len(verdicts))
            verdicts.append(None)
            jobs.append(job)
    results = run_jobs([*jobs, *gif_jobs], timeout_s=PROGRAM_TIMEOUT_S, started=judge)
    for index, job, out in zip(waiting, jobs, results, strict=False):
        verdicts[index] = _from_program(out, job)
    return [v for v in verdicts if v is not None], results[len(jobs) :]


def _leaning(
    source: nbformat.NotebookNode, built: nbformat.NotebookNode, assignment: str, rec: Any
) -> dict[str, Leaning]:
    """The questions answered by the course's own code (:mod:`.provenance`), by observation."""
    try:
        given = load_given(assignment, source.metadata)
        return {found.observation: found for found in leaning(source, built, given)}
    except Exception as err:  # the reading must not cost a submission its grade
        rec.details.setdefault("notes", []).append(
            f"the grader could not read where the code comes from ({type(err).__name__}: {err})"
        )
        return {}


def _visible_text(cell: Any) -> str:
    shown = cell.outputs if cell.visible_outputs is None else cell.outputs[: cell.visible_outputs]
    texts = [o.get("text", "") for o in shown if o.get("output_type") == "stream"]
    text = "".join(t if isinstance(t, str) else "".join(t) for t in texts)
    lines = [line for line in text.splitlines() if not line.startswith("observation recorded")]
    if cell.status == "error":
        lines.append(located(f"{cell.ename}: {cell.evalue}", cell))
    elif cell.status in ("timeout", "dead", "skipped", "omitted"):
        lines.append(cell.reason or cell.status)
    return "\n".join(lines)[:4000]


def grade_one(
    student: str, assignment: str, path: Path, settings: GradeSettings
) -> SubmissionRecord:
    """Grade one submission; never raises for the submission's faults."""
    start = time.perf_counter()
    _use_exercise_dirs(settings)
    source_path = settings.solutions / f"{assignment}.ipynb"
    source = nbformat.read(source_path, as_version=4) if source_path.is_file() else None
    sub = read_submission(student, assignment, Path(path), source)
    rec = SubmissionRecord(student, assignment, str(path), sub.file_hash, GRADER_VERSION, "graded")
    if sub.error is not None or source is None or sub.notebook is None:
        rec = _error_record(rec, source, sub.error, "the submission could not be read")
        rec.total_seconds = time.perf_counter() - start
        return rec
    built = assemble(source, sub.notebook)
    rec.tampering = [(t.grade_id, t.kind, t.detail) for t in built.tampering]
    reference = reference_observations(assignment, settings)
    manifest = load_manifest(assignment, source.metadata)
    # The judging process starts now and imports torch while the notebook runs.
    judge = start_judge() if _needs_programs(manifest, reference) else None
    try:
        result = _execute(built.notebook, settings)
    except BaseException:
        if judge is not None:
            stop_judge(judge)
        raise
    rec.sandboxed = result.sandboxed
    rec.exec_seconds = result.seconds
    rec.details = {
        "notes": result.notes,
        "death_reason": result.death_reason,
        "counts": result.counts(),
        "cell_seconds": round(sum(c.seconds for c in result.cells), 3),
        "startup_seconds": round(result.startup_seconds, 3),
    }
    observed = observations_by_cell(result)
    cells = {c.grade_id: c for c in result.cells if c.grade_id}
    leans = _leaning(source, built.notebook, assignment, rec)
    emitted: list[tuple[str, Any, Any]] = []
    for grade_id, _ in built.tests:
        got = observed.get(grade_id, {})
        for name, ref_data in reference.get(grade_id, {}).items():
            emitted.extend((name, e, ref_data) for e in got.get(name, []))
    gifs = _gif_jobs(observed, manifest, reference, settings)
    verdicts, gif_results = _judge_all(manifest, emitted, [job for _, job in gifs], settings, judge)
    next_verdict = iter(verdicts)
    test_ids = {grade_id for grade_id, _ in built.tests}
    exercise_cells = [c for c in result.cells if c.grade_id not in test_ids]
    for grade_id, points in built.tests:
        cell = cells.get(grade_id)
        expected = reference.get(grade_id, {})
        got = observed.get(grade_id, {})
        fractions, messages = [], []
        mistakes: list[str] = []
        lost: list[str] = []
        policies: dict[str, dict[str, Any]] = {}
        for name in expected:
            emissions = got.get(name, [])
            if not emissions:
                fractions.append(0.0)
                messages.append(f"{name}: not observed (the hidden tests stopped before it)")
                continue
            judged = [next(next_verdict) for _ in emissions]
            if name in leans:
                fractions.append(0.0)
                messages.append(f"{name}: {leans[name].message}")
                rec.tampering.append((grade_id, leans[name].kind, leans[name].message[:500]))
                continue
            worst = min(judged, key=lambda v: v[0])
            fractions.append(worst[0])
            messages.append(f"{name}: {worst[1]}")
            mistakes.extend(v[2]["mistake"] for v in judged if v[0] < 1.0 and "mistake" in v[2])
            if worst[0] < 1.0:
                lost.append(name)
            if "returns" in worst[2]:
                policies[name] = {k: worst[2][k] for k in ("returns", "criterion")}
        fraction = sum(fractions) / len(fractions) if fractions else 0.0
        if not expected:
            messages.append("the reference emitted no observation for this cell")
        score = round(points * fraction, 2)
        status = question_status(fraction, cell)
        if status != "passed" and cell is not None:
            cause = earlier_error(exercise_cells, cell.index)
            if cause:
                messages.append(cause)
        rec.tests.append(
            TestRecord(
                grade_id=grade_id,
                score=score,
                max_score=points,
                status=status,
                message="; ".join(messages)[:4000],
                seconds=cell.seconds if cell is not None else 0.0,
                visible=_visible_text(cell) if cell is not None else "",
                details=_test_details(mistakes, lost, policies),
            )
        )
    reward_causes(
        rec.tests,
        (
            grade_id
            for grade_id, names in reference.items()
            if any(isinstance(manifest.get(name), PolicyCriterion) for name in names)
        ),
    )
    rec.artifacts = _learning_curves(result)
    for (name, _), out in zip(gifs, gif_results, strict=True):
        gif = out.get("gif")
        if gif:
            rec.artifacts[name] = base64.b64decode(gif)
    rec.total_seconds = time.perf_counter() - start
    return rec


def _test_details(
    mistakes: list[str], lost: list[str], policies: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A question's ``details``: the named mistakes (each once, in the order found), the
    observations that lost credit and the policies' measurements; empty keys are left out."""
    details: dict[str, Any] = {}
    if mistakes:
        details["mistakes"] = list(dict.fromkeys(mistakes))
    if lost:
        details["lost"] = lost
    if policies:
        details["policies"] = policies
    return details


def _learning_curves(result: ExecutionResult) -> dict[str, bytes]:
    """Each training cell's last PNG.

    A training cell is one whose grade_id is ``run_training`` (its curve is
    ``learning_curve.png``) or ``run_<task>`` (``learning_curve_<task>.png``).
    """
    out: dict[str, bytes] = {}
    for cell in result.cells:
        if cell.grade_id and cell.grade_id.startswith("run_"):
            pngs = [
                o["data"]["image/png"] for o in cell.outputs if "image/png" in (o.get("data") or {})
            ]
            task = cell.grade_id.removeprefix("run_")
            name = "learning_curve.png" if task == "training" else f"learning_curve_{task}.png"
            if pngs:
                with contextlib.suppress(ValueError):
                    out[name] = base64.b64decode(pngs[-1])
    return out


def _gif_jobs(
    observed: dict[str, dict[str, list[Any]]],
    manifest: dict[str, Entry],
    reference: dict[str, dict[str, Any]],
    settings: GradeSettings,
) -> list[tuple[str, dict[str, Any]]]:
    """``(artifact name, job)`` for a GIF of each trained policy (``agent.gif``,
    ``agent_<task>.gif``), in the order the cells emitted them."""
    policies = [name for name, entry in manifest.items() if isinstance(entry, PolicyCriterion)]
    env_ids = {
        name: _policy_criterion(name, data)["env_id"]
        for names in reference.values()
        for name, data in names.items()
        if name in policies
    }
    jobs: list[tuple[str, dict[str, Any]]] = []
    for names in observed.values():
        for name in policies:
            policy = names.get(name)
            if name not in env_ids or not (policy and isinstance(policy[-1], dict)):
                continue
            job = {
                "type": "gif",
                "data": policy[-1],
                "env_id": env_ids[name],
                "seed": settings.outside_seed,
            }
            jobs.append((f"agent{name.removeprefix('trained_policy')}.gif", job))
    return jobs


@dataclass
class BatchSummary:
    graded: int = 0
    skipped: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    seconds: float = 0.0


def grade_batch(
    gradebook: Gradebook,
    items: Iterable[tuple[str, str, Path]],
    settings: GradeSettings,
    *,
    workers: int = 1,
    progress: Callable[[SubmissionRecord | None], None] | None = None,
    client: Any = None,
) -> BatchSummary:
    """Grade every submission not yet graded; write each result as soon as it is known.

    Args:
        workers: local processes (1: in this process).
        client: a ``dask.distributed.Client``: grade on its cluster instead (see
            :mod:`course_lib.instructor.grading.cluster`); ``workers`` is then ignored.
    """
    start = time.perf_counter()
    summary = BatchSummary()
    todo = []
    for student, assignment, path in items:
        file_hash = (
            hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else ""
        )
        if file_hash and gradebook.is_graded(student, assignment, file_hash, GRADER_VERSION):
            summary.skipped += 1
            if progress:
                progress(None)
            continue
        todo.append((student, assignment, Path(path)))
    # Reference observations first, once per assignment, so workers only read the cache.
    for assignment in sorted({a for _, a, _ in todo}):
        if (settings.solutions / f"{assignment}.ipynb").is_file():
            reference_observations(assignment, settings)

    def done(rec: SubmissionRecord) -> None:
        gradebook.record(rec)
        summary.graded += 1
        if rec.status == "error":
            summary.errors.append((rec.student, rec.assignment, rec.error or ""))
        if progress:
            progress(rec)

    if client is not None:
        from course_lib.instructor.grading.cluster import grade_on_dask

        grade_on_dask(client, todo, settings, done, grade=grade_one)
    elif workers <= 1:
        for student, assignment, path in todo:
            done(grade_one(student, assignment, path, settings))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(grade_one, s, a, p, settings) for s, a, p in todo]
            for future in as_completed(futures):
                done(future.result())
    summary.seconds = time.perf_counter() - start
    return summary


def default_seed(gradebook_path: Path) -> int:
    """The gradebook's grading seed: drawn once, then kept beside it (deterministic re-runs)."""
    seed_file = gradebook_path.with_suffix(".seed")
    if seed_file.is_file():
        return int(seed_file.read_text().strip())
    seed = secrets.randbelow(2**31)
    seed_file.parent.mkdir(parents=True, exist_ok=True)
    seed_file.write_text(f"{seed}\n")
    return seed


__all__ += [
    "BatchSummary",
    "check_exercise_dirs",
    "default_seed",
    "discover",
    "failed_record",
    "observations_by_cell",
    "reference_observations",
]
