"""Notebook 00's graded exercises (the gymnasium tour): ``run_episode`` and ``td_target``.

Each has its visible cases (exactly known answers on :class:`~course_lib.toy_envs.ToyEnv`
and on hand-picked steps), a run that calls the student's code on a case into a record,
and a diagnosis (``record, case -> Finding | None``) that the visible check
(:mod:`course_lib.checks.tour`) raises. The hidden probes (:mod:`course_lib.probes.tour`)
record the student's outputs on cases drawn from the grader's seed, which the grader
judges equal to the reference's (:data:`MANIFEST`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_lib.exercises.compare import close_finding
from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.manifest import Close, Entry, KnownMistakes
from course_lib.toy_envs import StepAfterEndError, ToyEnv

__all__ = [
    "MANIFEST",
    "RUN_EPISODE_CASES",
    "TD_CASES",
    "EpisodeCase",
    "diagnose_run_episode",
    "diagnose_td_target",
    "run_run_episode",
]

# ---------------------------------------------------------------------------
# run_episode(env, policy, seed) -> (total_reward, n_steps, terminated, truncated)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EpisodeCase:
    """One visible episode: the ToyEnv, the policy's constant action, the seed, the answer."""

    horizon: int
    terminate_after: int | None
    action: int
    seed: int
    label: str
    n_steps: int
    total: float
    flags: tuple[bool, bool]
    record_obs: bool = field(default=False)
    """Whether the diagnosis also reads the observations the policy was called on."""


RUN_EPISODE_CASES = (
    # the episode terminates on step 3, before its time limit of 10
    EpisodeCase(10, 3, 1, 7, "3 steps of reward 2, then terminated", 3, 6.0, (True, False), True),
    # the episode is cut by its time limit (4 steps) and never terminates
    EpisodeCase(4, None, 0, 3, "4 steps of reward 1, truncated", 4, 4.0, (False, True)),
)


def run_run_episode(run_episode: Callable[..., Any], case: EpisodeCase) -> dict[str, Any]:
    """The student's ``run_episode`` on ``case``: what it returned, how it used the env.

    A step after the episode ended is recorded (``stepped_after_end``); any other error
    the student's code raises propagates, with its own traceback.
    """
    env = ToyEnv(horizon=case.horizon, terminate_after=case.terminate_after)
    seen: list[np.ndarray] = []

    def policy(obs: np.ndarray) -> int:
        seen.append(np.array(obs, copy=True))
        return case.action

    record: dict[str, Any] = {"env": env, "seen": seen}
    try:
        record["out"] = run_episode(env, policy, case.seed)
    except StepAfterEndError:
        record["stepped_after_end"] = True
    return record


def diagnose_run_episode(record: dict[str, Any], case: EpisodeCase) -> Finding | None:
    """The first problem in how ``run_episode`` played ``case``, with the likely fix."""
    env = record["env"]
    if record.get("stepped_after_end"):
        return Finding(
            "your loop stepped the environment after the episode had ended.",
            where=f"episode of {env.horizon} steps at most (time limit)",
            hint=Hint(
                "tour.run_episode.ignores_truncation",
                "end the loop when `terminated or truncated` is true; checking only "
                "`terminated` runs past the time limit.",
            ),
        )
    out = record["out"]
    if not (isinstance(out, tuple) and len(out) == 4):
        return Finding(
            "run_episode must return a tuple of four values.",
            expected="(total_reward, n_steps, terminated, truncated)",
            got=out,
        )
    total, n_steps, terminated, truncated = out
    if not case.record_obs:  # the time-limited case
        if (int(n_steps), bool(terminated), bool(truncated)) != (case.n_steps, *case.flags):
            return Finding(
                "a time-limited episode was not handled right.",
                expected="n_steps=4, terminated=False, truncated=True",
                got=f"n_steps={n_steps}, terminated={terminated}, truncated={truncated}",
                hint=Hint(
                    "tour.run_episode.merged_end_flags",
                    "stop at `terminated or truncated` and report both flags separately.",
                ),
            )
        return close_finding("total rewards", [total], [case.total], case=case.label)
    if env.reset_seeds != [case.seed]:
        return Finding(
            "the environment was not reset exactly once, with the given seed.",
            expected=f"reset(seed={case.seed}) called once",
            got=f"reset called with seeds {env.reset_seeds}",
            hint=Hint(
                "tour.run_episode.unseeded_or_repeated_reset",
                "call `obs, info = env.reset(seed=seed)` once at the start of the episode.",
            ),
        )
    if not (isinstance(n_steps, int | np.integer) and not isinstance(n_steps, bool)):
        return Finding("n_steps must be an int.", got=type(n_steps).__name__)
    if not (isinstance(terminated, bool | np.bool_) and isinstance(truncated, bool | np.bool_)):
        return Finding(
            "terminated and truncated must be booleans, as env.step returns them.",
            got=(type(terminated).__name__, type(truncated).__name__),
        )
    if int(n_steps) != case.n_steps:
        return Finding(
            "n_steps is wrong for an episode that terminates after 3 steps.",
            expected=case.n_steps,
            got=n_steps,
            hint=Hint(
                "tour.run_episode.miscounted_steps",
                "count one step per call to env.step (start at 0, not 1).",
            ),
        )
    found = close_finding(
        "total rewards",
        [total],
        [case.total],
        hint=Hint(
            "tour.run_episode.skipped_rewards",
            "add the reward of every step, including the last one (2 per step here).",
        ),
        case=case.label,
    )
    if found is not None:
        return found
    if (bool(terminated), bool(truncated)) != case.flags:
        return Finding(
            "the flags of the last step were not returned as they came from env.step.",
            expected=case.flags,
            got=(terminated, truncated),
            hint=Hint(
                "tour.run_episode.stale_end_flags",
                "return the terminated and truncated of the final env.step call.",
            ),
        )
    counters = [int(o[0]) for o in record["seen"]]
    if not (counters == [0, 1, 2] and all(o[1] == case.seed for o in record["seen"])):
        return Finding(
            "the policy was not called once per step on the current observation.",
            expected="3 calls, on the observations of reset, step 1 and step 2 "
            "(counters [0, 1, 2])",
            got=f"{len(record['seen'])} calls, on observations with counters {counters}",
            hint=Hint(
                "tour.run_episode.stale_observation",
                "call `action = policy(obs)` each step, then set `obs` to the observation "
                "that env.step returned.",
            ),
        )
    return None


