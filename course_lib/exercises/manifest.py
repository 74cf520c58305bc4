"""How the grader judges each observation of a notebook: the manifest.

Every graded notebook has an exercise module (:data:`NOTEBOOKS`, or the instructor
notebook's metadata ``{"course_lib": {"exercises": "package.module"}}`` for a notebook of
your own) whose ``MANIFEST`` maps each observation its hidden tests emit to one entry:

* :class:`Close`: equal to the reference solution's observation within tolerance;
* :class:`Diagnosed`: read by the exercise's own judge, which accepts every correct variant
  and names the first problem (``judge(student, reference) -> Finding | None``);
* :class:`NetworkProbe`: an exported network, probed by the grader on inputs of its own;
* :class:`PolicyCriterion`: an exported policy, played by the grader over episodes of its
  own; the pass mark and the number of episodes come from the notebook's config, through the
  reference solution's observation (``policy_to_data(..., pass_mark=..., episodes=...)``).

An observation missing from the manifest is judged :class:`Close`. Nothing here imports the
grader: the manifest is data the grader reads.

Where the package itself carries an exercise's answer (given to students in a later
notebook), the exercise module says so in ``GIVEN``, a tuple of :class:`Given`: the grader
then scores 0 an answer that is, inherits from, calls or pastes that implementation.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from course_lib.exercises.compare import first_difference
from course_lib.exercises.finding import Finding

__all__ = [
    "NOTEBOOKS",
    "Close",
    "Diagnosed",
    "Diagnosis",
    "Entry",
    "Given",
    "Judge",
    "KnownMistakes",
    "NetworkProbe",
    "PolicyCriterion",
    "exercise_module",
    "judge_by",
    "load_given",
    "load_manifest",
]

Judge = Callable[[Any, Any], Finding | None]
"""``judge(student's observation, reference's observation) -> Finding | None`` (None: passed)."""


@dataclass(frozen=True)
class KnownMistakes:
    """How the grader names a wrong answer to an exercise judged :class:`Close`.

    The grader replays the exercise's probe on its own seed once per known wrong
    implementation; the first whose observation the student's equals (within the entry's
    tolerance) names the mistake. Only the name comes from this: the score is the
    comparison with the reference's observation.

    Attributes:
        probe: ``"module:function"``, the probe, ``probe(fn, seed) -> observation``.
        mistakes: ``"module:NAME"``, a mapping ``{mistake name: wrong implementation}``, or
            a tuple of wrong implementations for the ways a mistake is commonly written
            (names as :class:`~course_lib.exercises.finding.Hint` has them), defined with
            the exercise.
    """

    probe: str
    mistakes: str


@dataclass(frozen=True)
class Close:
    """Same structure as the reference's observation, numbers equal within tolerance;
    ``known`` names a wrong answer that a known mistake explains."""

    rtol: float = 1e-4
    atol: float = 1e-5
    known: KnownMistakes | None = None


@dataclass(frozen=True)
class Diagnosed:
    """Read by the exercise's judge; ``passed`` is the grader's message when it finds nothing."""

    judge: Judge
    passed: str


@dataclass(frozen=True)
class NetworkProbe:
    """An exported network (:func:`course_lib.observations.module_to_data`), probed by the grader.

    Attributes:
        kind: a standard kind of the grader (``actor_critic``, ``actor``, ``gaussian_actor``,
            ``critic``), or a name for the network that ``problems`` judges.
        problems: ``"package.module:function"`` of ``problems(module, data, seed) ->
            list[str]`` (empty: the network behaves as specified), run in the grader's own
            process on the loaded program; None for a standard kind.
    """

    kind: str
    problems: str | None = None


@dataclass(frozen=True)
class PolicyCriterion:
    """An exported policy (:func:`course_lib.handoff.policy_to_data`), played by the grader.

    It passes when its mean return over the grader's episodes reaches the pass mark. The
    env, pass mark and episode count are those the reference's observation carries, i.e. the
    notebook's config: they are written once, there.
    """


Entry = Close | Diagnosed | NetworkProbe | PolicyCriterion


@dataclass(frozen=True)
class Given:
    """An exercise's answer that the package carries, because a later notebook gives it.

    Attributes:
        name: the name the student defines in the notebook (``"ReplayBuffer"``).
        implementation: ``"package.module:Name"`` of the package's own implementation.
        answers: the observations it would answer (keys of ``MANIFEST``).
        methods: the methods the student writes (a class): a subclass of the given
            implementation must write every one of them itself.
    """

    name: str
    implementation: str
    answers: tuple[str, ...]
    methods: tuple[str, ...] = ()


NOTEBOOKS: dict[str, str] = {
    "00_gymnasium_tour": "course_lib.exercises.tour",
    "01_actor_critic": "course_lib.exercises.actor_critic",
    "02_a2c": "course_lib.exercises.a2c",
    "03_ppo": "course_lib.exercises.ppo",
    "04_ddpg": "course_lib.exercises.ddpg",
    "05_td3": "course_lib.exercises.td3",
}
"""The course's notebooks and their exercise modules."""


