"""Visible checks for notebook 05: TD3 on MountainCarContinuous-v0 and Pendulum-v1.

The network checks test properties every correct design has (other hidden sizes,
other activations). The check of ``TD3.train`` builds the student's agent, swaps its
networks for small stand-ins whose outputs are known exactly, and feeds it a fixed batch
(how the stand-ins reveal the target, the noise and the updates is told in
:mod:`course_lib.exercises.td3`). The cases, the stand-ins and the analyses of a run are
the exercise's, shared with the hidden probe and the grader's judge, so a visible failure
and a hidden one name the same bug.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course_lib.checks._nets import build, grads, seeded_obs, shares_parameters
from course_lib.checks.core import (
    CheckFailed,
    expect,
    expect_shape,
    fail,
    fail_on,
    passed,
    to_numpy,
)
from course_lib.checks.core import check_eval_result as check_reward
from course_lib.envs import random_state
from course_lib.exercises.networks import (
    actor_reach_finding,
    rows_independent,
    value_reach_finding,
)
from course_lib.exercises.td3 import (
    ANALYSES,
    FixedBuffer,
    as_number,
    run_train_case,
    train_cases,
)

__all__ = [
    "check_reward",
    "check_td3_actor",
    "check_td3_critic",
    "check_td3_train",
]


def _call(check: str, what: str, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as err:
        fail(check, f"{what} raised {type(err).__name__}: {err}")


# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------


def check_td3_actor(TD3Actor: Callable[..., torch.nn.Module]) -> None:
    """Check ``TD3Actor(state_dim, action_dim, max_action)``.

    ``forward(state)`` returns actions of shape (B, action_dim) in env units: within
    [-max_action, max_action] even for extreme inputs and weights, able to go beyond
    [-1, 1] when max_action > 1, and one row's action independent of the other rows.
    """
    name = "check_td3_actor"
    with random_state(0):
        for state_dim, action_dim, max_action in [(3, 1, 2.0), (5, 2, 0.5), (2, 3, 1.0)]:
            case = f"state_dim={state_dim}, action_dim={action_dim}, max_action={max_action:g}"
            actor = build(name, TD3Actor, state_dim, action_dim, max_action)
            obs = seeded_obs(7, state_dim)
            out = _call(name, "actor(state)", actor, obs)
            expect(
                name,
                isinstance(out, torch.Tensor),
                "forward(state) must return a tensor of actions.",
                got=type(out).__name__,
                where=case,
            )
            expect_shape(
                name,
                "actor(state)",
                out,
                (7, action_dim),
                hint="one action per row: end with nn.Linear(hidden, action_dim) and do not "
                "squeeze.",
            )
            params = [p for p in actor.parameters() if p.requires_grad]
            expect(
                name,
                len(params) > 0 and any(g.abs().sum() > 0 for g in grads(out.sum(), params)),
                "no gradient flows from the actions back to the actor's parameters.",
                where=case,
                hint="do not detach the output or run forward under torch.no_grad(): the actor "
                "learns through these actions.",
            )
            expect(
                name,
                rows_independent(actor, obs, seed=7),
                "one state's action depends on the other states of the batch.",
                where=case,
                hint="process each row on its own: no normalization or mixing over dim 0.",
            )
            reach = actor_reach_finding(
                actor, lambda m, x: m(x), state_dim, action_dim, -max_action, max_action
            )
            largest = _largest_saturated_action(name, actor, obs, max_action, case)
            if max_action > 1.0:
                expect(
                    name,
                    largest > 1.0 + 1e-3,
                    f"the actions never go beyond [-1, 1], though max_action = {max_action:g}.",
                    got=f"largest |action| = {largest:.4g} with large inputs and weights",
                    where=case,
                    hint="scale the squashed output to env units: max_action * torch.tanh(x); "
                    "without it the agent can use only part of the env's action range.",
                )
            if reach is not None:
                fail_on(name, dataclasses.replace(reach, where=case))
    passed(name, "actions of shape (B, action_dim) in [-max_action, max_action], rows independent")


def _largest_saturated_action(
    name: str, actor: torch.nn.Module, obs: torch.Tensor, max_action: float, case: str
) -> float:
    """The largest |action| with weights scaled up 50 times and inputs up to 1000 times."""
    big = copy.deepcopy(actor)
    with torch.no_grad():
        for p in big.parameters():
            if p.dim() >= 1:
                p.mul_(50.0)
        largest = 0.0
        for x in (obs, 30.0 * obs, 1e3 * obs.abs(), -1e3 * obs.abs()):
            for net, label in ((actor, "inputs"), (big, "inputs and weights")):
                out = to_numpy(_call(name, "actor(state)", net, x))
                top = float(np.max(np.abs(out))) if np.all(np.isfinite(out)) else math.inf
                if top > max_action * (1 + 1e-6):
                    no_scale = max_action < 1.0 and top <= 1.0 + 1e-6
                    fail(
                        name,
                        f"the actions leave [-max_action, max_action] = [-{max_action:g}, "
                        f"{max_action:g}] for large {label}.",
                        got=f"largest |action| = {top:.4g}",
                        where=case,
                        hint="multiply tanh's output by max_action: max_action * torch.tanh(x)."
                        if no_scale
                        else "squash the last layer with tanh, then scale: "
                        "max_action * torch.tanh(self.l3(x)).",
                    )
                largest = max(largest, top)
    return largest


def _critic_pair(
    name: str, critic: torch.nn.Module, state: torch.Tensor, action: torch.Tensor, case: str
) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        out = critic(state, action)
    except NotImplementedError:
        raise
    except RuntimeError as err:
        fail(
            name,
            f"critic(state, action) raised RuntimeError: {err}",
            where=case,
            hint="join state and action along the features: torch.cat([state, action], dim=1) "
            "(dim=0 stacks the two batches on top of each other); the first layer takes "
            "state_dim + action_dim inputs.",
        )
    except Exception as err:
        fail(name, f"critic(state, action) raised {type(err).__name__}: {err}", where=case)
    expect(
        name,
        isinstance(out, tuple | list)
        and len(out) == 2
        and all(isinstance(q, torch.Tensor) for q in out),
        "forward(state, action) must return the pair (q1, q2) of the two critics.",
        got=type(out).__name__,
        where=case,
        hint="end forward with `return q1, q2`.",
    )
    batch = state.shape[0]
    for label, q in zip(("q1", "q2"), out, strict=True):
        cat_hint = (
            "the batch doubled: torch.cat([state, action], dim=1) joins the features; dim=0 "
            "stacks the batches."
            if tuple(q.shape[:1]) == (2 * batch,)
            else "each critic ends with nn.Linear(hidden, 1); do not squeeze."
        )
        expect_shape(name, f"{label} of forward(state, action)", q, (batch, 1), hint=cat_hint)
    return out[0], out[1]


def _first_of(critic: torch.nn.Module) -> Callable[..., torch.Tensor]:
    return lambda state, action: critic(state, action)[0]


def check_td3_critic(TD3Critic: Callable[..., torch.nn.Module]) -> None:
    """Check ``TD3Critic(state_dim, action_dim)``: two independent Q networks.

    ``forward(state, action)`` returns ``(q1, q2)``, each (B, 1), from two networks that
    share no parameter, each reading both the state and the action; ``Q1(state, action)``
    equals forward's ``q1``.
    """
    name = "check_td3_critic"
    with random_state(0):
        for state_dim, action_dim in [(3, 1), (4, 4), (2, 3)]:
            case = f"state_dim={state_dim}, action_dim={action_dim}"
            critic = build(name, TD3Critic, state_dim, action_dim)
            state = seeded_obs(6, state_dim, seed=1).requires_grad_()
            action = seeded_obs(6, action_dim, seed=2).requires_grad_()
            q1, q2 = _critic_pair(name, critic, state, action, case)
            for label, q in (("q1", q1), ("q2", q2)):
                d_state, d_action = grads(q.sum(), [state, action])
                expect(
                    name,
                    bool(d_state.abs().sum() > 0) and bool(d_action.abs().sum() > 0),
                    f"{label} does not depend on both the state and the action.",
                    where=case,
                    hint="each critic reads torch.cat([state, action], dim=1).",
                )
            expect(
                name,
                not shares_parameters(critic, q1, q2),
                "q1 and q2 share parameters: the two critics must be independent networks.",
                where=case,
                hint="build two separate stacks of layers (l1, l2, l3 for q1 and l4, l5, l6 for "
                "q2), each with its own nn.Linear; a shared trunk with two heads, or the same "
                "network called twice, makes the min of the two meaningless.",
            )
            expect(
                name,
                not torch.allclose(q1, q2),
                "q1 and q2 are equal: the two critics must be independent networks.",
                where=case,
                hint="build two separate stacks of layers, each with its own nn.Linear.",
            )
            found = value_reach_finding(
                critic,
                lambda m, x, k=state_dim: torch.cat(m(x[:, :k], x[:, k:]), dim=1),
                state_dim + action_dim,
                "q1 and q2",
            )
            if found is not None:
                fail_on(name, dataclasses.replace(found, where=case))
            if not callable(getattr(critic, "Q1", None)):
                fail(
                    name,
                    "TD3Critic has no method Q1(state, action).",
                    where=case,
                    hint="add `def Q1(self, state, action)` returning the first critic's value "
                    "(the actor's loss uses it).",
                )
            only_q1 = _call(name, "critic.Q1(state, action)", critic.Q1, state, action)
            expect_shape(
                name,
                "critic.Q1(state, action)",
                only_q1,
                (6, 1),
                hint="return the first critic's value, shape (B, 1), not the pair.",
            )
            same_as_q2 = torch.allclose(only_q1, q2, atol=1e-6)
            expect(
                name,
                torch.allclose(only_q1, q1, atol=1e-6),
                "critic.Q1(state, action) differs from forward's q1.",
                got="Q1 returns forward's q2" if same_as_q2 else None,
                where=case,
                hint="Q1 must run exactly the layers that produce q1 in forward (l1, l2, l3), "
                "on the same torch.cat([state, action], dim=1).",
            )
            expect(
                name,
                rows_independent(_first_of(critic), state.detach(), action.detach(), seed=7),
                "one row's Q value depends on the other rows of the batch.",
                where=case,
                hint="process each (state, action) row on its own: concatenate on dim=1 and do "
                "not normalize over the batch.",
            )
    passed(name, "two independent critics, (q1, q2) of shape (B, 1), Q1 equals forward's q1")


# ---------------------------------------------------------------------------
# The train check
# ---------------------------------------------------------------------------


def _smoke(name: str, TD3: Callable[..., Any]) -> None:
    """The student's own networks: train runs and returns (float, None), then (float, float)."""
    rng = np.random.default_rng(3)
    case = {
        "obs": rng.normal(size=(16, 3)),
        "next_obs": rng.normal(size=(16, 3)),
        "acts": rng.uniform(-2, 2, (16, 1)),
        "rews": rng.normal(size=16),
        "done": (rng.uniform(size=16) < 0.2).astype(float),
    }
    where = "TD3(3, 1, max_action=2.0) with its own networks, batch_size=16"
    with random_state(3):
        try:
            agent = TD3(3, 1, 2.0)
        except NotImplementedError:
            raise
        except Exception as err:
            raise CheckFailed(
                name,
                f"TD3(3, 1, 2.0) raised {type(err).__name__}: {err}",
                hint="TD3.__init__ is given: make TD3Actor and TD3Critic pass their checks first.",
            ) from err
        buffer = FixedBuffer(case)
        for t, wants_actor in ((1, False), (2, True)):
            try:
                out = agent.train(buffer, batch_size=16)
            except NotImplementedError:
                raise
            except Exception as err:
                raise CheckFailed(
                    name,
                    f"train raised {type(err).__name__}: {err}",
                    where=f"{where}, call {t}",
                    hint="the batch holds numpy float32 arrays: obs and next_obs "
                    "(B, state_dim), acts (B, action_dim), rews and done (B,). Turn them into "
                    "tensors (torch.as_tensor) and reshape rews and done to (B, 1).",
                ) from err
            expect(
                name,
                getattr(agent, "total_it", None) == t,
                f"after call {t} of train, self.total_it is "
                f"{getattr(agent, 'total_it', None)!r}, not {t}.",
                where=where,
                hint="start train with self.total_it += 1: the delay counts calls.",
            )
            expect(
                name,
                isinstance(out, tuple | list) and len(out) == 2,
                "train must return the pair (critic_loss, actor_loss).",
                got=type(out).__name__,
                where=f"{where}, call {t}",
            )
            critic_loss, actor_loss = out
            expect(
                name,
                not (critic_loss is None and isinstance(as_number(actor_loss), float)),
                "train returned (None, a number): the order is (critic_loss, actor_loss).",
                where=f"{where}, call {t}",
                hint="return critic_loss.item(), actor_loss (the other way round from DDPG's "
                "update_model).",
            )
            expect(
                name,
                isinstance(as_number(critic_loss), float),
                "the critic loss returned by train is not a Python float.",
                got=type(critic_loss).__name__,
                where=f"{where}, call {t}",
                hint="return critic_loss.item(), not the tensor.",
            )
            if wants_actor:
                expect(
                    name,
                    isinstance(as_number(actor_loss), float),
                    "with the default policy_freq=2, the second call updates the actor and "
                    "returns its loss as a float.",
                    got=repr(actor_loss),
                    where=f"{where}, call {t}",
                    hint="return actor_loss.item() when self.total_it % self.policy_freq == 0.",
                )
            else:
                expect(
                    name,
                    actor_loss is None,
                    "the actor is updated on every call despite policy_freq = 2: the first "
                    "call returned an actor loss.",
                    got=repr(actor_loss),
                    where=f"{where}, call {t}",
                    hint="delayed policy updates: update the actor (and the targets) only when "
                    "self.total_it % self.policy_freq == 0, and return actor_loss = None on "
                    "the other calls.",
                )
        expect(
            name,
            buffer.requested == [16, 16],
            "train must pass its batch_size to sample_batch.",
            got=f"sample_batch called with {buffer.requested}",
            where=where,
            hint="batch = replay_buffer.sample_batch(batch_size); without it the buffer's "
            "default batch size is used.",
        )
        _check_select_action(name, agent)


