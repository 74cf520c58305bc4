"""Similarity screening (``course-lib report --similarity``): what it finds, what it leaves,
and how long it takes; the course's AST fingerprint against copydetect's token winnowing.

The measurement set is notebook 02 (A2C): the sample class's students (the reference's code
with one edit each, so alike among themselves), two correct solutions written independently
of the reference and of each other (``indie_1``, ``indie_2``), and two copies made to hide:
``copy_of_indie_1`` (indie_1 with every name changed, comments added, lines re-wrapped and
statements reordered where the order is free) and ``copy_of_ada`` (the reference's answers
renamed). Both methods subtract what the released notebook gives (its cells' code and the code
shown in its text) and score a pair by the share of the larger answer found in the other,
exercise by exercise, weighted by size. copydetect (MOSS's winnowing over Pygments tokens,
every name replaced by one letter) runs with its defaults (noise threshold 25 characters,
guarantee threshold 30). Then 300 synthetic students (renamed variants of the three original
solutions) time the screening.

    python benchmarks/similarity.py --out benchmarks/results/similarity.md
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, machine_line

ASSIGNMENT = "02_a2c"
THRESHOLD = 0.6

_NETWORKS_1 = '''class Actor(nn.Module):
    """Policy network: observations (B, num_inputs) -> Categorical over num_actions."""

    def __init__(self, num_inputs, num_actions, hidden=config.hidden):
        super().__init__()
        self.fc1 = nn.Linear(num_inputs, hidden)
        self.fc2 = nn.Linear(hidden, num_actions)

    def forward(self, obs):
        """obs: (B, num_inputs) float32 -> Categorical with batch shape (B,)."""
        h = torch.relu(self.fc1(obs))
        return Categorical(logits=self.fc2(h))


class Critic(nn.Module):
    """Value network: observations (B, num_inputs) -> V of shape (B, 1)."""

    def __init__(self, num_inputs, hidden=config.hidden):
        super().__init__()
        self.fc1 = nn.Linear(num_inputs, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, obs):
        """obs: (B, num_inputs) float32 -> values (B, 1) float32."""
        return self.fc2(F.relu(self.fc1(obs)))
'''

_NETWORKS_2 = '''class Actor(nn.Module):
    """Policy network: observations (B, num_inputs) -> Categorical over num_actions."""

    def __init__(self, num_inputs, num_actions, hidden=config.hidden):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(num_inputs, hidden), nn.Tanh())
        self.head = nn.Linear(hidden, num_actions)

    def forward(self, obs):
        """obs: (B, num_inputs) float32 -> Categorical with batch shape (B,)."""
        logits = self.head(self.body(obs))
        return Categorical(logits=logits)


class Critic(nn.Module):
    """Value network: observations (B, num_inputs) -> V of shape (B, 1)."""

    def __init__(self, num_inputs, hidden=config.hidden):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(num_inputs, hidden), nn.Tanh())
        self.value = nn.Linear(hidden, 1)

    def forward(self, obs):
        """obs: (B, num_inputs) float32 -> values (B, 1) float32."""
        features = self.body(obs)
        return self.value(features)
'''

INDIE_1 = {
    "networks": _NETWORKS_1,
    "compute_returns": """T = len(rewards)
out = [0.0] * T
running = 0.0
for t in range(T - 1, -1, -1):
    running = rewards[t] + gamma * running
    out[t] = running
return out""",
    "evaluate_actions": """dist = actor(obs)
lp = dist.log_prob(actions)
v = critic(obs).view(-1)
return lp, v""",
    "a2c_losses": """v = values.view(-1)
target = returns.detach()
adv = target - v.detach()
actor_loss = (-log_probs * adv).mean()
critic_loss = F.smooth_l1_loss(v, target)
return actor_loss, critic_loss""",
    "train": """opt_a = torch.optim.Adam(actor.parameters(), lr=lr)
opt_c = torch.optim.Adam(critic.parameters(), lr=lr)
episode = 0
while episode < num_episodes:
    episode += 1
    obs, actions, rewards = play_episode(env, actor)
    G = torch.as_tensor(compute_returns(rewards, gamma), dtype=torch.float32)
    if G.numel() > 1:
        G = (G - G.mean()) / (G.std() + 1e-8)
    lp, v = evaluate_actions(actor, critic, obs, actions)
    la, lc = a2c_losses(lp, v, G)
    opt_a.zero_grad()
    la.backward()
    nn.utils.clip_grad_norm_(actor.parameters(), config.max_grad_norm)
    opt_a.step()
    opt_c.zero_grad()
    lc.backward()
    nn.utils.clip_grad_norm_(critic.parameters(), config.max_grad_norm)
    opt_c.step()
    steps += len(rewards)
    episode_returns.append(float(sum(rewards)))
    actor_losses.append(la.item())
    critic_losses.append(lc.item())
    if tracker.due(steps) and tracker.check(greedy(actor), steps, model=actor, episode=episode):
        break
    if steps >= config.max_steps:
        break
    plot.update(episode_returns, actor_losses, critic_losses, step=steps, evals=tracker.points)""",
}

INDIE_2 = {
    "networks": _NETWORKS_2,
    "compute_returns": """G = 0.0
