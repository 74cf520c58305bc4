"""Notebook 04's probes and their judges: correct variants pass, each known bug is refused.

The reference observation comes from this file's correct implementations run by the same
probe with the same seed, as the grader does with the instructor's solution.
"""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
import torch

from course_lib.instructor.grading.judges import judge_for
from course_lib.instructor.grading.programs import judge_network
from course_lib.observations import to_data
from course_lib.probes import ddpg as probes
from tests._ddpg_reference import UPDATE_MODEL_BUGS
from tests.checks.test_ddpg import (
    make_actor,
    make_agent,
    make_buffer,
    make_critic,
    make_ou,
    make_soft_update,
)

SEED = 1234


def observed(probe, impl, seed=SEED):
    """What the grader receives: the probe's data through JSON."""
    return json.loads(json.dumps(to_data(probe(impl, seed))))


def judged(name, probe, reference_impl, student_impl, seed=SEED):
    reference = observed(probe, reference_impl, seed)
    return judge_for(name)(observed(probe, student_impl, seed), reference)


# ---------------------------------------------------------------- replay buffer


@pytest.mark.parametrize("seed", [SEED, 1, 2, 3])
@pytest.mark.parametrize("replace", [True, False])
def test_replay_buffer_judge_accepts_both_samplings(seed, replace):
    verdict = judged(
        "ddpg_replay_buffer",
        probes.probe_replay_buffer,
        make_buffer(),
        make_buffer(replace=replace),
        seed,
    )
    assert verdict.fraction == 1.0, verdict.message


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("len_capacity", "__len__ must return how many transitions are stored"),
        ("whole_capacity", "a slot that was never written"),
        ("whole_partial", "it returns the whole stored part instead of a batch"),
        ("no_wrap", "the write position ran past the end of the arrays"),
        ("wrap_wrong", "must hold exactly the last"),
        ("bad_keys", r"the batch has no key\(s\) \['next_obs'\]"),
        ("acts_1d", "keep actions 2-D"),
        ("misaligned", "the arrays of a batch are not aligned"),
        ("float64", "the buffer's arrays must be float32"),
    ],
)
def test_replay_buffer_judge_names_each_bug(bug, message):
    verdict = judged(
        "ddpg_replay_buffer", probes.probe_replay_buffer, make_buffer(), make_buffer(bug)
    )
    assert verdict.fraction == 0.0
    assert re.search(message, verdict.message), verdict.message


# ---------------------------------------------------------------- OU noise


@pytest.mark.parametrize("seed", [SEED, 1, 2, 3])
@pytest.mark.parametrize("draw", ["standard_normal", "normal", "randn"])
def test_ou_noise_judge_accepts_any_normal_draw(seed, draw):
    verdict = judged("ddpg_ou_noise", probes.probe_ou_noise, make_ou(), make_ou(draw=draw), seed)
    assert verdict.fraction == 1.0, verdict.message


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("uniform", "the random part of the increments is never negative"),
        ("white", "successive samples are uncorrelated"),
        ("reset_noop", r"reset\(\) does not put the state back at mu"),
        ("reset_zero", r"reset\(\) does not put the state back at mu"),
        ("swapped", "theta and sigma are swapped"),
        ("shape", r"expected \(\d,\) for OUNoise\(size=\d\)"),
        ("shared", "one random number is shared by all dimensions"),
    ],
)
def test_ou_noise_judge_names_each_bug(bug, message):
    verdict = judged("ddpg_ou_noise", probes.probe_ou_noise, make_ou(), make_ou(bug))
    assert verdict.fraction == 0.0
    assert re.search(message, verdict.message), verdict.message


# ---------------------------------------------------------------- soft update


@pytest.mark.parametrize("style", ["loop", "lerp", "data"])
def test_soft_update_judge_accepts_every_style(style):
    verdict = judged(
        "ddpg_soft_update", probes.probe_soft_update, make_soft_update(), make_soft_update(style)
    )
    assert verdict.fraction == 1.0, verdict.message


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("wrong_side", "tau is on the wrong side"),
        ("copy", "the target became a copy of the source"),
        ("rebind", "the target network did not change"),
        ("weights", "nn.Module has no .weights"),
        ("partial", "only some parameters were updated"),
    ],
)
def test_soft_update_judge_names_each_bug(bug, message):
    verdict = judged(
        "ddpg_soft_update", probes.probe_soft_update, make_soft_update(), make_soft_update(bug=bug)
    )
    assert verdict.fraction == 0.0 and message in verdict.message, verdict.message


# ---------------------------------------------------------------- the agent


@pytest.mark.parametrize("seed", [SEED, 1, 2])
@pytest.mark.parametrize(
    ("noise", "warmup"),
    [("ou", "space"), ("ou", "uniform"), ("ou", "space_plus_noise"), ("gaussian", "space")],
)
def test_agent_step_judge_accepts_variants(seed, noise, warmup):
    verdict = judged(
        "ddpg_agent_step",
        probes.probe_agent_step,
        make_agent(),
        make_agent(noise=noise, warmup=warmup),
        seed,
    )
    assert verdict.fraction == 1.0, verdict.message


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("no_warmup", "select_action returned the actor's action"),
        ("test_noise", "in test mode (is_test=True) the action carries exploration noise"),
        ("no_clip", "the action is not clipped to [-1, 1]"),
        ("done_truncated", "at a time-limit truncation the stored done is 1"),
        ("done_either", "at a time-limit truncation the stored done is 1"),
    ],
)
def test_agent_step_judge_names_each_bug(bug, message):
    verdict = judged("ddpg_agent_step", probes.probe_agent_step, make_agent(), make_agent(bug))
    assert verdict.fraction == 0.0 and message in verdict.message, verdict.message


