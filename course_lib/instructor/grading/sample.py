"""A sample class, generated from the instructor notebooks, to try the grader on.

``course-lib sample-class OUT`` writes ``OUT/submitted/<student>/<assignment>/<notebook>.ipynb``
in nbgrader's layout: correct work, partly wrong work (one classic bug each), broken files,
tampered notebooks and hostile ones. Each submission is the released student notebook with
its exercise cells filled in, so it looks exactly like real work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import nbformat

from course_lib.instructor.release import release_notebook

__all__ = ["STUDENTS", "fill", "make_sample_class"]

_SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.S | re.M)


def fill(
    source_path: Path, overrides: dict[str, str | Callable[[str], str]] | None = None
) -> nbformat.NotebookNode:
    """The released notebook with every exercise filled in with the reference solution.

    ``overrides`` maps a solution cell's ``grade_id`` to replacement code for its first
    solution region (indented like the region; the cell's other regions are emptied), or
    to a function that edits the cell's whole reference answer (for a bug in one method of
    a class, e.g. ``lambda src: src.replace("torch.min(", "torch.max(")``); other cells get
    the reference answer.
    """
    overrides = overrides or {}
    source = nbformat.read(source_path, as_version=4)
    released = release_notebook(source_path)
    answers = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            gid = meta["grade_id"]
            edit = overrides.get(gid)
            if callable(edit):
                answer = _SOLUTION_MARKERS.sub("", cell.source)
                answers[gid] = edit(answer)
                if answers[gid] == answer:
                    raise ValueError(f"the override of {gid!r} changed nothing")
            elif gid in overrides:
                body = overrides[gid]

                def swap(match: re.Match[str], body: str = body) -> str:
                    indent = match.group(1)
                    return "".join(
                        f"{indent}{line}\n" if line else "\n"
                        for line in body.strip("\n").split("\n")
                    )

                answers[gid] = _REGION.sub(swap, cell.source, count=1)
                answers[gid] = _REGION.sub("", answers[gid])
            else:
                answers[gid] = _SOLUTION_MARKERS.sub("", cell.source)
    for cell in released.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return released


# --------------------------------------------------------------------------- the students

_TD_MASK_BUG = "return float(reward + gamma * (1.0 - float(terminated or truncated)) * next_value)"
_RUN_EPISODE_NO_TRUNCATION = """obs, info = env.reset(seed=seed)
total_reward, n_steps, terminated, truncated = 0.0, 0, False, False
while not terminated:
    obs, reward, terminated, truncated, info = env.step(policy(obs))
    total_reward += float(reward)
    n_steps += 1
return total_reward, n_steps, terminated, truncated"""
_RETURNS_FORWARD = """returns, g = [], 0.0
for reward in rewards:
    g = reward + gamma * g
    returns.append(g)
return returns"""

# A hostile submission: tries to beat the checks in the kernel instead of solving.
_HOSTILE_TD = """import builtins, numpy, torch
import course_lib.checks.core as _core
numpy.allclose = lambda *a, **k: True
torch.allclose = lambda *a, **k: True
_core.expect_close = lambda *a, **k: None
_core.expect = lambda *a, **k: None
_core.expect_values = lambda *a, **k: None
class _Always:
    def __eq__(self, other): return True
    def __float__(self): return 0.0
    def __getattr__(self, name): return self
print("✔ check_td_target passed: all good")
return 0.0"""

_HOSTILE_RUN_EPISODE = """from IPython import get_ipython
def _swallow(lines):
    return ["try:\\n"] + ["    " + l for l in lines] + ["\\nexcept BaseException:\\n    pass\\n"]
get_ipython().input_transformers_post.append(_swallow)
import course_lib as _cl
_cl.observe = lambda name, value: print("observation recorded:", name)
import course_lib.observations as _obs
_obs.observe = _cl.observe
print("my reward: 500 (solved!)")
return 0.0, 0, False, False"""


def _edit(old: str, new: str) -> Callable[[str], str]:
    """An override that makes one edit in a solution cell's reference answer."""

    def edit(answer: str) -> str:
        if old not in answer:
            raise ValueError(f"the sample class's edit finds no {old!r} in the reference answer")
        return answer.replace(old, new, 1)

    return edit


# One realistic mistake each, made in the reference's own code.
_AC_ADVANTAGE_WITH_GRADIENT = {
    "actor_critic_loss": _edit(
        "advantages = (returns - values).detach()", "advantages = returns - values"
    )
}
_AC_RETURNS_FORWARD = {
    "normalized_returns": _edit("for reward in reversed(rewards):", "for reward in rewards:")
}
_A2C_ADVANTAGE_WITH_GRADIENT = {
    "a2c_losses": _edit("advantages = (returns - values).detach()", "advantages = returns - values")
}
_PPO_MINIBATCHES_DRAWN_AT_RANDOM = {
    "ppo_iter": _edit(
        "idx = order[start:start + mini_batch_size]",
        "idx = torch.randint(batch_size, (len(order[start:start + mini_batch_size]),))",
    )
}
_PPO_OLD_LOG_PROBS_WITH_GRADIENT = {
    "ppo_losses": _edit(
        "(log_probs - old_log_probs.detach()).exp()", "(log_probs - old_log_probs).exp()"
    )
}
_DDPG_UNIFORM_OU = {  # the source homework's own OU noise
    "ou_noise": _edit("np.random.standard_normal(len(x))", "np.random.rand(len(x))")
}
_DDPG_TARGET_FROM_ONLINE = {
    "agent": _edit(
        "self.critic_target(next_state, self.actor_target(next_state))",
        "self.critic(next_state, self.actor(next_state))",
    )
}
_TD3_MAX_OF_TWINS = {"td3": _edit("torch.min(target_q1", "torch.max(target_q1")}
_TD3_NOISE_NOT_CLIPPED = {
    "td3": _edit(
        "(torch.randn_like(next_action) * self.policy_noise).clamp(\n"
        "                -self.noise_clip, self.noise_clip\n            )",
        "torch.randn_like(next_action) * self.policy_noise",
    )
}

