"""Notebook 02's probes: deterministic for a seed, and different for a wrong answer."""

from __future__ import annotations

import base64
import io

import pytest
import torch

from course_lib.exercises.a2c import judge_a2c_losses
from course_lib.instructor.grading.programs import judge_network
from course_lib.probes.a2c import (
    probe_a2c_losses,
    probe_actor,
    probe_compute_returns,
    probe_critic,
    probe_evaluate_actions,
)
from tests.checks.test_a2c import losses, make_actor, make_critic, returns_forward, returns_ref


def _module(data: str) -> torch.nn.Module:
    return torch.export.load(io.BytesIO(base64.b64decode(data))).module()


def test_actor_probe_exports_a_probability_program():
    obs = probe_actor(make_actor(), seed=4)
    assert obs["categorical"] is True
    probs = _module(obs["program"])(torch.randn(9, obs["num_inputs"]))
    assert probs.shape == (9, obs["num_actions"])
    torch.testing.assert_close(probs.sum(-1), torch.ones(9))
    assert probe_actor(make_actor(head="tensor"), seed=4)["program"] is None


def test_the_grader_judges_the_actor_program_and_refuses_one_that_mixes_the_batch():
    assert judge_network("actor", probe_actor(make_actor(), seed=4), 4)["fraction"] == 1.0
    verdict = judge_network("actor", probe_actor(make_actor(head="batch_mix"), seed=4), 4)
    assert verdict["fraction"] == 0.0
    assert "one observation's probabilities depend on the rest of the batch" in verdict["message"]


@pytest.mark.parametrize("head", ["softmax_as_logits", "tanh_logits"])
def test_the_grader_refuses_a_policy_that_can_never_become_deterministic(head):
    verdict = judge_network("actor", probe_actor(make_actor(head=head), seed=4), 4)
    assert verdict["fraction"] == 0.0
    assert "can never become deterministic" in verdict["message"], verdict["message"]
    # the correct heads, in any width and depth, can
    for hidden in [(16,), (64,), (32, 32, 32)]:
        for good in ("logits", "softmax"):
            assert (
                judge_network("actor", probe_actor(make_actor(hidden, good), seed=4), 4)["fraction"]
                == 1.0
            )


def test_critic_probe_exports_the_value_program():
    obs = probe_critic(make_critic(), seed=4)
    assert _module(obs["program"])(torch.randn(5, obs["num_inputs"])).shape == (5, 1)


def test_returns_probe_is_seeded_and_discriminates():
    ref = probe_compute_returns(returns_ref, seed=1)
    assert ref == probe_compute_returns(returns_ref, seed=1)
    assert ref != probe_compute_returns(returns_ref, seed=2)
    assert [len(r) for r in ref] == [0, 1, 2, 7, 7, 40]
    assert probe_compute_returns(returns_forward, seed=1) != ref


def test_evaluate_actions_probe_discriminates():
    good = probe_evaluate_actions(lambda a, c, o, act: (a(o).log_prob(act), c(o).squeeze(-1)), 3)
    bad = probe_evaluate_actions(
        lambda a, c, o, act: (a(o).log_prob(a(o).probs.argmax(-1)), c(o).squeeze(-1)), 3
    )
    assert len(good["log_probs"]) == 12 and good["log_probs"] != bad["log_probs"]


def test_losses_probe_records_inputs_values_and_gradients():
    records = probe_a2c_losses(losses(), seed=0)
    assert [len(r["inputs"][0]) for r in records] == [1, 6, 40]
    first = records[1]
    assert len(first["values"]) == 2 and len(first["grads"]) == 2
    # The actor loss does not depend on the values: its gradient there is exactly 0.
    assert first["grads"][0][1] == [0.0] * 6
    assert first["critic_at_target"] == 0.0
    undetached = probe_a2c_losses(losses(detach_adv=False), seed=0)[1]
    assert undetached["grads"][0][1] != [0.0] * 6


@pytest.mark.parametrize("normalize", ["batch", "batch_population_std", "scaled"])
def test_the_grader_accepts_advantages_normalized_over_the_batch(normalize):
    # the input sets include a one-step episode, where (A - mean) / std is 0 / 0
    reference = probe_a2c_losses(losses(), seed=5)
    student = probe_a2c_losses(losses(normalize=normalize), seed=5)
    assert judge_a2c_losses(student, reference) is None


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"normalize": "batch", "detach_adv": False}, "actor loss sends gradient"),
        ({"normalize": "shifted"}, "not a positive multiple of -advantage"),
        ({"normalize": "per_step"}, "not a positive multiple of -advantage"),
    ],
)
def test_the_grader_rejects_what_is_not_a_normalized_advantage(kw, why):
    reference = probe_a2c_losses(losses(), seed=5)
    found = judge_a2c_losses(probe_a2c_losses(losses(**kw), seed=5), reference)
    assert found is not None and why in found.problem, found
