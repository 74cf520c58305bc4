"""Only the student's code earns points: given implementations, the grading code, and
code the grader cannot read (course_lib.instructor.grading.provenance)."""

from __future__ import annotations

import dataclasses
import inspect
import textwrap

import nbformat
import pytest

import course_lib
from course_lib.buffers import ReplayBuffer as GivenBuffer
from course_lib.exercises.manifest import Given, load_given
from course_lib.instructor.grading.assemble import assemble
from course_lib.instructor.grading.grade import grade_one
from course_lib.instructor.grading.provenance import leaning
from course_lib.instructor.grading.sample import fill
from tests.instructor.grading.tour_corpus import SOLUTIONS

DDPG = "04_ddpg"
SOURCE = SOLUTIONS / f"{DDPG}.ipynb"


@pytest.fixture(scope="module")
def source():
    return nbformat.read(SOURCE, as_version=4)


def _found(source, cells: dict[str, str], extra: str | None = None, after: str = "replay_buffer"):
    """What the reading finds in the reference with ``cells`` (grade_id -> whole source)
    replaced and, optionally, a cell of the student's own after ``after``."""
    nb = fill(SOURCE, {gid: (lambda _, text=text: text) for gid, text in cells.items()})
    if extra is not None:
        index = next(
            i
            for i, c in enumerate(nb.cells)
            if (c.metadata.get("nbgrader") or {}).get("grade_id") == after
        )
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(extra))
    built = assemble(source, nb)
    return {f.observation: f for f in leaning(source, built.notebook, load_given(DDPG))}


BUFFER_METHODS = """
    def store(self, obs, act, rew, next_obs, done):
        {store}

    def sample_batch(self):
        {sample}

    def __len__(self):
        return self.size
"""

LEANING_BUFFERS = {
    "identity": "ReplayBuffer = cl.ReplayBuffer",
    "import": "from course_lib.buffers import ReplayBuffer",
    "import alias": "from course_lib.buffers import ReplayBuffer as Ring\nReplayBuffer = Ring",
    "star import": "from course_lib import *",
    "module path": "ReplayBuffer = cl.buffers.ReplayBuffer",
    "getattr": "ReplayBuffer = getattr(cl, 'ReplayBuffer')",
    "subclass": "class ReplayBuffer(cl.ReplayBuffer):\n    pass",
    "subclass writing some": (
        "class ReplayBuffer(cl.ReplayBuffer):\n    def __len__(self):\n        return self.size"
    ),
    "made by type()": "ReplayBuffer = type('ReplayBuffer', (cl.ReplayBuffer,), {})",
    "delegation": (
        "class ReplayBuffer:\n"
        "    def __init__(self, obs_dim, act_dim, size, batch_size=32):\n"
        "        cl.ReplayBuffer.__init__(self, obs_dim, act_dim, size, batch_size)\n"
        + BUFFER_METHODS.format(
            store="cl.ReplayBuffer.store(self, obs, act, rew, next_obs, done)",
            sample="return cl.ReplayBuffer.sample_batch(self)",
        )
    ),
    "composition": (
        "class ReplayBuffer:\n"
        "    def __init__(self, obs_dim, act_dim, size, batch_size=32):\n"
        "        self.inner = cl.ReplayBuffer(obs_dim, act_dim, size, batch_size)\n"
        "        self.size = 0\n"
        + BUFFER_METHODS.format(
            store="self.inner.store(obs, act, rew, next_obs, done)",
            sample="return self.inner.sample_batch()",
        )
    ),
    "helper function": (
        "def _draw(buffer):\n"
        "    return cl.ReplayBuffer.sample_batch(buffer)\n\n\n"
        "class ReplayBuffer:\n"
        "    def __init__(self, obs_dim, act_dim, size, batch_size=32):\n"
        "        self.size = 0\n" + BUFFER_METHODS.format(store="pass", sample="return _draw(self)")
    ),
    "super()": (
        "class ReplayBuffer(cl.ReplayBuffer):\n"
        "    def __init__(self, obs_dim, act_dim, size, batch_size=32):\n"
        "        super().__init__(obs_dim, act_dim, size, batch_size)\n"
        + BUFFER_METHODS.format(store="super().store(obs, act, rew, next_obs, done)", sample="pass")
    ),
    "pasted": textwrap.dedent(inspect.getsource(GivenBuffer)),
    "pasted, reformatted": textwrap.dedent(inspect.getsource(GivenBuffer))
    .replace('"""A fixed-size ring', '"""My own ring')
    .replace(
        "        self.ptr = (self.ptr + 1) % self.max_size",
        "        self.ptr = ((self.ptr+1)  %  self.max_size)  # wrap",
    ),
    "computed name": "ReplayBuffer = getattr(cl, 'Replay' + 'Buffer')",
    "importlib": (
        "import importlib\n"
        "ReplayBuffer = importlib.import_module('course_lib.buffers').ReplayBuffer"
    ),
    "sys.modules": "import sys\nReplayBuffer = sys.modules['course_lib.buffers'].ReplayBuffer",
    "package as a value": "lib = cl\nReplayBuffer = lib.ReplayBuffer",
    "globals()": "globals()['ReplayBuffer'] = cl.ReplayBuffer",
    "exec": "exec('ReplayBuffer = cl.' + 'ReplayBuffer')",
}


