"""Notebook 05's graded exercise ``TD3.train``: its cases, how a run is recorded, and the
analyses that read a run.

``train`` is run on small stand-ins whose outputs are known exactly, fed a fixed batch:

* the stand-in critics hold one value per state in a table (the state's first
  coordinate is its row), plus ``k * sum(action)``;
* the stand-in actors are ``max_action * tanh(W x + b)`` on the other coordinates.

The stand-ins record what the student's code asks of them. The actions the target
critic receives show the smoothing noise. The gradient of the critic loss on each
Q value shows which target the critics were regressed on: every regression loss
(MSE, Huber, ...) pulls each Q toward its own target, so the gradient has the sign
of ``Q - y``; with the online Q values placed just above, then just below, the
right target, only the right target explains the signs of both runs.

The visible check (:mod:`course_lib.checks.td3`) runs fixed cases, the hidden probe
(:mod:`course_lib.probes.td3`) cases drawn from the grader's seed, and the grader's judge
(:data:`MANIFEST`, :mod:`.manifest`) reads the probe's runs with :func:`analyze_train`: a
visible failure and a hidden one name the same bug. Nothing here imports the grader.
"""

from __future__ import annotations

from course_lib.exercises.finding import Finding
from course_lib.exercises.td3.analyses import (
    ANALYSES,
    analyze_train,
)
from course_lib.exercises.td3.cases import (
    cases_digest,
    train_cases,
)
from course_lib.exercises.td3.manifest import MANIFEST
from course_lib.exercises.td3.run import (
    as_number,
    build_agent,
    run_train_case,
)
from course_lib.exercises.td3.standins import (
    FixedBuffer,
)

__all__ = [
    "ANALYSES",
    "MANIFEST",
    "Finding",
    "FixedBuffer",
    "analyze_train",
    "as_number",
    "build_agent",
    "cases_digest",
    "run_train_case",
    "train_cases",
]
