"""Notebook 03's PPOAgent.update_model: its visible check and the grader's probe and judge.

The agents are the reference solution's own, with one edit of its agent cell at a time: the
correct variants pass, each realistic mistake of benchmarks/messages.py fails with the message
that names it, visibly and in the grader's verdict."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from course_lib.checks.core import CheckFailed
from course_lib.checks.ppo import check_update_model
from course_lib.exercises.ppo.update_model import update_model_case
from course_lib.instructor.grading.judges import judge_observation
from course_lib.instructor.runner import load_cells
from course_lib.probes import ppo as probes
from tests.notebook_state import torch_globals_kept

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import messages  # noqa: E402

pytestmark = pytest.mark.usefixtures("notebook_globals_restored")

MISTAKES = [m for m in messages.CORPUS if m.test == "test_update_model"]


@pytest.fixture(scope="module")
def reference():
    """The reference namespace (up to training) and its agent cell's source."""
    import nbformat

    path = ROOT / "solutions" / "03_ppo.ipynb"
    with torch_globals_kept():
        space = load_cells(path)
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if (c.metadata.get("nbgrader") or {}).get("grade_id") == "agent"]
    return space, cell.source


def agent(reference, *edits):
    """The reference's PPOAgent with ``edits`` ((old, new) pairs) made to its cell, defined in
    a namespace of its own, as a student's notebook would define it."""
    space, source = reference
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    mine = dict(space)
    exec(compile(source, "agent", "exec"), mine)
    return mine["PPOAgent"]


NO_NORMALIZATION = ("            adv = (adv - adv.mean()) / (adv.std() + 1e-8)\n", "")
BATCH_NORMALIZATION = (
    "        advantages = returns - values.reshape(-1)\n",
    "        advantages = returns - values.reshape(-1)\n"
    "        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)\n",
)
SEPARATE_BACKWARDS = (
    "            self.actor_optimizer.zero_grad()\n"
    "            self.critic_optimizer.zero_grad()\n"
    "            (actor_loss + critic_loss).backward()\n"
    "            for net, optimizer in ((self.actor, self.actor_optimizer),\n"
    "                                   (self.critic, self.critic_optimizer)):\n"
    "                nn.utils.clip_grad_norm_(net.parameters(), config.max_grad_norm)\n"
    "                optimizer.step()\n",
    "            self.actor_optimizer.zero_grad()\n"
    "            actor_loss.backward()\n"
    "            self.actor_optimizer.step()\n"
    "            self.critic_optimizer.zero_grad(set_to_none=True)\n"
    "            critic_loss.backward()\n"
    "            self.critic_optimizer.step()\n",
)
NEW_LISTS = (
    "        for storage in (self.states, self.actions, self.values, self.log_probs,\n"
    "                        self.rewards, self.masks):\n"
    "            storage.clear()\n",
    "        self.states, self.actions, self.values, self.log_probs = [], [], [], []\n"
    "        self.rewards, self.masks = [], []\n",
)
LAST_LOSSES = (
    "return float(np.mean(actor_losses)), float(np.mean(critic_losses))",
    "return actor_losses[-1], critic_losses[-1]",
)
# a rollout stored as one number per env ((n_envs,), not (n_envs, 1)) throughout
FLAT_STORAGE = (
    ("self.values.append(self.critic(state))", "self.values.append(self.critic(state)[:, 0])"),
    (".log_prob(action).sum(-1, keepdim=True))", ".log_prob(action).sum(-1))"),
    ("torch.as_tensor(learn_reward).unsqueeze(1)", "torch.as_tensor(learn_reward)"),
    ("dtype=torch.float32).unsqueeze(1))", "dtype=torch.float32))"),
    ("dtype=torch.float32))\n        returns", "dtype=torch.float32))[:, 0]\n        returns"),
    ("advantages = returns - values.reshape(-1)", "advantages = returns - values"),
)
RECOMPUTED_VALUES = (
    "        values = torch.cat(self.values)  # (B, 1)\n",
    "        with torch.no_grad():\n            values = self.critic(torch.cat(self.states))\n",
)
KEYWORDS = (
    "ppo_iter(\n            self.epoch, self.batch_size, states, actions, values, log_probs, "
    "returns, advantages\n        )",
    "ppo_iter(\n            epoch=self.epoch, mini_batch_size=self.batch_size, states=states, "
    "actions=actions, values=values, log_probs=log_probs, returns=returns, "
    "advantages=advantages)",
)
MEAN_ENTROPY = ("entropy = dist.entropy().sum(-1)", "entropy = dist.entropy().sum(-1).mean()")
VARIANTS = {
    "reference": (),
    "advantages not normalized": (NO_NORMALIZATION,),
    "advantages normalized over the whole batch": (NO_NORMALIZATION, BATCH_NORMALIZATION),
    "one backward per loss": (SEPARATE_BACKWARDS,),
    "storage replaced by new lists": (NEW_LISTS,),
    "the last minibatch's losses returned": (LAST_LOSSES,),
    "a flat rollout storage": FLAT_STORAGE,
    "values recomputed under no_grad": (RECOMPUTED_VALUES,),
    "ppo_iter called by keywords": (KEYWORDS,),
    "the entropy's mean handed on": (MEAN_ENTROPY,),
}

