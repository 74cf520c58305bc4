"""Each question judged on its own code: while an agent is checked or probed, the course's parts
stand in for the student's earlier answers (course_lib.exercises.parts), so one bug costs one
question. The agents here are the reference solutions' own, defined as a notebook defines them
(one namespace), with one earlier answer broken at a time."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from course_lib.checks import ddpg as ddpg_checks
from course_lib.checks import ppo as ppo_checks
from course_lib.checks import td3 as td3_checks
from course_lib.checks.core import CheckFailed
from course_lib.exercises import ddpg as ddpg_exercises
from course_lib.exercises import td3 as td3_exercises
from course_lib.exercises.parts import PlaceholderNetwork, course_parts, namespaces
from course_lib.instructor.runner import load_cells
from course_lib.probes import ddpg as ddpg_probes
from course_lib.probes import ppo as ppo_probes
from course_lib.probes import td3 as td3_probes
from tests.notebook_state import torch_globals_kept

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


pytestmark = pytest.mark.usefixtures("notebook_globals_restored")


def solution_namespace(assignment: str) -> dict:
    """The namespace a kernel has after running ``assignment``'s reference cells, up to its
    training (:func:`course_lib.instructor.runner.load_cells`)."""
    path = SOLUTIONS / f"{assignment}.ipynb"
    with torch_globals_kept():
        if assignment == "05_td3":
            return load_cells(path, ["imports", "config", "networks", "td3"])
        return load_cells(path)


def _wrong_soft_update(target, source, tau):
    with torch.no_grad():  # a hard update: the soft_update question's bug
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.copy_(s)


class _BrokenPart:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("this earlier answer is not written yet")


# ---------------------------------------------------------------- the mechanism


def test_course_parts_binds_each_name_and_puts_everything_back():
    space = {"__name__": "__main__", "soft_update": "student's"}
    exec("class Agent:\n    def update(self):\n        return soft_update, ReplayBuffer\n", space)
    agent = space["Agent"]()
    with course_parts(space["Agent"], {"soft_update": "course's", "ReplayBuffer": "given"}):
        assert agent.update() == ("course's", "given")
    assert space["soft_update"] == "student's"
    assert "ReplayBuffer" not in space  # a name that was not there is gone again


def test_course_parts_restores_after_an_error():
    space = {"__name__": "__main__", "soft_update": "student's"}
    exec("def update():\n    raise ValueError(soft_update)\n", space)
    with (
        pytest.raises(ValueError, match="course's"),
        course_parts(space["update"], {"soft_update": "course's"}),
    ):
        space["update"]()
    assert space["soft_update"] == "student's"


def test_namespaces_follow_a_students_bases_but_not_the_package():
    space = {"__name__": "__main__"}
    exec("class Base:\n    def helper(self):\n        return soft_update\n", space)
    exec("class Agent(Base):\n    def act(self):\n        return 2\n", space)
    assert namespaces(space["Agent"]) == [space]  # the base's methods read the same namespace
    with course_parts(space["Agent"], {"soft_update": "course's"}):
        assert space["Agent"]().helper() == "course's"
    assert namespaces(ddpg_checks.check_update_model) == []  # the package's own are left alone
    assert namespaces(42) == []


def test_namespaces_skip_the_libraries_a_student_class_is_built_on():
    """A method under @torch.no_grad() and an nn.Module base read names from torch's own
    modules; only the namespace that holds the student's class is patched."""
    space = {"__name__": "__main__", "torch": torch}
    exec(
        "class Agent(torch.nn.Module):\n"
        "    @torch.no_grad()\n"
        "    def act(self):\n"
        "        return soft_update\n",
        space,
    )
    assert namespaces(space["Agent"]) == [space]
    with course_parts(space["Agent"], {"soft_update": "course's"}):
        assert space["Agent"]().act() == "course's"
        assert "soft_update" not in vars(torch.nn.modules.module)
    assert "soft_update" not in space


def test_placeholder_network_builds_from_anything_and_refuses_to_run():
    net = PlaceholderNetwork(3, 1, hidden=64)
    assert list(net.parameters())
    with pytest.raises(RuntimeError, match="stands in while the agent is built"):
        net(torch.zeros(1, 3))


# ---------------------------------------------------------------- notebook 04


@pytest.fixture(scope="module")
def ddpg_space():
    return solution_namespace("04_ddpg")


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("soft_update", _wrong_soft_update),
        ("ReplayBuffer", _BrokenPart),
        ("OUNoise", _BrokenPart),
        ("DDPGActor", _BrokenPart),
        ("DDPGCritic", _BrokenPart),
    ],
)
def test_a_wrong_earlier_answer_costs_the_ddpg_agent_nothing(ddpg_space, name, wrong, capsys):
    """The agent's own code is right: its check passes and its judge finds nothing, whatever
    the earlier answer it calls does (that answer's own question pays for it)."""
    agent = ddpg_space["DDPGAgent"]
    reference = {
        "step": ddpg_probes.probe_agent_step(agent, seed=3),
        "update": ddpg_probes.probe_update_model(agent, seed=3),
    }
    original = ddpg_space[name]
    ddpg_space[name] = wrong
    try:
        ddpg_checks.check_agent_step(agent)
        ddpg_checks.check_update_model(agent)
        step = ddpg_probes.probe_agent_step(agent, seed=3)
        update = ddpg_probes.probe_update_model(agent, seed=3)
    finally:
        ddpg_space[name] = original
    out = capsys.readouterr().out
    assert "check_agent_step passed" in out and "check_update_model passed" in out
    manifest = ddpg_exercises.MANIFEST
    assert manifest["ddpg_agent_step"].judge(step, reference["step"]) is None
    assert manifest["ddpg_update_model"].judge(update, reference["update"]) is None


def test_a_wrong_soft_update_still_costs_its_own_question(ddpg_space):
    with pytest.raises(CheckFailed, match="became a copy of the source"):
        ddpg_checks.check_soft_update(_wrong_soft_update)


# ---------------------------------------------------------------- notebooks 03 and 05


def test_a_wrong_ppo_actor_costs_the_ppo_agent_step_nothing(capsys):
    space = solution_namespace("03_ppo")
    agent = space["PPOAgent"]
    reference = ppo_probes.probe_agent_step(agent, seed=5)
    space["PPOActor"], space["PPOCritic"] = _BrokenPart, _BrokenPart
    ppo_checks.check_agent_step(agent)
    assert "check_agent_step passed" in capsys.readouterr().out
    assert ppo_probes.probe_agent_step(agent, seed=5) == reference


def test_a_wrong_td3_network_costs_td3_train_nothing():
    """The grader's judge of train passes; the visible check, which also runs train once with
    the student's own networks (as training will), points at the networks."""
    space = solution_namespace("05_td3")
    agent = space["TD3"]
    reference = td3_probes.probe_td3_train(agent, seed=6)
    space["TD3Actor"], space["TD3Critic"] = _BrokenPart, _BrokenPart
    student = td3_probes.probe_td3_train(agent, seed=6)
    assert td3_exercises.MANIFEST["td3_train"].judge(student, reference) is None
    with pytest.raises(CheckFailed, match="make TD3Actor and TD3Critic pass their checks first"):
        td3_checks.check_td3_train(agent)
