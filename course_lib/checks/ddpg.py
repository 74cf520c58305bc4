"""Visible checks for notebook 04: DDPG on Pendulum-v1.

The buffer, noise, soft-update and agent checks run the same recording code as the
grader's probes (:mod:`course_lib.probes.ddpg`) on fixed cases, and read the record with
the exercises' diagnoses (:mod:`course_lib.exercises.ddpg`): what passes here
passes there, and a bug gets the same name in both places. The agent's checks swap in
stand-ins with known outputs (linear networks, scripted noise, a recording memory), so
no reference implementation is needed: every expected number follows from the case.

Every check seeds the global RNGs it uses and restores them afterwards, so the
notebook's seeded training run does not depend on whether the checks ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from course_lib.checks._nets import build, grads, n_params, seeded_obs
from course_lib.checks.core import CheckFailed, expect, expect_shape, fail_on, passed
from course_lib.checks.core import check_eval_result as check_reward
from course_lib.checks.ppo import check_action_normalizer
from course_lib.envs import random_state
from course_lib.exercises.ddpg import (
    Finding,
    diagnose_agent_step,
    diagnose_ou_noise,
    diagnose_replay_buffer,
    diagnose_soft_update,
    diagnose_update_model,
)
from course_lib.exercises.networks import (
    actor_reach_finding,
    first_rows_equal,
    value_reach_finding,
)
from course_lib.probes import ddpg as rec

__all__ = [
    "check_action_normalizer",
    "check_agent_step",
    "check_ddpg_actor",
    "check_ddpg_critic",
    "check_ou_noise",
    "check_replay_buffer",
    "check_reward",
    "check_soft_update",
    "check_update_model",
]


def _report(name: str, found: Finding | None, exc: BaseException | None) -> None:
    """Raise the finding as a CheckFailed (chained to the student's exception, if any)."""
    if isinstance(exc, NotImplementedError):
        raise exc
    if found is None and exc is None:
        return
    if found is None:
        found = Finding(f"raised {type(exc).__name__}: {exc}", from_error=True)
    err = CheckFailed.from_finding(name, found)
    if found.from_error and exc is not None:
        raise err from exc
    raise err


def _check_runs(
    name: str,
    impl: Callable[..., Any],
    run: Callable[[Callable[..., Any], rec.Record], rec.Run],
    diagnose: Callable[[rec.Record, rec.Record], Finding | None],
    cases: Iterable[rec.Record],
    summary: str,
) -> None:
    """Run ``impl`` on each case in turn and raise the first finding; else report ``summary``."""
    for case in cases:
        record, exc = run(impl, case)
        _report(name, diagnose(record, case), exc)
    passed(name, summary)


# ---------------------------------------------------------------------------
# ReplayBuffer and OUNoise
# ---------------------------------------------------------------------------


def check_replay_buffer(ReplayBuffer: Callable[..., Any]) -> None:
    """Check ``ReplayBuffer(obs_dim, act_dim, size, batch_size)``.

    Two buffers (act_dim 1 and 2): ``len`` after each store; with some transitions stored,
    200 batches: their keys, shapes (batch_size rows), float32 dtypes, rows aligned
    across the five arrays, drawn uniformly from the stored transitions only; then after
    2 * size + 3 stores, batches hold exactly the last ``size`` transitions.
    """
    cases = [
        rec.replay_buffer_case(11, obs_dim=3, act_dim=1, size=8, batch_size=4, fill=6),
        rec.replay_buffer_case(12, obs_dim=2, act_dim=2, size=7, batch_size=3, fill=5),
    ]
    _check_runs(
        "check_replay_buffer",
        ReplayBuffer,
        rec.run_replay_buffer,
        diagnose_replay_buffer,
        cases,
        "len counts what is stored; batches of batch_size drawn uniformly from the stored "
        "transitions, arrays aligned; the ring overwrites the oldest",
    )


def check_ou_noise(OUNoise: Callable[..., Any]) -> None:
    """Check ``OUNoise(size, mu, theta, sigma)``: ``sample()`` and ``reset()``.

    A 2,500-step path (mu=0.2, theta=0.15, sigma=0.4) must show the Ornstein-Uhlenbeck
    increments ``theta * (mu - x) + sigma * N(0, 1)``: memory (lag-1 autocorrelation
    near 1 - theta), symmetric standard-normal noise of scale sigma, one draw per
    dimension. After ``reset()`` the next sample must be about sigma from mu.
    """
    _check_runs(
        "check_ou_noise",
        OUNoise,
        rec.run_ou_noise,
        diagnose_ou_noise,
        [rec.ou_noise_case(3, size=2, mu=0.2, theta=0.15, sigma=0.4)],
        "mean-reverting, temporally correlated, normal increments; reset returns to mu",
    )


# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------


def _output_layer(net: torch.nn.Module, n_out: int) -> torch.nn.Linear | None:
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    outs = [m for m in layers if m.out_features == n_out]
    return outs[-1] if outs else None


def _check_output_init(name: str, net: torch.nn.Module, n_out: int, init_w: float) -> None:
    layer = _output_layer(net, n_out)
    expect(
        name,
        layer is not None,
        f"no nn.Linear layer with {n_out} output(s) found.",
        hint=f"end the network with nn.Linear(hidden, {n_out}).",
    )
    assert layer is not None
    for what, tensor in (("weight", layer.weight), ("bias", layer.bias)):
        if tensor is None:
            continue
        values = tensor.detach()
        largest = float(values.abs().max())
        expect(
            name,
            largest <= init_w * (1 + 1e-6),
            f"the output layer's {what} has entries outside [-init_w, init_w] = "
            f"[-{init_w:g}, {init_w:g}].",
            got=f"largest |{what}| = {largest:.4g}",
            hint=f"after creating it: self.out.{what}.data.uniform_(-init_w, init_w) (weight "
            "and bias), so that the first actions and values are all near 0.",
            where=f"init_w={init_w:g}",
        )
        if values.numel() >= 32:
            spread = float(values.max() - values.min())
            expect(
                name,
                spread > init_w,
                f"the output layer's {what} is not spread over [-init_w, init_w].",
                got=f"min {float(values.min()):.4g}, max {float(values.max()):.4g}",
                hint=f"use .uniform_(-init_w, init_w) on the {what}; a constant is no init.",
                where=f"init_w={init_w:g}",
            )


def _call(name: str, net: torch.nn.Module, *inputs: torch.Tensor, hint: str) -> torch.Tensor:
    try:
        out = net(*inputs)
    except NotImplementedError:
        raise
    except Exception as err:
        shapes = ", ".join(str(tuple(x.shape)) for x in inputs)
        raise CheckFailed(
            name,
            f"forward on inputs of shapes {shapes} raised {type(err).__name__}: {err}",
            hint=hint,
        ) from err
    expect(
        name,
        isinstance(out, torch.Tensor),
        "forward must return a tensor.",
        got=type(out).__name__,
    )
    return out


def _forward(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return module(x)


def check_ddpg_actor(DDPGActor: Callable[..., torch.nn.Module]) -> None:
    """Check ``DDPGActor(in_dim, out_dim, init_w=3e-3, hidden=64)``.

    ``forward(state)`` is (B, out_dim), with gradient, one row per state; in [-1, 1]
    even with large weights and inputs (tanh); the output layer uniform in
    [-init_w, init_w] (weight and bias); ``hidden`` sets the width.
    """
    name = "check_ddpg_actor"
    with random_state(0):
        for in_dim, out_dim in [(3, 1), (5, 2)]:
            actor = build(name, DDPGActor, in_dim, out_dim)
            obs = seeded_obs(7, in_dim)
            action = _call(name, actor, obs, hint="forward(state) maps (B, in_dim) states.")
            expect_shape(
                name,
                "actor(state)",
                action,
                (7, out_dim),
                hint="one action of out_dim numbers per state: end with "
                "nn.Linear(hidden, out_dim), then tanh.",
            )
            expect(
                name,
                action.requires_grad,
                "actor(state) carries no gradient.",
                hint="do not detach or use torch.no_grad() inside forward.",
            )
            expect(
                name,
                first_rows_equal(action, actor(obs[:3])),
                "one state's action depends on the other states of the batch.",
                hint="use layers that treat each row alone (nn.Linear, activations); no "
                "normalization across the batch.",
            )
            fail_on(name, actor_reach_finding(actor, _forward, in_dim, out_dim, -1.0, 1.0))
            _check_output_init(name, actor, out_dim, 3e-3)
            custom = build(name, DDPGActor, in_dim, out_dim, init_w=0.05)
            _check_output_init(name, custom, out_dim, 0.05)
            with torch.no_grad():
                for p in custom.parameters():
                    p.mul_(50.0).add_(1.0)
                for sign in (1.0, -1.0):
                    big = custom(sign * 1e3 * obs.abs())
                    expect(
                        name,
                        bool(torch.isfinite(big).all()) and float(big.abs().max()) <= 1.0,
                        "the action leaves [-1, 1] for large weights or inputs.",
                        got=f"largest |action| = {float(big.abs().max()):.4g}",
                        hint="squash the last layer's output with torch.tanh: the agent acts in "
                        "[-1, 1] (ActionNormalizer rescales to the env's range).",
                    )
        narrow = build(name, DDPGActor, 3, 1, hidden=16)
        wide = build(name, DDPGActor, 3, 1, hidden=64)
        expect(
            name,
            n_params(narrow) < n_params(wide),
            "the hidden argument does not change the network's size.",
            got=f"{n_params(narrow)} parameters with hidden=16, {n_params(wide)} with hidden=64",
            hint="build the hidden layers with nn.Linear(in_dim, hidden), ...",
        )
    passed(name, "(B, out_dim) actions in [-1, 1], output layer uniform in [-init_w, init_w]")


def check_ddpg_critic(DDPGCritic: Callable[..., torch.nn.Module]) -> None:
    """Check ``DDPGCritic(in_dim, init_w=3e-3, hidden=64)`` with ``in_dim = obs + act``.

    ``forward(state, action)`` is (B, 1), depends on both inputs, one row per pair; the
    output layer uniform in [-init_w, init_w].
    """
    name = "check_ddpg_critic"
    cat_hint = (
        "join state and action along the features: torch.cat([state, action], dim=-1) gives "
        "(B, obs_dim + act_dim); dim=0 stacks them as more rows."
    )
    with random_state(0):
        for obs_dim, act_dim in [(3, 1), (2, 2)]:
            critic = build(name, DDPGCritic, obs_dim + act_dim)
            state = seeded_obs(7, obs_dim, seed=1).requires_grad_()
            action = seeded_obs(7, act_dim, seed=2).requires_grad_()
            q = _call(name, critic, state, action, hint=cat_hint)
            expect(
                name,
                q.ndim != 2 or q.shape[0] != 14,
                f"critic(state, action) has {q.shape[0]} rows for a batch of 7: the state and "
                "action were stacked as rows.",
                hint=cat_hint,
            )
            expect_shape(
                name,
                "critic(state, action)",
                q,
                (7, 1),
                hint="one value per (state, action) pair: end with nn.Linear(hidden, 1) and do "
                "not squeeze.",
            )
            g_state, g_action = grads(q.sum(), [state, action])
            expect(
                name,
                bool(g_state.abs().sum() > 0) and bool(g_action.abs().sum() > 0),
                "Q does not depend on both the state and the action.",
                hint=cat_hint,
            )
            expect(
                name,
                first_rows_equal(q, critic(state[:3], action[:3])),
                "one pair's value depends on the other pairs of the batch.",
                hint="use layers that treat each row alone (nn.Linear, activations).",
            )
            fail_on(
                name,
                value_reach_finding(
                    critic,
                    lambda m, x, k=obs_dim: m(x[:, :k], x[:, k:]),
                    obs_dim + act_dim,
                    "Q(state, action)",
                ),
            )
            _check_output_init(name, critic, 1, 3e-3)
            _check_output_init(
                name, build(name, DDPGCritic, obs_dim + act_dim, init_w=0.05), 1, 0.05
            )
    passed(name, "Q(state, action) of shape (B, 1) from both inputs, output layer uniform")


# ---------------------------------------------------------------------------
# soft_update
# ---------------------------------------------------------------------------


def check_soft_update(soft_update: Callable[..., Any]) -> None:
    """Check ``soft_update(target, source, tau)`` on two small networks, tau = 0.25.

    Every target parameter (both layers and a bare nn.Parameter) must become
    ``tau * source + (1 - tau) * target``, in place; the source must not change.
    """
    _check_runs(
        "check_soft_update",
        soft_update,
        rec.run_soft_update,
        diagnose_soft_update,
        [rec.soft_update_case(5, tau=0.25)],
        "every target parameter moved tau of the way to the source, in place",
    )


# ---------------------------------------------------------------------------
# The agent
# ---------------------------------------------------------------------------


def check_agent_step(DDPGAgent: Callable[..., Any]) -> None:
    """Check ``DDPGAgent.select_action`` and ``DDPGAgent.step`` on toy envs.

    The agent is built on a toy env acting in [-1, 1], then its actor is replaced by a
    linear one with known outputs, its noise by a script and its memory by a recorder.
    Checked: random actions spread over [-1, 1] during warm-up; after it, the actor's
    action plus the noise, clipped to [-1, 1]; ``step`` returns ``(next_state, reward,
    terminated or truncated)`` and stores ``[state, action, reward, next_state,
    terminated]`` (a time-limit truncation is stored as not done); in test mode the
    actor's action alone. Once with one action dimension, once with two.
    """
    _check_runs(
        "check_agent_step",
        DDPGAgent,
        rec.run_agent_step,
        diagnose_agent_step,
        (
            rec.agent_step_case(seed, act_dim=act_dim, horizon=3, terminate_after=2)
            for seed, act_dim in [(7, 1), (8, 2)]
        ),
        "random warm-up, clipped noisy actions in training, greedy in test mode; stored done "
        "is `terminated` only",
    )


def check_update_model(DDPGAgent: Callable[..., Any]) -> None:
    """Check ``DDPGAgent.update_model`` with known networks and batches.

    The four networks are replaced by linear ones with known outputs, the optimizers by
    SGD with learning rate 0, the memory by one that serves a fixed batch. The batch's
    rewards are chosen so that Q(s, a) equals the right TD target ``r + gamma * (1 -
    done) * Q'(s', mu'(s'))``: the critic loss must then have zero gradient on Q
    (other rewards, matching a wrong target, name the bug). Also: no gradient into the
    target networks, the actor loss raises Q, both targets soft-updated with
    ``self.tau``, two floats returned (actor_loss, critic_loss).
    """
    _check_runs(
        "check_update_model",
        DDPGAgent,
        rec.run_update_model,
        diagnose_update_model,
        (
            rec.update_model_case(seed, act_dim=act_dim, batch_size=4, gamma=0.9, tau=0.25)
            for seed, act_dim in [(9, 1), (10, 2)]
        ),
        "TD target from the target networks, masked, without gradient; actor loss -Q; both "
        "targets soft-updated; (actor_loss, critic_loss) as floats",
    )