result = []
for r in rewards[::-1]:
    G = G * gamma + r
    result.insert(0, G)
return result""",
    "evaluate_actions": """policy = actor(obs)
state_values = critic(obs)[:, 0]
return policy.log_prob(actions), state_values""",
    "a2c_losses": """values = values.flatten()
advantage = (returns - values).detach()
policy_loss = -torch.mean(log_probs * advantage)
value_loss = F.smooth_l1_loss(values, returns.detach())
return policy_loss, value_loss""",
    "train": """optimizers = {
    "actor": torch.optim.Adam(actor.parameters(), lr=lr),
    "critic": torch.optim.Adam(critic.parameters(), lr=lr),
}
for episode in range(1, num_episodes + 1):
    states, acts, rews = play_episode(env, actor)
    targets = torch.tensor(compute_returns(rews, gamma), dtype=torch.float32)
    if len(rews) > 1:
        targets = (targets - targets.mean()) / (targets.std() + 1e-8)
    logp, vals = evaluate_actions(actor, critic, states, acts)
    losses = a2c_losses(logp, vals, targets)
    for name, net, loss in zip(("actor", "critic"), (actor, critic), losses):
        optimizers[name].zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), config.max_grad_norm)
        optimizers[name].step()
    steps += len(rews)
    episode_returns.append(sum(rews))
    actor_losses.append(float(losses[0]))
    critic_losses.append(float(losses[1]))
    done = tracker.due(steps) and tracker.check(greedy(actor), steps, model=actor, episode=episode)
    if done or steps >= config.max_steps:
        break
    plot.update(episode_returns, actor_losses, critic_losses, step=steps, evals=tracker.points)""",
}

# indie_1 hidden: every name changed, comments, re-wrapped lines, free statements reordered
COPY_OF_INDIE_1 = {
    "networks": _NETWORKS_1.replace("fc1", "layer_in")
    .replace("fc2", "layer_out")
    .replace("h = torch.relu", "hid = torch.relu")
    .replace("self.layer_out(hid)", "self.layer_out(hid)")
    .replace("logits=self.layer_out(h)", "logits=self.layer_out(hid)"),
    "compute_returns": """# walk backwards through the episode
n = len(rewards)
rets = [0.0] * n
acc = 0.0  # the discounted sum so far
for i in range(n - 1, -1, -1):
    acc = rewards[i] + gamma * acc
    rets[i] = acc
return rets""",
    "evaluate_actions": """pi = actor(obs)  # the policy's distribution
logp_a = pi.log_prob(actions)
vals = critic(obs).view(-1)
return logp_a, vals""",
    "a2c_losses": """vals = values.view(-1)
tgt = returns.detach()
# the advantage is a weight, not a target
advantage_term = tgt - vals.detach()
pol_loss = (-log_probs * advantage_term).mean()
val_loss = F.smooth_l1_loss(vals, tgt)
return pol_loss, val_loss""",
    "train": """critic_optim = torch.optim.Adam(critic.parameters(), lr=lr)
