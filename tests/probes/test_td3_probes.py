"""Notebook 05's probes and their judges: correct variants pass, each known bug is refused."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from course_lib.instructor.grading.judges import judge_for
from course_lib.instructor.grading.programs import judge_network
from course_lib.probes import td3 as probes
from tests._td3_reference import SHARED_TRAIN_BUGS
from tests.checks.test_td3 import TRAIN_VARIANTS, make_actor, make_critic, make_td3, variant_id

SEED = 1234
ACCEPTED = "the network behaves as specified on the grader's inputs"

# bug -> what the judge's message must say (a regex). The visible check stops some of
# these earlier with the student's own networks; the judge names them from the runs.
JUDGED_BUGS = {
    **SHARED_TRAIN_BUGS,
    "fixed_noise_scale": "reaches ±noise_clip on .* of its draws|standard deviation .* asks for",
    "no_total_it": "self.total_it is 0, not 1",
    "no_batch_size": "train must draw one batch of batch_size transitions",
    "select_noise": "select_action is not the actor's deterministic action",
}


def observed(probe, impl, seed=SEED):
    """What the grader receives: the probe's output after a trip through JSON."""
    return json.loads(json.dumps(probe(impl, seed)))


@pytest.fixture(scope="module")
def reference_train():
    return observed(probes.probe_td3_train, make_td3())


def judge_train(student, reference):
    return judge_for("td3_train")(student, reference)


# ---------------------------------------------------------------- train


def test_td3_train_probe_is_deterministic_for_a_seed_and_differs_across_seeds(reference_train):
    assert observed(probes.probe_td3_train, make_td3()) == reference_train
    other = observed(probes.probe_td3_train, make_td3(), seed=SEED + 1)
    assert other["cases"] != reference_train["cases"]
    assert judge_train(other, reference_train).fraction == 0.0


def test_td3_train_observation_stays_small(reference_train):
    # a notebook keeps 2 MB of outputs in all; this observation must not crowd out the rest
    assert len(json.dumps(reference_train)) < 80_000


def test_td3_train_probe_leaves_the_global_random_state_alone():
    torch.manual_seed(5)
    np.random.seed(5)
    want = torch.rand(2), np.random.rand(2)
    torch.manual_seed(5)
    np.random.seed(5)
    probes.probe_td3_train(make_td3(), seed=3)
    assert torch.equal(torch.rand(2), want[0]) and np.array_equal(np.random.rand(2), want[1])


def test_td3_train_reference_passes_its_own_judge(reference_train):
    verdict = judge_train(reference_train, reference_train)
    assert verdict.fraction == 1.0, verdict.message


@pytest.mark.parametrize("variant", TRAIN_VARIANTS[1:], ids=variant_id)
def test_td3_train_judge_accepts_correct_variants(variant, reference_train):
    verdict = judge_train(observed(probes.probe_td3_train, make_td3(**variant)), reference_train)
    assert verdict.fraction == 1.0, verdict.message


@pytest.mark.parametrize(("bug", "message"), list(JUDGED_BUGS.items()))
def test_td3_train_judge_names_each_bug(bug, message, reference_train):
    verdict = judge_train(observed(probes.probe_td3_train, make_td3(bug)), reference_train)
    assert verdict.fraction == 0.0
    assert re.search(message, verdict.message), verdict.message


def test_td3_train_judge_refuses_forged_or_broken_data(reference_train):
    assert judge_train({"cases": reference_train["cases"]}, reference_train).fraction == 0.0
    assert judge_train("passed", reference_train).fraction == 0.0
    forged = json.loads(json.dumps(reference_train))
    forged["runs"]["target_double_q"][0]["calls"][0]["records"] = []
    assert judge_train(forged, reference_train).fraction == 0.0


