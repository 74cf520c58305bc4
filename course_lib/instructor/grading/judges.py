"""Judging data observations, outside the student's kernel, as the manifest says.

A test cell's observations are compared with the reference solution's observations on the
same grader inputs. How each is judged is its exercise's manifest entry
(:mod:`course_lib.exercises.manifest`): :class:`~course_lib.exercises.manifest.Close` by
:func:`~.verdicts.close`, :class:`~course_lib.exercises.manifest.Diagnosed` by the
exercise's own judge, whose :class:`~course_lib.exercises.finding.Finding` becomes the
verdict's message. Networks and trained policies arrive as exported programs and are probed
or played by the grader itself (:mod:`course_lib.instructor.grading.programs`), never
trusted as numbers.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from typing import Any

from course_lib.exercises.manifest import (
    NOTEBOOKS,
    Close,
    Diagnosed,
    Entry,
    KnownMistakes,
    load_manifest,
)
from course_lib.instructor.grading.verdicts import Verdict, close

__all__ = [
    "Verdict",
    "close",
    "judge_data",
    "judge_for",
    "judge_observation",
    "name_known_mistake",
]


def judge_data(entry: Entry, student: Any, reference: Any, seed: int | None = None) -> Verdict:
    """The verdict on a data observation judged as ``entry`` says; with the grader's ``seed``,
    a wrong answer to a :class:`Close` exercise is named when a known mistake explains it
    (:func:`name_known_mistake`)."""
    if isinstance(entry, Close):
        verdict = close(student, reference, rtol=entry.rtol, atol=entry.atol)
        if verdict.passed or entry.known is None or seed is None:
            return verdict
        return Verdict(verdict.fraction, verdict.message, name_known_mistake(entry, student, seed))
    if isinstance(entry, Diagnosed):
        found = entry.judge(student, reference)
        if found is None:
            return Verdict(1.0, entry.passed)
        return Verdict(0.0, found.message(), found.mistake)
    raise TypeError(f"{type(entry).__name__} observations are judged as programs, not here")


def _attribute(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def name_known_mistake(entry: Close, student: Any, seed: int) -> str | None:
    """The name of the first known mistake whose replay gives the student's observation.

    Each wrong implementation of ``entry.known.mistakes`` runs through the exercise's probe
    on the grader's ``seed`` (the course's code, in the grader's process; never the
    student's). None when no known mistake explains the answer, or the replay fails.
    """
    known: KnownMistakes | None = entry.known
    if known is None:
        return None
    try:
        probe, mistakes = _attribute(known.probe), _attribute(known.mistakes)
    except (ImportError, AttributeError, ValueError):
        return None
    for name, wrongs in mistakes.items():
        for wrong in wrongs if isinstance(wrongs, tuple | list) else (wrongs,):
            try:
                replay = probe(wrong, seed)
            except Exception:  # a wrong implementation may fail on some input: not this one
                continue
            if close(
                _nan_marked(student), _nan_marked(replay), rtol=entry.rtol, atol=entry.atol
            ).passed:
                return str(name)
    return None


def _nan_marked(value: Any) -> Any:
    """``value`` with every float NaN replaced by the text ``"nan"``: a mistake that gives
    NaN (torch.std of one number) gives it in the student's answer too, and NaN equals
    nothing as a number."""
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, list | tuple):
        return [_nan_marked(v) for v in value]
    if isinstance(value, dict):
        return {k: _nan_marked(v) for k, v in value.items()}
    return value


@functools.cache
def _course_entries() -> dict[str, Entry]:
    """Every observation name of the course's notebooks and its entry (a name two notebooks
    share, such as ``trained_policy``, is judged the same way in both)."""
    entries: dict[str, Entry] = {}
    for assignment in NOTEBOOKS:
        for name, entry in load_manifest(assignment).items():
            if entries.setdefault(name, entry) != entry:
                raise RuntimeError(f"observation {name!r} is judged two ways in the manifests")
    return entries


def judge_observation(
    name: str, student: Any, reference: Any, manifest: Mapping[str, Entry] | None = None
) -> Verdict:
    """Judge one data observation by its entry in ``manifest`` (default: the course's);
    one without an entry is judged :class:`~course_lib.exercises.manifest.Close`."""
    entries = _course_entries() if manifest is None else manifest
    return judge_data(entries.get(name, Close()), student, reference)


def judge_for(name: str) -> Callable[[Any, Any], Verdict]:
    """``judge(student, reference) -> Verdict`` of the course's observation ``name``."""
    return functools.partial(judge_observation, name)
