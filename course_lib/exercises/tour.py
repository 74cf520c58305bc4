"""Notebook 00's graded exercises (the gymnasium tour): both judged equal to the reference.

``run_episode`` and ``td_target`` are probed on the grader's seeded cases
(:mod:`course_lib.probes.tour`); their records must equal the reference solution's.
"""

from __future__ import annotations

from course_lib.exercises.manifest import Close, Entry

__all__ = ["MANIFEST"]

MANIFEST: dict[str, Entry] = {
    "run_episode": Close(),
    "td_target": Close(),
}
