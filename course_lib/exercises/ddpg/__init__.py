"""Notebook 04's graded exercises (DDPG): what a probe's record says about the student's code.

Each ``diagnose_*`` function reads what a probe of :mod:`course_lib.probes.ddpg` recorded
(the student's raw outputs) against the probe's case (the inputs, taken from the reference
solution's observation when grading) and returns ``None`` or a :class:`Finding` that names
the first problem and its fix. The visible checks of :mod:`course_lib.checks.ddpg` raise a
finding as a ``CheckFailed``; the grader reads it through :data:`MANIFEST`
(:mod:`.manifest`). Both therefore accept the same correct variants and name the same
bugs. Nothing here imports the grader.

Statistical tests use thresholds many standard errors away from what a correct
implementation produces; each states its margins where it is defined.
"""

from __future__ import annotations

from course_lib.exercises.ddpg.agent_step import (
    diagnose_agent_step,
)
from course_lib.exercises.ddpg.base import (
    BUFFER_KEYS,
    TARGET_HYPOTHESES,
    Record,
)
from course_lib.exercises.ddpg.manifest import GIVEN, MANIFEST
from course_lib.exercises.ddpg.ou_noise import (
    diagnose_ou_noise,
)
from course_lib.exercises.ddpg.parts import AGENT_PARTS
from course_lib.exercises.ddpg.replay_buffer import (
    diagnose_replay_buffer,
)
from course_lib.exercises.ddpg.soft_update import (
    diagnose_soft_update,
)
from course_lib.exercises.ddpg.update_model import (
    diagnose_update_model,
)
from course_lib.exercises.finding import Finding

__all__ = [
    "AGENT_PARTS",
    "BUFFER_KEYS",
    "GIVEN",
    "MANIFEST",
    "TARGET_HYPOTHESES",
    "Finding",
    "Record",
    "diagnose_agent_step",
    "diagnose_ou_noise",
    "diagnose_replay_buffer",
    "diagnose_soft_update",
    "diagnose_update_model",
]