actor_optim = torch.optim.Adam(actor.parameters(), lr=lr)
ep = 0
while ep < num_episodes:
    ep += 1
    o, a, rw = play_episode(env, actor)
    ret = torch.as_tensor(compute_returns(rw, gamma), dtype=torch.float32)
    if ret.numel() > 1:  # normalize
        ret = (ret - ret.mean()) / (ret.std() + 1e-8)
    logp, val = evaluate_actions(actor, critic, o, a)
    l_actor, l_critic = a2c_losses(logp, val, ret)
    actor_optim.zero_grad()
    l_actor.backward()
    nn.utils.clip_grad_norm_(actor.parameters(), config.max_grad_norm)
    actor_optim.step()
    critic_optim.zero_grad()
    l_critic.backward()
    nn.utils.clip_grad_norm_(critic.parameters(), config.max_grad_norm)
    critic_optim.step()
    steps += len(rw)
    episode_returns.append(float(sum(rw)))
    actor_losses.append(l_actor.item())
    critic_losses.append(l_critic.item())
    if tracker.due(steps) and tracker.check(greedy(actor), steps, model=actor, episode=ep):
        break
    if steps >= config.max_steps:
        break
    plot.update(episode_returns, actor_losses, critic_losses, step=steps,
                evals=tracker.points)""",
}

_ADA_RENAMES = {
    "returns": "rets",  # in compute_returns only (below)
    "g": "acc",
    "reward": "r",
    "log_probs": "logp",
    "advantages": "adv",
    "actor_loss": "pol_loss",
    "critic_loss": "val_loss",
    "actor_opt": "optim_pi",
    "critic_opt": "optim_v",
    "opt": "optim",
    "loss": "objective",
    "net": "module",
}


def _rename(code: str, renames: dict[str, str]) -> str:
    """Whole-word renames outside attribute access (``x.log_prob`` stays)."""
    for old, new in renames.items():
        code = re.sub(rf"(?<![\w.]){re.escape(old)}\b(?!\s*=[^=]\s*[\w\"'])", new, code)
        code = re.sub(rf"(?<![\w.]){re.escape(old)}(?=\s*=[^=])", new, code)
    return code


def _filled(overrides: dict) -> nbformat.NotebookNode:
    from course_lib.instructor.grading.sample import fill

    def whole(text: str):
        return lambda _answer: text

    spec = {k: (whole(v) if k == "networks" else v) for k, v in overrides.items()}
    return fill(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb", spec)


def measurement_set(tmp: Path) -> dict[str, Path]:
    """The sample class's notebook-02 students plus the four made here, as files."""
    from course_lib.instructor.grading.sample import make_sample_class
    from course_lib.instructor.grading.similarity import answer_cells

    make_sample_class(ROOT / "solutions", tmp, [ASSIGNMENT])
    paths = {p.parent.parent.name: p for p in (tmp / "submitted").glob(f"*/{ASSIGNMENT}/*.ipynb")}
    ada = nbformat.read(paths["ada"], as_version=4)
    for cell in ada.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answer_cells(ada) and cell.metadata["nbgrader"].get("solution"):
            renames = dict(_ADA_RENAMES)
            if gid != "compute_returns":
                renames.pop("returns")
            cell.source = _rename(cell.source, renames)
    made = {
        "indie_1": _filled(INDIE_1),
        "indie_2": _filled(INDIE_2),
        "copy_of_indie_1": _filled(COPY_OF_INDIE_1),
        "copy_of_ada": ada,
    }
    for student, nb in made.items():
        path = tmp / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        paths[student] = path
    return {s: p for s, p in paths.items() if p.stat().st_size}