def exercise_module(assignment: str, metadata: Mapping[str, Any] | None = None) -> str | None:
    """The exercise module of ``assignment``: the notebook's metadata first, then
    :data:`NOTEBOOKS`; None when it has none (every observation is then :class:`Close`)."""
    named = ((metadata or {}).get("course_lib") or {}).get("exercises")
    if named is not None:
        if not isinstance(named, str) or not named:
            raise ValueError(
                f"{assignment}: the notebook metadata course_lib.exercises must be the dotted "
                f"name of a module (e.g. 'my_course.exercises.bandits'), not {named!r}"
            )
        return named
    return NOTEBOOKS.get(assignment)


def load_manifest(assignment: str, metadata: Mapping[str, Any] | None = None) -> dict[str, Entry]:
    """``{observation name: entry}`` of ``assignment`` (empty when it has no exercise module).

    Raises:
        ValueError: the module cannot be imported or has no valid ``MANIFEST``.
    """
    name = exercise_module(assignment, metadata)
    if name is None:
        return {}
    try:
        module = importlib.import_module(name)
    except ImportError as err:
        raise ValueError(
            f"{assignment}: cannot import its exercise module {name!r} ({err}); install it "
            f"where the grader runs, or fix the name in the notebook's metadata"
        ) from err
    manifest = getattr(module, "MANIFEST", None)
    if not isinstance(manifest, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Entry) for k, v in manifest.items()
    ):
        raise ValueError(
            f"{assignment}: {name}.MANIFEST must be a dict of observation name -> Close, "
            f"Diagnosed, NetworkProbe or PolicyCriterion (see docs/authoring.md)"
        )
    return dict(manifest)


def load_given(assignment: str, metadata: Mapping[str, Any] | None = None) -> tuple[Given, ...]:
    """The :class:`Given` declarations of ``assignment``'s exercise module (``GIVEN``; none
    when it has no module or declares none).

    Raises:
        ValueError: the module cannot be imported, or ``GIVEN`` is not a tuple of Given.
    """
    name = exercise_module(assignment, metadata)
    if name is None:
        return ()
    try:
        module = importlib.import_module(name)
    except ImportError as err:
        raise ValueError(
            f"{assignment}: cannot import its exercise module {name!r} ({err}); install it "
            f"where the grader runs, or fix the name in the notebook's metadata"
        ) from err
    given = getattr(module, "GIVEN", ())
    if not isinstance(given, tuple | list) or not all(isinstance(g, Given) for g in given):
        raise ValueError(
            f"{assignment}: {name}.GIVEN must be a tuple of Given (see docs/authoring.md)"
        )
    return tuple(given)


Diagnosis = Callable[[dict[str, Any], dict[str, Any]], Finding | None]
"""A diagnosis: ``(the student's record, the grader's case) -> Finding | None``."""


def _read(diagnose: Diagnosis, student: Any, ref: Any) -> Finding | None:
    """``diagnose`` on the student's record, if it is for the grader's case."""
    if not isinstance(student, dict):
        return Finding("malformed observation (not a mapping)")
    if first_difference(ref["case"], student.get("case"), "", 1e-9, 1e-12) is not None:
        return Finding("the observation is not for the grader's inputs")
    try:
        return diagnose(student, ref["case"])
    except Exception as err:  # a malformed (or forged) record earns nothing, and says so
        return Finding(f"malformed observation ({type(err).__name__}: {err})")


def judge_by(diagnose: Diagnosis) -> Judge:
    """The judge that reads an observation with ``diagnose``: a record (a mapping holding
    the ``case`` it was made on) for another case than the grader's earns nothing, and a
    malformed or forged one is refused with its error, never raised."""

    def judge(student: Any, reference: Any) -> Finding | None:
        return _read(diagnose, student, reference)

    judge.__name__ = judge.__qualname__ = f"judge_by_{diagnose.__name__}"
    judge.__doc__ = f"Judge an observation with :func:`{diagnose.__name__}`."
    return judge
