"""The course's reference agents against Stable-Baselines3, pair by pair, on the same machine.

For each algorithm/environment pair of the course, our reference agent (the instructor
notebook's own code, loaded with ``course_lib.instructor.runner.load_cells``) and
Stable-Baselines3's
agent with rl-zoo's tuned hyperparameters for that pair train over N seeds. Runs alternate
between the two agents (ours seed 0, SB3 seed 0, ours seed 1, ...), each in a fresh process
with one torch thread, so that machine drift hits both.

Both are judged by the same probe, every ``eval_every`` env steps: the greedy policy's mean
return on the notebook's graded protocol (``course_lib.evaluate``, the fixed episodes
``seed=0..``), played on a forked RNG so that the probe does not change the run. A run stops
at the first probe at or above the criterion, or at its budget (env steps or seconds,
whichever comes first). Training seconds exclude the probe; ours include the notebook's own
stop-rule evaluations, which SB3 does not do.

Reported per pair and seed: env steps and training seconds to the criterion (or "not
reached"), the last probe's return, peak memory (max RSS of the process) and the device;
per pair: medians over seeds and the ratios ours / SB3 of the medians. Writes a markdown
table, a PNG of probe return vs env steps and vs seconds, and the raw runs as JSON lines.

    pip install -e ".[bench]"
    python benchmarks/compare.py                   # all pairs, 5 seeds (about 35 min here)
    python benchmarks/compare.py --pairs a2c-cartpole --seeds 2
    python benchmarks/compare.py --from-raw benchmarks/results/compare_runs.jsonl  # report only

``--from-raw`` takes several runs files: a pair found in a later file (a re-run of some
pairs) replaces that pair's runs from the earlier ones, and the report names the file and
machine speed each pair comes from.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, machine_line, machine_speed_line, run_worker

AGENTS = ("ours", "sb3")


@dataclass(frozen=True)
class Pair:
    """One algorithm on one environment: our notebook, SB3's peer, the criterion and budgets."""

    title: str
    notebook: str
    env_id: str
    criterion: float
    eval_episodes: int
    eval_every: int
    goal_steps: int
    goal_seconds: float
    ours_steps: int
    sb3_algo: str
    sb3_steps: int
    max_seconds: float
    sb3_note: str


PAIRS: dict[str, Pair] = {
    "two-headed-cartpole": Pair(
        "Two-headed actor-critic on CartPole-v1", "01_actor_critic", "CartPole-v1",
        475.0, 20, 2_000, 30_000, 10.0, 60_000, "A2C", 500_000, 240.0,
        "A2C, 8 envs, ent_coef 0 (rl-zoo); the peer of both CartPole notebooks",
    ),
    "a2c-cartpole": Pair(
        "A2C on CartPole-v1", "02_a2c", "CartPole-v1",
        475.0, 20, 2_000, 20_000, 6.0, 50_000, "A2C", 500_000, 240.0,
        "A2C, 8 envs, ent_coef 0 (rl-zoo)",
    ),
    "ppo-pendulum": Pair(
        "PPO on Pendulum-v1", "03_ppo", "Pendulum-v1",
        -200.0, 20, 2_048, 25_000, 12.0, 150_000, "PPO", 150_000, 120.0,
        "PPO, 4 envs, VecNormalize, n_steps 1024, gamma 0.9, lambda 0.95, lr 1e-3, gSDE (rl-zoo)",
    ),
    "ddpg-pendulum": Pair(
        "DDPG on Pendulum-v1", "04_ddpg", "Pendulum-v1",
        -200.0, 20, 500, 6_000, 10.0, 15_000, "DDPG", 20_000, 150.0,
        "DDPG, 400x300, gamma 0.98, 10k random steps, Gaussian 0.1, lr 1e-3 (rl-zoo)",
    ),
    "td3-pendulum": Pair(
        "TD3 on Pendulum-v1", "05_td3", "Pendulum-v1",
        -200.0, 20, 500, 8_000, 15.0, 20_000, "TD3", 20_000, 150.0,
        "TD3, 400x300, gamma 0.98, 10k random steps, Gaussian 0.1, lr 1e-3 (rl-zoo)",
    ),
    "td3-mountaincar": Pair(
        "TD3 on MountainCarContinuous-v0", "05_td3", "MountainCarContinuous-v0",
        90.0, 10, 5_000, 50_000, 150.0, 100_000, "TD3", 300_000, 300.0,
        "TD3, 400x300, OU noise 0.5, batch 256, lr 1e-3 (rl-zoo)",
    ),
}  # fmt: skip