@pytest.mark.parametrize("seed", [SEED, 1, 2])
@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_update_model_judge_accepts_mse_and_huber(seed, loss):
    verdict = judged(
        "ddpg_update_model", probes.probe_update_model, make_agent(), make_agent(loss=loss), seed
    )
    assert verdict.fraction == 1.0, verdict.message


@pytest.mark.parametrize(("bug", "message"), UPDATE_MODEL_BUGS)
@pytest.mark.filterwarnings("ignore:Using a target size")  # the broadcasting bug's own warning
def test_update_model_judge_names_each_bug(bug, message):
    verdict = judged("ddpg_update_model", probes.probe_update_model, make_agent(), make_agent(bug))
    assert verdict.fraction == 0.0 and message in verdict.message, verdict.message


@pytest.mark.parametrize("act_dim", [1, 2])
def test_every_two_td_targets_differ_on_some_sample(act_dim):
    """Each hypothesis's rewards put Q at rest for its own target only (gaps >= 0.05)."""
    for seed in range(40):
        boots = probes._bootstraps(probes.update_model_case(seed, act_dim=act_dim))
        names = list(boots)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert abs(boots[a] - boots[b]).max() >= 0.05, (seed, a, b)


# ---------------------------------------------------------------- networks


@pytest.mark.parametrize("hidden", [32, 128])
def test_actor_and_critic_programs_pass(hidden):
    actor = observed(probes.probe_ddpg_actor, make_actor(hidden))
    critic = observed(probes.probe_ddpg_critic, make_critic(hidden))
    for kind, data in (("deterministic_actor", actor), ("state_action_critic", critic)):
        verdict = judge_network(kind, data, SEED)
        assert verdict["fraction"] == 1.0, verdict["message"]


@pytest.mark.parametrize(
    ("kind", "probe", "impl", "message"),
    [
        ("deterministic_actor", "probe_ddpg_actor", make_actor(bug="no_tanh"), "leaves [-1, 1]"),
        (
            "deterministic_actor",
            "probe_ddpg_actor",
            make_actor(bug="default_init"),
            "not initialized uniformly",
        ),
        (
            "state_action_critic",
            "probe_ddpg_critic",
            make_critic(bug="cat_dim0"),
            "no network was exported",
        ),
        (
            "state_action_critic",
            "probe_ddpg_critic",
            make_critic(bug="default_init"),
            "not initialized uniformly",
        ),
        (
            "deterministic_actor",
            "probe_ddpg_actor",
            make_actor(bug="batch_mix"),
            "one state's action depends on the rest of the batch",
        ),
        (
            "state_action_critic",
            "probe_ddpg_critic",
            make_critic(bug="batch_mix"),
            "one pair's value depends on the rest of the batch",
        ),
    ],
)
def test_network_bugs_are_refused(kind, probe, impl, message):
    verdict = judge_network(kind, observed(getattr(probes, probe), impl), SEED)
    assert verdict["fraction"] == 0.0 and message in verdict["message"], verdict["message"]


def _module(data):
    return torch.export.load(io.BytesIO(base64.b64decode(data["program"]))).module()


def test_network_probes_are_seeded():
    a, b = (observed(probes.probe_ddpg_critic, make_critic(), seed=5) for _ in range(2))
    state, action = torch.randn(3, a["num_inputs"]), torch.rand(3, a["num_actions"])
    assert torch.equal(_module(a)(state, action), _module(b)(state, action))
    other = observed(probes.probe_ddpg_actor, make_actor(), seed=6)
    assert (other["num_inputs"], other["num_actions"]) != (a["num_inputs"], a["num_actions"]) or (
        other["init_w"] != a["init_w"]
    )


# ---------------------------------------------------------------- every probe


PROBES = [
    ("ddpg_replay_buffer", probes.probe_replay_buffer, make_buffer()),
    ("ddpg_ou_noise", probes.probe_ou_noise, make_ou()),
    ("ddpg_soft_update", probes.probe_soft_update, make_soft_update()),
    ("ddpg_agent_step", probes.probe_agent_step, make_agent()),
    ("ddpg_update_model", probes.probe_update_model, make_agent()),
]


@pytest.mark.parametrize(("name", "probe", "impl"), PROBES)
def test_probes_are_deterministic_differ_across_seeds_and_stay_small(name, probe, impl):
    first, again, other = (
        observed(probe, impl, 7),
        observed(probe, impl, 7),
        observed(probe, impl, 8),
    )
    assert first == again
    assert first != other
    assert len(json.dumps(first)) < 150_000
    assert judge_for(name)(first, first).passed


@pytest.mark.parametrize(("name", "probe", "impl"), PROBES)
def test_judges_refuse_records_for_other_inputs_or_malformed(name, probe, impl):
    reference = observed(probe, impl, 7)
    verdict = judge_for(name)(observed(probe, impl, 8), reference)
    assert verdict.fraction == 0.0 and "not for the grader's inputs" in verdict.message
    assert judge_for(name)({"case": None}, reference).fraction == 0.0
    assert judge_for(name)([], reference).fraction == 0.0


@pytest.mark.parametrize("bug", [None, "zero_grad_after_step"])
def test_the_update_model_judge_says_the_same_on_every_seed(bug):
    """Two identical updates must see the same gradient: the verdict on a gradient left over
    from the actor loss's backward does not depend on the grader's seed."""
    verdicts = {
        seed: judged(
            "ddpg_update_model", probes.probe_update_model, make_agent(), make_agent(bug), seed
        )
        for seed in range(8)
    }
    if bug is None:
        assert all(v.fraction == 1.0 for v in verdicts.values()), verdicts
    else:
        assert all(
            v.fraction < 1.0 and "carry over between updates" in v.message
            for v in verdicts.values()
        ), verdicts