def given_code() -> dict[str, str]:
    """What the released notebook gives, per answer cell: the cell's own released code plus
    every code block its text shows (added to each cell's boilerplate)."""
    from course_lib.instructor.grading.similarity import given_cells
    from course_lib.instructor.release import release_notebook

    return given_cells(release_notebook(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb"))


# --------------------------------------------------------------------------- copydetect


def copydetect_screen(answers: dict[str, dict[str, str]], given: dict[str, str]) -> dict:
    """Every pair's score with copydetect's fingerprints (the released code as boilerplate),
    scored like the course's screening."""
    import io

    from copydetect import CodeFingerprint, compare_files

    def fingerprint(code: str, window: int, boiler: list[int] | None = None) -> CodeFingerprint:
        return CodeFingerprint(
            "a.py", 25, window, boilerplate=boiler, language="python", fp=io.StringIO(code)
        )

    boiler = {gid: list(fingerprint(code, 1).hashes) for gid, code in given.items()}
    prints = {
        s: {gid: fingerprint(code, 6, boiler.get(gid)) for gid, code in cells.items()}
        for s, cells in answers.items()
    }
    scores = {}
    for a, b in itertools.combinations(sorted(prints), 2):
        found = total = 0.0
        for gid in set(prints[a]) & set(prints[b]):
            fa, fb = prints[a][gid], prints[b][gid]
            if not fa.token_coverage or not fb.token_coverage:
                continue
            _, (share_a, share_b), _ = compare_files(fa, fb)
            larger = max(fa.token_coverage, fb.token_coverage)
            found += (share_a if fa.token_coverage >= fb.token_coverage else share_b) * larger
            total += larger
        scores[(a, b)] = found / total if total else 0.0
    return scores


# --------------------------------------------------------------------------- run


def synthetic(answers: dict[str, dict[str, str]], n: int, seed: int = 0) -> dict:
    """``n`` students, each a renamed variant of one of the three original solutions."""
    rng = random.Random(seed)
    sources = [answers["ada"], answers["indie_1"], answers["indie_2"]]
    out = {}
    for i in range(n):
        base = rng.choice(sources)
        renames = {old: f"{old}_{rng.randrange(1000)}" for old in ("rewards", "obs", "values")}
        out[f"s{i:03d}"] = {gid: _rename(code, renames) for gid, code in base.items()}
    return out


def _margin(scores: dict, find: list, leave: list) -> float:
    def get(a: str, b: str) -> float:
        return scores.get((a, b), scores.get((b, a), 0.0))

    return min(get(a, b) for a, b in find) - max(get(a, b) for a, b in leave)


def run(out: Path | None) -> int:
    import tempfile

    from course_lib.instructor.grading.similarity import read_answers, screen

    with tempfile.TemporaryDirectory() as tmp:
        paths = measurement_set(Path(tmp))
        answers, _ = read_answers({ASSIGNMENT: paths})
    answers = answers[ASSIGNMENT]
    given = given_code()
    t0 = time.perf_counter()
    pairs = screen({ASSIGNMENT: answers}, {ASSIGNMENT: given}, threshold=0.0)
    ast_seconds = time.perf_counter() - t0
    asts = {(p.a, p.b): p.score for p in pairs}
    t0 = time.perf_counter()
    cd = copydetect_screen(answers, given)
    cd_seconds = time.perf_counter() - t0
    must_find = [("copy_of_indie_1", "indie_1"), ("ada", "copy_of_ada")]
    must_leave = [("indie_1", "indie_2"), ("ada", "indie_1"), ("ada", "indie_2")]
    lines = [
        f"# Similarity screening (notebook {ASSIGNMENT}; {machine_line(1)})",
        "",
        "Score: the share of the larger answer found in the other, over the notebook's answer "
        "cells, weighted by size, after subtracting what the released notebook gives. A pair "
        f"is listed from {THRESHOLD:.0%}.",
        "",
        "| pair | what it is | AST fingerprint (the course's) | copydetect |",
        "| --- | --- | --- | --- |",
    ]
    what = {
        **dict.fromkeys(must_find, "a copy made to hide"),
        **dict.fromkeys(must_leave, "independent"),
    }
    for a, b in sorted(set(cd) | set(asts)):
        key = (a, b)
        label = (
            what.get(key)
            or what.get((b, a))
            or (
                "both the reference with one edit"
                if not ({a, b} & {"indie_1", "indie_2", "copy_of_indie_1"})
                else "unrelated"
            )
        )
        lines.append(f"| {a} / {b} | {label} | {asts.get(key, 0):.0%} | {cd.get(key, 0):.0%} |")

    def verdict(scores: dict) -> tuple[int, int]:
        def get(a: str, b: str) -> float:
            return scores.get((a, b), scores.get((b, a), 0.0))

        found = sum(get(a, b) >= THRESHOLD for a, b in must_find)
        left = sum(get(a, b) < THRESHOLD for a, b in must_leave)
        return found, left

    cd_found, cd_left = verdict(cd)
    ast_found, ast_left = verdict(asts)
    big = synthetic(answers, 300)
    t0 = time.perf_counter()
    flagged = screen({ASSIGNMENT: big}, {ASSIGNMENT: given}, threshold=THRESHOLD)
    big_ast = time.perf_counter() - t0
    t0 = time.perf_counter()
    copydetect_screen(big, given)
    big_cd = time.perf_counter() - t0
    lines += [
        "",
        f"Copies found (of {len(must_find)}): AST **{ast_found}**, copydetect **{cd_found}**. "
        f"Independent pairs left alone (of {len(must_leave)}): AST **{ast_left}**, "
        f"copydetect **{cd_left}**. Margin between the lowest copy and the highest "
        f"independent pair: AST **{_margin(asts, must_find, must_leave):+.0%}**, copydetect "
        f"**{_margin(cd, must_find, must_leave):+.0%}**.",
        "",
        f"Time for the {len(answers)} students above: AST {ast_seconds:.2f} s, copydetect "
        f"{cd_seconds:.2f} s. For 300 synthetic students (44,850 pairs, 5 answer cells "
        f"each): AST **{big_ast:.1f} s** ({len(flagged):,} pairs listed; the synthetic "
        f"students are renamed variants of three solutions), copydetect {big_cd:.1f} s.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    return run(parser.parse_args().out)


if __name__ == "__main__":
    raise SystemExit(main())