def _check_select_action(name: str, agent: Any) -> None:
    state = np.array([0.3, -0.2, 0.5], dtype=np.float32)
    got = _call(name, "select_action(state)", agent.select_action, state)
    expect(
        name,
        isinstance(got, np.ndarray),
        "select_action must return a numpy array.",
        got=type(got).__name__,
        hint="return self.actor(state).detach().cpu().numpy().flatten().",
    )
    expect_shape(
        name,
        "select_action(state)",
        got,
        (1,),
        hint="one action vector of shape (action_dim,): .flatten() the (1, action_dim) output.",
    )
    with torch.no_grad():
        want = to_numpy(agent.actor(torch.as_tensor(state)[None])).reshape(-1)
    again = agent.select_action(state)
    expect(
        name,
        bool(np.allclose(to_numpy(got), want, atol=1e-5)) and bool(np.array_equal(got, again)),
        "select_action(state) is not the actor's deterministic action.",
        expected=want,
        got=to_numpy(got),
        hint="return the actor's output as it is: the exploration noise is added by the "
        "training loop.",
    )


def check_td3_train(TD3: Callable[..., Any]) -> None:
    """Check ``TD3.train(replay_buffer, batch_size)`` (and ``select_action``).

    After a run with the student's own networks, the networks are replaced by stand-ins
    with known outputs (see the module's docstring) to check: the clipped double-Q target
    (q1' alone when ``double_q=False``) from the target networks, masked by ``1 - done``,
    without gradient, both critics regressed on it; the smoothing noise drawn per sample
    and dimension, scaled by ``policy_noise``, clipped to ``±noise_clip``, added to the
    TARGET actor's action, the sum clamped to ``±max_action``; the actor loss
    ``-Q1(s, actor(s)).mean()``; the actor and the targets updated every ``policy_freq``
    calls only, the targets by ``tau``; the returned ``(critic_loss, actor_loss | None)``.
    """
    name = "check_td3_train"
    _smoke(name, TD3)
    cases = train_cases(np.random.default_rng(5), vary=False)
    for key, analysis in ANALYSES:
        runs = []
        for case in cases[key]:
            try:
                runs.append(run_train_case(TD3, case, catch=False))
            except NotImplementedError:
                raise
            except Exception as err:
                raise CheckFailed(
                    name,
                    f"train raised {type(err).__name__}: {err}",
                    where=case["label"],
                    hint="the check swaps the agent's networks for stand-ins with exactly the "
                    "exercise's API: actor(state); critic(state, action) -> (q1, q2); "
                    "critic.Q1(state, action). train may use only that API and the attributes "
                    "set in __init__.",
                ) from err
        problem = analysis(list(zip(cases[key], runs, strict=True)))
        if problem is not None:
            raise CheckFailed.from_finding(name, problem)
    passed(
        name,
        "clipped double-Q target without gradient, clipped smoothing noise on the target "
        "action, delayed actor and soft target updates",
    )
