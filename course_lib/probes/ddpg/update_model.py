"""Probing the agent's update_model

Part of :mod:`course_lib.probes.ddpg`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.envs import random_state
from course_lib.exercises.ddpg import AGENT_PARTS, TARGET_HYPOTHESES
from course_lib.exercises.parts import course_parts
from course_lib.exercises.steps import RecordingSGD
from course_lib.probes.ddpg.base import (
    OBS_DIM,
    Record,
    Run,
    _error,
    _grid,
    _number,
    _params,
)
from course_lib.probes.ddpg.standins import (
    KnownActor,
    KnownCritic,
    RecordingMemory,
    _agent_kwargs,
    _box_env,
)


def linear_actor(net: Record, states: np.ndarray) -> np.ndarray:
    """What :class:`KnownActor` with these weights outputs, in float64."""
    return states @ np.asarray(net["weight"]).T + np.asarray(net["bias"])


def linear_critic(net: Record, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """What :class:`KnownCritic` with these weights outputs, in float64, shape (B,)."""
    x = np.concatenate([states, actions], axis=-1)
    return x @ np.asarray(net["weight"]) + float(net["bias"])


def _bootstraps(case: Record) -> dict[str, np.ndarray]:
    """The term added to the reward under each hypothesis, per sample (float64)."""
    nets, gamma = case["nets"], float(case["gamma"])
    s2 = np.asarray(case["batch"]["next_obs"])
    done = np.asarray(case["batch"]["done"])
    mask = 1.0 - done

    def q(critic: str, actor: str) -> np.ndarray:
        return linear_critic(nets[critic], s2, linear_actor(nets[actor], s2))

    target, online = q("critic_target", "actor_target"), q("critic", "actor")
    return {
        "target": gamma * mask * target,
        "online": gamma * mask * online,
        "no_mask": gamma * target,
        "done_as_mask": gamma * done * target,
        "online_no_mask": gamma * online,
        "target_critic_online_actor": gamma * mask * q("critic_target", "actor"),
        "online_critic_target_actor": gamma * mask * q("critic", "actor_target"),
        "no_gamma": mask * target,
        "no_bootstrap": np.zeros_like(target),
    }


def update_model_case(seed: int, **overrides: Any) -> Record:
    """Four linear networks, a batch, gamma and tau; rewards for every hypothesis.

    Drawn again until every two hypotheses differ by at least 0.05 on some sample: 50
    times the judge's "at rest" threshold (1e-3 of the gradient at a gap of 1), and far
    above float32 rounding (about 1e-7), so each hypothesis is told apart from the others.
    gamma stays <= 0.95, so that even "gamma missing" moves the target by 5% of Q'.
    """
    rng = np.random.default_rng(seed)
    act_dim = int(overrides.get("act_dim", rng.integers(1, 3)))
    batch_size = int(overrides.get("batch_size", rng.integers(4, 7)))
    case: Record = {
        "seed": int(seed),
        "act_dim": act_dim,
        "batch_size": batch_size,
        "gamma": float(np.round(rng.uniform(0.8, 0.95), 3)),
        "tau": float(np.round(rng.uniform(0.1, 0.4), 3)),
    }
    case.update({k: v for k, v in overrides.items() if k in ("gamma", "tau")})
    for _ in range(1000):
        done = np.zeros(batch_size)
        done[rng.choice(batch_size, size=int(rng.integers(1, batch_size)), replace=False)] = 1.0
        case["batch"] = {
            "obs": _grid(rng, (batch_size, OBS_DIM)).tolist(),
            "acts": (np.round(rng.uniform(-1, 1, (batch_size, act_dim)) * 32) / 32).tolist(),
            "next_obs": _grid(rng, (batch_size, OBS_DIM)).tolist(),
            "done": done.tolist(),
        }
        nets: Record = {}
        for name in ("actor", "actor_target"):
            nets[name] = {
                "weight": _grid(rng, (act_dim, OBS_DIM), 0.5).tolist(),
                "bias": _grid(rng, act_dim, 0.3).tolist(),
            }
        for name in ("critic", "critic_target"):
            weight = _grid(rng, OBS_DIM + act_dim)
            # the action's weights are large: the actor's gradient through Q is never small
            weight[OBS_DIM:] = (
                np.round(rng.choice([-1.0, 1.0], act_dim) * rng.uniform(0.5, 1.0, act_dim) * 32)
                / 32
            )
            nets[name] = {"weight": weight.tolist(), "bias": float(_grid(rng, ()))}
        case["nets"] = nets
        boots = _bootstraps(case)
        gaps = [
            np.abs(boots[a] - boots[b]).max()
            for i, a in enumerate(TARGET_HYPOTHESES)
            for b in TARGET_HYPOTHESES[i + 1 :]
        ]
        if min(gaps) >= 0.05:
            break
    else:
        raise RuntimeError(f"no case with distinguishable TD targets for seed {seed}")
    obs, acts = np.asarray(case["batch"]["obs"]), np.asarray(case["batch"]["acts"])
    q = linear_critic(case["nets"]["critic"], obs, acts)
    mu_obs = linear_actor(case["nets"]["actor"], obs)
    case["q"] = q.tolist()
    case["actor_actions"] = mu_obs.tolist()
    case["actor_loss"] = float(-linear_critic(case["nets"]["critic"], obs, mu_obs).mean())
    rewards = {label: (q - boot).tolist() for label, boot in boots.items()}
    rewards["offset"] = (q - boots["target"] + 1.0).tolist()  # target = Q + 1
    case["rewards"] = rewards
    return case


def _install(agent: Any, case: Record, rewards: list[float], log: list[Record]) -> None:
    nets = case["nets"]
    agent.actor = KnownActor(nets["actor"]["weight"], nets["actor"]["bias"], log, "actor")
    agent.actor_target = KnownActor(
        nets["actor_target"]["weight"], nets["actor_target"]["bias"], log, "actor_target"
    )
    agent.critic = KnownCritic(nets["critic"]["weight"], nets["critic"]["bias"], log, "critic")
    agent.critic_target = KnownCritic(
        nets["critic_target"]["weight"], nets["critic_target"]["bias"], log, "critic_target"
    )
    # learning rate 0: the online networks keep their values, so every number is known
    agent.actor_optimizer = RecordingSGD(agent.actor.parameters())
    agent.critic_optimizer = RecordingSGD(agent.critic.parameters())
    batch = {k: np.asarray(v, dtype=np.float32) for k, v in case["batch"].items()}
    batch["rews"] = np.asarray(rewards, dtype=np.float32)
    agent.memory = RecordingMemory(batch)
    agent.gamma, agent.tau = float(case["gamma"]), float(case["tau"])
    agent.batch_size = int(case["batch_size"])
    agent.total_step, agent.is_test = 10_000, False


def run_update_model(DDPGAgent: Callable[..., Any], case: Record) -> Run:
    """One ``update_model()`` per reward set (each TD-target hypothesis, and the offset).

    Each run starts from fresh stand-ins, and the agent calls the course's ``soft_update``
    (and is built with the course's buffer, noise and networks: :data:`AGENT_PARTS`). It
    records every network call (inputs, and the gradient that reached the output), which
    target parameters received gradient, all parameters afterwards and what
    ``update_model`` returned; then two calls on one agent, for the gradients each
    optimizer holds when it steps.
    """
    rec: Record = {"case": case, "error": None, "runs": []}
    labels = ["target", "offset", *TARGET_HYPOTHESES[1:]]
    stage = "construct"
    try:
        with random_state(case["seed"]), course_parts(DDPGAgent, AGENT_PARTS):
            env = _box_env(int(case["act_dim"]), horizon=10)
            agent = DDPGAgent(env, **_agent_kwargs(case))
            for label in labels:
                stage = f"update_model ({label})"
                log: list[Record] = []
                run: Record = {"label": label, "error": None, "returned": None, "calls": log}
                rec["runs"].append(run)
                _install(agent, case, case["rewards"][label], log)
                try:
                    out = agent.update_model()
                except Exception as exc:  # recorded per run; the first one is re-raised
                    run["error"] = _error(exc)
                    if label == "target":
                        raise
                    continue
                finally:
                    run["target_grads"] = {
                        name: [
                            None if p.grad is None else float(p.grad.abs().max())
                            for p in getattr(agent, name).parameters()
                        ]
                        for name in ("actor_target", "critic_target")
                    }
                    run["after"] = {
                        name: _params(getattr(agent, name))
                        for name in ("actor", "actor_target", "critic", "critic_target")
                    }
                if isinstance(out, tuple | list):
                    run["returned"] = [_number(v) for v in out]
                else:
                    run["returned"] = f"<{type(out).__name__}>"
            stage = "update_model (twice)"
            rec["twice"] = _run_twice(agent, case)
    except Exception as exc:  # the student's error is data for the judge
        rec["error"] = {"stage": stage, "message": _error(exc)}
        return rec, exc
    return rec, None


def _run_twice(agent: Any, case: Record) -> Record:
    """Two ``update_model()`` calls on the same agent, the targets held still (tau 0): the
    gradient each optimizer holds at each of its steps, which must be the same both times
    (zero_grad before each backward) and not zero (zero_grad not between backward and step)."""
    _install(agent, case, case["rewards"]["offset"], [])
    agent.tau = 0.0
    twice: Record = {"error": None}
    try:
        for _ in range(2):
            agent.update_model()
    except Exception as exc:
        twice["error"] = _error(exc)
    twice["steps"] = {
        "actor": list(getattr(agent.actor_optimizer, "seen", [])),
        "critic": list(getattr(agent.critic_optimizer, "seen", [])),
    }
    return twice


def probe_update_model(DDPGAgent: Callable[..., Any], seed: int) -> Record:
    """``update_model`` with known networks and batches built around TD-target hypotheses."""
    return run_update_model(DDPGAgent, update_model_case(seed))[0]