@pytest.mark.parametrize("variant", sorted(LEANING_BUFFERS))
def test_a_replay_buffer_that_leans_on_the_given_one_is_found(source, variant):
    found = _found(source, {"replay_buffer": LEANING_BUFFERS[variant]})
    assert set(found) == {"ddpg_replay_buffer"}, found
    item = found["ddpg_replay_buffer"]
    assert item.kind in ("given code", "unreadable code"), item
    assert "ReplayBuffer" in item.message and "earns no points" in item.message, item.message
    if item.kind == "given code":
        assert "course_lib.buffers.ReplayBuffer" in item.message, item.message


def test_each_way_of_leaning_is_named(source):
    def message(variant: str) -> str:
        return _found(source, {"replay_buffer": LEANING_BUFFERS[variant]})[
            "ddpg_replay_buffer"
        ].message

    assert "ReplayBuffer is that implementation" in message("identity")
    assert "inherits __init__, store, sample_batch, __len__ from it" in message("subclass")
    assert "inherits __init__, store, sample_batch from it" in message("subclass writing some")
    assert "uses course_lib.buffers.ReplayBuffer.__init__" in message("delegation")
    assert "_draw uses course_lib.buffers.ReplayBuffer.sample_batch" in message("helper function")
    assert "calls it through super()" in message("super()")
    assert "pasted in" in message("pasted") and "ReplayBuffer.store" in message("pasted")
    assert "cannot follow (importlib.import_module" in message("importlib")
    assert "not defined by any code the grader can read" in message("exec")


def test_a_later_cell_that_swaps_in_the_given_class_is_found(source):
    found = _found(source, {}, extra="ReplayBuffer = cl.ReplayBuffer")
    assert "ReplayBuffer is that implementation" in found["ddpg_replay_buffer"].message
    # a method taken over from it, after the class was written
    found = _found(source, {}, extra="ReplayBuffer.sample_batch = cl.ReplayBuffer.sample_batch")
    assert "course_lib.buffers.ReplayBuffer.sample_batch" in found["ddpg_replay_buffer"].message


def test_ou_noise_taken_from_the_package_is_found(source):
    for text in ("class OUNoise(cl.OUNoise):\n    pass", "from course_lib.noise import OUNoise"):
        found = _found(source, {"ou_noise": text})
        assert set(found) == {"ddpg_ou_noise"}, found
        assert "course_lib.noise.OUNoise" in found["ddpg_ou_noise"].message


CLEAN = {
    # the student's own code in a different style, subclassing the given class but writing
    # every graded method itself
    "own methods over the given base": (
        "class ReplayBuffer(cl.ReplayBuffer):\n"
        "    def __init__(self, obs_dim, act_dim, size, batch_size=32):\n"
        "        self.obs_buf = np.zeros((size, obs_dim), dtype=np.float32)\n"
        "        self.size = 0\n"
        + BUFFER_METHODS.format(store="self.size += 1", sample="return {}")
    ),
    # local names that shadow the notebook's own imports are not the package
    "a parameter called checks": (
        "class ReplayBuffer:\n"
        "    def __init__(self, obs_dim, act_dim, size, batch_size=32, cl=None):\n"
        "        checks = cl\n"
        "        self.size = 0\n"
        + BUFFER_METHODS.format(
            store="pass", sample="checks = {'obs': self.size}\n        return checks"
        )
    ),
}


