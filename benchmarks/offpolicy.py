"""Notebooks 04-05: DDPG and TD3, env steps and seconds to the criterion, 5 seeds per task.

Each (task, seed) runs the instructor notebook's own code
(``course_lib.instructor.runner.load_cells``)
in a fresh process with one torch thread, two at a time on a 2-core machine, and records:

- **criterion**: the first greedy evaluation with a mean at or above the graded criterion
  on the graded protocol (the notebook's fixed evaluation episodes, ``seed=0``), probed at
  each of the notebook's stop-rule evaluations: env steps and training seconds. Training
  seconds include the stop rule's own evaluations, not this probe's, which runs on forked
  RNGs so that each seed trains exactly as the notebook does;
- **stop rule**: where the notebook's stop rule stops, and the stopped policy's mean on
  1,000 episodes it was never checked on, with how many of those failed (Pendulum: return
  below -600, no swing-up; MountainCar: the flag not reached).

A run ends when both are known, or at the task's budget.

    python benchmarks/offpolicy.py --seeds 5 --out benchmarks/results/offpolicy.md

``--set batch_size=64 --set eval_every=500`` tries other hyperparameters (fields of the
notebook's config), and the report says which were changed.
"""

from __future__ import annotations

import argparse
import ast
import copy
import dataclasses
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, machine_line, machine_speed_line, run_worker


@dataclass(frozen=True)
class Task:
    """One algorithm on one environment, and the targets its notebook issue sets."""

    name: str
    notebook: str
    env_id: str
    criterion: float
    eval_episodes: int
    goal_steps: int
    goal_seconds: float
    failed_below: float
    budget: int


TASKS = {
    "ddpg-pendulum": Task(
        "DDPG on Pendulum-v1", "04_ddpg", "Pendulum-v1", -200.0, 20, 6_000, 10.0, -600.0, 15_000
    ),
    "ddpg-mountaincar": Task(
        "DDPG on MountainCarContinuous-v0",
        "04_ddpg",
        "MountainCarContinuous-v0",
        90.0,
        10,
        50_000,
        150.0,
        50.0,
        30_000,
    ),
    "td3-pendulum": Task(
        "TD3 on Pendulum-v1", "05_td3", "Pendulum-v1", -200.0, 20, 8_000, 15.0, -600.0, 20_000
    ),
    "td3-mountaincar": Task(
        "TD3 on MountainCarContinuous-v0",
        "05_td3",
        "MountainCarContinuous-v0",
        90.0,
        10,
        50_000,
        150.0,
        50.0,
        100_000,
    ),
}
TD3_CELLS = ["imports", "config", "networks", "td3", "loop"]


def parse_overrides(items: list[str]) -> dict:
    """["batch_size=64", "lr=3e-4"] -> {"batch_size": 64, "lr": 0.0003}."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise SystemExit(f"--set takes FIELD=VALUE (e.g. batch_size=64), not {item!r}")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides


def _config_name(task: Task) -> str:
    """The name of the notebook's config of the task's env."""
    if task.env_id != "Pendulum-v1":
        return "mountaincar"
    return "config" if task.notebook == "04_ddpg" else "pendulum"


def _apply_overrides(task: Task, ns: dict, overrides: dict) -> None:
    """Change fields of the notebook's config of the task's env in ``ns``: 04's ``config``
    or ``mountaincar``, 05's ``pendulum`` or ``mountaincar``."""
    name = _config_name(task)
    fields = {f.name for f in dataclasses.fields(ns[name])}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise SystemExit(
            f"notebook {task.notebook}'s {name} has no field {', '.join(map(repr, unknown))}; "
            f"its fields: {', '.join(sorted(fields))}"
        )
    ns[name] = dataclasses.replace(ns[name], **overrides)


