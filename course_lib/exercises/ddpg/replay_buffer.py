"""The ReplayBuffer exercise: what a buffer's record says (len, batches, the ring)

Part of :mod:`course_lib.exercises.ddpg`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from course_lib.exercises.ddpg.base import (
    BUFFER_KEYS,
    Record,
    _close,
    _error,
    _short,
)
from course_lib.exercises.finding import Finding, Hint

_UNIFORM_HINT = (
    "draw batch_size indices uniformly among the stored transitions: idxs = "
    "np.random.randint(0, self.size, size=self.batch_size) (or np.random.choice(self.size, "
    "self.batch_size, replace=False)), where self.size counts what is stored."
)
_WRAP_HINT = Hint(
    "ddpg.replay_buffer.ptr_not_wrapped",
    "advance the write position with self.ptr = (self.ptr + 1) % self.max_size: once the "
    "buffer is full, each new transition overwrites the oldest one.",
)


def _len_finding(got: Any, n_stored: int, size: int) -> Finding | None:
    expected = min(n_stored, size)
    if got == expected:
        return None
    if got == size:
        return Finding(
            f"len(buffer) is {size} after {n_stored} store(s) into a buffer of size {size}: "
            "__len__ must return how many transitions are stored (at most size), not the "
            "capacity.",
            hint=Hint(
                "ddpg.replay_buffer.len_returns_capacity",
                "count in store(): self.size = min(self.size + 1, self.max_size), and return "
                "self.size from __len__.",
            ),
            expected=expected,
            got=got,
        )
    if n_stored > size and got == n_stored:
        return Finding(
            f"len(buffer) is {got} after {n_stored} stores into a buffer of size {size}: a "
            "full buffer overwrites old transitions, so it never holds more than size.",
            hint=Hint(
                "ddpg.replay_buffer.size_not_capped",
                "self.size = min(self.size + 1, self.max_size).",
            ),
            expected=expected,
            got=got,
        )
    return Finding(
        f"len(buffer) is {got} after {n_stored} store(s); expected {expected}.",
        hint=Hint(
            "ddpg.replay_buffer.len_not_number_stored",
            "__len__ returns how many transitions are stored: min(number stored, size).",
        ),
        expected=expected,
        got=got,
    )


def _store_error(i: int, message: str, case: Record) -> Finding:
    size = case["size"]
    if i >= size and message.startswith("IndexError"):
        return Finding(
            f"store() raised {message} at store number {i + 1} into a buffer of size {size}: "
            "the write position ran past the end of the arrays.",
            hint=_WRAP_HINT,
            from_error=True,
        )
    return Finding(
        f"store() raised {message} at store number {i + 1}.",
        hint=Hint(
            "ddpg.replay_buffer.bad_preallocation",
            f"preallocate obs and next_obs as (size, obs_dim) = ({size}, {case['obs_dim']}), "
            f"acts as (size, act_dim) = ({size}, {case['act_dim']}), rews and done as (size,), all "
            "np.float32, and write one row of each at self.ptr.",
        ),
        from_error=True,
    )


def _wrap_finding(case: Record, *, extra: int | None = None, missing: int | None = None) -> Finding:
    n, size = case["n_total"], case["size"]
    text = (
        f"after {n} stores into a buffer of size {size} it must hold exactly the last {size} "
        f"transitions (numbers {n - size} to {n - 1}, counting from 0); "
    )
    if extra is not None:
        text += f"a batch holds transition {extra}, which should have been overwritten."
    elif missing is not None:
        text += f"transition {missing} is never sampled."
    else:
        text += "a batch holds an all-zero row, a slot that was never written."
    return Finding(text, hint=_WRAP_HINT)


def _id_of(value: float, n_total: int) -> int | None:
    k = round(value)
    return k - 1 if abs(value - k) < 1e-6 and 1 <= k <= n_total else None


def _batch_finding(part: Record | None, case: Record, phase: str) -> Finding | None:
    """Keys, shapes, dtypes, the rows sampled and their frequencies in one sampling phase."""
    if part is None:
        return None
    size, batch, fill, n_total = case["size"], case["batch_size"], case["fill"], case["n_total"]
    od, ad = case["obs_dim"], case["act_dim"]
    stored = range(fill) if phase == "partial" else range(n_total - size, n_total)
    where = (
        f"{fill} transitions stored in a buffer of size {size}"
        if phase == "partial"
        else f"after {n_total} stores into a buffer of size {size}"
    )
    if part.get("type") != "dict":
        return Finding(
            f"sample_batch() returned a {part.get('type')}, not a dict.",
            hint=Hint(
                "ddpg.replay_buffer.batch_not_dict",
                "return dict(obs=..., next_obs=..., acts=..., rews=..., done=...).",
            ),
        )
    keys = list(part.get("keys") or [])
    missing = [k for k in BUFFER_KEYS if k not in keys]
    if missing:
        extra = [k for k in keys if k not in BUFFER_KEYS]
        return Finding(
            f"the batch has no key(s) {missing}" + (f" (it has {extra})" if extra else "") + ".",
            expected=sorted(BUFFER_KEYS),
            got=keys,
            hint=Hint(
                "ddpg.replay_buffer.wrong_batch_keys",
                "the agent reads samples['obs'], samples['next_obs'], samples['acts'], "
                "samples['rews'] and samples['done']: use exactly these names.",
            ),
        )
    shapes = part["shapes"]
    expected = {"obs": [batch, od], "next_obs": [batch, od], "acts": [batch, ad]}
    expected.update({"rews": [batch], "done": [batch]})
    leading = [(shapes.get(k) or [None])[0] for k in BUFFER_KEYS]
    if phase == "partial" and all(n == fill for n in leading):
        return Finding(
            f"sample_batch() returned {fill} transitions with {fill} stored and "
            f"batch_size={batch}: it returns the whole stored part instead of a batch.",
            expected=batch,
            got=fill,
            where=where,
            hint=Hint("ddpg.replay_buffer.returns_all_stored", _UNIFORM_HINT),
        )
    if all(n == size for n in leading) and batch != size:
        return Finding(
            f"sample_batch() returned {size} rows, the buffer's whole capacity, instead of "
            f"batch_size={batch}.",
            where=where,
            hint=Hint("ddpg.replay_buffer.returns_whole_buffer", _UNIFORM_HINT),
        )
    for key in BUFFER_KEYS:
        if shapes.get(key) != expected[key]:
            got = shapes.get(key)
            if key == "acts" and got is not None and len(got) == 1:
                hint = Hint(
                    "ddpg.replay_buffer.acts_not_2d",
                    "keep actions 2-D, (size, act_dim), even when act_dim is 1: "
                    "np.zeros((size, act_dim), dtype=np.float32); the critic concatenates "
                    "(B, obs_dim) states with (B, act_dim) actions.",
                )
            elif key in ("rews", "done"):
                hint = Hint(
                    "ddpg.replay_buffer.wrong_reward_done_shape",
                    "rewards and dones are one number per transition: arrays of shape (size,).",
                )
            else:
                hint = Hint(
                    "ddpg.replay_buffer.wrong_batch_shape",
                    f"batch['{key}'] holds batch_size rows of the stored arrays.",
                )
            return Finding(
                f"batch['{key}'] has shape {tuple(got or ())}; expected {tuple(expected[key])} "
                f"(batch_size={batch}, obs_dim={od}, act_dim={ad}).",
                expected=tuple(expected[key]),
                got=tuple(got or ()),
                where=where,
                hint=hint,
            )
    for key in BUFFER_KEYS:
        dtype = (part.get("dtypes") or {}).get(key)
        if dtype != "float32":
            return Finding(
                f"batch['{key}'] has dtype {dtype}; the buffer's arrays must be float32.",
                where=where,
                hint=Hint(
                    "ddpg.replay_buffer.not_float32",
                    "preallocate every array with dtype=np.float32 (store done as 0.0 or "
                    "1.0): float64 or bool arrays become tensors the float32 networks reject.",
                ),
            )
    table = {k: np.asarray(v, dtype=np.float64) for k, v in case["table"].items()}
    for b, rows in enumerate(part.get("rows") or []):
        arrays = {k: np.asarray(rows[k], dtype=np.float64).reshape(batch, -1) for k in BUFFER_KEYS}
        for r in range(batch):
            obs = arrays["obs"][r]
            matches = np.flatnonzero(np.all(np.abs(table["obs"] - obs) < 1e-6, axis=1))
            if matches.size == 0:
                if np.all(obs == 0) and phase == "full":
                    return _wrap_finding(case)
                if np.all(obs == 0):
                    return Finding(
                        "a sampled obs is all zeros: a slot that was never written.",
                        where=where,
                        hint=Hint(
                            "ddpg.replay_buffer.indices_over_capacity",
                            "draw indices among the stored transitions only: "
                            "np.random.randint(0, self.size, ...) where self.size counts what is "
                            "stored, not the capacity self.max_size.",
                        ),
                    )
                return Finding(
                    "a sampled obs matches none of the stored transitions.",
                    got=_short(obs),
                    where=where,
                )
            i = int(matches[0])
            if i not in stored:
                if phase == "full":
                    return _wrap_finding(case, extra=i)
                return Finding(f"a batch holds transition {i}, which was not stored yet.")
            for key in ("next_obs", "acts", "rews", "done"):
                if not _close(arrays[key][r], table[key][i], atol=1e-6):
                    return Finding(
                        f"the arrays of a batch are not aligned: row {r} of batch {b} holds the "
                        f"obs of transition {i} but another transition's {key}.",
                        expected=_short(table[key][i]),
                        got=_short(arrays[key][r]),
                        where=where,
                        hint=Hint(
                            "ddpg.replay_buffer.misaligned_arrays",
                            "index every array with the same idxs (obs_buf[idxs], "
                            "next_obs_buf[idxs], acts_buf[idxs], rews_buf[idxs], done_buf[idxs]), "
                            "and write all five at the same self.ptr in store().",
                        ),
                    )
    ids: list[int] = []
    for column in part.get("ids") or []:
        for value in column:
            i = _id_of(float(value), n_total)
            if i is None:
                if float(value) == 0.0 and phase == "full":
                    return _wrap_finding(case)
                if float(value) == 0.0:
                    return Finding(
                        "a sampled obs is all zeros: a slot that was never written.",
                        where=where,
                        hint=Hint(
                            "ddpg.replay_buffer.indices_over_capacity",
                            "draw indices among the stored transitions only: "
                            "np.random.randint(0, self.size, ...) where self.size counts what is "
                            "stored, not the capacity self.max_size.",
                        ),
                    )
                return Finding("a sampled obs matches none of the stored transitions.", where=where)
            if i not in stored:
                if phase == "full":
                    return _wrap_finding(case, extra=i)
                return Finding(f"a batch holds transition {i}, which was not stored yet.")
            ids.append(i)
    counts = Counter(ids)
    absent = [i for i in stored if counts[i] == 0]
    if absent:
        if phase == "full":
            return _wrap_finding(case, missing=absent[0])
        return Finding(
            f"transition {absent[0]} was never sampled in {len(ids)} draws.",
            where=where,
            hint=Hint("ddpg.replay_buffer.index_range_too_narrow", _UNIFORM_HINT),
        )
    if phase == "partial":
        # 200 batches of >= 3 over <= 9 stored: each count ~ Binomial with mean E >= 66
        # and sd <= 7.7; the bounds E/5 and 3E are >= 6.9 sd away from the mean.
        mean = len(ids) / len(stored)
        low, high = min(counts.values()), max(counts.values())
        if low < mean / 5 or high > 3 * mean:
            return Finding(
                f"sampling is not uniform: over {len(ids)} draws the stored transitions came "
                f"between {low} and {high} times each, about {mean:.0f} expected.",
                where=where,
                hint=Hint("ddpg.replay_buffer.non_uniform_sampling", _UNIFORM_HINT),
            )
    return None


def diagnose_replay_buffer(rec: Record, case: Record) -> Finding | None:
    """Lengths, batches before the ring is full, the ring after it wrapped twice."""
    size, batch, fill = case["size"], case["batch_size"], case["fill"]
    stage, message = _error(rec)
    call = (
        f"ReplayBuffer(obs_dim={case['obs_dim']}, act_dim={case['act_dim']}, size={size}, "
        f"batch_size={batch})"
    )
    if stage == "construct":
        return Finding(f"{call} raised {message}.", from_error=True)
    if stage == "len":
        return Finding(
            f"len(buffer) raised {message}.",
            hint=Hint(
                "ddpg.replay_buffer.no_len_method",
                "define __len__(self) returning how many transitions are stored.",
            ),
            from_error=True,
        )
    found = _len_finding(rec.get("len_empty"), 0, size)
    if found:
        return found
    lens = list(rec.get("lens") or [])
    for i, got in enumerate(lens[:fill]):
        if found := _len_finding(got, i + 1, size):
            return found
    if stage.startswith(("store ", "len ")) and int(stage.split()[1]) < fill:
        return _store_error(int(stage.split()[1]), message, case)
    if stage == "sample_partial":
        return Finding(
            f"sample_batch() raised {message} with {fill} transitions stored and "
            f"batch_size={batch}.",
            hint=Hint("ddpg.replay_buffer.bad_index_draw", _UNIFORM_HINT),
            from_error=True,
        )
    if found := _batch_finding(rec.get("partial"), case, "partial"):
        return found
    for i, got in enumerate(lens[fill:], start=fill):
        if found := _len_finding(got, i + 1, size):
            return found
    if stage.startswith(("store ", "len ")):
        return _store_error(int(stage.split()[1]), message, case)
    if stage == "sample_full":
        return Finding(
            f"sample_batch() raised {message} after {case['n_total']} stores into a buffer of "
            f"size {size}.",
            from_error=True,
        )
    if found := _batch_finding(rec.get("full"), case, "full"):
        return found
    if stage:
        return Finding(f"the buffer raised {message} ({stage}).", from_error=True)
    return None
