"""The exercise of the authoring guide's worked example (docs/authoring.md): returns-to-go.

An instructor's own exercise module, kept outside ``course_lib`` and handed to the grader
with ``course-lib grade --exercises tests/authoring/exercises``. In one place: the cases
the exercise is probed on, how the student's code runs on a case into a record, the
diagnosis, the visible check, the hidden probe, and the manifest entry.

The exercise: ``returns_to_go(rewards, gamma)`` returns ``G_t = r_t + gamma * G_{t+1}``
for every step of one episode (``G`` after the last step is 0), on episodes played in
:class:`course_lib.toy_envs.ToyEnv`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checks.core import report
from course_lib.exercises.compare import each_record
from course_lib.exercises.finding import Finding
from course_lib.exercises.manifest import Diagnosed, Entry
from course_lib.observations import to_data
from course_lib.toy_envs import ToyEnv

Record = dict[str, Any]

# -- cases ------------------------------------------------------------------------------


def episode_case(seed: int, horizon: int, gamma: float) -> Record:
    """The rewards of one ToyEnv episode under a seeded random policy, and ``gamma``."""
    rng = np.random.default_rng(seed)
    env = ToyEnv(horizon=horizon, reward_scale=0.5)
    env.reset(seed=seed)
    rewards, done = [], False
    while not done:
        _, reward, terminated, truncated, _ = env.step(int(rng.integers(2)))
        rewards.append(reward)
        done = terminated or truncated
    return {"rewards": rewards, "gamma": gamma}


VISIBLE_CASE = episode_case(seed=3, horizon=4, gamma=0.5)
"""The visible check's case: 4 steps, gamma 0.5 (the answer is easy to work by hand)."""


def hidden_cases(seed: int) -> list[Record]:
    """The grader's cases, drawn from its seed: unknown to the student in advance."""
    rng = np.random.default_rng(seed)
    return [
        episode_case(int(rng.integers(2**31)), int(rng.integers(3, 12)), float(g))
        for g in (0.9, rng.uniform(0.5, 0.99), 1.0)
    ]


# -- run: the student's code on one case, into a record ------------------------------


def run_case(returns_to_go: Callable[..., Any], case: Record) -> Record:
    """What the student's function gave on ``case`` (its error, if it raised)."""
    try:
        out = returns_to_go(list(case["rewards"]), case["gamma"])
        return {"case": case, "returns": to_data(np.asarray(out, dtype=np.float64))}
    except NotImplementedError:
        raise
    except Exception as err:  # the diagnosis names it
        return {"case": case, "error": f"{type(err).__name__}: {err}"}


# -- diagnosis: record, case -> Finding | None ---------------------------------------


def _expected(rewards: list[float], gamma: float, forward: bool = False) -> np.ndarray:
    out, g = np.zeros(len(rewards)), 0.0
    order = range(len(rewards)) if forward else reversed(range(len(rewards)))
    for t in order:
        g = rewards[t] + gamma * g
        out[t] = g
    return out


def diagnose(record: Record, case: Record) -> Finding | None:
    """The first problem with the student's returns on ``case``, with the likely bug."""
    if "error" in record:
        return Finding(f"returns_to_go raised {record['error']}", from_error=True)
    rewards, gamma = case["rewards"], case["gamma"]
    want = _expected(rewards, gamma)
    where = f"{len(rewards)} rewards, gamma={gamma:g}"
    try:
        got = np.asarray(record.get("returns"), dtype=np.float64)
    except (TypeError, ValueError):  # not numbers: a broken or a forged record
        return Finding("the returns are not numbers", got=record.get("returns"), where=where)
    if got.shape != want.shape:
        return Finding(
            f"the returns have shape {got.shape}, not {want.shape}",
            hint="return one G_t per step of the episode",
            where=where,
        )
    if np.allclose(got, want, rtol=1e-6, atol=1e-8):
        return None
    mistakes = [
        (_expected(rewards, gamma, forward=True), "accumulate from the last step backwards"),
        (np.cumsum(rewards[::-1])[::-1], "discount each later reward by gamma"),
        (np.full_like(want, want[0]), "give each step its own return, not the episode's"),
    ]
    hint = next((why for wrong, why in mistakes if np.allclose(got, wrong, rtol=1e-6)), None)
    first = int(np.argmax(~np.isclose(got, want, rtol=1e-6, atol=1e-8)))
    return Finding(
        f"G_{first} is {got[first]:.6g}, not {want[first]:.6g}",
        hint=hint or "G_t = r_t + gamma * G_(t+1), with G = 0 after the last step",
        expected=np.round(want, 5).tolist(),
        got=np.round(got, 5).tolist(),
        where=where,
    )


# -- the visible check and the hidden probe --------------------------------------------


def check_returns_to_go(returns_to_go: Callable[..., Any]) -> None:
    """The visible check: the fixed case, the diagnosis raised as a CheckFailed."""
    report(
        "check_returns_to_go",
        diagnose(run_case(returns_to_go, VISIBLE_CASE), VISIBLE_CASE),
        "G_t = r_t + gamma * G_(t+1) on a 4-step episode",
    )


def probe_returns_to_go(returns_to_go: Callable[..., Any], seed: int) -> list[Record]:
    """The hidden probe: only records what the student's code gave on the grader's cases."""
    return [run_case(returns_to_go, case) for case in hidden_cases(seed)]


# -- the grader's judge and the manifest -----------------------------------------------


def judge_returns_to_go(student: Any, reference: Any) -> Finding | None:
    """Each record diagnosed against the reference's case (the grader's, not the student's)."""
    return each_record(student, reference, _judge_record, "case")


def _judge_record(got: Any, ref: Any, where: str) -> Finding | None:
    if not isinstance(got, dict) or got.get("case") != ref["case"]:
        return Finding(f"{where}: the record is not for the grader's case")
    return diagnose(got, ref["case"])


MANIFEST: dict[str, Entry] = {
    "returns_to_go": Diagnosed(judge_returns_to_go, "every return-to-go right"),
}