# ----------------------------------------------------------------------------- one run


class Probe:
    """The shared judge of a run: evaluates, records the curve, says when to stop."""

    def __init__(self, pair: Pair, max_steps: int, max_seconds: float) -> None:
        self.pair = pair
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.curve: list[list[float]] = []  # [env steps, training seconds, mean return]
        self.criterion: list[float] | None = None  # [env steps, training seconds]
        self.probe_seconds = 0.0
        self.rule_seconds = 0.0  # ours: the notebook's stop-rule evaluations (in the seconds)
        self.start = time.perf_counter()

    def start_clock(self) -> None:
        self.start = time.perf_counter()
        self.probe_seconds = 0.0

    def training_seconds(self) -> float:
        return time.perf_counter() - self.start - self.probe_seconds

    def __call__(self, policy: Any, steps: int) -> bool:
        """Evaluate `policy` after `steps` env steps; True when the run should stop."""
        import course_lib as cl

        t0 = time.perf_counter()
        seconds = t0 - self.start - self.probe_seconds
        with cl.random_state(12_345):
            mean = cl.evaluate(
                self.pair.env_id, policy, n_episodes=self.pair.eval_episodes, seed=0,
                batched=True,
            ).mean  # fmt: skip
        self.curve.append([int(steps), round(seconds, 2), round(float(mean), 1)])
        if self.criterion is None and mean >= self.pair.criterion:
            self.criterion = [int(steps), round(seconds, 2)]
        self.probe_seconds += time.perf_counter() - t0
        return self.criterion is not None or steps >= self.max_steps or seconds >= self.max_seconds


def _train_ours(key: str, pair: Pair, seed: int, probe: Probe) -> str:
    import dataclasses

    import torch

    import course_lib as cl
    from course_lib import stop_rule
    from course_lib.instructor.runner import load_cells

    path = ROOT / "solutions" / f"{pair.notebook}.ipynb"
    cells = ["imports", "config", "networks", "td3", "loop"] if pair.notebook == "05_td3" else None
    ns = load_cells(path, cells) if cells else load_cells(path)
    notebook_check = stop_rule.CriterionTracker.check

    def check(self, policy, steps, model=None, episode=None):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        notebook_check(self, policy, steps, model=model, episode=episode)  # its cost counts
        probe.rule_seconds += time.perf_counter() - t0
        return probe(policy, steps)

    stop_rule.CriterionTracker.check = check  # type: ignore[method-assign]
    config = ns.get("config")
    probe.start_clock()
    if key == "a2c-cartpole":
        ns["train"](seed=seed)
    elif key == "two-headed-cartpole":
        cl.seed_everything(seed)
        env = cl.make_env(config.env_name, seed=seed)
        model = ns["ActorCritic"](4, 2, config.num_hidden)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        ns["train"](env, model, optimizer, config)
    elif key == "ppo-pendulum":
        cl.seed_everything(seed)
        agent = ns["PPOAgent"](
            ns["make_envs"](seed), batch_size=config.batch_size, gamma=config.gamma,
            tau=config.tau, epsilon=config.epsilon, epoch=config.epoch,
            rollout_len=config.rollout_len, entropy_weight=config.entropy_weight,
        )  # fmt: skip
        agent.train(pair.ours_steps)
    elif key == "ddpg-pendulum":
        cl.seed_everything(seed)
        agent = ns["DDPGAgent"](
            ns["make_train_env"](config, seed), memory_size=config.memory_size,
            batch_size=config.batch_size, ou_noise_theta=config.ou_noise_theta,
            ou_noise_sigma=config.ou_noise_sigma, gamma=config.gamma, tau=config.tau,
            initial_random_steps=config.initial_random_steps,
        )  # fmt: skip
        agent.train(pair.ours_steps)
    else:
        cfg = ns["pendulum"] if pair.env_id == "Pendulum-v1" else ns["mountaincar"]
        ns["run_td3"](dataclasses.replace(cfg, num_frames=pair.ours_steps), seed, live=False)
    return "cpu"  # the notebooks' networks are small: they train on the CPU