@pytest.mark.parametrize("variant", sorted(CLEAN))
def test_the_students_own_code_is_not_found(source, variant):
    assert _found(source, {"replay_buffer": CLEAN[variant]}) == {}


@pytest.mark.parametrize("name", sorted(p.stem for p in SOLUTIONS.glob("*.ipynb")))
def test_no_reference_solution_and_no_released_notebook_is_found(name):
    source = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    given = load_given(name, source.metadata)
    for submitted in (fill(SOLUTIONS / f"{name}.ipynb"), source):
        assert leaning(source, assemble(source, submitted).notebook, given) == []


def test_the_agent_may_use_the_given_buffer_without_losing_the_buffer_question(source):
    # Only the question the given code answers is concerned: the agent is graded on its
    # steps and updates, with whatever buffer it holds.
    nb = fill(SOURCE, {"agent": lambda src: src.replace("= ReplayBuffer(", "= cl.ReplayBuffer(")})
    assert leaning(source, assemble(source, nb).notebook, load_given(DDPG)) == []


def test_the_grading_code_earns_nothing(source):
    text = (
        "from course_lib.probes.ddpg import soft_update as probe\n\n\n"
        "def soft_update(target, source, tau):\n"
        "    probe.soft_update_case(0)\n"
    )
    found = _found(source, {"soft_update": text})
    assert set(found) == {"ddpg_soft_update"}, found
    item = found["ddpg_soft_update"]
    assert item.kind == "course internals"
    assert "course_lib.probes.ddpg.soft_update.soft_update_case" in item.message, item.message
    # a private name of the package
    found = _found(
        source, {"soft_update": "def soft_update(target, source, tau):\n    cl._EXPORTS\n"}
    )
    assert "course_lib._EXPORTS" in found["ddpg_soft_update"].message
    # a helper that no graded name uses decides nothing
    assert _found(source, {}, extra="def helper():\n    return cl._EXPORTS\n") == {}


def test_declarations_are_checked():
    assert [g.name for g in load_given(DDPG)] == ["ReplayBuffer", "OUNoise"]
    assert load_given("00_gymnasium_tour") == ()
    assert all(isinstance(g, Given) for g in load_given(DDPG))
    assert course_lib.ReplayBuffer is GivenBuffer


@pytest.mark.slow
def test_the_given_classes_score_nothing_and_are_recorded_as_tampering(settings, tmp_path):
    # The submission of the issue: 18/18 before, of which 5 points for the course's code.
    settings = dataclasses.replace(settings, fast=True)
    path = tmp_path / "submitted" / "s" / DDPG / f"{DDPG}.ipynb"
    path.parent.mkdir(parents=True)
    nb = fill(
        SOURCE,
        {
            "replay_buffer": lambda _: "class ReplayBuffer(cl.ReplayBuffer):\n    pass\n",
            "ou_noise": lambda _: "class OUNoise(cl.OUNoise):\n    pass\n",
        },
    )
    nbformat.write(nb, path)
    rec = grade_one("s", DDPG, path, settings)
    scores = {t.grade_id: t.score for t in rec.tests}
    assert scores["test_replay_buffer"] == 0.0 and scores["test_ou_noise"] == 0.0, scores
    assert scores["test_soft_update"] == 2.0 and scores["test_agent"] == 4.0, scores
    messages = {t.grade_id: t.message for t in rec.tests}
    assert "course_lib.buffers.ReplayBuffer" in messages["test_replay_buffer"]
    assert "course_lib.noise.OUNoise" in messages["test_ou_noise"]
    kinds = {(gid, kind) for gid, kind, _ in rec.tampering}
    assert kinds == {("test_replay_buffer", "given code"), ("test_ou_noise", "given code")}
