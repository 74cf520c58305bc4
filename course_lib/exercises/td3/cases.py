"""The cases TD3.train is run on (inputs), shared by the visible check and the probe

Part of :mod:`course_lib.exercises.td3`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from course_lib.exercises.td3.model import (
    _a,
    _hypotheses,
    _tables,
)
from course_lib.exercises.td3.standins import (
    _f32,
)


def _base_case(
    rng: np.random.Generator,
    label: str,
    *,
    batch: int,
    action_dim: int,
    max_action: float = 1.0,
    discount: float = 0.99,
    tau: float = 0.005,
    policy_noise: float = 0.2,
    noise_clip: float = 0.5,
    policy_freq: int = 2,
    double_q: bool = True,
    calls: int = 1,
    lr: tuple[float, float] = (0.0, 0.0),
) -> dict[str, Any]:
    """A batch, stand-in networks with random values, and the agent's settings."""
    ids = np.arange(batch, dtype=np.float64)
    obs = np.column_stack([ids, rng.normal(size=(batch, 2))])
    next_obs = np.column_stack([ids + batch, rng.normal(size=(batch, 2))])

    def critic() -> dict[str, Any]:
        return {
            "v1": _f32(rng.uniform(-3, 3, 2 * batch)),
            "v2": _f32(rng.uniform(-3, 3, 2 * batch)),
            "k1": 0.0,
            "k2": 0.0,
        }

    def actor() -> dict[str, Any]:
        return {
            "weight": _f32(rng.uniform(-0.5, 0.5, (action_dim, 2))),
            "bias": _f32(rng.uniform(-0.5, 0.5, action_dim)),
        }

    return {
        "label": label,
        "seed": int(rng.integers(2**31)),
        "state_dim": 3,
        "action_dim": action_dim,
        "batch_size": batch,
        "calls": calls,
        "config": {
            "max_action": float(max_action),
            "discount": float(discount),
            "tau": float(tau),
            "policy_noise": float(policy_noise),
            "noise_clip": float(noise_clip),
            "policy_freq": int(policy_freq),
            "double_q": bool(double_q),
        },
        "lr": {"actor": float(lr[0]), "critic": float(lr[1])},
        "obs": _f32(obs),
        "next_obs": _f32(next_obs),
        "acts": _f32(rng.uniform(-0.8, 0.8, (batch, action_dim)) * max_action),
        "rews": _f32(rng.uniform(-2, 2, batch)),
        "done": _f32(rng.permutation(np.arange(batch) < max(2, batch // 4))),
        "critic": critic(),
        "critic_target": critic(),
        "actor": actor(),
        "actor_target": actor(),
    }


def _target_pair(
    rng: np.random.Generator, label: str, *, double_q: bool, discount: float
) -> list[dict[str, Any]]:
    """Two runs on one batch: the online Q values just above, then just below, the target.

    The target and online critics ignore the action (k = 0), so the target does not
    depend on the smoothing noise. Every other candidate target differs from the right
    one by far more than the gap between Q and the target (>= 0.06 against <= 0.04) on
    several samples, in both directions: q1' < q2' on half the bootstrapped samples and
    q1' > q2' on the other half; the online and obs values sit 1 to 3 away, either side.
    """
    case = _base_case(
        rng, label, batch=24, action_dim=1, discount=discount, double_q=double_q, lr=(0.0, 0.0)
    )
    b = case["batch_size"]
    live = np.flatnonzero(_a(case["done"]) == 0)
    side = rng.choice([-1.0, 1.0], size=b)
    side[live] = np.where(rng.permutation(live.size) < live.size // 2, -1.0, 1.0)
    t1, t2 = np.empty(b), np.empty(b)
    for i in range(b):
        while True:
            first = rng.choice([-1.0, 1.0]) * rng.uniform(1.5, 5.0)
            second = first + side[i] * rng.uniform(1.0, 3.0)
            if 1.5 <= abs(second):
                t1[i], t2[i] = first, second
                break

    def near(x: np.ndarray) -> np.ndarray:
        return x + rng.choice([-1.0, 1.0], size=b) * rng.uniform(1.0, 3.0, size=b)

    case["critic_target"]["v1"] = _f32(np.concatenate([near(t1), t1]))
    case["critic_target"]["v2"] = _f32(np.concatenate([near(t2), t2]))
    online_next = [near(t1), near(t2)]
    target = _hypotheses(case, _tables(case))[0][1]
    gap = 0.01 + 0.03 * rng.permutation(b) / b  # distinct gaps, 0.00125 apart at least
    pair = []
    for sign, where in ((1.0, "above"), (-1.0, "below")):
        run = copy.deepcopy(case)
        run["label"] = f"stand-in critics, {label}, online Q set just {where} the right target"
        run["seed"] = int(rng.integers(2**31))
        run["grads"] = True  # the runs record the critic loss's gradient on each Q value
        q = _f32(target + sign * gap)
        run["critic"]["v1"] = q + _f32(online_next[0])
        run["critic"]["v2"] = q + _f32(online_next[1])
        pair.append(run)
    return pair


def _noise_case(
    rng: np.random.Generator,
    label: str,
    *,
    policy_noise: float,
    noise_clip: float,
    max_action: float,
    target_centre: Sequence[float],
    online_centre: Sequence[float],
    batch: int = 256,
) -> dict[str, Any]:
    """A large batch whose target actions show the smoothing noise: a' - actor_target(s')."""
    case = _base_case(
        rng,
        label,
        batch=batch,
        action_dim=len(target_centre),
        max_action=max_action,
        policy_noise=policy_noise,
        noise_clip=noise_clip,
    )
    for role, centre in (("actor_target", target_centre), ("actor", online_centre)):
        a = len(centre)
        case[role]["weight"] = _f32(rng.uniform(-0.02, 0.02, (a, 2)))
        case[role]["bias"] = _f32(np.arctanh(np.asarray(centre) / max_action))
    # Only the target action matters here: every obs is row 0 of the critics' tables and
    # every next_obs row 1, with zero features, zero actions, rewards and dones (small data).
    for key, row in (("obs", 0.0), ("next_obs", 1.0)):
        case[key] = [[row, 0.0, 0.0]] * batch
    case["acts"] = [[0.0] * len(target_centre)] * batch
    case["rews"] = case["done"] = [0.0] * batch
    for role in ("critic", "critic_target"):
        case[role]["v1"], case[role]["v2"] = _f32(rng.uniform(-3, 3, (2, 2)))
    return case


def _parameters_case(
    rng: np.random.Generator,
    label: str,
    *,
    slopes: tuple[float, float],
    target_slopes: tuple[float, float],
    **settings: Any,
) -> dict[str, Any]:
    """A case whose runs record the networks' parameters after each call, with the action
    slopes ``(k1, k2)`` of the critic and of the target critic set."""
    case = _base_case(rng, label, **settings)
    case["params"] = True
    case["critic"]["k1"], case["critic"]["k2"] = slopes
    case["critic_target"]["k1"], case["critic_target"]["k2"] = target_slopes
    return case


def train_cases(rng: np.random.Generator, *, vary: bool) -> dict[str, list[dict[str, Any]]]:
    """Every run of the train check (``vary=False``) or of the hidden probe (``vary=True``).

    Keys name the analyses of :func:`analyze_train`; each holds the runs it reads.
    """

    def pick(fixed: float, low: float, high: float) -> float:
        return float(rng.uniform(low, high)) if vary else fixed

    discount = pick(0.9, 0.8, 0.95)
    cases: dict[str, list[dict[str, Any]]] = {
        "target_double_q": _target_pair(rng, "double_q=True", double_q=True, discount=discount),
        "target_single_q": _target_pair(
            rng, "double_q=False", double_q=False, discount=pick(0.9, 0.8, 0.95)
        ),
    }
    sigma = pick(0.2, 0.1, 0.3)
    cases["noise"] = [
        _noise_case(
            rng,
            f"policy_noise={sigma:.3g}, noise_clip={2.5 * sigma:.3g}, max_action=1",
            policy_noise=sigma,
            noise_clip=_f32(2.5 * sigma),
            max_action=1.0,
            target_centre=[0.1, -0.1],
            online_centre=[-0.6, 0.6],
        )
    ]
    wide = pick(0.5, 0.4, 0.6)
    cases["noise_clip"] = [
        _noise_case(
            rng,
            f"policy_noise={wide:.3g}, noise_clip={0.6 * wide:.3g}, max_action=1",
            policy_noise=wide,
            noise_clip=_f32(0.6 * wide),
            max_action=1.0,
            target_centre=[0.05, -0.05],
            online_centre=[-0.6, 0.6],
        )
    ]
    cases["noise_off"] = [
        _noise_case(
            rng,
            "policy_noise=0, noise_clip=0.5, max_action=1",
            policy_noise=0.0,
            noise_clip=0.5,
            max_action=1.0,
            target_centre=[0.2, -0.3],
            online_centre=[-0.6, 0.6],
            batch=32,
        )
    ]
    top = pick(2.0, 1.5, 3.0)
    cases["noise_clamp"] = [
        _noise_case(
            rng,
            f"policy_noise=0.2, noise_clip=0.5, max_action={top:.3g}",
            policy_noise=0.2,
            noise_clip=0.5,
            max_action=_f32(top),
            target_centre=[0.95 * top, -0.95 * top],
            online_centre=[0.3, -0.3],
            batch=64,
        )
    ]
    cases["actor"] = [
        _parameters_case(
            rng,
            "policy_freq=1, critic learning rate 0",
            slopes=(1.5, -2.0),
            target_slopes=(0.5, 0.7),
            batch=8,
            action_dim=2,
            policy_freq=1,
            tau=pick(0.3, 0.1, 0.4),
            lr=(0.05, 0.0),
        )
    ]
    freq = int(rng.integers(2, 4)) if vary else 2
    cases["schedule"] = [
        _parameters_case(
            rng,
            f"policy_freq={freq}, {2 * freq} calls",
            slopes=(1.0, 0.5),
            target_slopes=(0.8, 0.3),
            batch=8,
            action_dim=1,
            policy_freq=freq,
            tau=pick(0.3, 0.1, 0.4),
            calls=2 * freq,
            lr=(0.1, 0.1),
        )
    ]
    # two identical updates: the target critic ignores the action (the smoothing noise
    # changes nothing), learning rate 0 and tau 0 hold every network still, so each
    # optimizer must see the same gradient at both steps (course_lib.exercises.steps)
    cases["steps"] = [
        _parameters_case(
            rng,
            "policy_freq=1, 2 calls, learning rate 0, tau 0",
            slopes=(1.5, -2.0),
            target_slopes=(0.0, 0.0),
            batch=8,
            action_dim=1,
            policy_freq=1,
            tau=0.0,
            calls=2,
        )
    ]
    return cases


def cases_digest(cases: dict[str, Any]) -> str:
    """A fingerprint of the runs' inputs, so that they need not travel with the runs."""
    text = json.dumps(cases, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