def _train_sb3(pair: Pair, seed: int, probe: Probe, device: str) -> str:
    import numpy as np
    from stable_baselines3 import A2C, DDPG, PPO, TD3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
    from stable_baselines3.common.vec_env import VecNormalize

    probe.start_clock()
    if pair.sb3_algo == "A2C":
        env = make_vec_env(pair.env_id, n_envs=8, seed=seed)
        model = A2C("MlpPolicy", env, ent_coef=0.0, seed=seed, device=device)
    elif pair.sb3_algo == "PPO":
        env = VecNormalize(make_vec_env(pair.env_id, n_envs=4, seed=seed), gamma=0.9)
        model = PPO(
            "MlpPolicy", env, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10,
            ent_coef=0.0, learning_rate=1e-3, clip_range=0.2, use_sde=True,
            sde_sample_freq=4, seed=seed, device=device,
        )  # fmt: skip
    else:
        env = make_vec_env(pair.env_id, n_envs=1, seed=seed)
        zeros, ones = np.zeros(1), np.ones(1)
        if pair.env_id == "Pendulum-v1":
            kwargs: dict[str, Any] = dict(
                gamma=0.98, buffer_size=200_000, learning_starts=10_000,
                action_noise=NormalActionNoise(zeros, 0.1 * ones),
            )  # fmt: skip
        else:
            kwargs = dict(action_noise=OrnsteinUhlenbeckActionNoise(zeros, 0.5 * ones),
                          batch_size=256)  # fmt: skip
        algo = DDPG if pair.sb3_algo == "DDPG" else TD3
        model = algo(
            "MlpPolicy", env, gradient_steps=1, train_freq=1, learning_rate=1e-3,
            policy_kwargs=dict(net_arch=[400, 300]), seed=seed, device=device, **kwargs,
        )  # fmt: skip

    def policy(obs: np.ndarray) -> np.ndarray:
        if isinstance(env, VecNormalize):
            obs = env.normalize_obs(obs)  # with the statistics of the moment, as SB3 does
        return model.predict(obs, deterministic=True)[0]

    class ProbeCallback(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.next_probe = pair.eval_every

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_probe:
                return True
            self.next_probe += pair.eval_every
            return not probe(policy, self.num_timesteps)

    model.learn(total_timesteps=probe.max_steps, callback=ProbeCallback())
    return str(model.device)


def worker(
    key: str,
    agent: str,
    seed: int,
    device: str,
    max_steps: int | None = None,
    max_seconds: float | None = None,
) -> dict:
    import resource

    import torch

    # Adam's first step imports torch._dynamo (seconds, once per process): both agents have
    # it loaded before their clock starts, as a notebook has after its check cells.
    import torch._dynamo

    torch.set_num_threads(1)
    pair = PAIRS[key]
    budget = pair.ours_steps if agent == "ours" else pair.sb3_steps
    probe = Probe(pair, min(budget, max_steps or budget), max_seconds or pair.max_seconds)
    if agent == "ours":
        used = _train_ours(key, pair, seed, probe)
    else:
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        used = _train_sb3(pair, seed, probe, device)
    total = probe.training_seconds()
    return {
        "pair": key,
        "agent": agent,
        "seed": seed,
        "criterion": probe.criterion,
        "final": probe.curve[-1][2] if probe.curve else None,
        "steps": probe.curve[-1][0] if probe.curve else 0,
        "seconds": round(total, 2),
        "stop_rule_seconds": round(probe.rule_seconds, 2),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "device": used,
        "curve": probe.curve,
    }


# ----------------------------------------------------------------------------- report


def _median(runs: list[dict], index: int) -> float:
    """Median over seeds of steps (0) or seconds (1) to the criterion; inf if not reached."""
    return statistics.median(r["criterion"][index] if r["criterion"] else math.inf for r in runs)


def _fmt(value: float, index: int) -> str:
    if math.isinf(value):
        return "not reached"
    return f"{value:,.0f}" if index == 0 else f"{value:.1f}"


def _ratio(ours: float, sb3: float, sb3_runs: list[dict], index: int) -> tuple[str, bool]:
    """'ours / SB3' as text, and whether ours is ahead (ratio < 1)."""
    if math.isinf(ours):
        return ("ours not reached", False)
    if math.isinf(sb3):
        # SB3's median run did not get there: its value is above the least it had done.
        done = statistics.median(r["steps" if index == 0 else "seconds"] for r in sb3_runs)
        return (f"< {ours / done:.2f} (SB3 not reached)", ours < done)
    return (f"{ours / sb3:.2f}", ours < sb3)


def report(
    runs: list[dict], seeds_asked: int, parallel: int, speed: str, image: str = "compare.png"
) -> tuple[str, dict]:
    """The markdown report, and per pair whether the issue's conditions hold."""
    import stable_baselines3
    import torch

    keys = [k for k in PAIRS if any(r["pair"] == k for r in runs)]
    lines = [
        f"# Reference agents vs Stable-Baselines3 ({machine_line(parallel)})",
        "",
        f"{speed} torch {torch.__version__}, stable-baselines3 {stable_baselines3.__version__}.",
        "",
        "Env steps and training seconds to the criterion (greedy mean over the notebook's "
        "graded episodes, probed every `eval_every` env steps), medians over seeds; ratio = "
        "our median / SB3's median (below 1: ours is ahead). A run stops at the criterion "
        "or at its budget. Our seconds include the notebooks' own stop-rule evaluations. "
        "Target: the notebook issue's goal in env steps and seconds.",
        "",
        "| pair | seeds | ours: steps | SB3: steps | ratio | ours: s | SB3: s | ratio | "
        "ours meets target | ahead on both |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    verdicts: dict[str, dict] = {}
    for key in keys:
        pair = PAIRS[key]
        ours = [r for r in runs if r["pair"] == key and r["agent"] == "ours"]
        sb3 = [r for r in runs if r["pair"] == key and r["agent"] == "sb3"]
        cells, ahead = [], True
        for index in (0, 1):
            o, s = _median(ours, index), _median(sb3, index) if sb3 else math.inf
            text, is_ahead = _ratio(o, s, sb3, index) if sb3 else ("no SB3 runs", False)
            ahead &= is_ahead
            cells += [_fmt(o, index), _fmt(s, index) if sb3 else "-", text]
        met = sum(
            r["criterion"] is not None
            and r["criterion"][0] <= pair.goal_steps
            and r["criterion"][1] <= pair.goal_seconds
            for r in ours
        )
        verdicts[key] = {"ahead": ahead, "met": met, "seeds": len(ours)}
        lines.append(
            f"| {pair.title} | {len(ours)} | {' | '.join(cells)} | {met}/{len(ours)} "
            f"(≤ {pair.goal_steps:,} steps, ≤ {pair.goal_seconds:g} s) | "
            f"{'yes' if ahead else 'no'} |"
        )
    lines += ["", f"![probe return vs env steps and seconds]({image})", ""]
    for key in keys:
        pair = PAIRS[key]
        lines += [
            f"## {pair.title} (notebook {pair.notebook[:2]})",
            "",
            f"Criterion: mean >= {pair.criterion:g} over {pair.eval_episodes} graded episodes, "
            f"probed every {pair.eval_every:,} env steps. Budgets: ours {pair.ours_steps:,} "
            f"steps (the notebook's), SB3 {pair.sb3_steps:,} (rl-zoo's), both at most "
            f"{pair.max_seconds:g} s. SB3: {pair.sb3_note}.",
            "",
            "| agent | seed | steps to criterion | seconds | last probe | steps run | "
            "seconds run | of which stop rule | peak MiB | device |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in sorted(
            (r for r in runs if r["pair"] == key), key=lambda r: (r["agent"], r["seed"])
        ):
            crit = r["criterion"]
            rule = f"{r['stop_rule_seconds']:.1f}" if r["agent"] == "ours" else "-"
            c = f"{crit[0]:,} | {crit[1]:.1f}" if crit else "not reached | -"
            lines.append(
                f"| {'ours' if r['agent'] == 'ours' else 'SB3'} | {r['seed']} | {c} | "
                f"{r['final']} | {r['steps']:,} | {r['seconds']:.1f} | {rule} | "
                f"{r['peak_mib']:.0f} | "
                f"{r['device']} |"
            )
        lines.append("")
    if any(len([r for r in runs if r["pair"] == k]) < 2 * seeds_asked for k in keys):
        lines += ["Some runs are missing: see the command's output for the failures.", ""]
    return "\n".join(lines), verdicts


def plot(runs: list[dict], path: Path) -> None:
    """Probe return vs env steps and vs seconds: median over seeds with a min-max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    keys = [k for k in PAIRS if any(r["pair"] == k for r in runs)]
    fig, axes = plt.subplots(
        len(keys), 2, figsize=(11, 2.9 * len(keys)), squeeze=False, constrained_layout=True
    )
    colors = {"ours": "tab:blue", "sb3": "tab:orange"}
    for row, key in zip(axes, keys, strict=True):
        pair = PAIRS[key]
        for col, (ax, index, label) in enumerate(
            zip(row, (0, 1), ("env steps", "training seconds"), strict=True)
        ):
            for agent in AGENTS:
                curves = [
                    np.array(r["curve"]) for r in runs
                    if r["pair"] == key and r["agent"] == agent and r["curve"]
                ]  # fmt: skip
                if not curves:
                    continue
                end = max(c[-1, index] for c in curves)
                grid = np.linspace(0, end, 200)
                # each run holds its last probe after it stops (at the criterion or budget)
                ys = np.array([np.interp(grid, c[:, index], c[:, 2]) for c in curves])
                start = min(c[0, index] for c in curves)
                keep = grid >= start
                name = "ours" if agent == "ours" else f"SB3 {pair.sb3_algo}"
                ax.plot(grid[keep], np.median(ys, 0)[keep], color=colors[agent],
                        label=f"{name} (median of {len(curves)})")  # fmt: skip
                ax.fill_between(grid[keep], ys.min(0)[keep], ys.max(0)[keep],
                                color=colors[agent], alpha=0.2, linewidth=0)  # fmt: skip
                for c in curves:
                    ax.plot(c[-1, index], c[-1, 2], "o", ms=3, color=colors[agent])
            ax.axhline(pair.criterion, color="k", ls="--", lw=0.8, label="criterion")
            ax.set_xlabel(f"{label} (log scale)")
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(
                FuncFormatter(lambda x, _: f"{x:,.0f}" if x >= 1 else f"{x:g}")
            )
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_title(f"{pair.title}" if col == 0 else "same runs, against time", fontsize=10)
            if col == 0:
                ax.set_ylabel(f"greedy mean ({pair.eval_episodes} ep.)")
                ax.legend(fontsize=8, loc="best", framealpha=0.9)
    fig.suptitle("Probe return (dots: where each run stopped)", fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ----------------------------------------------------------------------------- driver


def run(args: argparse.Namespace) -> int:
    speed = machine_speed_line()  # measured before the runs load the machine
    budget = []
    if args.max_steps:
        budget += ["--max-steps", str(args.max_steps)]
    if args.max_seconds:
        budget += ["--max-seconds", str(args.max_seconds)]
    jobs = [(key, agent, seed) for seed in range(args.seeds) for key in args.pairs
            for agent in AGENTS]  # fmt: skip
    raw = args.out.with_name(args.out.stem + "_runs.jsonl")
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text("")
    raw.with_suffix(".meta.json").write_text(json.dumps({"machine_speed": speed}) + "\n")
    runs, failures = [], []
    script = Path(__file__)
    with ThreadPoolExecutor(args.parallel) as pool:
        futures = {
            pool.submit(
                run_worker, script,
                [key, "--agent", agent, "--seed", str(seed), "--device", args.device, *budget],
            ): (key, agent, seed)
            for key, agent, seed in jobs
        }  # fmt: skip
        for done, future in enumerate(as_completed(futures), 1):
            key, agent, seed = futures[future]
            try:
                row = future.result()
            except Exception as error:  # one failed run must not lose the others
                failures.append(f"{key} {agent} seed {seed}: {error}")
                print(f"[{done}/{len(jobs)}] FAILED {failures[-1]}", file=sys.stderr, flush=True)
                continue
            runs.append(row)
            with raw.open("a") as f:
                f.write(json.dumps(row) + "\n")
            crit = row["criterion"]
            print(
                f"[{done}/{len(jobs)}] {key} {agent} seed {seed}: "
                + (f"criterion at {crit[0]:,} steps, {crit[1]:.1f} s" if crit else "not reached")
                + f" (last probe {row['final']})",
                flush=True,
            )
    return _write(runs, args, speed) or (1 if failures else 0)


def _load_raw(
    paths: list[Path], pairs: list[str], parser: argparse.ArgumentParser
) -> tuple[list[dict], str]:
    """The runs of ``pairs`` from runs files (later files replace a pair's earlier runs),
    and the machine-speed line(s) recorded beside them."""
    by_pair: dict[str, tuple[Path, list[dict]]] = {}
    for path in paths:
        if not path.is_file():
            parser.error(f"{path}: no such file (it is written next to --out by a run)")
        file_runs = [json.loads(line) for line in path.read_text().splitlines() if line]
        for key in dict.fromkeys(r["pair"] for r in file_runs):
            if key in pairs:
                by_pair[key] = (path, [r for r in file_runs if r["pair"] == key])
    runs = [r for key in PAIRS if key in by_pair for r in by_pair[key][1]]
    speeds = []
    for path in dict.fromkeys(p for p, _ in by_pair.values()):
        meta = path.with_suffix(".meta.json")  # written beside the runs by a run
        speed = (
            json.loads(meta.read_text())["machine_speed"]
            if meta.is_file()
            else "Machine speed: not recorded with these runs."
        )
        if len(paths) > 1:
            titles = ", ".join(
                PAIRS[k].title for k in PAIRS if k in by_pair and by_pair[k][0] == path
            )
            speed = f"{titles}: runs of `{path.name}`. {speed}"
        speeds.append(speed)
    return runs, "\n\n".join(speeds)


def _write(runs: list[dict], args: argparse.Namespace, speed: str) -> int:
    if not runs:
        print("no runs to report", file=sys.stderr)
        return 1
    text, _ = report(runs, args.seeds, args.parallel, speed, args.out.with_suffix(".png").name)
    plot(runs, args.out.with_suffix(".png"))
    args.out.write_text(text)
    print(text)
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", choices=list(PAIRS), default=list(PAIRS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument(
        "--device", default="auto", help="SB3's device: auto (a GPU when present), cpu, cuda"
    )
    parser.add_argument(
        "--max-steps", type=int, help="cap every run's env steps (a quick try, a smoke test)"
    )
    parser.add_argument("--max-seconds", type=float, help="cap every run's training seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/compare.md")
    parser.add_argument(
        "--from-raw",
        type=Path,
        nargs="+",
        help="write the report from runs files (.jsonl), no training; a pair in a later file "
        "replaces its runs from earlier ones",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--agent", choices=AGENTS, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        row = worker(
            args.worker, args.agent, args.seed, args.device, args.max_steps, args.max_seconds
        )
        print(json.dumps(row))
        return 0
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        parser.error('stable-baselines3 is missing: pip install -e ".[bench]"')
    if args.from_raw:
        runs, speed = _load_raw(args.from_raw, args.pairs, parser)
        return _write(runs, args, speed)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