def worker(task_key: str, seed: int, overrides: dict | None = None) -> dict:
    # Adam's first step imports torch._dynamo (seconds); the notebook has done that in its
    # check cells before it trains, so it is done here before the clock starts.
    import torch._dynamo  # noqa: F401

    import course_lib as cl
    from course_lib import stop_rule
    from course_lib.instructor.runner import load_cells

    task = TASKS[task_key]
    path = ROOT / "solutions" / f"{task.notebook}.ipynb"
    ns = load_cells(path, TD3_CELLS) if task.notebook == "05_td3" else load_cells(path)
    _apply_overrides(task, ns, overrides or {})
    record: dict = {"task": task_key, "seed": seed, "criterion": None, "stop": None}
    probe_seconds = 0.0
    start = time.perf_counter()
    original_check = stop_rule.CriterionTracker.check

    def check(self, policy, steps, model=None, episode=None):  # type: ignore[no-untyped-def]
        nonlocal probe_seconds
        reached = original_check(self, policy, steps, model=model, episode=episode)
        t0 = time.perf_counter()
        train_seconds = round(t0 - start - probe_seconds, 2)
        with cl.random_state(12_345):
            mean = cl.evaluate(
                task.env_id, policy, n_episodes=task.eval_episodes, seed=0, batched=True
            ).mean
        if record["criterion"] is None and mean >= task.criterion:
            record["criterion"] = [steps, train_seconds, round(mean, 1)]
        if reached and record["stop"] is None:
            with cl.random_state(12_345):
                unseen = cl.evaluate(
                    task.env_id,
                    policy_of(copy.deepcopy(model)),
                    n_episodes=1_000,
                    seed=50_000,
                    batched=True,
                )
            failed = int((unseen.returns < task.failed_below).sum())
            record["stop"] = [steps, train_seconds, round(unseen.mean, 1), failed]
        probe_seconds += time.perf_counter() - t0
        return record["stop"] is not None and record["criterion"] is not None

    if task.notebook == "04_ddpg":

        def policy_of(actor):  # type: ignore[no-untyped-def]
            return ns["greedy"](actor, task.env_id)

    else:
        policy_of = ns["greedy"]
    stop_rule.CriterionTracker.check = check  # type: ignore[method-assign]
    if task.notebook == "04_ddpg":
        config = ns[_config_name(task)]
        cl.seed_everything(seed)
        agent = ns["DDPGAgent"](
            ns["make_train_env"](config, seed),
            memory_size=config.memory_size,
            batch_size=config.batch_size,
            ou_noise_theta=config.ou_noise_theta,
            ou_noise_sigma=config.ou_noise_sigma,
            gamma=config.gamma,
            tau=config.tau,
            initial_random_steps=config.initial_random_steps,
            config=config,
        )
        agent.train(task.budget)
        steps = agent.total_step
    else:
        cfg = ns["pendulum"] if task.env_id == "Pendulum-v1" else ns["mountaincar"]
        cfg = ns["dataclasses"].replace(cfg, num_frames=task.budget)
        _, tracker = ns["run_td3"](cfg, seed, live=False)
        steps = tracker.history[-1][0] if tracker.history else 0
    record["steps"] = steps
    record["total_seconds"] = round(time.perf_counter() - start - probe_seconds, 1)
    return record


def _run(job: tuple[str, int, tuple[str, ...]]) -> dict:
    task_key, seed, sets = job
    extra = [arg for item in sets for arg in ("--set", item)]
    return run_worker(__file__, [task_key, "--seed", str(seed), *extra])


def _table(task: Task, rows: list[dict]) -> list[str]:
    lines = [
        f"## {task.name} (notebook {task.notebook[:2]})",
        "",
        f"Criterion: greedy mean >= {task.criterion:g} over the {task.eval_episodes} fixed "
        f"episodes of the graded protocol. Goal: within {task.goal_steps:,} env steps and "
        f"{task.goal_seconds:g} s of training. Budget {task.budget:,} steps.",
        "",
        "| seed | criterion: env steps | seconds | mean | stop rule: env steps | seconds | "
        "unseen mean (1,000) | failed | goal: steps | goal: steps and seconds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    in_steps = in_both = 0
    for row in rows:
        crit, stop = row["criterion"], row["stop"]
        ok_steps = crit is not None and crit[0] <= task.goal_steps
        ok_both = ok_steps and crit[1] <= task.goal_seconds
        in_steps += ok_steps
        in_both += ok_both
        c = f"{crit[0]:,} | {crit[1]} | {crit[2]}" if crit else "not reached | - | -"
        s = f"{stop[0]:,} | {stop[1]} | {stop[2]} | {stop[3]}" if stop else "never | - | - | -"
        lines.append(
            f"| {row['seed']} | {c} | {s} | {'yes' if ok_steps else 'no'} | "
            f"{'yes' if ok_both else 'no'} |"
        )
    lines += [
        "",
        f"Goal in env steps: **{in_steps}/{len(rows)}**; in env steps and seconds: "
        f"**{in_both}/{len(rows)}**.",
        "",
    ]
    return lines


def run(
    tasks: list[str], seeds: int, parallel: int, out: Path | None, sets: tuple[str, ...] = ()
) -> int:
    parse_overrides(list(sets))  # a typo stops here, not in every worker
    speed = machine_speed_line()  # measured before the seeds load the machine
    jobs = [(key, seed, sets) for key in tasks for seed in range(seeds)]
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(_run, jobs))
    for row in results:
        print(json.dumps(row), flush=True)
    lines = [
        f"# DDPG and TD3, notebooks 04-05's references ({machine_line(parallel)})",
        "",
        speed,
        "",
        *([f"Hyperparameters changed from the notebook's: {', '.join(sets)}.", ""] if sets else []),
        "Training seconds include the notebooks' stop-rule evaluations, not the benchmark's "
        "probes. 'Unseen' is the stopped policy's mean over 1,000 further episodes; 'failed' "
        "counts those below -600 (Pendulum: no swing-up) or below 50 (MountainCar: no flag).",
        "",
    ]
    for key in tasks:
        lines += _table(TASKS[key], [r for r in results if r["task"] == key])
    text = "\n".join(lines)
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=list(TASKS))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change one of the notebook's hyperparameters (repeatable)",
    )
    parser.add_argument("--worker", choices=sorted(TASKS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import torch

        torch.set_num_threads(1)
        print(json.dumps(worker(args.worker, args.seed, parse_overrides(args.set))))
        return 0
    return run(args.tasks, args.seeds, args.parallel, args.out, tuple(args.set))


if __name__ == "__main__":
    raise SystemExit(main())
