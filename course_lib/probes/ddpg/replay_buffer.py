"""Probing the ReplayBuffer: lengths, sampled batches, the ring

Part of :mod:`course_lib.probes.ddpg`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.envs import random_state
from course_lib.exercises.ddpg import BUFFER_KEYS
from course_lib.probes.ddpg.base import (
    Record,
    Run,
    _array,
    _error,
    _grid,
    _nested,
    _shape,
)


def replay_buffer_case(seed: int, **overrides: int) -> Record:
    """A buffer size, batch size and the transitions to store.

    Transition ``i`` has ``obs[0] = i + 1`` and ``next_obs[0] = -(i + 1)`` (so a row
    of zeros, a slot never written, matches none), the other entries random multiples
    of 1/32, and ``done`` true for every third transition. ``fill`` transitions are
    stored before the first batches (``batch_size < fill < size``), then more, up to
    ``2 * size + 3``, so that the ring wraps twice.
    """
    rng = np.random.default_rng(seed)
    dims = {
        "obs_dim": int(rng.integers(2, 5)),
        "act_dim": int(rng.integers(1, 3)),
        "size": int(rng.integers(7, 11)),
        "batch_size": int(rng.integers(3, 5)),
    }
    dims.update({k: v for k, v in overrides.items() if k in dims})
    size, batch = dims["size"], dims["batch_size"]
    fill = int(overrides.get("fill", rng.integers(batch + 1, size)))
    n_total = 2 * size + 3
    obs = _grid(rng, (n_total, dims["obs_dim"]))
    obs[:, 0] = np.arange(1, n_total + 1)
    next_obs = _grid(rng, (n_total, dims["obs_dim"]))
    next_obs[:, 0] = -np.arange(1, n_total + 1)
    acts = np.round(rng.uniform(-1.0, 1.0, (n_total, dims["act_dim"])) * 32) / 32
    table = {
        "obs": obs.tolist(),
        "next_obs": next_obs.tolist(),
        "acts": acts.tolist(),
        "rews": _grid(rng, n_total).tolist(),
        "done": [i % 3 == 2 for i in range(n_total)],
    }
    return {
        "seed": int(seed),
        **dims,
        "fill": fill,
        "n_total": n_total,
        "n_batches": 200,  # batches drawn with `fill` stored (their obs ids)
        "n_wrap_batches": 100,  # batches drawn after the ring wrapped
        "n_full": 6,  # batches recorded whole, to test alignment
        "table": table,
    }


def _sample_batches(buffer: Any, n_batches: int, n_full: int) -> Record:
    out: Record = {"type": None, "keys": None, "shapes": None, "dtypes": None}
    out.update({"rows": [], "ids": []})
    for k in range(n_batches):
        batch = buffer.sample_batch()
        if k == 0:
            out["type"] = type(batch).__name__
            if not isinstance(batch, dict):
                return out
            out["keys"] = sorted(str(key) for key in batch)
            out["shapes"] = {str(key): _shape(v) for key, v in batch.items()}
            out["dtypes"] = {
                str(key): str(getattr(v, "dtype", type(v).__name__)) for key, v in batch.items()
            }
            if not set(BUFFER_KEYS) <= set(batch):
                return out
        if k < n_full:
            out["rows"].append({key: _nested(batch[key]) for key in BUFFER_KEYS})
        obs = _array(batch["obs"])
        out["ids"].append(obs.reshape(obs.shape[0], -1)[:, 0].tolist() if obs.ndim else [])
    return out


def run_replay_buffer(ReplayBuffer: Callable[..., Any], case: Record) -> Run:
    """Store the case's transitions, sampling before and after the ring wraps."""
    table = {k: np.asarray(v, dtype=np.float32) for k, v in case["table"].items() if k != "done"}
    done = case["table"]["done"]
    rec: Record = {"case": case, "error": None, "len_empty": None, "lens": []}
    rec.update({"partial": None, "full": None})
    stage = "construct"
    try:
        with random_state(case["seed"]):
            buffer = ReplayBuffer(
                case["obs_dim"], case["act_dim"], case["size"], batch_size=case["batch_size"]
            )
            stage = "len"
            rec["len_empty"] = len(buffer)
            for i in range(case["n_total"]):
                if i == case["fill"]:
                    stage = "sample_partial"
                    rec["partial"] = _sample_batches(buffer, case["n_batches"], case["n_full"])
                stage = f"store {i}"
                buffer.store(
                    table["obs"][i].copy(),
                    table["acts"][i].copy(),
                    float(table["rews"][i]),
                    table["next_obs"][i].copy(),
                    bool(done[i]),
                )
                stage = f"len {i}"
                rec["lens"].append(len(buffer))
            stage = "sample_full"
            rec["full"] = _sample_batches(buffer, case["n_wrap_batches"], case["n_full"])
    except Exception as exc:  # the student's error is data for the judge
        rec["error"] = {"stage": stage, "message": _error(exc)}
        return rec, exc
    return rec, None


def probe_replay_buffer(ReplayBuffer: Callable[..., Any], seed: int) -> Record:
    """Two buffers (act_dim 1, as Pendulum's, and 2): lengths, batches, the wrapped ring."""
    rng = np.random.default_rng(seed)
    seeds = [int(s) for s in rng.integers(0, 2**31, size=2)]
    return {
        "cases": [
            run_replay_buffer(ReplayBuffer, replay_buffer_case(s, act_dim=a))[0]
            for s, a in zip(seeds, (1, 2), strict=True)
        ]
    }
