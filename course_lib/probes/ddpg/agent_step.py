"""Probing the agent's select_action and step

Part of :mod:`course_lib.probes.ddpg`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.envs import random_state
from course_lib.exercises.ddpg import AGENT_PARTS
from course_lib.exercises.parts import course_parts
from course_lib.probes.ddpg.base import (
    OBS_DIM,
    Record,
    Run,
    _error,
    _flag,
    _flat,
    _shape,
)
from course_lib.probes.ddpg.standins import (
    KnownActor,
    RecordingMemory,
    ScriptedNoise,
    _agent_kwargs,
    _box_env,
)


def agent_step_case(seed: int, **overrides: Any) -> Record:
    """Toy episodes, a linear actor and a noise script for ``select_action`` and ``step``.

    Episode 0 is truncated (a time limit) after ``horizon`` steps, episode 1 terminates
    after ``terminate_after``. The actor's outputs stay within [-0.5, 0.5]; the script
    alternates large noise (|n| >= 1.6: the sum always needs clipping) and small noise
    (|n| <= 0.3: never clipped).
    """
    rng = np.random.default_rng(seed)
    act_dim = int(overrides.get("act_dim", rng.integers(1, 3)))
    script = []
    for k in range(12):
        sign = rng.choice([-1.0, 1.0], size=act_dim)
        magnitude = rng.uniform(1.6, 2.0, act_dim) if k % 2 == 0 else rng.uniform(0, 0.3, act_dim)
        script.append((np.round(sign * magnitude * 64) / 64).tolist())
    case: Record = {
        "seed": int(seed),
        "act_dim": act_dim,
        "reward": float(np.round(rng.uniform(-2.0, 2.0), 3)),
        "horizon": int(rng.integers(3, 5)),
        "terminate_after": int(rng.integers(2, 4)),
        "tags": [int(rng.integers(1, 6)), int(rng.integers(1, 6))],
        "actor_weight": (
            np.round(rng.uniform(-0.02, 0.02, (act_dim, OBS_DIM)) * 512) / 512
        ).tolist(),
        "actor_bias": (np.round(rng.uniform(-0.3, 0.3, act_dim) * 512) / 512).tolist(),
        "noise": script,
        "initial_random_steps": 10,
        "n_warmup": 64,
        "n_test": 3,
    }
    case.update(overrides)
    return case


def run_agent_step(DDPGAgent: Callable[..., Any], case: Record) -> Run:
    """Warm-up actions, two training episodes step by step, then test-mode actions.

    The agent is built with the course's buffer, noise and networks (:data:`AGENT_PARTS`),
    which the run then replaces with stand-ins."""
    act_dim = int(case["act_dim"])
    after_warmup = int(case["initial_random_steps"]) + 100
    rec: Record = {"case": case, "error": None, "warmup": [], "episodes": [[], []], "test": []}
    stage = "construct"
    try:
        with random_state(case["seed"]), course_parts(DDPGAgent, AGENT_PARTS):
            envs = [
                _box_env(act_dim, horizon=case["horizon"], reward=case["reward"]),
                _box_env(
                    act_dim,
                    horizon=case["terminate_after"] + 2,
                    terminate_after=case["terminate_after"],
                    reward=case["reward"],
                ),
            ]
            agent = DDPGAgent(envs[0], **_agent_kwargs(case))
            noise = ScriptedNoise(case["noise"])
            memory = RecordingMemory()
            agent.actor = KnownActor(case["actor_weight"], case["actor_bias"])
            agent.noise, agent.memory, agent.is_test = noise, memory, False
            agent.initial_random_steps = int(case["initial_random_steps"])
            for env in envs:
                env.action_space.seed(int(case["seed"]))

            def act(state: Any, total_step: int) -> tuple[Record, Any]:
                agent.total_step = total_step
                calls = noise.calls
                action = agent.select_action(state)
                row = {
                    "state": _flat(state),
                    "action": _flat(action),
                    "shape": _shape(action),
                    "noise_calls": noise.calls - calls,
                    "noise_index": noise.calls - 1,
                }
                return row, action

            state, _ = envs[0].reset(seed=case["tags"][0])
            stage = "select_action during warm-up"
            for _ in range(int(case["n_warmup"])):
                rec["warmup"].append(act(state, 0)[0])
            for e, env in enumerate(envs):
                agent.env = env
                state, _ = env.reset(seed=case["tags"][e])
                for j in range(env.horizon):
                    stage = f"select_action (episode {e}, step {j})"
                    row, action = act(state, after_warmup)
                    rec["episodes"][e].append(row)
                    stored = len(memory.stored)
                    stage = f"step (episode {e}, step {j})"
                    out = agent.step(action)
                    row["env_action"] = _flat(env.last_action)
                    row["stored"] = memory.stored[stored:]
                    if not (isinstance(out, tuple | list) and len(out) == 3):
                        row["returned"] = {"n": len(out) if isinstance(out, tuple | list) else None}
                        break
                    row["returned"] = {
                        "n": 3,
                        "next_state": _flat(out[0]),
                        "reward": _flag(out[1]),
                        "done": _flag(out[2]),
                    }
                    state = out[0]
                    if row["returned"]["done"]:
                        break
            stage = "select_action in test mode"
            agent.is_test = True
            for total in (after_warmup, 0):
                for t in range(int(case["n_test"])):
                    state = np.array([t, case["tags"][0]], dtype=np.float32)
                    rec["test"].append({**act(state, total)[0], "total_step": total})
    except Exception as exc:  # the student's error is data for the judge
        rec["error"] = {"stage": stage, "message": _error(exc)}
        return rec, exc
    return rec, None


def probe_agent_step(DDPGAgent: Callable[..., Any], seed: int) -> Record:
    """``select_action`` and ``step`` on toy episodes, with known actor and scripted noise."""
    return run_agent_step(DDPGAgent, agent_step_case(seed))[0]
