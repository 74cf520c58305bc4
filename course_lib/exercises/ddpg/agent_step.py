"""The agent's select_action and step: warm-up, noise, clipping, what is stored

Part of :mod:`course_lib.exercises.ddpg`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.exercises.ddpg.base import (
    Record,
    _close,
    _error,
    _short,
)
from course_lib.exercises.finding import Finding, Hint


def _shape_finding(row: Record, act_dim: int, where: str) -> Finding | None:
    if row.get("shape") == [act_dim]:
        return None
    return Finding(
        f"select_action returned an action of shape {tuple(row.get('shape') or ())}; expected "
        f"({act_dim},).",
        where=where,
        hint=Hint(
            "ddpg.agent_step.action_not_1d",
            "return a 1-D numpy array of act_dim numbers, e.g. self.actor(torch.as_tensor("
            "state, dtype=torch.float32)).detach().numpy(); drop a batch dimension of 1 if you "
            "added one.",
        ),
    )


def diagnose_agent_step(rec: Record, case: Record) -> Finding | None:
    """Warm-up randomness, noise and clipping in training, greedy tests, what step stores."""
    act_dim = int(case["act_dim"])
    weight, bias = np.asarray(case["actor_weight"]), np.asarray(case["actor_bias"])
    script = np.asarray(case["noise"], dtype=np.float64)
    reward, tags = float(case["reward"]), case["tags"]
    lengths = [int(case["horizon"]), int(case["terminate_after"])]
    stage, message = _error(rec)

    def greedy(state: Any) -> np.ndarray:
        return weight @ np.asarray(state, dtype=np.float64) + bias

    def noisy(state: Any, row: Record) -> np.ndarray | None:
        if int(row.get("noise_calls", 0)) < 1:
            return None
        return np.clip(greedy(state) + script[int(row["noise_index"]) % len(script)], -1, 1)

    if stage == "construct":
        return Finding(
            f"DDPGAgent(env, ...) raised {message}.",
            hint=Hint(
                "ddpg.agent_step.broken_agent_parts",
                "the agent's __init__ builds your ReplayBuffer, OUNoise, DDPGActor and "
                "DDPGCritic: make their checks pass first.",
            ),
            from_error=True,
        )
    # warm-up
    warmup = list(rec.get("warmup") or [])
    start = [0.0, float(tags[0])]
    for row in warmup:
        if found := _shape_finding(row, act_dim, "during warm-up"):
            return found
    if stage == "select_action during warm-up":
        return Finding(f"select_action raised {message} during warm-up.", from_error=True)
    actions = np.asarray([row["action"] for row in warmup], dtype=np.float64).reshape(-1, act_dim)
    if not np.all(np.isfinite(actions)) or np.abs(actions).max() > 1 + 1e-6:
        return Finding(
            "a warm-up action is outside [-1, 1].",
            got=_short(actions[np.argmax(np.abs(actions).max(axis=1))]),
            hint=Hint(
                "ddpg.agent_step.warmup_not_action_space",
                "sample from the env's action space, self.env.action_space.sample(), which "
                "is [-1, 1] here.",
            ),
        )
    from_actor = [
        _close(a, greedy(start)) or _close(a, noisy(start, row))
        for a, row in zip(actions, warmup, strict=True)
    ]
    if from_actor and all(from_actor):
        return Finding(
            f"during warm-up (total_step=0 < initial_random_steps="
            f"{case['initial_random_steps']}) select_action returned the actor's action.",
            hint=Hint(
                "ddpg.agent_step.no_random_warmup",
                "while self.total_step < self.initial_random_steps (in training), act "
                "uniformly at random: self.env.action_space.sample(). A fresh actor's actions are "
                "all near 0 and explore nothing.",
            ),
        )
    # uniform draws: P(no value below -0.5 in 64) = 0.75 ** 64 ~ 1e-8 per dimension and side
    distinct = len({tuple(np.round(a, 6)) for a in actions})
    if (
        distinct < len(actions) / 4
        or actions.min(axis=0).max() > -0.5
        or actions.max(axis=0).min() < 0.5
    ):
        return Finding(
            f"warm-up actions do not spread over [-1, 1]: {distinct} distinct actions in "
            f"{len(actions)} calls, from {actions.min():.2f} to {actions.max():.2f}.",
            hint=Hint(
                "ddpg.agent_step.warmup_not_uniform",
                "draw them uniformly: self.env.action_space.sample() (or np.random.uniform(-1, "
                "1, size=action_dim)).",
            ),
        )
    # training episodes
    for e, rows in enumerate(rec.get("episodes") or []):
        length = lengths[e]
        ending = "is truncated by a time limit" if e == 0 else "terminates"
        for j, row in enumerate(rows):
            where = f"training episode that {ending} after {length} steps, step {j}"
            state, next_state = [float(j), float(tags[e])], [float(j + 1), float(tags[e])]
            if found := _shape_finding(row, act_dim, where):
                return found
            action, g = np.asarray(row["action"], dtype=np.float64), greedy(state)
            expected = noisy(state, row)
            if expected is not None and not _close(action, expected):
                noise = script[int(row["noise_index"]) % len(script)]
                if _close(action, g + noise):
                    return Finding(
                        "the action is not clipped to [-1, 1] after adding the noise.",
                        expected=_short(expected),
                        got=_short(action),
                        where=where,
                        hint=Hint(
                            "ddpg.agent_step.no_clipping",
                            "np.clip(action + noise, -1.0, 1.0): the env accepts [-1, 1] only.",
                        ),
                    )
                if _close(action, g):
                    return Finding(
                        "the action is the actor's output without the noise that was sampled.",
                        where=where,
                        hint=Hint(
                            "ddpg.agent_step.sampled_noise_not_added",
                            "add it: np.clip(action + self.noise.sample(), -1.0, 1.0).",
                        ),
                    )
                return Finding(
                    "after warm-up the action must be the actor's output plus the noise, "
                    "clipped to [-1, 1].",
                    expected=_short(expected),
                    got=_short(action),
                    where=where,
                    hint=Hint(
                        "ddpg.agent_step.action_not_actor_plus_noise",
                        "random actions only while total_step < initial_random_steps; after "
                        "that: action = actor(state) + self.noise.sample(), then "
                        "np.clip(..., -1, 1).",
                    ),
                )
            if expected is None:
                if not np.all(np.abs(action) <= 1 + 1e-6):
                    return Finding(
                        "a training action is outside [-1, 1].",
                        got=_short(action),
                        where=where,
                        hint=Hint(
                            "ddpg.agent_step.no_clipping", "np.clip(action + noise, -1.0, 1.0)."
                        ),
                    )
                if _close(action, g):
                    return Finding(
                        "the training action is the actor's output with no exploration noise.",
                        where=where,
                        hint=Hint(
                            "ddpg.agent_step.no_exploration_noise",
                            "add self.noise.sample() to the actor's action, then clip to "
                            "[-1, 1]: a deterministic policy without noise explores nothing.",
                        ),
                    )
            returned = row.get("returned")
            if returned is None:
                break
            if returned.get("n") != 3:
                return Finding(
                    f"step returned {returned.get('n')} values; expected (next_state, reward, "
                    "done).",
                    where=where,
                )
            if not _close(returned["next_state"], next_state):
                return Finding(
                    "step returned a next_state that is not the env's new observation.",
                    expected=next_state,
                    got=_short(returned["next_state"]),
                    where=where,
                )
            if not _close(returned["reward"], reward):
                return Finding(
                    "step returned a reward that is not the env's.",
                    expected=reward,
                    got=returned["reward"],
                    where=where,
                )
            end = j + 1 == length
            if returned["done"] is None or bool(returned["done"]) != end:
                return Finding(
                    f"step returned done={returned['done']} "
                    + ("at the episode's last step." if end else "in the middle of an episode."),
                    where=where,
                    hint=Hint(
                        "ddpg.agent_step.wrong_returned_done",
                        "return done = terminated or truncated: the training loop must reset "
                        "the env when the episode ends, either way.",
                    ),
                )
            if not _close(row.get("env_action"), action):
                return Finding(
                    "the env received another action than the one select_action returned.",
                    expected=_short(action),
                    got=_short(row.get("env_action")),
                    where=where,
                    hint=Hint(
                        "ddpg.agent_step.env_action_altered",
                        "step(action) passes action to self.env.step unchanged.",
                    ),
                )
            stored = row.get("stored") or []
            if len(stored) != 1:
                return Finding(
                    f"step stored {len(stored)} transitions in memory for one env step.",
                    where=where,
                    hint=Hint(
                        "ddpg.agent_step.wrong_store_count",
                        "in training, store exactly one: self.memory.store(*self.transition, "
                        "reward, next_state, terminated), with self.transition = [state, action] "
                        "set by select_action.",
                    ),
                )
            s_obs, s_act, s_rew, s_next, s_done = stored[0]
            fields = [
                ("obs", s_obs, state, "the state the action was chosen in"),
                ("action", s_act, action, "the action taken (after noise and clipping)"),
                ("reward", s_rew, reward, "the env's reward"),
                ("next_obs", s_next, next_state, "the env's new observation"),
            ]
            for what, got, want, meaning in fields:
                if not _close(got, want):
                    return Finding(
                        f"the stored {what} is not {meaning}.",
                        expected=_short(want),
                        got=_short(got),
                        where=where,
                        hint=Hint(
                            "ddpg.agent_step.wrong_stored_transition",
                            "select_action sets self.transition = [state, action] with the "
                            "action it returns; step stores self.transition + [reward, next_state, "
                            "terminated].",
                        ),
                    )
            terminated = e == 1 and end
            if s_done is None or bool(s_done) != terminated:
                if e == 0 and end:
                    return Finding(
                        "at a time-limit truncation the stored done is 1: store `terminated`, "
                        "not `truncated` nor `terminated or truncated`.",
                        expected=0.0,
                        got=s_done,
                        where=where,
                        hint=Hint(
                            "ddpg.agent_step.truncation_stored_as_done",
                            "self.memory.store(*self.transition, reward, next_state, "
                            "terminated). After a time limit the pendulum would have gone on, so "
                            "the TD target must still bootstrap from next_state.",
                        ),
                    )
                return Finding(
                    f"the stored done is {s_done}; the env's terminated flag was "
                    f"{float(terminated)}.",
                    where=where,
                    hint=Hint(
                        "ddpg.agent_step.wrong_stored_done",
                        "store terminated: self.memory.store(*self.transition, reward, "
                        "next_state, terminated).",
                    ),
                )
    if stage.startswith(("select_action (", "step (")):
        return Finding(f"{stage.split(' (')[0]} raised {message} ({stage}).", from_error=True)
    # test mode
    n_test = int(case["n_test"])
    for k, row in enumerate(rec.get("test") or []):
        state = [float(k % n_test), float(tags[0])]
        where = f"is_test=True, total_step={row.get('total_step')}"
        if found := _shape_finding(row, act_dim, where):
            return found
        action, g = row["action"], greedy(state)
        if _close(action, g):
            continue
        if _close(action, noisy(state, row)):
            return Finding(
                "in test mode (is_test=True) the action carries exploration noise.",
                expected=_short(g),
                got=_short(action),
                where=where,
                hint=Hint(
                    "ddpg.agent_step.noise_in_test_mode",
                    "add noise in training only: if not self.is_test: action = "
                    "np.clip(action + self.noise.sample(), -1.0, 1.0). A test measures the policy "
                    "itself.",
                ),
            )
        if row.get("total_step") == 0:
            return Finding(
                "in test mode select_action took a random warm-up action.",
                where=where,
                hint=Hint(
                    "ddpg.agent_step.warmup_in_test_mode",
                    "the warm-up is for training only: random actions while total_step < "
                    "initial_random_steps and not self.is_test.",
                ),
            )
        return Finding(
            "in test mode the action must be the actor's output alone.",
            expected=_short(g),
            got=_short(action),
            where=where,
        )
    if stage:
        return Finding(f"the agent raised {message} ({stage}).", from_error=True)
    return None
