"""Reading TD3.train's runs: the target networks' soft updates

Part of :mod:`course_lib.exercises.td3`: the analysis that :mod:`.analyses` applies after the
actor's and the schedule's, split off to keep each module readable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.td3.model import _a
from course_lib.exercises.td3.read import _same
from course_lib.exercises.td3.standins import _f32


def _vector(params: dict[str, Any]) -> dict[str, np.ndarray]:
    # as float32, the parameters' own precision (the case holds some values as float64)
    return {name: _a(_f32(value)).reshape(-1) for name, value in params.items()}


def _analyze_soft_updates(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """Targets move by tau toward the online networks on update calls, stay still otherwise."""
    for case, run in runs:
        calls = run.get("calls") or []
        tau, freq = case["config"]["tau"], case["config"]["policy_freq"]
        before = {role: _vector(case[role]) for role in ("actor", "critic")}
        before.update({f"{r}_target": _vector(case[f"{r}_target"]) for r in ("actor", "critic")})
        for t, call in enumerate(calls, start=1):
            where = f"{case['label']}, call {t}"
            if call.get("error"):
                return Finding(str(call["error"]), where=where)
            after = {role: _vector(p) for role, p in call["params"].items()}
            if any(set(after[r]) != set(before[r]) for r in before):
                return Finding(
                    "a network of the agent was replaced during train.",
                    Hint(
                        "td3.train.network_replaced",
                        "update the networks in place (optimizer steps, soft updates); do not "
                        "assign new modules.",
                    ),
                    where=where,
                )
            update = t % freq == 0
            for net in ("actor", "critic"):
                role = f"{net}_target"
                moved = any(
                    not np.array_equal(after[role][n], before[role][n]) for n in before[role]
                )
                if moved and not update:
                    return Finding(
                        f"the targets are updated on every call: {role} changed on call {t} "
                        f"(total_it = {t}, policy_freq = {freq}).",
                        Hint(
                            "td3.train.no_target_update_delay",
                            "soft-update both targets inside `if self.total_it % self.policy_freq "
                            "== 0:`, after the actor step.",
                        ),
                        where=where,
                    )
                if update:
                    problem = _soft_update_problem(role, net, before, after, tau, moved, where)
                    if problem is not None:
                        return problem
            before = after
    return None


def _soft_update_problem(
    role: str,
    net: str,
    before: dict[str, dict[str, np.ndarray]],
    after: dict[str, dict[str, np.ndarray]],
    tau: float,
    moved: bool,
    where: str,
) -> Finding | None:
    fix = (
        "for param, target_param in zip(self.critic.parameters(), "
        "self.critic_target.parameters()): target_param.data.copy_(self.tau * param.data + "
        "(1 - self.tau) * target_param.data), and the same for the actor."
    )
    if not moved:
        return Finding(
            f"{role} was not updated on an update call (total_it % policy_freq == 0).",
            Hint("td3.soft_update.target_not_updated", fix),
            where=where,
        )
    old, new = before[role], after[role]
    sources = (after[net], before[net])  # the online step may come before or after

    def matches(rate: float, src: dict[str, np.ndarray], name: str) -> bool:
        return _same(new[name], rate * src[name] + (1 - rate) * old[name], atol=1e-5)

    good = [n for n in old if any(matches(tau, s, n) for s in sources)]
    if len(good) == len(old):
        return None
    for rate, wrong, hint in (
        (
            1.0,
            f"{role} was copied from {net} (tau = 1).",
            Hint("td3.soft_update.hard_copy", fix),
        ),
        (
            1.0 - tau,
            f"{role} moved by 1 - tau instead of tau (tau on the wrong side).",
            Hint("td3.soft_update.tau_on_wrong_side", fix),
        ),
        (
            0.005,
            f"{role} moved with tau = 0.005, not self.tau.",
            Hint("td3.soft_update.hardcoded_tau", fix),
        ),
    ):
        if all(any(matches(rate, s, n) for s in sources) for n in old):
            return Finding(wrong, hint, where=where)
    still = [n for n in old if np.array_equal(new[n], old[n])]
    if good and still:
        return Finding(
            f"only some of {role}'s parameters were soft-updated.",
            Hint("td3.soft_update.some_params_skipped", "update every pair of parameters: " + fix),
            where=where,
        )
    return Finding(
        f"{role} is not tau * {net} + (1 - tau) * {role} after an update call.",
        Hint("td3.soft_update.wrong_interpolation", fix),
        where=where,
    )
