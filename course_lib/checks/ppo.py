"""Visible checks for notebook 03: PPO (clip) with GAE on Pendulum-v1.

The numeric checks use frozen cases with exactly known answers; the network
and loss checks test properties every correct variant has (other hidden
sizes, a state-independent log-std parameter, a clipped value loss), so they
accept any correct design and name the typical bugs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from course_lib.checks._nets import build, grads, seeded_obs
from course_lib.checks.core import check_eval_result as check_reward
from course_lib.checks.core import (
    expect,
    expect_close,
    expect_shape,
    expect_values,
    fail,
    passed,
    to_numpy,
)
from course_lib.envs import random_state
from course_lib.toy_envs import BoxToyEnv

__all__ = [
    "check_action_normalizer",
    "check_agent_step",
    "check_compute_gae",
    "check_init_layer_uniform",
    "check_ppo_actor",
    "check_ppo_critic",
    "check_ppo_iter",
    "check_ppo_losses",
    "check_reward",
]


# ---------------------------------------------------------------------------
# The action wrapper
# ---------------------------------------------------------------------------


def check_action_normalizer(ActionNormalizer: Callable[[gym.Env], gym.ActionWrapper]) -> None:
    """Check ``ActionNormalizer(env)``: ``action`` maps [-1, 1] onto [low, high], and back."""
    name = "check_action_normalizer"
    # An asymmetric range, so that "scale only" and sign mistakes show.
    env = BoxToyEnv(horizon=3, low=[-2.0, 0.0], high=[2.0, 10.0])
    try:
        wrapper = ActionNormalizer(env)
    except Exception as err:
        fail(name, f"ActionNormalizer(env) raised {type(err).__name__}: {err}")
    expect(
        name,
        isinstance(wrapper, gym.ActionWrapper),
        "ActionNormalizer must subclass gymnasium.ActionWrapper.",
        got=type(wrapper).__name__,
    )
    cases = {
        "-1 (the lowest action)": ([-1.0, -1.0], [-2.0, 0.0]),
        "+1 (the highest action)": ([1.0, 1.0], [2.0, 10.0]),
        "0 (the middle)": ([0.0, 0.0], [0.0, 5.0]),
        "0.5": ([0.5, 0.5], [1.0, 7.5]),
    }
    for label, (normalized, env_units) in cases.items():
        try:
            got = wrapper.action(np.array(normalized, dtype=np.float32))
        except AttributeError as err:
            fail(
                name,
                f"action() raised AttributeError: {err}",
                hint="the bounds live on the wrapped env's space: "
                "self.env.action_space.low and .high (a wrapper has no self.low).",
            )
        expect_values(
            name,
            f"action({normalized})",
            got,
            env_units,
            mistakes=[
                (
                    normalized,
                    "the action is returned unchanged: rescale it from [-1, 1] to "
                    "[low, high], or the agent can only ever use half of the torque range.",
                ),
                (
                    [2.0 * normalized[0], 10.0 * normalized[1]],
                    "multiplying by high only works "
                    "for a range symmetric around 0; shift too: low + (a + 1) * (high - low) / 2.",
                ),
            ],
            hint="action(a) = low + (a + 1) * (high - low) / 2.",
            case=f"normalized action {label}, env range low=[-2, 0], high=[2, 10]",
        )
        back = wrapper.reverse_action(np.array(env_units, dtype=np.float32))
        expect_values(
            name,
            f"reverse_action({env_units})",
            back,
            normalized,
            mistakes=[
                (
                    [
                        -1 + 2 * (x + lo) / (hi - lo)
                        for x, lo, hi in zip(env_units, [-2.0, 0.0], [2.0, 10.0], strict=True)
                    ],
                    "reverse_action must subtract low: a = -1 + 2 * (x - low) / (high - low).",
                ),
            ],
            hint="reverse_action undoes action: a = -1 + 2 * (x - low) / (high - low).",
            case=f"env action {env_units}",
        )
    passed(name, "[-1, 1] maps onto [low, high] and back, asymmetric ranges included")


# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------


def check_init_layer_uniform(init_layer_uniform: Callable[..., torch.nn.Linear]) -> None:
    """Check ``init_layer_uniform(layer, init_w)``: weights and biases uniform in [-w, w]."""
    name = "check_init_layer_uniform"
    for init_w in (3e-3, 0.5):
        layer = torch.nn.Linear(64, 200)
        out = init_layer_uniform(layer, init_w) if init_w != 3e-3 else init_layer_uniform(layer)
        expect(
            name,
            out is layer,
            "init_layer_uniform must return the layer it was given (initialized in place).",
            got=type(out).__name__,
            hint="end with `return layer`.",
        )
        for what, tensor in (("weight", layer.weight), ("bias", layer.bias)):
            values = tensor.detach()
            expect(
                name,
                bool(values.abs().max() <= init_w + 1e-7),
                f"layer.{what} has entries outside [-{init_w:g}, {init_w:g}].",
                got=f"largest |{what}| = {float(values.abs().max()):.4g}",
                hint=f"initialize layer.{what} with .uniform_(-init_w, init_w) (the bias too).",
                where=f"init_w={init_w:g}",
            )
            spread = float(values.max() - values.min())
            expect(
                name,
                spread > 1.5 * init_w if values.numel() >= 64 else spread > 0,
                f"layer.{what} does not look uniform over [-{init_w:g}, {init_w:g}].",
                got=f"min {float(values.min()):.4g}, max {float(values.max()):.4g}",
                hint=f"use layer.{what}.data.uniform_(-init_w, init_w); a constant or the "
                "default init does not spread over the whole interval.",
                where=f"init_w={init_w:g}",
            )
    passed(name, "weights and biases uniform in [-init_w, init_w], the layer returned")


def _actor_outputs(name: str, actor: torch.nn.Module, obs: torch.Tensor) -> tuple[Any, Any]:
    out = actor(obs)
    expect(
        name,
        isinstance(out, tuple) and len(out) == 2,
        "forward(state) must return a pair (action, dist).",
        got=type(out).__name__,
        hint="end forward with `return action, dist` where dist = Normal(mu, std).",
    )
    action, dist = out
    expect(
        name,
        isinstance(dist, torch.distributions.Normal),
        "the second output must be a torch.distributions.Normal.",
        got=type(dist).__name__,
    )
    return action, dist


def check_ppo_actor(PPOActor: Callable[..., torch.nn.Module]) -> None:
    """Check ``PPOActor(in_dim, out_dim, log_std_min, log_std_max)``.

    ``forward(state)`` returns ``(action, dist)``: a ``Normal`` whose mean is in
    [-1, 1] (tanh) and whose log-std stays in [log_std_min, log_std_max] even for
    extreme inputs and weights; the action is a sample of it.
    """
    name = "check_ppo_actor"
    for in_dim, out_dim in [(3, 1), (5, 2)]:
        actor = build(name, PPOActor, in_dim, out_dim)
        obs = seeded_obs(7, in_dim)
        action, dist = _actor_outputs(name, actor, obs)
        expect_shape(
            name,
            "dist.mean",
            dist.mean,
            (7, out_dim),
            hint="one mean per observation and action dimension.",
        )
        expect_shape(name, "dist.stddev", dist.stddev.expand_as(dist.mean), (7, out_dim))
        expect_shape(
            name,
            "action",
            action,
            (7, out_dim),
            hint="return a sample of dist: `action = dist.sample()`.",
        )
        expect(
            name,
            bool(dist.mean.abs().max() <= 1.0),
            "the mean is outside [-1, 1].",
            got=f"largest |mean| = {float(dist.mean.detach().abs().max()):.4g}",
            hint="squash the mean with torch.tanh: actions live in [-1, 1] (ActionNormalizer "
            "rescales them to the env's range).",
        )
        params = [p for p in actor.parameters() if p.requires_grad]
        log_prob = dist.log_prob(action.detach()).sum()
        expect(
            name,
            len(params) > 0 and any(g.abs().sum() > 0 for g in grads(log_prob, params)),
            "no gradient flows from dist.log_prob back to the actor's parameters.",
            hint="build mu and std from the network without .detach() or torch.no_grad().",
        )
        g_mean, g_std = (
            grads(dist.mean.sum(), params),
            grads(dist.stddev.expand_as(dist.mean).sum(), params),
        )
        expect(
            name,
            any(g.abs().sum() > 0 for g in g_std),
            "the standard deviation is not learned: no parameter changes it.",
            hint="make log_std a learned output (a layer) or an nn.Parameter.",
        )
        expect(name, any(g.abs().sum() > 0 for g in g_mean), "the mean has no gradient.")
        # extreme inputs and weights: the bounds must hold anyway
        for low, high in [(-20.0, 0.0), (-5.0, 2.0)]:
            bounded = build(name, PPOActor, in_dim, out_dim, log_std_min=low, log_std_max=high)
            with torch.no_grad():
                for p in bounded.parameters():
                    p.mul_(50.0)
                    p.add_(1.0)
            for sign in (1.0, -1.0):
                _, d = _actor_outputs(name, bounded, sign * 1e3 * obs.abs())
                log_std = d.stddev.detach().log()
                expect(
                    name,
                    bool(torch.isfinite(log_std).all())
                    and bool((log_std >= low - 1e-4).all())
                    and bool((log_std <= high + 1e-4).all()),
                    f"log-std leaves [log_std_min, log_std_max] = [{low:g}, {high:g}] for "
                    "large inputs or weights.",
                    got=f"log std in [{float(log_std.min()):.4g}, {float(log_std.max()):.4g}]",
                    hint="bound it: log_std = log_std_min + (log_std_max - log_std_min) * "
                    "(tanh(x) + 1) / 2, or torch.clamp(x, log_std_min, log_std_max). "
                    "An unbounded std explodes or collapses during training.",
                )
                expect(
                    name,
                    bool(d.mean.abs().max() <= 1.0),
                    "the mean leaves [-1, 1] for large inputs or weights.",
                    hint="squash the mean with torch.tanh.",
                )
    passed(name, "Normal with tanh mean in [-1, 1], bounded learned log-std, sampled action")


def check_ppo_critic(PPOCritic: Callable[..., torch.nn.Module]) -> None:
    """Check ``PPOCritic(in_dim)``: ``forward(state)`` returns V of shape (B, 1)."""
    name = "check_ppo_critic"
    for in_dim in (3, 5):
        critic = build(name, PPOCritic, in_dim)
        value = critic(seeded_obs(7, in_dim))
        expect(
            name,
            isinstance(value, torch.Tensor),
            "forward must return a tensor.",
            got=type(value).__name__,
        )
        expect_shape(
            name,
            "V(state)",
            value,
            (7, 1),
            hint="end with nn.Linear(hidden, 1) and do not squeeze inside the critic.",
        )
        expect(
            name,
            value.requires_grad,
            "V(state) carries no gradient.",
            hint="do not detach or wrap the forward pass in torch.no_grad().",
        )
    passed(name, "V(state) has shape (B, 1) and gradient")


# ---------------------------------------------------------------------------
# GAE
# ---------------------------------------------------------------------------

# next_value, rewards, masks, values, gamma, tau, expected returns, {mistake: returns}
_GAE_CASES: list[dict[str, Any]] = [
    {
        "next_value": 2.0,
        "rewards": [1.0, 0.0, -1.0, 0.5],
        "masks": [1, 1, 1, 1],
        "values": [0.5, 1.0, -0.5, 2.0],
        "gamma": 0.9,
        "tau": 0.8,
        "expected": [1.6418944, 0.64152, 1.016, 2.3],
        "mistakes": {
            "forward": [1.9, 0.558, 0.48176, 3.0068672],
            "swapped": [1.3995648, 0.44384, 0.672, 2.1],
            "advantages": [1.1418944, -0.35848, 1.516, 0.3],
            "off_by_one": [0.9974944, 0.37152, -1.234, 2.3],
            "lambda_only": [1.7256, 0.782, 1.04, 2.3],
        },
    },
    {
        "next_value": 3.0,
        "rewards": [1.0, 2.0, 0.0, 1.0],
        "masks": [1, 0, 1, 1],
        "values": [1.0, 0.0, 2.0, -1.0],
        "gamma": 0.9,
        "tau": 0.8,
        "expected": [2.44, 2.0, 2.484, 3.7],
        "mistakes": {
            "forward": [1.0, 2.0, 0.54, 2.6488],
            "swapped": [2.44, 2.0, 2.368, 3.4],
            "chain_across": [2.6909056, 2.34848, 2.484, 3.7],
            "no_mask_boot": [3.736, 3.8, 2.484, 3.7],
            "advantages": [1.44, 2.0, 0.484, 4.7],
            "off_by_one": [3.34, 2.0, 2.592, 0.1],
            "lambda_only": [2.6, 2.0, 2.86, 3.7],
        },
    },
    {
        "next_value": -1.0,
        "rewards": [-2.0, -1.0, 0.5],
        "masks": [1, 1, 0],
        "values": [0.0, -1.5, 1.0],
        "gamma": 0.95,
        "tau": 0.5,
        "expected": [-2.8490625, -0.2875, 0.5],
        "mistakes": {
            "forward": [-3.425, -1.676875, 0.5],
            "swapped": [-2.3878125, -0.7375, 0.5],
            "no_mask_boot": [-3.06340625, -0.73875, -0.45],
            "advantages": [-2.8490625, 1.2125, -0.5],
            "off_by_one": [-2.5521875, -2.6625, 0.5],
            "lambda_only": [-2.825, -0.3, 0.5],
        },
    },
    {
        "next_value": 1.0,
        "rewards": [1.0, 1.0, 1.0],
        "masks": [1, 1, 1],
        "values": [0.0, 0.0, 0.0],
        "gamma": 0.5,
        "tau": 1.0,
        "expected": [1.875, 1.75, 1.5],
        "mistakes": {
            "forward": [1.0, 1.5, 2.25],
            "swapped": [2.0, 2.0, 2.0],
            "lambda_only": [3.5, 2.5, 1.5],
        },
    },
    {
        "next_value": 4.0,
        "rewards": [1.0, 2.0],
        "masks": [1, 1],
        "values": [0.5, 0.5],
        "gamma": 0.9,
        "tau": 0.0,
        "expected": [1.45, 5.6],
        "mistakes": {"swapped": [1.0, 2.0], "advantages": [0.95, 5.1]},
    },
]
_GAE_HINTS = {
    "forward": "walk the rollout BACKWARDS: gae_t = delta_t + gamma * tau * mask_t * gae_(t+1), "
    "starting from the last step.",
    "swapped": "gamma and tau (GAE's lambda) are swapped: the TD error uses gamma, "
    "delta_t = r_t + gamma * V_(t+1) * mask_t - V_t; only the decay of gae uses gamma * tau.",
    "chain_across": "multiply the carried gae by mask_t too: an advantage must not flow "
    "backwards from one episode into the one before it.",
    "no_mask_boot": "multiply V_(t+1) by mask_t: after an episode's end, the next value "
    "belongs to a new episode and must not be bootstrapped.",
    "advantages": "return advantage + value (the critic's target), not the advantage alone: "
    "returns.insert(0, gae + values[t]).",
    "off_by_one": "the TD error bootstraps from the NEXT state's value: use values[t + 1] "
    "(with next_value appended at the end), not values[t].",
    "lambda_only": "the decay of gae is gamma * tau, not tau alone.",
}


def _as_column(values: Iterable[float]) -> list[torch.Tensor]:
    return [torch.tensor([[float(v)]]) for v in values]


def _flat(name: str, out: Any, length: int, n_envs: int, case: str) -> np.ndarray:
    expect(
        name,
        isinstance(out, list | tuple),
        "compute_gae must return a list (one entry per step).",
        got=type(out).__name__,
        where=case,
    )
    expect(
        name,
        len(out) == length,
        f"compute_gae returned {len(out)} entries for a rollout of {length} steps.",
        where=case,
        hint="one return per step, in time order.",
    )
    rows = [to_numpy(x).reshape(-1) for x in out]
    expect(
        name,
        all(r.size == n_envs for r in rows),
        f"each entry must hold one value per env ({n_envs}).",
        got=[r.size for r in rows],
        where=case,
    )
    return np.stack(rows)


def check_compute_gae(compute_gae: Callable[..., Any]) -> None:
    """Check ``compute_gae(next_value, rewards, masks, values, gamma, tau)`` on known rollouts.

    Every entry is a tensor of shape ``(n_envs, 1)``; the result is a list of
    returns (advantage + value), one per step.
    """
    name = "check_compute_gae"
    for case in _GAE_CASES:
        label = (
            f"next_value={case['next_value']}, rewards={case['rewards']}, masks={case['masks']}, "
            f"values={case['values']}, gamma={case['gamma']}, tau={case['tau']}"
        )
        out = compute_gae(
            torch.tensor([[case["next_value"]]]),
            _as_column(case["rewards"]),
            _as_column(case["masks"]),
            _as_column(case["values"]),
            case["gamma"],
            case["tau"],
        )
        got = _flat(name, out, len(case["rewards"]), 1, label)[:, 0]
        expect_values(
            name,
            "returns",
            got,
            case["expected"],
            mistakes=[(v, _GAE_HINTS[k]) for k, v in case["mistakes"].items()],
            hint="delta_t = r_t + gamma * V_(t+1) * mask_t - V_t; "
            "gae_t = delta_t + gamma * tau * mask_t * gae_(t+1); return gae_t + V_t.",
            case=label,
        )
    # two envs side by side: the first two cases in one batch
    a, b = _GAE_CASES[0], _GAE_CASES[1]

    def pair(key: str) -> list[torch.Tensor]:
        return [torch.tensor([[float(x)], [float(y)]]) for x, y in zip(a[key], b[key], strict=True)]

    out = compute_gae(
        torch.tensor([[a["next_value"]], [b["next_value"]]]),
        pair("rewards"),
        pair("masks"),
        pair("values"),
        0.9,
        0.8,
    )
    got = _flat(name, out, 4, 2, "two envs side by side")
    expect_close(
        name,
        "returns of two envs computed side by side",
        got,
        np.stack([a["expected"], b["expected"]], axis=1),
        hint="compute elementwise (no .item(), no sums over envs): each env is its own rollout.",
        case="the first two cases as two envs, entries of shape (2, 1)",
    )
    passed(
        name,
        "backwards, gamma and tau in their places, episode ends respected, "
        "returns = advantages + values",
    )


# ---------------------------------------------------------------------------
# Minibatches
# ---------------------------------------------------------------------------


def check_ppo_iter(ppo_iter: Callable[..., Iterable[Any]]) -> None:
    """Check ``ppo_iter``: each epoch yields every sample exactly once, aligned, shuffled."""
    name = "check_ppo_iter"
    for batch, mini, epochs in [(12, 4, 3), (10, 4, 2), (64, 16, 4)]:
        idx = torch.arange(batch, dtype=torch.float32)
        states = torch.stack([idx, -idx, idx * 0.5], dim=1)
        arrays = [states, idx.unsqueeze(1) + 100, idx + 200, idx + 300, idx + 400, idx + 500]
        case = f"{batch} samples, mini_batch_size={mini}, epoch={epochs}"
        try:
            with random_state(batch):  # the student's shuffles are reproducible, then undone
                batches = list(ppo_iter(epochs, mini, *arrays))
        except Exception as err:
            fail(name, f"ppo_iter raised {type(err).__name__}: {err}", where=case)
        seen: list[list[int]] = []
        for k, mb in enumerate(batches):
            expect(
                name,
                isinstance(mb, tuple | list) and len(mb) == 6,
                "each minibatch must be a tuple (states, actions, values, log_probs, "
                "returns, advantages).",
                got=f"{type(mb).__name__} of length {len(mb) if hasattr(mb, '__len__') else '?'}",
                where=case,
            )
            s = to_numpy(mb[0])
            expect(
                name,
                s.ndim == 2 and s.shape[1] == 3,
                "states lost their shape.",
                got=s.shape,
                where=case,
                hint="index rows: states[idx, :] or states[idx].",
            )
            ids = s[:, 0].astype(int)
            for j, offset in enumerate([100, 200, 300, 400, 500], start=1):
                col = to_numpy(mb[j]).reshape(-1) - offset
                expect(
                    name,
                    col.shape == ids.shape and bool(np.allclose(col, ids)),
                    "the arrays of a minibatch are not aligned: one index must pick the same "
                    "samples from every array, in the same order as the arguments.",
                    where=f"{case}, minibatch {k}, array {j}",
                )
            seen.append(ids.tolist())
        per_epoch = []
        flat = [i for b in seen for i in b]
        expect(
            name,
            len(flat) == batch * epochs,
            f"the minibatches hold {len(flat)} samples in all; {epochs} epochs of {batch} "
            f"samples make {batch * epochs}.",
            where=case,
            hint="per epoch, cover all samples once; keep the last, smaller minibatch when "
            "the batch size is not a multiple of mini_batch_size.",
        )
        for e in range(epochs):
            chunk = flat[e * batch : (e + 1) * batch]
            per_epoch.append(chunk)
            expect(
                name,
                sorted(chunk) == list(range(batch)),
                "within an epoch, some samples come twice and others never.",
                got=f"epoch {e}: counts {np.bincount(chunk, minlength=batch).tolist()}",
                where=case,
                hint="sampling each minibatch with np.random.choice draws WITH replacement "
                "across minibatches: shuffle once per epoch (a permutation) and slice it.",
            )
        expect(
            name,
            len({tuple(c) for c in per_epoch}) > 1,
            "every epoch visits the samples in the same order.",
            where=case,
            hint="draw a new permutation (torch.randperm or np.random.permutation) each epoch.",
        )
    passed(name, "every sample exactly once per epoch, shuffled, arrays aligned")


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------

_LOG_RATIO = [0.5, -0.5, 0.05, 0.3, -0.4, 0.0, 0.1, -0.1]
_OLD = [-1.0, -0.8, -1.2, -0.3, -2.0, -0.6, -1.5, -0.9]
_ADV = [1.0, -1.0, 2.0, -1.5, 1.2, 0.7, -0.4, 0.9]
_ENT = [1.0, 0.5, 0.8, 1.2, 0.9, 1.1, 0.7, 1.0]
_EPS, _W = 0.2, 0.05
_ACTOR_LOSS = -0.33930292
_ACTOR_MISTAKES = {
    -0.46712726: "the surrogate takes the MIN of the two terms, not the max: "
    "min(r * A, clip(r, 1 - eps, 1 + eps) * A), a pessimistic bound.",
    -0.31444963: "clip the RATIO, not the advantage: clip(r, 1 - eps, 1 + eps) * A.",
    -0.25066881: "clip the ratio alone, not the product r * A.",
    -0.24930292: "the entropy bonus has the wrong sign: SUBTRACT entropy_weight * entropy "
    "from the loss (more entropy = more exploration = lower loss).",
    -0.34912339: "the ratio is new / old: exp(log_probs - old_log_probs), not the inverse.",
    0.24125: "the ratio is exp(log_probs - old_log_probs), not the difference of logs.",
    -2.71442335: "average over the batch (.mean()), do not sum.",
    0.24930292: "the loss is the NEGATIVE surrogate: the optimizer minimizes, PPO maximizes.",
    -0.29430292: "the entropy bonus is missing: subtract entropy_weight * entropy.mean().",
}


def _loss_inputs() -> dict[str, torch.Tensor]:
    old = torch.tensor(_OLD)
    values = torch.tensor([[0.5], [-1.0], [2.0], [0.0], [1.5], [-0.5], [0.3], [1.0]])
    return {
        "log_probs": (old + torch.tensor(_LOG_RATIO)).requires_grad_(),
        "old_log_probs": old.clone().requires_grad_(),
        "advantages": torch.tensor(_ADV),
        "entropy": torch.tensor(_ENT).requires_grad_(),
        "values": values.clone().requires_grad_(),
        "old_values": values.clone().requires_grad_(),
        "returns": torch.tensor([1.0, -2.0, 2.5, 0.5, 1.0, 0.0, 0.0, 1.5]).requires_grad_(),
    }


def _call_losses(name: str, ppo_losses: Callable[..., Any], x: dict[str, torch.Tensor]) -> Any:
    try:
        out = ppo_losses(
            x["log_probs"],
            x["old_log_probs"],
            x["advantages"],
            x["entropy"],
            x["values"],
            x["old_values"],
            x["returns"],
            _EPS,
            _W,
        )
    except Exception as err:
        fail(name, f"ppo_losses raised {type(err).__name__}: {err}")
    expect(
        name,
        isinstance(out, tuple | list) and len(out) == 2,
        "ppo_losses must return (actor_loss, critic_loss).",
        got=type(out).__name__,
    )
    for what, loss in zip(("actor_loss", "critic_loss"), out, strict=True):
        expect(
            name,
            isinstance(loss, torch.Tensor) and loss.numel() == 1,
            f"{what} must be a scalar tensor.",
            got=getattr(loss, "shape", type(loss).__name__),
            hint="reduce with .mean() over the minibatch.",
        )
    return out


def check_ppo_losses(ppo_losses: Callable[..., Any]) -> None:
    """Check ``ppo_losses``: the clipped surrogate with entropy bonus, and a critic regression.

    Signature: ``ppo_losses(log_probs, old_log_probs, advantages, entropy, values,
    old_values, returns, epsilon, entropy_weight) -> (actor_loss, critic_loss)``.
    The actor loss has one right value on the frozen case; the critic loss may
    be MSE, Huber or a clipped value loss: it is checked by its properties.
    """
    name = "check_ppo_losses"
    x = _loss_inputs()
    actor_loss, critic_loss = _call_losses(name, ppo_losses, x)
    wrong = [(value, hint) for value, hint in _ACTOR_MISTAKES.items()]
    expect_values(
        name,
        "actor_loss",
        float(actor_loss.detach()),
        _ACTOR_LOSS,
        mistakes=wrong,
        hint="r = exp(log_probs - old_log_probs); actor_loss = -mean(min(r * A, "
        "clip(r, 1 - eps, 1 + eps) * A)) - entropy_weight * mean(entropy).",
        case="8 samples with ratios on both sides of the clip range, eps=0.2, entropy_weight=0.05",
        atol=1e-5,
    )
    g_new, g_old, g_values = grads(actor_loss, [x["log_probs"], x["old_log_probs"], x["values"]])
    expect(
        name,
        bool(g_old.abs().sum() == 0),
        "actor_loss sends gradient into old_log_probs.",
        hint="old_log_probs belong to the policy that collected the data: a constant. "
        "Use old_log_probs.detach() in the ratio (and store them without gradient).",
    )
    expect(
        name,
        bool(g_values.abs().sum() == 0),
        "actor_loss depends on the critic's values.",
        hint="the actor's weight is the given advantage; the critic learns from critic_loss only.",
    )
    # where the clip binds, the surrogate is flat in log_probs
    r = np.exp(_LOG_RATIO)
    a = np.asarray(_ADV)
    flat = ((r > 1 + _EPS) & (a > 0)) | ((r < 1 - _EPS) & (a < 0))
    got_flat = g_new.abs().numpy() < 1e-9
    expect(
        name,
        bool((got_flat == flat).all()),
        "the gradient of actor_loss w.r.t. log_probs is wrong where the ratio is clipped.",
        expected=f"zero gradient exactly at samples {np.flatnonzero(flat).tolist()}",
        got=f"zero gradient at samples {np.flatnonzero(got_flat).tolist()}",
        hint="the clip must stop the gradient only where it binds: "
        "torch.min(r * A, torch.clamp(r, 1 - eps, 1 + eps) * A).",
    )
    # critic: properties every correct variant has
    g_c = grads(critic_loss, [x["log_probs"], x["returns"], x["old_values"], x["values"]])
    expect(
        name,
        bool(g_c[0].abs().sum() == 0),
        "critic_loss depends on log_probs.",
        hint="the critic's loss compares values with returns only.",
    )
    expect(
        name,
        bool(g_c[1].abs().sum() == 0) and bool(g_c[2].abs().sum() == 0),
        "critic_loss sends gradient into returns or old_values.",
        hint="the targets are constants: use returns.detach() (and old_values.detach()).",
    )
    dv = g_c[3].reshape(-1).numpy()
    diff = (x["values"].detach().reshape(-1) - x["returns"].detach()).numpy()
    expect(
        name,
        bool(np.all(np.sign(dv[diff != 0]) == np.sign(diff[diff != 0]))),
        "critic_loss does not pull each value toward its return.",
        got=f"d critic_loss / d values = {np.round(dv, 4).tolist()}",
        hint="regress values onto returns: e.g. (returns - values).pow(2).mean(); watch the "
        "shapes: values is (B, 1), returns (B,): flatten values first, or (B, 1) - (B,) "
        "broadcasts into (B, B).",
    )
    expect(
        name,
        float(critic_loss.detach()) > 0,
        "critic_loss is not positive away from the targets.",
        got=float(critic_loss.detach()),
    )
    y = _loss_inputs()
    y["values"] = y["returns"].detach().reshape(-1, 1).clone().requires_grad_()
    y["old_values"] = y["values"].detach().clone()
    _, at_target = _call_losses(name, ppo_losses, y)
    expect_close(
        name,
        "critic_loss when values equal returns",
        float(at_target.detach()),
        0.0,
        atol=1e-6,
        hint="the critic's loss must vanish when every value equals its return.",
    )
    passed(
        name,
        "clipped surrogate (min, ratio clipped, old log-probs constant) with entropy "
        "bonus; critic regression onto constant returns",
    )


# ---------------------------------------------------------------------------
# The agent's step: termination vs truncation
# ---------------------------------------------------------------------------


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


def check_agent_step(PPOAgent: Callable[..., Any], **agent_kwargs: Any) -> None:
    """Check what ``PPOAgent.step`` stores at episode ends, on two toy envs.

    Env 0 is *truncated* at step 3 (a time limit: the task goes on), env 1
    *terminates* at step 2. Every reward is 1, gamma is 0.9 and the critic is
    replaced by one with known values V = 10 + t. After each ``step`` the agent's
    ``rewards[-1]`` and ``masks[-1]`` must be: mask 0 at any episode end;
    reward 1 everywhere except at the truncation, where it bootstraps from the
    final state's value: 1 + 0.9 * V(final state) = 1 + 0.9 * 13 = 12.7. A
    positive reward scale c is accepted (c, and c + 11.7 at the truncation).
    """
    name = "check_agent_step"
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
    try:
        agent = PPOAgent(_toy_vec_env(), **kwargs)
    except Exception as err:
        fail(
            name,
            f"PPOAgent(env, ...) raised {type(err).__name__}: {err}",
            hint="the agent takes a vector env: use env.single_observation_space and "
            "env.single_action_space for the network sizes.",
        )
    agent.critic = _KnownCritic()
    state, _ = agent.env.reset(seed=0)
    expected_masks = [[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    scale = 1.0  # a reward scale is allowed: read it off the first stored reward
    for t in range(3):
        with torch.no_grad():
            action = agent.select_action(state)
        action = np.asarray(action)
        expect(
            name,
            action.shape == (2, 1),
            "select_action must return one action per env, shape (n_envs, action_dim).",
            got=action.shape,
        )
        try:
            state, _, _ = agent.step(action)
        except Exception as err:
            fail(name, f"agent.step raised {type(err).__name__}: {err}", where=f"step {t}")
        if t == 0 and len(agent.rewards) == 1:
            scale = float(to_numpy(agent.rewards[0]).reshape(-1)[0])
            expect(
                name,
                scale > 0,
                "the stored reward of an ordinary step is not a positive multiple of the "
                "env's reward (1.0 here).",
                got=scale,
                hint="store the env's reward (optionally times a positive reward scale).",
            )
        expected_rewards = [[scale, scale], [scale, scale], [scale + 0.9 * 13.0, scale]]
        for what, stored, expected in (
            ("masks", agent.masks, expected_masks[t]),
            ("rewards", agent.rewards, expected_rewards[t]),
        ):
            expect(
                name,
                len(stored) == t + 1,
                f"agent.{what} should hold one entry per step taken.",
                got=len(stored),
                where=f"after step {t}",
            )
            got = to_numpy(stored[-1]).reshape(-1)
            if what == "masks":
                hint = (
                    "mask = 1 - (terminated or truncated): the GAE recursion must not chain "
                    "into the next episode, whichever way this one ended."
                )
                mistakes = (
                    [
                        (
                            [1.0, 1.0],
                            "a truncated episode ended too: mask it "
                            "(its bootstrap goes into the reward instead).",
                        )
                    ]
                    if t == 2
                    else []
                )
            else:
                hint = (
                    "at a truncation (time limit), the episode stops but the task does not: "
                    "add gamma * V(final state) to the reward, with the final state taken from "
                    "infos['final_obs'] (the observation returned is already the next "
                    "episode's first). At a termination, add nothing."
                )
                mistakes = (
                    [
                        (
                            [scale, scale],
                            "the bootstrap is cut at the truncation: add gamma * "
                            "V(final state) to the reward of a truncated step.",
                        ),
                        (
                            [scale + 0.9 * 10.0, scale],
                            "the bootstrap uses the observation step() "
                            "returned, which is already the NEXT episode's first state: take the "
                            "final state from infos['final_obs'][i].",
                        ),
                    ]
                    if t == 2
                    else []
                )
            expect_values(
                name,
                f"agent.{what}[{t}]",
                got,
                expected,
                mistakes=mistakes,
                hint=hint,
                case=f"step {t}: env 0 truncates at step 2, env 1 terminates at step 1 "
                "(counting from 0); V = 10 + t, gamma = 0.9",
                atol=1e-4,
            )
    passed(name, "episode ends masked; the truncated step bootstraps from its final state")
