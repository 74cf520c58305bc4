"""Does a visible reward pass mean a grader pass? Measured on the references and on variants.

Each (task, variant, seed) trains with the instructor notebook's own code
(``course_lib.instructor.runner.load_cells``) in a fresh process, and at every one of the stop
rule's greedy evaluations takes the policy of the moment as a submission. Each such policy is

- checked as the notebook checks it: before, the mean of 20 fixed episodes (``seed=0``)
  against the criterion; now, 200 fixed episodes and the chance that the grader's own
  ``eval_episodes`` reach the criterion (:func:`course_lib.evaluation.pass_chance`), a pass
  only at 95% or more, a pass with a warning below;
- graded as the grader grades it, many times over: ``GRADINGS`` evaluations of
  ``eval_episodes`` episodes each, on start states neither check played (the grader draws a
  seed per submission). The share of them at or above the criterion is the policy's grader
  pass rate.

The figure of merit is the grader pass rate averaged over the policies whose visible check
passed: how often a student who sees "passed" is then passed by the grader. Training itself
is as in the notebook (the measurements run on their own random state), and stops where the
notebook's stop rule (or the variant's) stops.

    python benchmarks/reward_check.py --seeds 3 --out benchmarks/results/reward_check.md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, machine_line, run_worker

GRADINGS = 50
"""Independent grader evaluations per policy."""


@dataclass(frozen=True)
class Task:
    """One notebook's graded training, and how to run it."""

    name: str
    notebook: str
    config: str  # the config's name in the notebook's namespace
    variants: dict[str, dict]
    old_eval_episodes: int | None = None  # the grader's episodes before, if they changed


# A student's variants: a stop rule without the notebook's margin (stops as soon as its own
# evaluation meets the criterion, as a student who lowers stop_at does), and another step size.
TASKS = {
    "actor_critic": Task(
        "One-network actor-critic on CartPole-v1",
        "01_actor_critic",
        "config",
        {
            "reference": {},
            "no margin": {"stop_at": 475.0, "stop_episodes": 20},
            "lr 5e-3": {"lr": 5e-3},
        },
    ),
    "a2c": Task(
        "A2C on CartPole-v1",
        "02_a2c",
        "config",
        {
            "reference": {},
            "no margin": {"stop_at": 475.0, "stop_episodes": 20},
            "lr 5e-3": {"lr": 5e-3},
        },
    ),
    "ppo": Task(
        "PPO on Pendulum-v1",
        "03_ppo",
        "config",
        {
            "reference": {},
            "no margin": {"stop_at": -200.0, "stop_episodes": 20},
            "entropy 0.005": {"entropy_weight": 0.005},
        },
        old_eval_episodes=20,
    ),
    "ddpg": Task(
        "DDPG on Pendulum-v1",
        "04_ddpg",
        "config",
        {
            "reference": {},
            "no margin": {"stop_at": -200.0, "stop_episodes": 20, "worst_at_least": -2000.0},
            "lr 1e-3": {"lr_actor": 1e-3, "lr_critic": 1e-3},
        },
    ),
    "td3_pendulum": Task(
        "TD3 on Pendulum-v1",
        "05_td3",
        "pendulum",
        {
            "reference": {},
            "no margin": {"stop_at": -200.0, "stop_episodes": 20, "worst_at_least": -2000.0},
        },
    ),
    "td3_mountaincar": Task(
        "TD3 on MountainCarContinuous-v0",
        "05_td3",
        "mountaincar",
        {
            "reference": {},
            "no margin": {"stop_at": 90.0, "stop_episodes": 10, "worst_at_least": -100.0},
        },
    ),
}
TD3_CELLS = ["imports", "config", "networks", "td3", "loop"]


def _train(task: Task, ns: dict, seed: int) -> None:
    """The notebook's own training run, as its run cell does it."""
    if task.notebook == "05_td3":
        ns["run_td3"](ns[task.config], seed, live=False)
        return
    if task.notebook == "02_a2c":  # train's defaults were bound to the notebook's config
        cfg = ns[task.config]
        ns["train"](num_episodes=cfg.num_episodes, gamma=cfg.gamma, lr=cfg.lr, seed=cfg.seed)
        return
    import nbformat

    nb = nbformat.read(ROOT / "solutions" / f"{task.notebook}.ipynb", as_version=4)
    (cell,) = [
        c for c in nb.cells if (c.metadata.get("nbgrader") or {}).get("grade_id") == "run_training"
    ]
    exec(compile(cell.source, f"{task.notebook}:run_training", "exec"), ns)


def worker(task_key: str, variant: str, seed: int) -> dict:
    import torch._dynamo  # noqa: F401  (imported before training, as the notebook does)

    import course_lib as cl
    from course_lib import evaluation, stop_rule
    from course_lib.instructor.runner import load_cells

    task = TASKS[task_key]
    path = ROOT / "solutions" / f"{task.notebook}.ipynb"
    ns = load_cells(path, TD3_CELLS) if task.notebook == "05_td3" else load_cells(path)
    cfg = dataclasses.replace(ns[task.config], seed=seed, **task.variants[variant])
    ns[task.config] = cfg
    policies: list[dict] = []
    original = stop_rule.CriterionTracker.check

    def check(self, policy, steps, model=None, episode=None):  # type: ignore[no-untyped-def]
        reached = original(self, policy, steps, model=model, episode=episode)
        old = task.old_eval_episodes or cfg.eval_episodes
        with cl.random_state(12_345):  # as the stop rule plays it (its env_kwargs too)
            kwargs = {"env_kwargs": self.env_kwargs, "batched": True}
            visible = cl.evaluate(
                cfg.env_name, policy, n_episodes=cfg.check_episodes, seed=0, **kwargs
            ).returns
            unseen = cl.evaluate(
                cfg.env_name,
                policy,
                n_episodes=GRADINGS * max(cfg.eval_episodes, old),
                seed=1_000_000 + 7_919 * seed,
                **kwargs,
            ).returns

        def rate(episodes: int) -> float:
            means = unseen[: GRADINGS * episodes].reshape(GRADINGS, episodes).mean(axis=1)
            return float(np.mean(means >= cfg.criterion))

        policies.append(
            {
                "steps": int(steps),
                # the check before: the mean of the grader's count of fixed episodes
                "old_mean": float(visible[:old].mean()),
                "old_grader_rate": rate(old),
                "mean": float(visible.mean()),
                "chance": evaluation.pass_chance(visible, cfg.criterion, cfg.eval_episodes),
                "grader_rate": rate(cfg.eval_episodes),
            }
        )
        return reached

    stop_rule.CriterionTracker.check = check  # type: ignore[method-assign]
    _train(task, ns, seed)
    return {
        "task": task_key,
        "variant": variant,
        "seed": seed,
        "criterion": cfg.criterion,
        "policies": policies,
    }


