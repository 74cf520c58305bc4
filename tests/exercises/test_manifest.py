"""The manifest: every observation a notebook's hidden tests emit is judged as one entry says."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_lib.exercises import manifest as manifest_mod
from course_lib.exercises.manifest import (
    NOTEBOOKS,
    Close,
    Diagnosed,
    Given,
    NetworkProbe,
    PolicyCriterion,
    exercise_module,
    load_given,
    load_manifest,
)

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
OBSERVED = re.compile(r"cl\.observe\(\s*\"([A-Za-z0-9_]+)\"")


def _hidden_observations(assignment: str) -> dict[str, str]:
    """``{observation name: the hidden test's source}`` of a solution notebook."""
    nb = nbformat.read(SOLUTIONS / f"{assignment}.ipynb", as_version=4)
    found: dict[str, str] = {}
    for cell in nb.cells:
        for block in HIDDEN.findall(cell.source):
            for name in OBSERVED.findall(block):
                found[name] = block
    return found


def test_every_course_notebook_has_an_exercise_module():
    assert sorted(NOTEBOOKS) == sorted(p.stem for p in SOLUTIONS.glob("*.ipynb"))


@pytest.mark.parametrize("assignment", sorted(NOTEBOOKS))
def test_every_hidden_observation_has_its_entry_and_nothing_else_does(assignment):
    observed = _hidden_observations(assignment)
    entries = load_manifest(assignment)
    assert observed, f"{assignment} emits no observation"
    assert sorted(entries) == sorted(observed)


@pytest.mark.parametrize("assignment", sorted(NOTEBOOKS))
def test_a_policy_criterion_comes_from_the_notebooks_config(assignment):
    observed = _hidden_observations(assignment)
    for name, entry in load_manifest(assignment).items():
        if isinstance(entry, PolicyCriterion):
            call = re.sub(r"\s+", " ", observed[name])
            assert re.search(r"pass_mark=\w+\.criterion, episodes=\w+\.eval_episodes", call), (
                f"{assignment}: the hidden test of {name} must pass the config's criterion"
            )


def test_entries_say_how_each_kind_of_observation_is_judged():
    a2c = load_manifest("02_a2c")
    returns = a2c["compute_returns"]
    assert isinstance(returns, Close) and returns.known is not None
    assert returns.known.mistakes == "course_lib.exercises.a2c:COMPUTE_RETURNS_MISTAKES"
    assert isinstance(a2c["a2c_losses"], Diagnosed) and a2c["a2c_losses"].passed
    assert a2c["actor"] == NetworkProbe("actor")
    assert a2c["trained_policy"] == PolicyCriterion()
    td3 = load_manifest("05_td3")["td3_critic"]
    assert td3.problems == "course_lib.exercises.td3.networks:twin_critic_problems"


def test_a_notebook_names_its_own_exercise_module_in_its_metadata():
    metadata = {"course_lib": {"exercises": "course_lib.exercises.tour"}}
    assert exercise_module("06_bandits", metadata) == "course_lib.exercises.tour"
    assert load_manifest("06_bandits", metadata) == load_manifest("00_gymnasium_tour")
    assert exercise_module("06_bandits") is None and load_manifest("06_bandits") == {}


@pytest.mark.parametrize(
    ("metadata", "why"),
    [
        ({"course_lib": {"exercises": 3}}, "must be the dotted name of a module"),
        ({"course_lib": {"exercises": "no_such_pkg.exercises"}}, "cannot import its exercise"),
        ({"course_lib": {"exercises": "course_lib.exercises.finding"}}, r"MANIFEST must be a"),
    ],
)
def test_a_bad_exercise_module_is_named_with_the_fix(metadata, why):
    with pytest.raises(ValueError, match=why):
        load_manifest("06_bandits", metadata)


def test_a_manifest_entry_that_is_not_an_entry_is_refused(monkeypatch):
    from course_lib.exercises import tour

    monkeypatch.setattr(tour, "MANIFEST", {"run_episode": "close"})
    with pytest.raises(ValueError, match=r"docs/authoring\.md"):
        manifest_mod.load_manifest("00_gymnasium_tour")


@pytest.mark.parametrize("assignment", sorted(NOTEBOOKS))
def test_each_given_answer_is_declared_against_what_the_notebook_grades(assignment):
    """A Given names an observation of its notebook, a name its solution cells define, the
    methods that class has, and an implementation the package carries."""
    import importlib

    nb = nbformat.read(SOLUTIONS / f"{assignment}.ipynb", as_version=4)
    solutions = "\n".join(
        c.source for c in nb.cells if (c.metadata.get("nbgrader") or {}).get("solution")
    )
    for given in load_given(assignment):
        assert set(given.answers) <= set(load_manifest(assignment)), given
        assert re.search(rf"^(class|def) {given.name}\b", solutions, re.M), given
        module, name = given.implementation.split(":")
        implementation = getattr(importlib.import_module(module), name)
        assert all(hasattr(implementation, m) for m in given.methods), given


def test_notebook_04_declares_the_buffer_and_noise_that_notebook_05_gives():
    assert [(g.name, g.answers) for g in load_given("04_ddpg")] == [
        ("ReplayBuffer", ("ddpg_replay_buffer",)),
        ("OUNoise", ("ddpg_ou_noise",)),
    ]


def test_a_given_that_is_not_a_given_is_refused(monkeypatch):
    from course_lib.exercises import ddpg

    assert all(isinstance(g, Given) for g in ddpg.GIVEN)
    monkeypatch.setattr(ddpg, "GIVEN", ("ReplayBuffer",))
    with pytest.raises(ValueError, match=r"GIVEN must be a tuple of Given"):
        load_given("04_ddpg")


def _known_entries():
    for assignment in NOTEBOOKS:
        for name, entry in load_manifest(assignment).items():
            if isinstance(entry, Close) and entry.known is not None:
                yield f"{assignment}:{name}", entry


@pytest.mark.parametrize(("where", "entry"), list(_known_entries()), ids=lambda x: str(x)[:40])
def test_each_known_mistake_is_named_by_replaying_it(where, entry):
    # Every wrong implementation, replayed through the probe on a seed, is named by its own
    # name: the names are valid, the implementations run, and no earlier one shadows another.
    import importlib

    from course_lib.exercises.finding import Hint
    from course_lib.instructor.grading.judges import name_known_mistake

    def attribute(path):
        module, _, attr = path.partition(":")
        return getattr(importlib.import_module(module), attr)

    probe, mistakes = attribute(entry.known.probe), attribute(entry.known.mistakes)
    assert mistakes, where
    for name, wrongs in mistakes.items():
        assert Hint(name, "").mistake == name  # a valid name
        for wrong in wrongs if isinstance(wrongs, tuple) else (wrongs,):
            replay = probe(wrong, 7)
            assert name_known_mistake(entry, replay, 7) == name, (where, name)