@pytest.mark.parametrize("seed", [0, 7, 99])
def test_td3_train_judge_across_seeds(seed):
    reference = observed(probes.probe_td3_train, make_td3(), seed=seed)
    assert judge_train(reference, reference).fraction == 1.0
    for variant in ({"loss": "huber"}, {"noise": "normal"}):
        got = observed(probes.probe_td3_train, make_td3(**variant), seed=seed)
        assert judge_train(got, reference).fraction == 1.0
    for bug in ("max", "no_mask", "noise_unclipped", "no_delay", "tau_swapped"):
        got = observed(probes.probe_td3_train, make_td3(bug), seed=seed)
        verdict = judge_train(got, reference)
        assert verdict.fraction == 0.0 and re.search(JUDGED_BUGS[bug], verdict.message), bug


# ---------------------------------------------------------------- networks


def judged_network(kind, data, seed=SEED):
    """The problems the grader finds (empty when it gives full credit)."""
    verdict = judge_network(kind, json.loads(json.dumps(data)), seed)
    assert (verdict["fraction"] == 1.0) == (verdict["message"] == ACCEPTED), verdict
    return [] if verdict["fraction"] == 1.0 else [verdict["message"]]


@pytest.mark.parametrize("hidden", [16, 256])
def test_td3_actor_program_is_judged(hidden):
    data = observed(probes.probe_td3_actor, make_actor(hidden=hidden))
    assert data["max_action"] > 1.0
    assert judged_network("td3_actor", data) == []
    assert observed(probes.probe_td3_actor, make_actor(hidden=hidden)) == data
    assert observed(probes.probe_td3_actor, make_actor(), seed=SEED + 1) != data


@pytest.mark.parametrize(
    ("bug", "why"),
    [
        ("no_tanh", r"leave \[-max_action, max_action\]"),
        ("no_scale", r"never go beyond \[-1, 1\]"),
        ("batch_mix", "depends on the rest of the batch"),
        ("squeeze", r"actions have shape \(16,\)"),
    ],
)
def test_td3_actor_program_bugs_are_refused(bug, why):
    seed = SEED + 1  # the probe draws one action here, where squeezing changes the shape
    data = observed(probes.probe_td3_actor, make_actor(bug), seed)
    assert data["num_actions"] == 1
    problems = judged_network("td3_actor", data, seed)
    assert problems and re.search(why, problems[0]), problems


@pytest.mark.parametrize("hidden", [16, 256])
def test_twin_critic_program_is_judged(hidden):
    data = observed(probes.probe_td3_critic, make_critic(hidden=hidden))
    assert judged_network("twin_critic", data) == []
    assert observed(probes.probe_td3_critic, make_critic(hidden=hidden)) == data


@pytest.mark.parametrize(
    ("bug", "why"),
    [
        ("cat_dim0", "no network was exported"),
        ("q1_is_q2", r"Q1\(state, action\) differs from forward's q1"),
        ("shared", "q1 and q2 share parameters"),
        ("same_net", "q1 and q2 share parameters"),
        ("single", "no network was exported"),
    ],
)
def test_twin_critic_program_bugs_are_refused(bug, why):
    problems = judged_network("twin_critic", observed(probes.probe_td3_critic, make_critic(bug)))
    assert problems and re.search(why, problems[0]), problems


def test_twin_critic_concatenated_on_the_batch_is_refused():
    """With a first layer of state_dim inputs and equal sizes, dim=0 doubles the batch."""

    class Stacked(torch.nn.Module):
        def __init__(self, state_dim, action_dim):
            super().__init__()
            self.q1 = torch.nn.Linear(state_dim, 1)
            self.q2 = torch.nn.Linear(state_dim, 1)

        def forward(self, state, action):
            sa = torch.cat([state, action], dim=0)
            return self.q1(sa), self.q2(sa)

        def Q1(self, state, action):
            return self.q1(torch.cat([state, action], dim=0))

    data = {"num_inputs": 3, "num_actions": 3}
    data.update(probes._export(probes._TwinOutputs(Stacked(3, 3)), (torch.zeros(4, 3),) * 2))
    assert data["program"] is not None
    problems = judged_network("twin_critic", data)
    assert problems and "concatenate state and action on dim=1" in problems[0], problems
