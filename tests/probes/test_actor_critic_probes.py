"""Notebook 01's probes: deterministic for a seed, and different for a wrong answer."""

from __future__ import annotations

import base64
import io

import torch

from course_lib.probes.actor_critic import (
    probe_action_log_probs,
    probe_actor_critic,
    probe_actor_critic_loss,
    probe_normalized_returns,
)
from tests.checks.test_actor_critic import make_loss, make_model, make_normalized


def test_network_probe_exports_both_heads():
    obs = probe_actor_critic(make_model(), seed=2)
    module = torch.export.load(io.BytesIO(base64.b64decode(obs["program"]))).module()
    probs, value = module(torch.randn(6, obs["num_inputs"]))
    assert probs.shape == (6, obs["num_actions"]) and value.shape == (6, 1)
    assert obs["grows_with_hidden"] is True


def test_function_probes_are_seeded_and_discriminate():
    ref = probe_normalized_returns(make_normalized(), seed=0)
    assert ref == probe_normalized_returns(make_normalized(), seed=0)
    assert ref != probe_normalized_returns(make_normalized(unbiased=True), seed=0)
    gather = probe_action_log_probs(lambda p, a: torch.log(p.gather(1, a[:, None]).squeeze(1)), 0)
    argmax = probe_action_log_probs(lambda p, a: torch.log(p.max(1).values), 0)
    assert gather != argmax
    loss = probe_actor_critic_loss(make_loss(), seed=0)
    assert loss != probe_actor_critic_loss(make_loss(detach_adv=False), seed=0)
    assert loss[1]["column_value"] == loss[1]["values"][0]


def test_the_grader_refuses_a_two_headed_network_that_can_never_become_deterministic():
    from course_lib.instructor.grading.programs import judge_network

    assert (
        judge_network("actor_critic", probe_actor_critic(make_model(), seed=2), 2)["fraction"]
        == 1.0
    )
    verdict = judge_network("actor_critic", probe_actor_critic(make_model(head="twice"), seed=2), 2)
    assert verdict["fraction"] == 0.0
    assert "can never become deterministic" in verdict["message"], verdict["message"]