# ---------------------------------------------------------------------------
# td_target(reward, next_value, terminated, truncated, gamma) -> float
# ---------------------------------------------------------------------------

TD_CASES: list[tuple[tuple[float, float, bool, bool, float], float, str]] = [
    (
        (1.0, 5.0, False, False, 0.9),
        5.5,
        Hint("tour.td_target.missing_bootstrap", "an ordinary step: bootstrap from V(next_obs)."),
    ),
    (
        (1.0, 5.0, True, False, 0.9),
        1.0,
        Hint(
            "tour.td_target.bootstraps_terminal",
            "a terminal step has no future: the target is r alone.",
        ),
    ),
    (
        (1.0, 5.0, False, True, 0.9),
        5.5,
        Hint(
            "tour.td_target.truncation_masks_bootstrap",
            "truncation is a time limit, not a terminal state: keep bootstrapping; build the "
            "mask from `terminated` only.",
        ),
    ),
    (
        (-2.0, 3.0, True, True, 0.99),
        -2.0,
        Hint(
            "tour.td_target.truncation_overrides_termination",
            "when terminated is true, never bootstrap.",
        ),
    ),
    (
        (0.5, 2.0, False, False, 0.0),
        0.5,
        Hint("tour.td_target.zero_gamma_ignored", "with gamma = 0 the target is the reward alone."),
    ),
]
"""``(reward, next_value, terminated, truncated, gamma), target, why`` of the visible check."""


def diagnose_td_target(
    got: Any, case: tuple[tuple[float, float, bool, bool, float], float, str]
) -> Finding | None:
    """What is wrong with the target ``got`` that ``td_target(*args)`` returned on ``case``."""
    args, expected, why = case
    if np.ndim(got) != 0:
        return Finding("td_target must return a single number.", got=got)
    reward, next_value, terminated, truncated, gamma = args
    where = (
        f"reward={reward}, next_value={next_value}, terminated={terminated}, "
        f"truncated={truncated}, gamma={gamma}"
    )
    return close_finding("TD targets", [float(got)], [expected], case=where, hint=why)


def _target_masked_by_both(r: float, v: float, term: bool, trunc: bool, gamma: float) -> float:
    return r + gamma * (1.0 - float(term or trunc)) * v


def _target_never_masked(r: float, v: float, term: bool, trunc: bool, gamma: float) -> float:
    return r + gamma * v


def _target_never_bootstraps(r: float, v: float, term: bool, trunc: bool, gamma: float) -> float:
    return r


def _target_truncation_first(r: float, v: float, term: bool, trunc: bool, gamma: float) -> float:
    return r + gamma * v if trunc else r + gamma * (1.0 - float(term)) * v


TD_TARGET_MISTAKES: dict[str, Callable[..., float]] = {
    "tour.td_target.truncation_masks_bootstrap": _target_masked_by_both,
    "tour.td_target.bootstraps_terminal": _target_never_masked,
    "tour.td_target.missing_bootstrap": _target_never_bootstraps,
    "tour.td_target.truncation_overrides_termination": _target_truncation_first,
}
"""Known wrong ``td_target`` implementations, by mistake name: the grader replays its probe
with each to name a wrong answer (:class:`~course_lib.exercises.manifest.KnownMistakes`)."""

MANIFEST: dict[str, Entry] = {
    "run_episode": Close(),
    "td_target": Close(
        known=KnownMistakes(
            "course_lib.probes.tour:probe_td_target",
            "course_lib.exercises.tour:TD_TARGET_MISTAKES",
        )
    ),
}
