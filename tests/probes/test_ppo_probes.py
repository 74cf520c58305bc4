"""Notebook 03's probes and their judges: the reference passes, each known bug is refused."""

from __future__ import annotations

import json

import pytest

from course_lib.instructor.grading.judges import judge_observation
from course_lib.instructor.grading.programs import judge_network
from course_lib.probes import ppo as probes
from tests.checks.test_ppo import (
    init_uniform,
    make_actor,
    make_agent,
    make_gae,
    make_iter,
    make_losses,
    make_normalizer,
)

SEED = 1234


def judged(name, probe, reference_impl, student_impl):
    reference = json.loads(json.dumps(probe(reference_impl, SEED)))
    student = json.loads(json.dumps(probe(student_impl, SEED)))
    return judge_observation(name, student, reference)


def test_action_normalizer_probe():
    probe = probes.probe_action_normalizer
    assert judged("action_normalizer", probe, make_normalizer(), make_normalizer()).passed
    assert not judged(
        "action_normalizer", probe, make_normalizer(), make_normalizer("identity")
    ).passed
    bad = judged("action_normalizer", probe, make_normalizer(), make_normalizer("reverse_plus_low"))
    assert not bad.passed and "reverse_action" in bad.message


def test_init_layer_uniform_probe():
    probe = probes.probe_init_layer_uniform
    assert judged("init_layer_uniform", probe, init_uniform, init_uniform).passed

    def weight_only(layer, init_w=3e-3):
        layer.weight.data.uniform_(-init_w, init_w)
        return layer

    verdict = judged("init_layer_uniform", probe, init_uniform, weight_only)
    assert not verdict.passed and "bias" in verdict.message


@pytest.mark.parametrize("bug", ["forward", "swapped", "chain_across", "advantages"])
def test_compute_gae_probe_refuses_bugs(bug):
    probe = probes.probe_compute_gae
    assert judged("compute_gae", probe, make_gae(), make_gae()).passed
    assert not judged("compute_gae", probe, make_gae(), make_gae(bug)).passed


@pytest.mark.parametrize(
    ("bug", "why"),
    [
        ("with_replacement", "repeats or drops"),
        ("no_shuffle", "same order"),
        ("misaligned", "not aligned"),
        ("drop_last", "samples yielded"),
    ],
)
def test_ppo_iter_probe(bug, why):
    probe = probes.probe_ppo_iter
    assert judged("ppo_iter", probe, make_iter(), make_iter()).passed
    verdict = judged("ppo_iter", probe, make_iter(), make_iter(bug))
    assert not verdict.passed and why in verdict.message


@pytest.mark.parametrize("critic", ["half_mse", "huber", "clipped"])
def test_ppo_losses_probe_accepts_critic_variants(critic):
    assert judged(
        "ppo_losses", probes.probe_ppo_losses, make_losses(), make_losses(critic=critic)
    ).passed


@pytest.mark.parametrize(
    ("bug", "why"),
    [
        ("old_not_detached", "old_log_probs"),
        ("clip_advantage", "actor loss"),
        ("max", "actor loss"),
        ("entropy_sign", "actor loss"),
    ],
)
def test_ppo_losses_probe_refuses_bugs(bug, why):
    verdict = judged("ppo_losses", probes.probe_ppo_losses, make_losses(), make_losses(bug))
    assert not verdict.passed and why in verdict.message


def test_agent_step_probe_accepts_a_reward_scale_and_refuses_bugs():
    probe = probes.probe_agent_step
    assert judged("agent_step", probe, make_agent(), make_agent(reward_scale=0.1)).passed
    for bug, why in [
        ("cut_at_truncation", "bootstrap"),
        ("reset_obs", "bootstrap"),
        ("mask_terminated_only", "masks"),
    ]:
        verdict = judged("agent_step", probe, make_agent(), make_agent(bug))
        assert not verdict.passed and why in verdict.message, bug


@pytest.mark.parametrize("std", ["head", "param"])
def test_gaussian_actor_program_is_judged_by_the_grader(std):
    data = json.loads(json.dumps(probes.probe_ppo_actor(make_actor(std), SEED)))
    assert judge_network("gaussian_actor", data, SEED)["fraction"] == 1.0


@pytest.mark.parametrize(
    ("bug", "why"),
    [
        ("unbounded", "log-std"),
        ("no_tanh", "mean"),
        ("mean_only", "no network"),
        ("batch_mix", "one observation's action depends on the rest of the batch"),
    ],
)
def test_gaussian_actor_bugs_are_refused(bug, why):
    data = json.loads(json.dumps(probes.probe_ppo_actor(make_actor(bug=bug), SEED)))
    verdict = judge_network("gaussian_actor", data, SEED)
    assert verdict["fraction"] == 0.0 and why in verdict["message"]
