"""What the stand-ins compute: their tables, and the targets a train may regress on

Part of :mod:`course_lib.exercises.td3`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _a(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _actor_np(params: dict[str, Any], obs: np.ndarray, max_action: float) -> np.ndarray:
    weight = _a(params["weight"]).reshape(-1, obs.shape[1] - 1)
    return max_action * np.tanh(obs[:, 1:] @ weight.T + _a(params["bias"]).reshape(-1))


def _q_np(params: dict[str, Any], j: int, obs: np.ndarray, acts: np.ndarray) -> np.ndarray:
    v, k = (params["v1"], params["k1"]) if j == 0 else (params["v2"], params["k2"])
    v, k = _a(v).reshape(-1), float(_a(k).reshape(-1)[0])
    ids = np.clip(np.round(obs[:, 0]).astype(int), 0, v.size - 1)
    return v[ids] + k * acts.sum(-1)


def _tables(case: dict[str, Any]) -> dict[str, np.ndarray]:
    """The values every candidate target is made of (all critics here ignore the action)."""
    obs, nxt = _a(case["obs"]), _a(case["next_obs"])
    zero = np.zeros((obs.shape[0], 1))
    out = {}
    for role, short in (("critic", "o"), ("critic_target", "t")):
        for j in (0, 1):
            out[f"{short}{j + 1}"] = _q_np(case[role], j, nxt, zero)
            out[f"{short}{j + 1}_obs"] = _q_np(case[role], j, obs, zero)
    out["q1"], out["q2"] = _q_np(case["critic"], 0, obs, zero), _q_np(case["critic"], 1, obs, zero)
    return out


def _hypotheses(
    case: dict[str, Any], t: dict[str, np.ndarray]
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, y for q1, y for q2)``: the right target first, then each known mistake."""
    r, d = _a(case["rews"]), _a(case["done"])
    gamma, double_q = case["config"]["discount"], case["config"]["double_q"]
    m = 1.0 - d

    def boot(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        return np.minimum(x1, x2) if double_q else x1

    right = boot(t["t1"], t["t2"])
    y = r + gamma * m * right
    out = [("right", y, y)]
    if double_q:
        out.append(("max", *[r + gamma * m * np.maximum(t["t1"], t["t2"])] * 2))
        out.append(("q1_only", *[r + gamma * m * t["t1"]] * 2))
    else:
        out.append(("min_when_off", *[r + gamma * m * np.minimum(t["t1"], t["t2"])] * 2))
    out.append(("separate", r + gamma * m * t["t1"], r + gamma * m * t["t2"]))
    out.append(("online", *[r + gamma * m * boot(t["o1"], t["o2"])] * 2))
    out.append(("obs", *[r + gamma * m * boot(t["t1_obs"], t["t2_obs"])] * 2))
    out.append(("no_mask", *[r + gamma * right] * 2))
    out.append(("done_mask", *[r + gamma * d * right] * 2))
    if abs(gamma - 0.99) > 1e-6:
        out.append(("discount", *[r + 0.99 * m * right] * 2))
    for mixed in (
        r.mean() + gamma * m.mean() * right,
        r.mean() + gamma * m * right,
        r + gamma * m.mean() * right,
    ):
        out.append(("broadcast", mixed, mixed))
    return out