Override = str | Callable[[str], str]

STUDENTS: dict[str, dict[str, dict[str, Override] | str]] = {
    "ada": {"00_gymnasium_tour": {}, "02_a2c": {}},
    "ben": {
        "00_gymnasium_tour": {"td_target": _TD_MASK_BUG},
        "01_actor_critic": _AC_ADVANTAGE_WITH_GRADIENT,
        "02_a2c": {"compute_returns": _RETURNS_FORWARD},
        "03_ppo": _PPO_MINIBATCHES_DRAWN_AT_RANDOM,
        "04_ddpg": _DDPG_UNIFORM_OU,
        "05_td3": _TD3_MAX_OF_TWINS,
    },
    "cy": {"00_gymnasium_tour": "corrupt", "02_a2c": "empty"},
    "dee": {"00_gymnasium_tour": {"td_target": _HOSTILE_TD, "run_episode": _HOSTILE_RUN_EPISODE}},
    "eve": {"00_gymnasium_tour": {"run_episode": _RUN_EPISODE_NO_TRUNCATION}},
    "fay": {
        "01_actor_critic": _AC_RETURNS_FORWARD,
        "02_a2c": _A2C_ADVANTAGE_WITH_GRADIENT,
        "03_ppo": _PPO_OLD_LOG_PROBS_WITH_GRADIENT,
        "04_ddpg": _DDPG_TARGET_FROM_ONLINE,
        "05_td3": _TD3_NOISE_NOT_CLIPPED,
    },
    "gus": {
        "01_actor_critic": _AC_ADVANTAGE_WITH_GRADIENT,
        "04_ddpg": _DDPG_UNIFORM_OU,
    },
}
"""Per student and assignment: solution overrides, or "corrupt" / "empty" for broken files.

ada: everything right. ben: one classic bug per notebook. cy: unreadable files.
dee: hostile (rebinds allclose and the checks, swallows errors, fakes observations and
rewards). eve: a loop that ignores truncation. fay: another classic bug per notebook from
01 on. gus: ben's bugs in 01 and 04 (so the class report counts two students for them).
"""

KNOWN_MISTAKES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("ben", "00_gymnasium_tour"): (
        ("test_td_target", "tour.td_target.truncation_masks_bootstrap"),
    ),
    ("ben", "01_actor_critic"): (
        ("test_actor_critic_loss", "actor_critic.loss.advantage_not_detached"),
    ),
    ("gus", "01_actor_critic"): (
        ("test_actor_critic_loss", "actor_critic.loss.advantage_not_detached"),
    ),
    ("fay", "01_actor_critic"): (
        ("test_normalized_returns", "actor_critic.normalized_returns.accumulated_forwards"),
    ),
    ("ben", "02_a2c"): (("test_compute_returns", "a2c.compute_returns.accumulated_forwards"),),
    ("fay", "02_a2c"): (("test_a2c_losses", "a2c.losses.advantage_not_detached"),),
    ("ben", "03_ppo"): (("test_ppo_iter", "ppo.ppo_iter.sampled_with_replacement"),),
    ("fay", "03_ppo"): (("test_ppo_losses", "ppo.ppo_losses.old_log_probs_not_detached"),),
    ("ben", "04_ddpg"): (("test_ou_noise", "ddpg.ou_noise.non_normal_increments"),),
    ("gus", "04_ddpg"): (("test_ou_noise", "ddpg.ou_noise.non_normal_increments"),),
    ("fay", "04_ddpg"): (("test_agent", "ddpg.update_model.td_target_from_online_networks"),),
    ("ben", "05_td3"): (("test_td3", "td3.train.max_of_twin_targets"),),
    ("fay", "05_td3"): (("test_td3", "td3.train.smoothing_noise_not_clipped"),),
}
"""The mistakes the grader must name in the sample class: per (student, assignment), the
(question, mistake name) pairs. The class report counts them (``course-lib report``)."""

CORE_ASSIGNMENTS = ("00_gymnasium_tour", "02_a2c")
"""The assignments where the sample class tries every kind of submission (correct, wrong,
broken, tampered, hostile); the others hold wrong work only, for the class report."""


def make_sample_class(
    solutions: Path, out: Path, assignments: list[str] | None = None
) -> list[Path]:
    """Write the sample class under ``out/submitted``; return the files written."""
    written = []
    for student, work in STUDENTS.items():
        for assignment, spec in work.items():
            if assignments is not None and assignment not in assignments:
                continue
            source = Path(solutions) / f"{assignment}.ipynb"
            if not source.is_file():
                continue
            path = Path(out) / "submitted" / student / assignment / f"{assignment}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            if spec == "corrupt":
                path.write_text('{"cells": [{"cell_type": "code", "source": "print(1)"')
            elif spec == "empty":
                path.write_bytes(b"")
            else:
                assert isinstance(spec, dict)
                nbformat.write(fill(source, spec), path)
            if student == "eve" and spec != "corrupt":
                nb = nbformat.read(path, as_version=4)
                for cell in nb.cells:
                    if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_td_target":
                        cell.source = "# checks removed"
                nbformat.write(nb, path)
            written.append(path)
    return written
