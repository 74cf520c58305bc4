"""Running the student's TD3.train on a case into a record

Part of :mod:`course_lib.exercises.td3`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.envs import random_state
from course_lib.exercises.parts import Parts, PlaceholderNetwork, course_parts
from course_lib.exercises.steps import RecordingSGD
from course_lib.exercises.td3.standins import (
    FixedBuffer,
    _Call,
    _f32,
    _StandInActor,
    _StandInCritic,
)


def as_number(value: Any) -> Any:
    """A returned loss as data: a float, None, or the name of its type."""
    if value is None:
        return None
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return float(value) if math.isfinite(float(value)) else str(float(value))
    return {"type": type(value).__name__}


def _params(module: Any) -> dict[str, list[float]]:
    try:
        named = module.named_parameters()
        return {n: _f32(p.detach().reshape(-1)) for n, p in named}
    except Exception:  # the student replaced the module by something else
        return {}


def _has_grads(module: Any) -> list[bool]:
    try:
        return [p.grad is not None for p in module.parameters()]
    except Exception:
        return []


def _frozen(module: Any) -> bool:
    try:
        params = list(module.parameters())
    except Exception:
        return False
    return bool(params) and not any(p.requires_grad for p in params)


AGENT_PARTS: Parts = {"TD3Actor": PlaceholderNetwork, "TD3Critic": PlaceholderNetwork}
"""What ``TD3.__init__`` builds its networks from while ``train`` is checked or probed: the
course's placeholders, not the student's networks (a question of their own), so that a
network that fails to build costs its own question only (:mod:`course_lib.exercises.parts`)."""


def build_agent(TD3: Callable[..., Any], case: dict[str, Any], log: list[_Call]) -> Any:
    """The student's TD3 with the case's settings, its networks replaced by stand-ins."""
    cfg = case["config"]
    with course_parts(TD3, AGENT_PARTS):
        agent = TD3(
            case["state_dim"],
            case["action_dim"],
            cfg["max_action"],
            discount=cfg["discount"],
            tau=cfg["tau"],
            policy_noise=cfg["policy_noise"],
            noise_clip=cfg["noise_clip"],
            policy_freq=cfg["policy_freq"],
            double_q=cfg["double_q"],
        )
    # A target the student's __init__ froze (requires_grad False) stays frozen: then a
    # target computed outside no_grad cannot send gradient anywhere, and is not a bug.
    frozen = {
        role: _frozen(getattr(agent, role, None)) for role in ("actor_target", "critic_target")
    }
    for role in ("actor", "actor_target"):
        setattr(agent, role, _StandInActor(max_action=cfg["max_action"], **case[role]))
    for role in ("critic", "critic_target"):
        setattr(agent, role, _StandInCritic(role, log=log, **case[role]))
    for role, is_frozen in frozen.items():
        getattr(agent, role).requires_grad_(not is_frozen)
    agent.actor_optimizer = RecordingSGD(agent.actor.parameters(), lr=case["lr"]["actor"])
    agent.critic_optimizer = RecordingSGD(agent.critic.parameters(), lr=case["lr"]["critic"])
    agent.total_it = 0
    return agent


def run_train_case(TD3: Callable[..., Any], case: dict[str, Any], *, catch: bool) -> dict[str, Any]:
    """Call ``agent.train`` ``case["calls"]`` times on the case's batch; record what happened.

    With ``catch``, an exception becomes an ``error`` entry (for the probe); without, it
    propagates (for the visible check, which shows it).
    """
    log: list[_Call] = []
    calls: list[dict[str, Any]] = []
    with random_state(int(case["seed"])):
        try:
            agent = build_agent(TD3, case, log)
        except Exception as err:
            if not catch:
                raise
            return {"error": f"TD3(...) raised {type(err).__name__}: {err}"[:400], "calls": []}
        buffer = FixedBuffer(case)
        for _ in range(int(case["calls"])):
            start = len(log)
            buffer.requested.clear()
            try:
                out = agent.train(buffer, batch_size=case["batch_size"])
            except Exception as err:
                if not catch:
                    raise
                calls.append({"error": f"train raised {type(err).__name__}: {err}"[:400]})
                break
            returned = (
                [as_number(v) for v in out]
                if isinstance(out, tuple | list) and len(out) == 2
                else {"type": type(out).__name__}
            )
            total_it = getattr(agent, "total_it", None)
            calls.append(
                {
                    "returned": returned,
                    "records": [c.as_data(case.get("grads", False)) for c in log[start:]],
                    "target_grads": {
                        role: _has_grads(getattr(agent, role, None))
                        for role in ("actor_target", "critic_target")
                    },
                    "params": {
                        role: _params(getattr(agent, role, None))
                        for role in ("actor", "actor_target", "critic", "critic_target")
                    }
                    if case.get("params", False)
                    else {},
                    "total_it": total_it if isinstance(total_it, int) else None,
                    "batch_sizes": [b if isinstance(b, int) else None for b in buffer.requested],
                }
            )
    steps = {
        role: list(getattr(getattr(agent, f"{role}_optimizer", None), "seen", []))
        for role in ("actor", "critic")
    }
    return {"calls": calls, "steps": steps}
