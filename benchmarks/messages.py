"""Do the visible checks name the bug? A corpus of realistic mistakes, each made in the
reference solution's own code, and what the student sees.

Each mistake is one edit of an instructor notebook's solution cell (the code a student writes
there, with one thing wrong). The notebook's cells run in a fresh namespace up to the
exercise's test cell, whose visible part (the checks a student runs) then runs too. The
mistake is **named** when the check fails with a message that matches the mistake's pattern
(what a person reading the message must learn: the stored actions are used, the gradients
accumulate, ...); **vague** when it fails with another message; **missed** when it passes.

    python benchmarks/messages.py --out benchmarks/results/messages.md

The corpus mixes the notebooks' "classic mistakes", the source homework's own bugs and the
update-code mistakes held out when the grader was tried on an outside class (the actor loss
on the stored actions, an optimizer never zeroed, a critic regressed on its old values).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT


@dataclass(frozen=True)
class Mistake:
    """One realistic mistake: ``old`` becomes ``new`` in the solution cell ``cell``."""

    notebook: str
    cell: str
    test: str
    name: str
    old: str
    new: str
    names: str  # a regex: the visible message names the bug when it matches


DDPG_UPDATE = "04_ddpg", "agent", "test_agent"
TD3_TRAIN = "05_td3", "td3", "test_td3"
PPO_UPDATE = "03_ppo", "agent", "test_update_model"

CORPUS = [
    # -- notebook 04: DDPG's update_model, the agent's step, soft_update, OU noise
    Mistake(
        *DDPG_UPDATE,
        "actor loss on the stored actions",
        "-self.critic(state, self.actor(state)).mean()",
        "-self.critic(state, action).mean()",
        r"stored actions",
    ),
    Mistake(
        *DDPG_UPDATE,
        "critic optimizer never zeroed",
        "        self.critic_optimizer.zero_grad()\n",
        "",
        r"critic's gradients carry over",
    ),
    Mistake(
        *DDPG_UPDATE,
        "actor optimizer never zeroed",
        "        self.actor_optimizer.zero_grad()\n",
        "",
        r"actor's gradients carry over",
    ),
    Mistake(
        *DDPG_UPDATE,
        "zero_grad between backward and step",
        "        self.critic_optimizer.zero_grad()\n        critic_loss.backward()\n",
        "        critic_loss.backward()\n        self.critic_optimizer.zero_grad()\n",
        r"zeroed .* between critic_loss.backward\(\) and the step",
    ),
    Mistake(
        *DDPG_UPDATE,
        "critic optimizer never steps",
        "        self.critic_optimizer.step()\n",
        "",
        r"critic_optimizer.step\(\) ran 0 times",
    ),
    Mistake(
        *DDPG_UPDATE,
        "TD target from the online networks",
        "self.critic_target(next_state, self.actor_target(next_state))",
        "self.critic(next_state, self.actor(next_state))",
        r"online networks",
    ),
    Mistake(
        *DDPG_UPDATE,
        "no done mask",
        "reward + self.gamma * (1.0 - done) * next_value",
        "reward + self.gamma * next_value",
        r"ignores done",
    ),
    Mistake(
        *DDPG_UPDATE,
        "done as the mask",
        "reward + self.gamma * (1.0 - done) * next_value",
        "reward + self.gamma * done * next_value",
        r"by done instead of \(1 - done\)",
    ),
    Mistake(
        *DDPG_UPDATE,
        "TD target with gradient",
        "        with torch.no_grad():\n"
        "            next_value = self.critic_target(next_state, self.actor_target(next_state))\n"
        "            target = reward + self.gamma * (1.0 - done) * next_value\n",
        "        next_value = self.critic_target(next_state, self.actor_target(next_state))\n"
        "        target = reward + self.gamma * (1.0 - done) * next_value\n",
        r"target networks received gradient",
    ),
    Mistake(
        *DDPG_UPDATE,
        "actor loss sign",
        "actor_loss = -self.critic(state, self.actor(state)).mean()",
        "actor_loss = self.critic(state, self.actor(state)).mean()",
        r"wrong sign",
    ),
    Mistake(
        *DDPG_UPDATE,
        "reward (B,) against Q (B, 1)",
        'reward = torch.as_tensor(batch["rews"]).reshape(-1, 1)',
        'reward = torch.as_tensor(batch["rews"])',
        r"broadcasts",
    ),
    Mistake(
        *DDPG_UPDATE,
        "losses returned as tensors",
        "return actor_loss.item(), critic_loss.item()",
        "return actor_loss, critic_loss",
        r"plain floats",
    ),
    Mistake(
        *DDPG_UPDATE,
        "soft_update's arguments swapped",
        "soft_update(self.actor_target, self.actor, self.tau)",
        "soft_update(self.actor, self.actor_target, self.tau)",
        r"arguments are swapped",
    ),
    Mistake(
        *DDPG_UPDATE,
        "actor's action detached",
        "-self.critic(state, self.actor(state)).mean()",
        "-self.critic(state, self.actor(state).detach()).mean()",
        r"no gradient reaches the actor",
    ),
    Mistake(
        *DDPG_UPDATE,
        "truncation stored as done",
        "self.memory.store(*self.transition, reward, next_state, terminated)",
        "self.memory.store(*self.transition, reward, next_state, terminated or truncated)",
        r"truncation",
    ),
    Mistake(
        *DDPG_UPDATE,
        "exploration action not clipped",
        "action = np.clip(action + self.noise.sample(), -1.0, 1.0)",
        "action = action + self.noise.sample()",
        r"not clipped",
    ),
    Mistake(
        "04_ddpg",
        "soft_update",
        "test_soft_update",
        "hard update",
        "torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), tau)",
        "target.load_state_dict(source.state_dict())",
        r"copy of the source",
    ),
    Mistake(
        "04_ddpg",
        "soft_update",
        "test_soft_update",
        "tau on the wrong side",
        "list(source.parameters()), tau)",
        "list(source.parameters()), 1 - tau)",
        r"tau is on the wrong side",
    ),
    Mistake(
        "04_ddpg",
        "ou_noise",
        "test_ou_noise",
        "uniform OU kicks (the homework's)",
        "np.random.standard_normal(len(x))",
        "np.random.rand(len(x))",
        r"uniform|never negative|not centred",
    ),
    # -- notebook 05: TD3's train
    Mistake(
        *TD3_TRAIN,
        "max of the twin targets",
        "torch.min(target_q1, target_q2)",
        "torch.max(target_q1, target_q2)",
        r"MAX",
    ),
    Mistake(
        *TD3_TRAIN,
        "smoothing noise not clipped",
        "(torch.randn_like(next_action) * self.policy_noise).clamp(\n"
        "                -self.noise_clip, self.noise_clip\n            )",
        "torch.randn_like(next_action) * self.policy_noise",
        r"exceeds ±noise_clip",
    ),
    Mistake(
        *TD3_TRAIN,
        "target action not clamped",
        "next_action = (next_action + noise).clamp(-self.max_action, self.max_action)",
        "next_action = next_action + noise",
        r"leaves \[-max_action, max_action\]",
    ),
    Mistake(
        *TD3_TRAIN,
        "no policy delay",
        "if self.total_it % self.policy_freq == 0:",
        "if True:",
        r"despite policy_freq",
    ),
    Mistake(
        *TD3_TRAIN,
        "actor loss on the stored actions",
        "-self.critic.Q1(state, self.actor(state)).mean()",
        "-self.critic.Q1(state, action).mean()",
        r"stored actions",
    ),
    Mistake(
        *TD3_TRAIN,
        "critic optimizer never zeroed",
        "        self.critic_optimizer.zero_grad()\n",
        "",
        r"carry over",
    ),
    Mistake(
        *TD3_TRAIN,
        "no done mask",
        "reward + not_done * self.discount * target_q",
        "reward + self.discount * target_q",
        r"mask is missing",
    ),
    Mistake(
        *TD3_TRAIN,
        "target from the online critic",
        "self.critic_target(next_state, next_action)",
        "self.critic(next_state, next_action)",
        r"ONLINE critic",
    ),
    Mistake(
        *TD3_TRAIN,
        "tau on the wrong side",
        "list(net.parameters()),\n                                         self.tau)",
        "list(net.parameters()),\n                                         1 - self.tau)",
        r"tau on the wrong side",
    ),
    # -- notebook 03: PPO's losses, GAE, minibatches, the agent's step
    Mistake(
        "03_ppo",
        "ppo_losses",
        "test_ppo_losses",
        "critic regressed on its old values",
        "critic_loss = (returns.detach() - values.reshape(-1)).pow(2).mean()",
        "critic_loss = (old_values - values.reshape(-1)).pow(2).mean()",
        r"onto old_values",
    ),
    Mistake(
        "03_ppo",
        "ppo_losses",
        "test_ppo_losses",
        "old log-probabilities not detached",
        "(log_probs - old_log_probs.detach()).exp()",
        "(log_probs - old_log_probs).exp()",
        r"gradient into old_log_probs",
    ),
    Mistake(
        "03_ppo",
        "ppo_losses",
        "test_ppo_losses",
        "advantage clipped instead of the ratio",
        "ratio.clamp(1.0 - epsilon, 1.0 + epsilon) * advantages",
        "ratio * advantages.clamp(1.0 - epsilon, 1.0 + epsilon)",
        r"clip the RATIO",
    ),
    Mistake(
        "03_ppo",
        "ppo_losses",
        "test_ppo_losses",
        "max of the surrogate terms",
        "surrogate = torch.min(",
        "surrogate = torch.max(",
        r"MIN",
    ),
    Mistake(
        "03_ppo",
        "compute_gae",
        "test_compute_gae",
        "GAE: no mask on the bootstrap",
        "delta = rewards[t] + gamma * values[t + 1] * masks[t] - values[t]",
        "delta = rewards[t] + gamma * values[t + 1] - values[t]",
        r"mask",
    ),
    Mistake(
        "03_ppo",
        "compute_gae",
        "test_compute_gae",
        "GAE returned in reverse order",
        "return returns[::-1]",
        "return returns",
        r"revers|order",
    ),
    Mistake(
        "03_ppo",
        "ppo_iter",
        "test_ppo_iter",
        "minibatches drawn with replacement (the homework's)",
        "        order = torch.randperm(batch_size)\n"
        "        for start in range(0, batch_size, mini_batch_size):\n"
        "            idx = order[start:start + mini_batch_size]\n",
        "        for _ in range(batch_size // mini_batch_size):\n"
        "            idx = np.random.choice(batch_size, mini_batch_size, replace=False)\n",
        r"WITH replacement",
    ),
    Mistake(
        "03_ppo",
        "agent",
        "test_agent_step",
        "no bootstrap at a time-limit truncation",
        "learn_reward[i] += self.gamma * float(self.critic(final[None])[0, 0])",
        "pass",
        r"truncat",
    ),
    # -- notebook 03: PPO's update_model
    Mistake(
        *PPO_UPDATE,
        "new log-probabilities are the stored ones",
        "ppo_losses(log_prob, old_log_prob, adv,",
        "ppo_losses(old_log_prob, old_log_prob, adv,",
        r"are the stored ones",
    ),
    Mistake(
        *PPO_UPDATE,
        "log-probability of a fresh sample",
        "_, dist = self.actor(state)\n            log_prob = dist.log_prob(action).sum(-1)",
        "new_action, dist = self.actor(state)\n"
        "            log_prob = dist.log_prob(new_action).sum(-1)",
        r"stored actions",
    ),
    Mistake(
        *PPO_UPDATE,
        "critic regressed on the stored values",
        "value = self.critic(state)\n",
        "value = old_value\n",
        r"values stored during the rollout",
    ),
    Mistake(
        *PPO_UPDATE,
        "advantages without the baseline",
        "advantages = returns - values.reshape(-1)",
        "advantages = returns",
        r"baseline",
    ),
    Mistake(
        *PPO_UPDATE,
        "advantages from the critic, not detached",
        "advantages = returns - values.reshape(-1)",
        "advantages = returns - self.critic(states).reshape(-1)",
        r"carry gradient",
    ),
    Mistake(
        *PPO_UPDATE,
        "no bootstrap after the rollout's last step",
        "next_value = self.critic(torch.as_tensor(next_state, dtype=torch.float32))",
        "next_value = torch.zeros(self.env.num_envs, 1)",
        r"next_value is 0",
    ),
    Mistake(
        *PPO_UPDATE,
        "bootstrap from the last stored state",
        "next_value = self.critic(torch.as_tensor(next_state, dtype=torch.float32))",
        "next_value = self.critic(self.states[-1])",
        r"last stored state",
    ),
    Mistake(
        *PPO_UPDATE,
        "gamma and lambda swapped",
        "self.gamma, self.tau)",
        "self.tau, self.gamma)",
        r"swapped",
    ),
    Mistake(
        *PPO_UPDATE,
        "log-probabilities not summed over the action's dimensions",
        "log_prob = dist.log_prob(action).sum(-1)",
        "log_prob = dist.log_prob(action)",
        r"per action dimension",
    ),
    Mistake(
        *PPO_UPDATE,
        "entropy averaged over the action's dimensions",
        "entropy = dist.entropy().sum(-1)",
        "entropy = dist.entropy().mean()",
        r"entropy per sample, summed over the action's dimensions",
    ),
    Mistake(
        *PPO_UPDATE,
        "critic optimizer never zeroed",
        "            self.critic_optimizer.zero_grad()\n",
        "",
        r"critic's gradients carry over",
    ),
    Mistake(
        *PPO_UPDATE,
        "storage never emptied",
        "            storage.clear()\n",
        "            pass\n",
        r"leaves the rollout in storage",
    ),
    Mistake(
        *PPO_UPDATE,
        "losses returned in the wrong order",
        "return float(np.mean(actor_losses)), float(np.mean(critic_losses))",
        "return float(np.mean(critic_losses)), float(np.mean(actor_losses))",
        r"order is \(actor_loss",
    ),
    # -- notebook 02: A2C
    Mistake(
        "02_a2c",
        "a2c_losses",
        "test_a2c_losses",
        "advantage not detached",
        "advantages = (returns - values).detach()",
        "advantages = returns - values",
        r"detach",
    ),
    Mistake(
        "02_a2c",
        "compute_returns",
        "test_compute_returns",
        "returns accumulated from the start",
        "    for reward in reversed(rewards):\n",
        "    for reward in rewards:\n",
        r"end|revers",
    ),
    Mistake(
        "02_a2c",
        "evaluate_actions",
        "test_evaluate_actions",
        "values left (T, 1)",
        "values = critic(obs).squeeze(-1)",
        "values = critic(obs)",
        r"\(T, 1\)|shape",
    ),
    Mistake(
        "02_a2c",
        "a2c_losses",
        "test_a2c_losses",
        "actor loss sign",
        "actor_loss = -(log_probs * advantages).mean()",
        "actor_loss = (log_probs * advantages).mean()",
        r"sign",
    ),
]


def _source(cell) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(
        line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )


def run_mistake(m: Mistake) -> tuple[str, str]:
    """``(outcome, what the student saw)``: outcome is named, vague, missed or broken."""
    import nbformat

    from course_lib.checks.core import CheckFailed

    nb = nbformat.read(ROOT / "solutions" / f"{m.notebook}.ipynb", as_version=4)
    space: dict = {"__name__": "__main__"}
    edited = False
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader") or {}
        gid = meta.get("grade_id")
        skip = (cell.metadata.get("course_lib") or {}).get("grading") == "skip"
        if cell.cell_type != "code" or skip:
            continue
        source = _source(cell)
        if gid == m.cell:
            if m.old not in source:
                return "broken", f"the reference cell {m.cell} has no {m.old!r}"
            source, edited = source.replace(m.old, m.new), True
        if gid == m.test:
            visible = source.split("### BEGIN HIDDEN TESTS")[0]
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(visible, m.test, "exec"), space)
            except CheckFailed as err:
                text = str(err)
                return ("named" if re.search(m.names, text, re.I) else "vague"), text
            except Exception as err:  # the student's own error, shown as raised
                text = f"{type(err).__name__}: {err}"
                return ("named" if re.search(m.names, text, re.I) else "vague"), text
            return "missed", out.getvalue().strip()
        if meta.get("grade"):
            continue
        exec(compile(source, str(gid), "exec"), space)
    return "broken", f"no test cell {m.test} after {m.cell} (edited: {edited})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    rows = []
    start = time.perf_counter()
    for m in CORPUS:
        outcome, text = run_mistake(m)
        rows.append((m, outcome, text))
        print(f"{outcome:7s} {m.notebook} {m.name}", flush=True)
    seconds = time.perf_counter() - start
    broken = [r for r in rows if r[1] == "broken"]
    counted = [r for r in rows if r[1] != "broken"]
    named = sum(1 for r in counted if r[1] == "named")
    lines = [
        "# Do the visible checks name the bug?",
        "",
        f"{len(counted)} realistic mistakes, each one edit of a reference solution; the visible "
        f"message names the bug for **{named} of {len(counted)} "
        f"({100 * named / max(1, len(counted)):.0f}%)**. Measured in {seconds:.0f} s by "
        "`python benchmarks/messages.py`.",
        "",
        "| notebook | mistake | outcome | what the student saw |",
        "| --- | --- | --- | --- |",
    ]
    for m, outcome, text in counted:
        said = " / ".join(line.strip() for line in text.splitlines()).replace("|", "\\|")
        said = said if len(said) <= 400 else said[:397] + "..."
        lines.append(f"| {m.notebook} | {m.name} | {outcome} | {said} |")
    if broken:
        lines += ["", "Not run (the corpus no longer matches the reference):", ""]
        lines += [f"- {m.notebook} {m.name}: {text}" for m, _, text in broken]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
