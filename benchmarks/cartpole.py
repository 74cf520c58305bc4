"""Reference agents of notebooks 01 and 02 on CartPole-v1: env steps and seconds to the criterion.

Each run executes the instructor notebook's own code (``course_lib.instructor.runner.load_cells``)
in a
fresh process with one torch thread, trains with one seed, and reports:

- env steps and wall-clock seconds until the stop rule was met (evaluation time included);
- the trained greedy policy's mean return on the graded protocol (20 episodes) and on 100
  further episodes it was never checked on.

Runs alternate between the agents so that machine drift hits both.

    python benchmarks/cartpole.py --seeds 5 --out benchmarks/results/cartpole.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, machine_line, machine_speed_line, run_worker

AGENTS = {
    "a2c": ("02_a2c", 20_000, 6.0),
    "two_headed": ("01_actor_critic", 30_000, 10.0),
}


def worker(agent: str, seed: int) -> dict:
    import torch

    import course_lib as cl
    from course_lib.instructor.runner import load_cells

    notebook, _, _ = AGENTS[agent]
    ns = load_cells(ROOT / "solutions" / f"{notebook}.ipynb")
    # torch loads this module at the first optimizer step (about 1 s, once per process);
    # load it before the clock starts so that the time measured is training time.
    import torch._dynamo

    config = ns["config"]
    start = time.perf_counter()
    if agent == "a2c":
        episode_returns, policy_net = ns["train"](seed=seed)
    else:
        cl.seed_everything(seed)
        env = cl.make_env(config.env_name, seed=seed)
        policy_net = ns["ActorCritic"](4, 2, config.num_hidden)
        optimizer = torch.optim.Adam(policy_net.parameters(), lr=config.lr)
        episode_returns, _ = ns["train"](env, policy_net, optimizer, config)
    seconds = time.perf_counter() - start
    greedy = ns["greedy"](policy_net)
    graded = cl.evaluate("CartPole-v1", greedy, n_episodes=20, seed=0, batched=True)
    unseen = cl.evaluate("CartPole-v1", greedy, n_episodes=100, seed=50_000, batched=True)
    return {
        "agent": agent,
        "seed": seed,
        "steps": int(sum(episode_returns)),  # CartPole pays 1 per step
        "episodes": len(episode_returns),
        "seconds": round(seconds, 2),
        "graded_mean": graded.mean,
        "unseen_mean": unseen.mean,
    }


def run(seeds: int, out: Path | None) -> int:
    speed = machine_speed_line()
    rows = []
    for seed in range(seeds):
        for agent in AGENTS:
            try:
                row = run_worker(__file__, [agent, "--seed", str(seed)])
            except RuntimeError as error:
                print(error, file=sys.stderr)
                return 1
            rows.append(row)
            print(json.dumps(row), flush=True)
    lines = [
        f"# CartPole-v1 reference agents ({machine_line(1)})",
        "",
        speed,
        "",
        "Steps and seconds until the stop rule was met (greedy evaluation time included); "
        "criterion: greedy mean >= 475 over 20 episodes.",
        "",
        "| agent | seed | env steps | seconds | episodes | graded mean (20) | unseen mean (100) "
        "| target met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for agent, (_, max_steps, max_seconds) in AGENTS.items():
        ok = 0
        for row in (r for r in rows if r["agent"] == agent):
            met = (
                row["steps"] <= max_steps
                and row["seconds"] <= max_seconds
                and row["graded_mean"] >= 475
            )
            ok += met
            lines.append(
                f"| {agent} | {row['seed']} | {row['steps']:,} | {row['seconds']:.2f} | "
                f"{row['episodes']} | {row['graded_mean']:.1f} | {row['unseen_mean']:.1f} | "
                f"{'yes' if met else 'no'} |"
            )
        target = f"target <= {max_steps:,} steps and <= {max_seconds:g} s"
        lines.append(f"| **{agent}** | | {target} | | | | | **{ok}/{seeds}** |")
    text = "\n".join(lines) + "\n"
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", choices=sorted(AGENTS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import torch

        torch.set_num_threads(1)
        print(json.dumps(worker(args.worker, args.seed)))
        return 0
    return run(args.seeds, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
