"""Judging networks and policies that left the student's kernel as exported programs.

A program is a ``torch.export`` archive: a graph of ATen operations and its weights. It
is loaded with every pickle forced to ``weights_only`` (``TORCH_FORCE_WEIGHTS_ONLY_LOAD``)
and rejected unless each operation of its graph is on :data:`ALLOWED_OPS`, so that loading
or running it cannot execute student Python. The grader then probes the network on inputs
of its own, or plays its own evaluation episodes with the policy.

Run as ``python -m course_lib.instructor.grading.programs`` it reads ``{"jobs": [job, ...]}`` (or
one
job) as JSON on stdin and writes one JSON line per job, in order, on stdout: the grader runs
all of a submission's jobs in one separate process (:func:`run_jobs`), so torch is imported
once per submission and not once per network.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import importlib
import io
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from course_lib.exercises.finding import Hint
from course_lib.exercises.network_kinds import STANDARD_KINDS, network_failure, standard_problems

__all__ = [
    "ALLOWED_OPS",
    "PROGRAM_TIMEOUT_S",
    "STANDARD_KINDS",
    "ProgramRejected",
    "judge_network",
    "judge_policy",
    "load_program",
    "run_jobs",
    "start_judge",
    "stop_judge",
]

PROGRAM_TIMEOUT_S = 600
"""Seconds one job (a network probe, a policy's episodes, an animation) may take."""

MAX_PROGRAM_BYTES = 20 * 2**20

ALLOWED_OPS = frozenset(
    {
        "aten.linear.default",
        "aten.sym_size.int",
        "aten.addmm.default",
        "aten.mm.default",
        "aten.matmul.default",
        "aten.t.default",
        "aten.permute.default",
        "aten.transpose.int",
        "aten.relu.default",
        "aten.tanh.default",
        "aten.sigmoid.default",
        "aten.elu.default",
        "aten.leaky_relu.default",
        "aten.gelu.default",
        "aten.silu.default",
        "aten.softplus.default",
        "aten.hardtanh.default",
        "aten.softmax.int",
        "aten._softmax.default",
        "aten.log_softmax.int",
        "aten._log_softmax.default",
        "aten.logsumexp.default",
        "aten.add.Tensor",
        "aten.sub.Tensor",
        "aten.mul.Tensor",
        "aten.div.Tensor",
        "aten.add.Scalar",
        "aten.sub.Scalar",
        "aten.mul.Scalar",
        "aten.div.Scalar",
        "aten.rsub.Scalar",
        "aten.neg.default",
        "aten.exp.default",
        "aten.log.default",
        "aten.sqrt.default",
        "aten.pow.Tensor_Scalar",
        "aten.clamp.default",
        "aten.clip.default",
        "aten.argmax.default",
        "aten.max.dim",
        "aten.amax.default",
        "aten.sum.dim_IntList",
        "aten.mean.dim",
        "aten.reshape.default",
        "aten.view.default",
        "aten.squeeze.dim",
        "aten.squeeze.dims",
        "aten.unsqueeze.default",
        "aten.flatten.using_ints",
        "aten.expand.default",
        "aten.expand_as.default",
        "aten.broadcast_to.default",
        "aten.cat.default",
        "aten.stack.default",
        "aten.split.Tensor",
        "aten.slice.Tensor",
        "aten.select.int",
        "aten.index.Tensor",
        "aten.gather.default",
        "aten.ones_like.default",
        "aten.zeros_like.default",
        "aten.full_like.default",
        "aten.broadcast_tensors.default",
        "aten.alias.default",
        "aten.clone.default",
        "aten.contiguous.default",
        "aten.to.dtype",
        "aten._to_copy.default",
        "aten.detach.default",
        "aten.dropout.default",
        "aten.layer_norm.default",
        "aten.batch_norm.default",
        "aten._native_batch_norm_legit_no_training.default",
        "aten.normal.Tensor_Tensor",
        "aten.eq.Tensor",
        "aten.ne.Scalar",
        "aten.all.dim",
        "aten.abs.default",
        "aten.sign.default",
        "aten.where.self",
        "aten.lt.Scalar",
        "aten.gt.Scalar",
        "<built-in function getitem>",
        "wrap_with_set_grad_enabled",
        "aten.scalar_tensor.default",
        "aten.copy.default",
        "aten.split_with_sizes.default",
        "aten.chunk.default",
        "aten.unbind.int",
        "aten.exp2.default",
        "aten.tanh_.default",
    }
)
"""Operations an exported actor or critic may use: layers, activations, shapes, reductions."""


class ProgramRejected(ValueError):
    """The program is not a plain network, or could not be loaded safely."""


def load_program(data: str | bytes) -> Any:
    """Decode, check and load an exported program; return it as a callable module."""
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    import torch

    try:
        raw = base64.b64decode(data) if isinstance(data, str) else bytes(data)
    except (ValueError, TypeError):
        raise ProgramRejected("the program is not an exported network (bad base64 data)") from None
    if len(raw) > MAX_PROGRAM_BYTES:
        raise ProgramRejected(f"the program is {len(raw) / 2**20:.0f} MB; networks here are small")
    try:
        program = torch.export.load(io.BytesIO(raw))
    except Exception as err:  # any failure to load is the submission's
        raise ProgramRejected(f"cannot load the program: {type(err).__name__}: {err}") from None
    for node in program.graph.nodes:
        if node.op == "call_function" and str(node.target) not in ALLOWED_OPS:
            raise ProgramRejected(f"the program uses an operation not allowed here: {node.target}")
    return program.module()


ProblemsFn = Callable[[Any, dict[str, Any], int], list[str]]
"""``problems(module, data, seed)``: what is wrong with a loaded network (empty: nothing)."""


def problems_function(kind: str, problems: str | None = None) -> ProblemsFn | None:
    """The problems function of ``kind``: ``problems`` (``"package.module:function"``, from
    an exercise's manifest entry) or, without it, the course manifests' entry for ``kind``;
    None for a standard kind (:data:`STANDARD_KINDS`)."""
    if problems is None:
        if kind in STANDARD_KINDS:
            return None
        problems = _course_problems().get(kind)
        if problems is None:
            raise ValueError(f"no exercise manifest names network kind {kind!r}")
    module_name, _, function = problems.partition(":")
    return getattr(importlib.import_module(module_name), function)


@functools.cache
def _course_problems() -> dict[str, str]:
    """``{kind: "package.module:function"}`` of the course's network probes."""
    from course_lib.exercises.manifest import NOTEBOOKS, NetworkProbe, load_manifest

    return {
        entry.kind: entry.problems
        for assignment in NOTEBOOKS
        for entry in load_manifest(assignment).values()
        if isinstance(entry, NetworkProbe) and entry.problems is not None
    }


def judge_network(
    kind: str, data: dict[str, Any], seed: int, problems: str | None = None
) -> dict[str, Any]:
    """Probe an exported network on grader inputs.

    Kinds: ``actor_critic``, ``actor`` (probabilities), ``gaussian_actor`` (mean, std)
    and ``critic`` here (:data:`STANDARD_KINDS`); any other kind is judged by the problems
    function its manifest entry names (:class:`course_lib.exercises.manifest.NetworkProbe`),
    e.g. notebook 04's in :mod:`course_lib.exercises.ddpg.networks`.
    A problems function that raises fails the network with the error.

    Returns ``{"fraction": 0..1, "message": ...}``.

    Examples:
        >>> judge_network("td3_actor", {"program": None, "error": "ValueError: no"}, 0)
        {'fraction': 0.0, 'message': 'no network was exported: ValueError: no'}
        >>> judge_network("critic", {"program": None}, 0)["message"]
        'no network was exported (forward did not return what the exercise asks)'
    """
    problems_of = problems_function(kind, problems)
    if data.get("program") is None:
        if problems_of is None:
            why = " (forward did not return what the exercise asks)"
        else:
            why = f": {data['error']}" if data.get("error") else ""
        return {"fraction": 0.0, "message": f"no network was exported{why}"}
    try:
        module = load_program(data["program"])
    except ProgramRejected as err:
        return {"fraction": 0.0, "message": str(err)}
    if problems_of is None:
        found = standard_problems(kind, module, data, seed)
    else:
        try:
            found = problems_of(module, data, seed)
        except Exception as err:  # a broken program is the submission's fault
            found = [network_failure(err)]
    if found:
        named = [p.mistake for p in found if isinstance(p, Hint)]
        verdict: dict[str, Any] = {"fraction": 0.0, "message": "; ".join(found)}
        return verdict | ({"mistake": named[0]} if named else {})
    return {"fraction": 1.0, "message": "the network behaves as specified on the grader's inputs"}


def judge_policy(
    data: dict[str, Any], env_id: str, threshold: float, n_episodes: int, seed: int
) -> dict[str, Any]:
    """Play ``n_episodes`` grader-seeded episodes with an exported policy; pass at ``threshold``."""
    from course_lib.evaluation import evaluate
    from course_lib.handoff import load_policy

    meta = data.get("meta") or {}
    if meta.get("env_id") != env_id:
        return {
            "fraction": 0.0,
            "message": f"the policy was exported for {meta.get('env_id')!r}, not {env_id}",
        }
    try:
        module = load_program(data["program"])  # the checks: weights only, allowed operations
        try:
            # All episodes side by side, the program mapped over them (torch.vmap: each
            # row alone, as exported); the same episodes as one by one, 5-10x faster.
            result = evaluate(
                env_id, _mapped_policy(module), n_episodes=n_episodes, seed=seed, batched=True
            )
        except Exception:  # an operation vmap cannot map, a bad action: one by one
            act, _ = load_policy(base64.b64decode(data["program"]))
            result = evaluate(env_id, act, n_episodes=n_episodes, seed=seed)
    except (ProgramRejected, ValueError, TypeError, RuntimeError) as err:
        return {"fraction": 0.0, "message": f"the policy could not be evaluated: {err}"}
    verdict = f"mean return {result.mean:.1f} over {n_episodes} grader episodes"
    return {
        "fraction": 1.0 if result.mean >= threshold else 0.0,
        "message": f"{verdict} ({'>=' if result.mean >= threshold else '<'} {threshold:g})",
        "returns": result.returns.tolist(),
    }


def _mapped_policy(module: Any) -> Callable[[Any], Any]:
    """A batch of observations -> their actions, with the batch-of-one program ``module``
    applied to each row on its own (``torch.vmap``)."""
    import torch

    mapped = torch.vmap(lambda obs: module(obs[None])[0])

    def act(obs: Any) -> Any:
        with torch.no_grad():
            return mapped(torch.as_tensor(np.asarray(obs, dtype=np.float32))).numpy()

    return act


def policy_gif(data: dict[str, Any], env_id: str, seed: int) -> dict[str, Any]:
    """One episode of an exported policy as a GIF (base64), for the feedback page."""
    from course_lib.animation import record_episode, to_gif_bytes
    from course_lib.handoff import load_policy

    try:
        load_program(data["program"])
        act, _ = load_policy(base64.b64decode(data["program"]))
        episode = record_episode(env_id, act, seed=seed, max_frames=120, width=240)
    except Exception as err:  # a broken program gets no animation, not a crash
        return {"gif": None, "message": f"no animation: {type(err).__name__}: {err}"}
    return {"gif": base64.b64encode(to_gif_bytes(episode.frames)).decode("ascii")}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One job's result: ``network`` and ``policy`` jobs give ``{"fraction", "message", ...}``,
    ``gif`` jobs ``{"gif": base64 or None, ...}``."""
    if job["type"] == "network":
        return judge_network(job["kind"], job["data"], int(job["seed"]), job.get("problems"))
    if job["type"] == "policy":
        return judge_policy(
            job["data"],
            job["env_id"],
            float(job["threshold"]),
            int(job["n_episodes"]),
            int(job["seed"]),
        )
    if job["type"] == "gif":
        return policy_gif(job["data"], job["env_id"], int(job["seed"]))
    return {"fraction": 0.0, "message": f"unknown job type {job['type']!r}"}


def main() -> int:
    """Read jobs as JSON on stdin; write each result as one JSON line on stdout, in order.

    Each job starts from the state a fresh process would give it (torch's default seed),
    so a job's result does not depend on the jobs run before it. Anything else printed
    (warnings, a library's chatter) goes to stderr, never into the results.
    """
    import torch

    torch.set_num_threads(1)
    fresh_seed = torch.initial_seed()
    # What the jobs use, imported before the jobs arrive: a process started early
    # (start_judge) does this while the grader executes the notebook.
    import course_lib.animation
    import course_lib.evaluation
    import course_lib.handoff  # noqa: F401

    with contextlib.suppress(ImportError):  # what torch.export.load imports on first use
        import torch._export.serde.serialize
        import torch.export._unlift

    request = json.load(sys.stdin)
    jobs = request["jobs"] if isinstance(request, dict) and "jobs" in request else [request]
    results = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for job in jobs:
        torch.manual_seed(fresh_seed)
        results.write(json.dumps(run_job(job)) + "\n")
        results.flush()
    return 0


EXERCISE_PATHS: list[str] = []
"""Folders of an instructor's own exercise modules (``course-lib grade --exercises``), on the
judging process's ``PYTHONPATH`` so that their problems functions import there too."""


def _child_env() -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TORCH_FORCE_WEIGHTS_ONLY_LOAD": "1",
        "OMP_NUM_THREADS": "1",
        "SDL_VIDEODRIVER": "dummy",
        "HOME": tempfile.gettempdir(),
    }
    if EXERCISE_PATHS:
        env["PYTHONPATH"] = os.pathsep.join(EXERCISE_PATHS)
    return env


_COMMAND = (sys.executable, "-m", "course_lib.instructor.grading.programs")


def start_judge(command: Sequence[str] = _COMMAND) -> subprocess.Popen[str]:
    """Start the judging process now, for :func:`run_jobs` to use later: it starts Python
    and imports torch while the caller does other work (the notebook's execution)."""
    return subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=_child_env(),
        cwd=tempfile.gettempdir(),
    )


def stop_judge(proc: subprocess.Popen[str]) -> None:
    """End a process from :func:`start_judge` that was not given any jobs."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _run_in_one_process(
    jobs: Sequence[dict[str, Any]],
    timeout_s: float,
    command: Sequence[str],
    proc: subprocess.Popen[str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Run ``jobs`` in one child (``proc``, or a new one): the results it gave, then why it
    stopped early (or None).

    The child answers job by job; a job that takes longer than ``timeout_s`` or kills the
    child ends the run there, and the caller starts a new child for the jobs after it.
    """
    proc = proc if proc is not None else start_judge(command)
    lines: queue.Queue[str | None] = queue.Queue()
    errors: list[str] = []

    def send_jobs() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps({"jobs": list(jobs)}))
            proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the child is gone; what it answered tells the rest

    def read_results() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def read_errors() -> None:
        assert proc.stderr is not None
        errors.append(proc.stderr.read())

    threads = [threading.Thread(target=f, daemon=True) for f in (send_jobs, read_results)]
    threads.append(threading.Thread(target=read_errors, daemon=True))
    for thread in threads:
        thread.start()
    done: list[dict[str, Any]] = []
    failure: dict[str, Any] | None = None

    def crashed() -> dict[str, Any]:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        threads[2].join(timeout=5)
        tail = "".join(errors)[-500:]
        return {"fraction": 0.0, "message": f"the exported program could not be judged: {tail}"}

    try:
        for _ in jobs:
            try:
                line = lines.get(timeout=timeout_s)
            except queue.Empty:
                failure = {"fraction": 0.0, "message": "judging the exported program timed out"}
                break
            try:
                result = json.loads(line) if line is not None else None
            except ValueError:
                result = None  # a line cut short by the child's death
            if not isinstance(result, dict):
                failure = crashed()
                break
            done.append(result)
    finally:
        if proc.poll() is None:
            if failure is not None or len(done) < len(jobs):
                proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # answered everything, then hung
                proc.kill()
                proc.wait()
    return done, failure


def run_jobs(
    jobs: Sequence[dict[str, Any]],
    timeout_s: float = PROGRAM_TIMEOUT_S,
    command: Sequence[str] = _COMMAND,
    started: subprocess.Popen[str] | None = None,
) -> list[dict[str, Any]]:
    """The results of ``jobs``, in order, judged in a separate process.

    All jobs share one process (one torch import). A job that times out or kills its
    process gets a result saying so, and the jobs after it run in a new process: each
    result is what the job would give in a process of its own.

    Args:
        jobs: ``network``, ``policy`` or ``gif`` jobs (see :func:`run_job`).
        timeout_s: seconds each job may take.
        command: the child process (this module's :func:`main`); another program that
            speaks the same protocol, in tests.
        started: a child from :func:`start_judge` to use first (ended here in any case).
    """
    results: list[dict[str, Any]] = []
    pending = list(jobs)
    if not pending and started is not None:
        stop_judge(started)
    while pending:
        done, failure = _run_in_one_process(pending, timeout_s, command, started)
        started = None
        results.extend(done)
        pending = pending[len(done) :]
        if failure is not None and pending:
            results.append(failure)
            pending = pending[1:]
    return results


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
