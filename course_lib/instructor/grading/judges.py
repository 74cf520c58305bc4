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
from collections.abc import Callable, Mapping
from typing import Any

from course_lib.exercises.manifest import NOTEBOOKS, Close, Diagnosed, Entry, load_manifest
from course_lib.instructor.grading.verdicts import Verdict, close

__all__ = ["Verdict", "close", "judge_data", "judge_for", "judge_observation"]


def judge_data(entry: Entry, student: Any, reference: Any) -> Verdict:
    """The verdict on a data observation judged as ``entry`` says."""
    if isinstance(entry, Close):
        return close(student, reference, rtol=entry.rtol, atol=entry.atol)
    if isinstance(entry, Diagnosed):
        found = entry.judge(student, reference)
        return Verdict(1.0, entry.passed) if found is None else Verdict(0.0, found.message())
    raise TypeError(f"{type(entry).__name__} observations are judged as programs, not here")


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
