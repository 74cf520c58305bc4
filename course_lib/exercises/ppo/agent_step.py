"""Notebook 03's agent step exercise: its visible cases and diagnoses, raised by
:mod:`course_lib.checks.ppo.agent_step`.

Part of :mod:`course_lib.exercises.ppo`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from course_lib.exercises.compare import to_numpy, values_finding
from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.parts import Parts, PlaceholderNetwork, course_parts
from course_lib.toy_envs import BoxToyEnv


class StandInActor(torch.nn.Module):
    """``PPOActor``'s interface, ``states (B, in_dim) -> (action, Normal)``, with mean 0 and
    standard deviation 0.5: the course's actor while the agent's step is checked."""

    def __init__(self, in_dim: int, out_dim: int, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.log_std = torch.nn.Parameter(torch.full((int(out_dim),), float(np.log(0.5))))

    def forward(self, state: Any) -> tuple[torch.Tensor, torch.distributions.Normal]:
        state = torch.as_tensor(state, dtype=torch.float32)
        mean = torch.zeros(*state.shape[:-1], self.log_std.shape[0])
        dist = torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))
        return dist.sample(), dist


AGENT_PARTS: Parts = {"PPOActor": StandInActor, "PPOCritic": PlaceholderNetwork}
"""What ``PPOAgent`` builds its networks from while its step is checked or probed: the
course's, not the student's (a question of their own; :mod:`course_lib.exercises.parts`).
The critic is then replaced by one whose values are known."""


class _KnownCritic(torch.nn.Module):
    """V(state) = 10 + t, where t = state[:, 0] is the toy env's step counter."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.tensor(10.0))

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return (state[:, :1] + self.bias).float()


def _toy_vec_env() -> gym.vector.SyncVectorEnv:
    """Env 0 is truncated after 3 steps (a time limit); env 1 terminates after 2."""
    return gym.vector.SyncVectorEnv(
        [lambda: BoxToyEnv(horizon=3), lambda: BoxToyEnv(horizon=5, terminate_after=2)],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )


def diagnose_agent_step(PPOAgent: Callable[..., Any], **agent_kwargs: Any) -> Finding | None:
    """Check what ``PPOAgent.step`` stores at episode ends, on two toy envs.

    Env 0 is *truncated* at step 3 (a time limit: the task goes on), env 1
    *terminates* at step 2. Every reward is 1, gamma is 0.9 and the critic is
    replaced by one with known values V = 10 + t. After each ``step`` the agent's
    ``rewards[-1]`` and ``masks[-1]`` must be: mask 0 at any episode end;
    reward 1 everywhere except at the truncation, where it bootstraps from the
    final state's value: 1 + 0.9 * V(final state) = 1 + 0.9 * 13 = 12.7. A
    positive reward scale c is accepted (c, and c + 11.7 at the truncation).
    """
    kwargs = {
        "batch_size": 2,
        "gamma": 0.9,
        "tau": 0.8,
        "epsilon": 0.2,
        "epoch": 1,
        "rollout_len": 3,
        "entropy_weight": 0.0,
        **agent_kwargs,
    }
    with course_parts(PPOAgent, AGENT_PARTS):
        return _diagnose_agent_step(PPOAgent, kwargs)


def _diagnose_agent_step(PPOAgent: Callable[..., Any], kwargs: dict[str, Any]) -> Finding | None:
    try:
        agent = PPOAgent(_toy_vec_env(), **kwargs)
    except Exception as err:
        return Finding(
            f"PPOAgent(env, ...) raised {type(err).__name__}: {err}",
            hint=Hint(
                "ppo.agent_step.batched_env_spaces",
                "the agent takes a vector env: use env.single_observation_space and "
                "env.single_action_space for the network sizes.",
            ),
        )
    agent.critic = _KnownCritic()
    state, _ = agent.env.reset(seed=0)
    expected_masks = [[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    scale = 1.0  # a reward scale is allowed: read it off the first stored reward
    for t in range(3):
        with torch.no_grad():
            action = agent.select_action(state)
        action = np.asarray(action)
        if not (action.shape == (2, 1)):
            return Finding(
                "select_action must return one action per env, shape (n_envs, action_dim).",
                got=action.shape,
            )
        try:
            state, _, _ = agent.step(action)
        except Exception as err:
            return Finding(f"agent.step raised {type(err).__name__}: {err}", where=f"step {t}")
        if t == 0 and len(agent.rewards) == 1:
            scale = float(to_numpy(agent.rewards[0]).reshape(-1)[0])
            if not (scale > 0):
                return Finding(
                    "the stored reward of an ordinary step is not a positive multiple of the "
                    "env's reward (1.0 here).",
                    got=scale,
                    hint=Hint(
                        "ppo.agent_step.reward_not_env_reward",
                        "store the env's reward (optionally times a positive reward scale).",
                    ),
                )
        expected_rewards = [[scale, scale], [scale, scale], [scale + 0.9 * 13.0, scale]]
        for what, stored, expected in (
            ("masks", agent.masks, expected_masks[t]),
            ("rewards", agent.rewards, expected_rewards[t]),
        ):
            if not (len(stored) == t + 1):
                return Finding(
                    f"agent.{what} should hold one entry per step taken.",
                    got=len(stored),
                    where=f"after step {t}",
                )
            got = to_numpy(stored[-1]).reshape(-1)
            if what == "masks":
                hint = Hint(
                    "ppo.agent_step.mask_not_one_minus_done",
                    "mask = 1 - (terminated or truncated): the GAE recursion must not chain "
                    "into the next episode, whichever way this one ended.",
                )
                mistakes = (
                    [
                        (
                            [1.0, 1.0],
                            Hint(
                                "ppo.agent_step.truncation_not_masked",
                                "a truncated episode ended too: mask it "
                                "(its bootstrap goes into the reward instead).",
                            ),
                        )
                    ]
                    if t == 2
                    else []
                )
            else:
                hint = Hint(
                    "ppo.agent_step.wrong_truncation_bootstrap",
                    "at a truncation (time limit), the episode stops but the task does not: "
                    "add gamma * V(final state) to the reward, with the final state taken from "
                    "infos['final_obs'] (the observation returned is already the next "
                    "episode's first). At a termination, add nothing.",
                )
                mistakes = (
                    [
                        (
                            [scale, scale],
                            Hint(
                                "ppo.agent_step.no_truncation_bootstrap",
                                "the bootstrap is cut at the truncation: add gamma * "
                                "V(final state) to the reward of a truncated step.",
                            ),
                        ),
                        (
                            [scale + 0.9 * 10.0, scale],
                            Hint(
                                "ppo.agent_step.bootstrap_from_reset_obs",
                                "the bootstrap uses the observation step() returned, which is "
                                "already the NEXT episode's first state: take the final state "
                                "from infos['final_obs'][i].",
                            ),
                        ),
                    ]
                    if t == 2
                    else []
                )
            found = values_finding(
                f"agent.{what}[{t}]",
                got,
                expected,
                mistakes=mistakes,
                hint=hint,
                case=f"step {t}: env 0 truncates at step 2, env 1 terminates at step 1 "
                "(counting from 0); V = 10 + t, gamma = 0.9",
                atol=1e-4,
            )
            if found is not None:
                return found
    return None