# mistakes beyond the corpus: (edits, what the message must say)
MORE_MISTAKES = {
    "zero_grad once per update, not per minibatch": (
        (
            (
                "            self.actor_optimizer.zero_grad()\n"
                "            self.critic_optimizer.zero_grad()\n",
                "",
            ),
            (
                "        actor_losses, critic_losses = [], []\n",
                "        actor_losses, critic_losses = [], []\n"
                "        self.actor_optimizer.zero_grad()\n"
                "        self.critic_optimizer.zero_grad()\n",
            ),
        ),
        r"carry over between minibatch steps",
    ),
    "old log-probabilities left (B, 1)": (
        (
            (
                "log_probs = torch.cat(self.log_probs).reshape(-1)",
                "log_probs = torch.cat(self.log_probs)",
            ),
        ),
        r"old_log_probs handed to ppo_losses have shape \(4, 1\)",
    ),
    "returns left (B, 1)": (
        (("returns = torch.cat(returns).reshape(-1)", "returns = torch.cat(returns)"),),
        r"broadcast them to \(B, B\)",
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_correct_variants_pass_visibly_and_in_the_grader(reference, variant, capsys):
    student = agent(reference, *VARIANTS[variant])
    check_update_model(student)
    assert "check_update_model passed" in capsys.readouterr().out
    assert _judged(reference, student).passed


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_each_mistake_is_named_by_the_check_and_the_grader(reference, mistake):
    student = agent(reference, (mistake.old, mistake.new))
    with pytest.raises(CheckFailed, match=mistake.names) as failed:
        check_update_model(student)
    assert str(failed.value).startswith("[check_update_model]")
    verdict = _judged(reference, student)
    assert not verdict.passed
    assert re.search(mistake.names, verdict.message), verdict.message


@pytest.mark.parametrize("name", list(MORE_MISTAKES))
def test_more_mistakes_are_named_by_the_check_and_the_grader(reference, name):
    edits, names = MORE_MISTAKES[name]
    student = agent(reference, *edits)
    with pytest.raises(CheckFailed, match=names):
        check_update_model(student)
    verdict = _judged(reference, student)
    assert not verdict.passed
    assert re.search(names, verdict.message), verdict.message


def test_the_corpus_covers_the_update(reference):
    assert len(MISTAKES) >= 12


def _judged(reference, student, seed=4321):
    ref_record = probes.probe_update_model(agent(reference), seed)
    record = probes.probe_update_model(student, seed)
    ref_record, record = (json.loads(json.dumps(r)) for r in (ref_record, record))
    return judge_observation("ppo_update_model", record, ref_record)


def test_a_record_for_other_inputs_or_a_forged_one_earns_nothing(reference):
    ref = json.loads(json.dumps(probes.probe_update_model(agent(reference), 1)))
    other = json.loads(json.dumps(probes.probe_update_model(agent(reference), 2)))
    verdict = judge_observation("ppo_update_model", other, ref)
    assert "not for the grader's inputs" in verdict.message
    forged = dict(ref, runs="all fine")
    verdict = judge_observation("ppo_update_model", forged, ref)
    assert not verdict.passed


def test_the_probe_runs_the_course_parts_and_puts_the_students_back(reference):
    space, _ = reference
    before = {name: space[name] for name in ("compute_gae", "ppo_iter", "ppo_losses")}
    student = agent(reference)
    record = probes.probe_update_model(student, 7)
    assert record["runs"][0]["losses"], "the course's ppo_losses recorded no call"
    namespace = student.update_model.__globals__
    assert all(namespace[name] is before[name] for name in before)


def test_broken_earlier_answers_do_not_cost_the_update(reference):
    """compute_gae, ppo_iter and ppo_losses are questions of their own."""
    space, source = reference
    mine = dict(space)

    def broken(*args, **kwargs):
        raise RuntimeError("not written yet")

    mine.update(compute_gae=broken, ppo_iter=broken, ppo_losses=broken)
    exec(compile(source, "agent", "exec"), mine)
    check_update_model(mine["PPOAgent"])


def test_cases_are_reproducible_and_differ_by_seed():
    assert update_model_case(5) == update_model_case(5)
    assert update_model_case(5)["rewards"] != update_model_case(6)["rewards"]