def _run(job: tuple[str, str, int]) -> dict:
    task_key, variant, seed = job
    return run_worker(__file__, [task_key, variant, "--seed", str(seed)])


def summarize(rows: list[dict]) -> dict:
    """Counts and rates over every policy of ``rows``."""
    policies = [(p, r["criterion"]) for r in rows for p in r["policies"]]
    old_pass = [p for p, c in policies if p["old_mean"] >= c]
    new_pass = [p for p, c in policies if p["mean"] >= c and p["chance"] >= 0.95]
    warned = [p for p, c in policies if p["mean"] >= c and p["chance"] < 0.95]

    def rate(ps: list[dict], key: str = "grader_rate") -> float | None:
        return float(np.mean([p[key] for p in ps])) if ps else None

    return {
        "policies": len(policies),
        "old_pass": len(old_pass),
        "old_rate": rate(old_pass, "old_grader_rate"),
        "new_pass": len(new_pass),
        "new_rate": rate(new_pass),
        "warned": len(warned),
        "warned_rate": rate(warned),
        "near": len([p for p in new_pass if p["grader_rate"] < 1.0]),
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def report(results: list[dict], seeds: int, parallel: int) -> str:
    lines = [
        f"# A visible reward pass and the grader's verdict ({machine_line(parallel)})",
        "",
        f"Every stop-rule evaluation of each training run is a policy; {seeds} seeds per "
        f"variant. 'Grader pass rate' is the share of {GRADINGS} grader evaluations (each of "
        "the notebook's `eval_episodes`, on unseen start states) that reach the criterion, "
        "averaged over the policies whose visible check passed. Before: the mean of the "
        "grader's count of fixed episodes >= the criterion, and the grader's 20 episodes "
        "(10 on MountainCar). Now: the mean of the notebook's `check_episodes` fixed episodes "
        ">= the criterion and a 95% or higher chance that the grader's `eval_episodes` reach "
        "it (a pass with a warning below 95%); the grader plays 200 episodes on PPO, 20 "
        "elsewhere (10 on MountainCar); PPO's stop rule also asks for a 99% chance.",
        "",
        "| task | variant | policies | before: visible passes | before: grader pass rate | "
        "now: visible passes | now: grader pass rate | now: warned | warned: grader pass rate |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, task in TASKS.items():
        for variant in task.variants:
            rows = [r for r in results if r["task"] == key and r["variant"] == variant]
            if not rows:
                continue
            s = summarize(rows)
            lines.append(
                f"| {task.name} | {variant} | {s['policies']} | {s['old_pass']} | "
                f"{_pct(s['old_rate'])} | {s['new_pass']} | {_pct(s['new_rate'])} | "
                f"{s['warned']} | {_pct(s['warned_rate'])} |"
            )
    s = summarize(results)
    lines += [
        f"| **all** | | {s['policies']} | {s['old_pass']} | **{_pct(s['old_rate'])}** | "
        f"{s['new_pass']} | **{_pct(s['new_rate'])}** | {s['warned']} | "
        f"{_pct(s['warned_rate'])} |",
        "",
        f"Of the {s['new_pass']} policies the new check passes, {s['near']} fail at least one "
        f"of their {GRADINGS} grader evaluations.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=list(TASKS))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--raw", type=Path, default=None, help="also write every policy (JSONL)")
    parser.add_argument(
        "--report-from",
        type=Path,
        nargs="+",
        default=None,
        help="no runs: the report of these --raw files (a task in a later file replaces it "
        "in an earlier one)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("job", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        task_key, variant = args.job
        print(json.dumps(worker(task_key, variant, args.seed)))
        return 0
    if args.report_from:
        by_task: dict[str, list[dict]] = {}
        for path in args.report_from:
            rows = [json.loads(line) for line in path.read_text().splitlines() if line]
            for key in {r["task"] for r in rows}:
                by_task[key] = [r for r in rows if r["task"] == key]
        results = [r for key in TASKS for r in by_task.get(key, [])]
        seeds = max(r["seed"] for r in results) + 1
        text = report(results, seeds, args.parallel)
        print(text)
        if args.out is not None:
            args.out.write_text(text)
        return 0
    jobs = [
        (key, variant, seed)
        for key in args.tasks
        for variant in TASKS[key].variants
        for seed in range(args.seeds)
    ]
    with ThreadPoolExecutor(args.parallel) as pool:
        results = list(pool.map(_run, jobs))
    if args.raw is not None:
        args.raw.write_text("".join(json.dumps(r) + "\n" for r in results))
    text = report(results, args.seeds, args.parallel)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
