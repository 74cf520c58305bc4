"""Notebook 04's graded exercises (DDPG): what a probe's record says about the student's code.

Each ``diagnose_*`` function reads what a probe of :mod:`course_lib.probes.ddpg` recorded
(the student's raw outputs) against the probe's case (the inputs, taken from the reference
solution's observation when grading) and returns ``None`` or a :class:`Finding` that names
the first problem and its fix. The visible checks of :mod:`course_lib.checks.ddpg` raise a
finding as a ``CheckFailed``; the grader's judges (``course_lib/instructor/grading/judges_ddpg.py``)
turn it into a verdict. Both therefore accept the same correct variants and name the same
bugs. Nothing here imports the grader.

Statistical tests use thresholds many standard errors away from what a correct
implementation produces; each states its margins where it is defined.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "BUFFER_KEYS",
    "TARGET_HYPOTHESES",
    "Finding",
    "diagnose_agent_step",
    "diagnose_ou_noise",
    "diagnose_replay_buffer",
    "diagnose_soft_update",
    "diagnose_update_model",
]

Record = dict[str, Any]

BUFFER_KEYS = ("obs", "next_obs", "acts", "rews", "done")
TARGET_HYPOTHESES = (
    "target",
    "online",
    "no_mask",
    "done_as_mask",
    "online_no_mask",
    "target_critic_online_actor",
    "online_critic_target_actor",
    "no_gamma",
    "no_bootstrap",
)


@dataclass(frozen=True)
class Finding:
    """The first problem found: what is wrong, and the likely bug and its fix."""

    problem: str
    hint: str | None = None
    expected: Any = None
    got: Any = None
    where: str | None = None
    from_error: bool = False  # the problem is an exception the student's code raised

    def message(self) -> str:
        text = self.problem
        if self.where:
            text += f" (where: {self.where})"
        if self.hint:
            text += f" Likely fix: {self.hint}"
        return text


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _arr(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _close(got: Any, expected: Any, atol: float = 1e-5, rtol: float = 1e-5) -> bool:
    a, b = _arr(got), _arr(expected)
    if a is None or b is None or a.size != b.size:
        return False
    return bool(np.allclose(a.reshape(-1), b.reshape(-1), atol=atol, rtol=rtol))


def _error(rec: Record) -> tuple[str, str]:
    error = rec.get("error") or {}
    return str(error.get("stage", "")), str(error.get("message", ""))


def _short(values: Any) -> Any:
    a = _arr(values)
    return values if a is None else np.round(a, 5).tolist()


# ---------------------------------------------------------------------------
# ReplayBuffer
# ---------------------------------------------------------------------------

_UNIFORM_HINT = (
    "draw batch_size indices uniformly among the stored transitions: idxs = "
    "np.random.randint(0, self.size, size=self.batch_size) (or np.random.choice(self.size, "
    "self.batch_size, replace=False)), where self.size counts what is stored."
)
_WRAP_HINT = (
    "advance the write position with self.ptr = (self.ptr + 1) % self.max_size: once the "
    "buffer is full, each new transition overwrites the oldest one."
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
            hint="count in store(): self.size = min(self.size + 1, self.max_size), and return "
            "self.size from __len__.",
            expected=expected,
            got=got,
        )
    if n_stored > size and got == n_stored:
        return Finding(
            f"len(buffer) is {got} after {n_stored} stores into a buffer of size {size}: a "
            "full buffer overwrites old transitions, so it never holds more than size.",
            hint="self.size = min(self.size + 1, self.max_size).",
            expected=expected,
            got=got,
        )
    return Finding(
        f"len(buffer) is {got} after {n_stored} store(s); expected {expected}.",
        hint="__len__ returns how many transitions are stored: min(number stored, size).",
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
        hint=f"preallocate obs and next_obs as (size, obs_dim) = ({size}, {case['obs_dim']}), "
        f"acts as (size, act_dim) = ({size}, {case['act_dim']}), rews and done as (size,), all "
        "np.float32, and write one row of each at self.ptr.",
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
            hint="return dict(obs=..., next_obs=..., acts=..., rews=..., done=...).",
        )
    keys = list(part.get("keys") or [])
    missing = [k for k in BUFFER_KEYS if k not in keys]
    if missing:
        extra = [k for k in keys if k not in BUFFER_KEYS]
        return Finding(
            f"the batch has no key(s) {missing}" + (f" (it has {extra})" if extra else "") + ".",
            expected=sorted(BUFFER_KEYS),
            got=keys,
            hint="the agent reads samples['obs'], samples['next_obs'], samples['acts'], "
            "samples['rews'] and samples['done']: use exactly these names.",
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
            hint=_UNIFORM_HINT,
        )
    if all(n == size for n in leading) and batch != size:
        return Finding(
            f"sample_batch() returned {size} rows, the buffer's whole capacity, instead of "
            f"batch_size={batch}.",
            where=where,
            hint=_UNIFORM_HINT,
        )
    for key in BUFFER_KEYS:
        if shapes.get(key) != expected[key]:
            got = shapes.get(key)
            if key == "acts" and got is not None and len(got) == 1:
                hint = (
                    "keep actions 2-D, (size, act_dim), even when act_dim is 1: "
                    "np.zeros((size, act_dim), dtype=np.float32); the critic concatenates "
                    "(B, obs_dim) states with (B, act_dim) actions."
                )
            elif key in ("rews", "done"):
                hint = "rewards and dones are one number per transition: arrays of shape (size,)."
            else:
                hint = f"batch['{key}'] holds batch_size rows of the stored arrays."
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
                hint="preallocate every array with dtype=np.float32 (store done as 0.0 or "
                "1.0): float64 or bool arrays become tensors the float32 networks reject.",
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
                        hint="draw indices among the stored transitions only: "
                        "np.random.randint(0, self.size, ...) where self.size counts what is "
                        "stored, not the capacity self.max_size.",
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
                        hint="index every array with the same idxs (obs_buf[idxs], "
                        "next_obs_buf[idxs], acts_buf[idxs], rews_buf[idxs], done_buf[idxs]), "
                        "and write all five at the same self.ptr in store().",
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
                        hint="draw indices among the stored transitions only: "
                        "np.random.randint(0, self.size, ...) where self.size counts what is "
                        "stored, not the capacity self.max_size.",
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
            hint=_UNIFORM_HINT,
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
                hint=_UNIFORM_HINT,
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
            hint="define __len__(self) returning how many transitions are stored.",
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
            hint=_UNIFORM_HINT,
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


# ---------------------------------------------------------------------------
# OUNoise
# ---------------------------------------------------------------------------

_NORMAL_HINT = (
    "draw the random part from a standard normal, sigma * np.random.standard_normal(size) "
    "(or np.random.randn): random.random() and np.random.rand() are uniform in [0, 1)."
)


def diagnose_ou_noise(rec: Record, case: Record) -> Finding | None:
    """Shape, memory, symmetric normal increments, theta and sigma in place, reset to mu.

    Margins with n >= 5,000 increments (0.1 <= theta <= 0.2 < 0.35 <= sigma), for a
    correct process: theta and sigma differ by >= 0.15, far beyond the swap test's
    tolerance (0.25 theta and 0.25 sigma; the estimates' standard errors are near 0.01);
    the dimensions' increments correlate at 0 +- 0.02 (bound 0.9); the lag-1
    autocorrelation is 1 - theta >= 0.8 with standard error <= 0.01 (bound 0.5; white
    noise gives 0); the standardized increments have mean 0 +- 0.014 (bound 0.15; uniform
    [0, 1) draws give 0.5), a negative share of 0.5 +- 0.007 (bound 0.05; uniform draws
    give 0) and a standard deviation of 1 +- 0.01 (bounds 0.8 and 1.2; uniform [-1, 1]
    draws give 0.58); the fitted pull is theta with standard error
    sqrt(theta (2 - theta) / n) <= 0.006 (bounds theta * [0.5, 1.5], >= 8 standard
    errors). After a reset the squared distance to mu averages sigma^2 with relative
    standard error <= 0.13 (bound 3 sigma^2); a reset that does nothing gives about
    26 sigma^2 (theta 0.01 after 30 steps), a reset to 0 instead of mu about 24 sigma^2.
    """
    size, mu, theta, sigma = case["size"], case["mu"], case["theta"], case["sigma"]
    stage, message = _error(rec)
    if stage == "construct":
        return Finding(
            f"OUNoise({size}, mu={mu}, theta={theta}, sigma={sigma}) raised {message}.",
            from_error=True,
        )
    shape = rec.get("shape")
    if shape is not None and shape != [size]:
        return Finding(
            f"sample() returned an array of shape {tuple(shape)}; expected ({size},) for "
            f"OUNoise(size={size}).",
            hint="keep the state as an array of shape (size,): self.mu = mu * np.ones(size), "
            "self.state = self.mu.copy(), and draw np.random.standard_normal(size) each step.",
        )
    if stage == "sample":
        return Finding(f"sample() raised {message}.", from_error=True)
    path = np.asarray(rec["path"], dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != size or path.shape[0] < 100:
        return Finding("the recorded noise path is incomplete or ragged.")
    if not np.all(np.isfinite(path)):
        return Finding("sample() returned NaN or inf.")
    prev, step = path[:-1], path[1:] - path[:-1]
    z = (step - theta * (mu - prev)) / sigma  # sigma * N(0, 1) / sigma for a correct process
    if size >= 2 and np.corrcoef(z[:, 0], z[:, 1])[0, 1] > 0.9:
        return Finding(
            "every dimension of the noise moves by the same random amount: one random number "
            "is shared by all dimensions.",
            hint="draw one standard normal per dimension: np.random.standard_normal(len(x)).",
        )
    pull_from = mu - prev
    theta_hat = float((step * pull_from).sum() / (pull_from * pull_from).sum())
    sigma_hat = float((step - theta_hat * pull_from).std())
    if abs(theta_hat - sigma) < 0.25 * sigma and abs(sigma_hat - theta) < 0.25 * theta:
        return Finding(
            f"theta and sigma are swapped: the pull toward mu is {theta_hat:.3f} per step "
            f"(sigma={sigma}) and the random part's scale {sigma_hat:.3f} (theta={theta}).",
            hint="dx = theta * (mu - x) + sigma * N(0, 1): theta pulls back toward mu, sigma "
            "scales the random part.",
        )
    lag1 = float(np.mean([np.corrcoef(path[:-1, j], path[1:, j])[0, 1] for j in range(size)]))
    if not lag1 > 0.5:
        return Finding(
            f"successive samples are uncorrelated (lag-1 autocorrelation {lag1:.2f}, about "
            f"1 - theta = {1 - theta:.2f} expected): the noise has no memory.",
            hint="OU noise is a process: x = self.state; dx = theta * (mu - x) + sigma * "
            "np.random.standard_normal(len(x)); self.state = x + dx; return self.state.",
        )
    mean, negative, spread = float(z.mean()), float((z < 0).mean()), float(z.std())
    if negative < 0.05:
        return Finding(
            f"the random part of the increments is never negative (mean {mean:.2f} sigma): "
            "the noise drifts to one side of mu and explores one direction only.",
            hint=_NORMAL_HINT,
        )
    if abs(mean) > 0.15:
        return Finding(
            f"the random part of the increments is biased (mean {mean:.2f} sigma instead of 0).",
            hint=_NORMAL_HINT,
        )
    if not 0.5 * theta <= theta_hat <= 1.5 * theta:
        return Finding(
            f"the state is pulled toward mu by {theta_hat:.3f} of the gap per step; expected "
            f"theta = {theta}.",
            hint="dx = theta * (mu - x) + sigma * N(0, 1), with x the current state.",
        )
    if not 0.8 <= spread <= 1.2:
        return Finding(
            f"the random part of the increments has standard deviation {spread:.2f} sigma; "
            "expected sigma * N(0, 1), that is 1 sigma.",
            hint=_NORMAL_HINT,
        )
    if stage == "reset":
        return Finding(f"reset() (or the samples after it) raised {message}.", from_error=True)
    after = np.asarray(rec["after_reset"], dtype=np.float64)
    if after.ndim != 2 or after.shape != (case["n_resets"], size):
        return Finding("the samples recorded after reset() are incomplete.")
    ratio = float(np.mean((after - case["reset_mu"]) ** 2) / case["reset_sigma"] ** 2)
    if not ratio <= 3.0:
        return Finding(
            f"right after reset() the next sample is {math.sqrt(ratio):.1f} sigma from mu on "
            "average (about 1 sigma expected): reset() does not put the state back at mu.",
            hint="reset(): self.state = self.mu.copy() (a copy: if the state is mu itself, "
            "updating the state in place moves mu too).",
        )
    if stage:
        return Finding(f"OUNoise raised {message} ({stage}).", from_error=True)
    if rec.get("shape_1") != [1]:
        return Finding(
            f"OUNoise(1).sample() has shape {tuple(rec.get('shape_1') or ())}; expected (1,).",
            hint="keep the state an array of shape (size,), even for size 1.",
        )
    return None


# ---------------------------------------------------------------------------
# soft_update
# ---------------------------------------------------------------------------

_SOFT_HINT = "target_p <- tau * source_p + (1 - tau) * target_p, in place, for every parameter."


def _update_kind(after: Any, before: Any, source: Any, tau: float) -> str:
    t0, s0, t1 = (np.asarray(x, dtype=np.float64) for x in (before, source, after))
    if t1.shape != t0.shape:
        return "other"
    if _close(t1, tau * s0 + (1 - tau) * t0):
        return "ok"
    if _close(t1, t0, atol=1e-7, rtol=1e-7):
        return "same"
    if _close(t1, s0):
        return "copy"
    if _close(t1, (1 - tau) * s0 + tau * t0):
        return "swapped"
    return "other"


def diagnose_soft_update(rec: Record, case: Record) -> Finding | None:
    """Every target parameter moves tau of the way to the source's; the source stays."""
    tau, names = float(case["tau"]), list(case["names"])
    stage, message = _error(rec)
    if stage:
        if "AttributeError" in message and "weights" in message:
            hint = (
                "nn.Module has no .weights: iterate over the parameters in pairs, "
                "for t, s in zip(target.parameters(), source.parameters())."
            )
        elif "leaf Variable" in message or "requires grad" in message:
            hint = (
                "wrap the loop in torch.no_grad() (or write through .data): autograd refuses "
                "in-place changes of parameters it tracks."
            )
        else:
            hint = _SOFT_HINT
        return Finding(f"soft_update(target, source, tau) raised {message}.", hint=hint)
    target, source = rec.get("target") or [], rec.get("source") or []
    if len(target) != len(names) or len(source) != len(names):
        return Finding("the networks' parameters were not recorded whole.")
    for name, before, after in zip(names, case["source"], source, strict=True):
        if not _close(after, before, atol=1e-7, rtol=1e-7):
            return Finding(
                f"soft_update changed the source network (parameter {name}).",
                hint="only the target moves: " + _SOFT_HINT,
            )
    kinds = [
        _update_kind(after, before, src, tau)
        for after, before, src in zip(target, case["target"], case["source"], strict=True)
    ]
    if all(k == "ok" for k in kinds):
        return None
    if all(k == "same" for k in kinds):
        return Finding(
            f"the target network did not change (tau={tau}).",
            hint="change the parameters in place: target_p.data.copy_(tau * source_p.data + "
            "(1 - tau) * target_p.data); assigning target_p = ... only rebinds a local name.",
        )
    if all(k == "copy" for k in kinds):
        return Finding(
            f"the target became a copy of the source (tau={tau}): that is a hard update.",
            hint="interpolate, " + _SOFT_HINT + " load_state_dict copies.",
        )
    if all(k == "swapped" for k in kinds):
        return Finding(
            f"tau is on the wrong side: the target moved {1 - tau:g} of the way to the source "
            f"instead of tau={tau}.",
            hint=_SOFT_HINT + " tau is small, so the target follows slowly.",
        )
    if set(kinds) <= {"ok", "same"}:
        stale = [name for name, k in zip(names, kinds, strict=True) if k == "same"]
        return Finding(
            f"only some parameters were updated; unchanged: {stale}.",
            hint="loop over all of them: zip(target.parameters(), source.parameters()), not "
            "over some layers or the weights only.",
        )
    i = next(i for i, k in enumerate(kinds) if k != "ok")
    expected = tau * np.asarray(case["source"][i]) + (1 - tau) * np.asarray(case["target"][i])
    return Finding(
        f"parameter {names[i]} is wrong after soft_update(target, source, tau={tau}).",
        expected=_short(expected),
        got=_short(target[i]),
        hint=_SOFT_HINT,
    )


# ---------------------------------------------------------------------------
# The agent: select_action and step
# ---------------------------------------------------------------------------


def _shape_finding(row: Record, act_dim: int, where: str) -> Finding | None:
    if row.get("shape") == [act_dim]:
        return None
    return Finding(
        f"select_action returned an action of shape {tuple(row.get('shape') or ())}; expected "
        f"({act_dim},).",
        where=where,
        hint="return a 1-D numpy array of act_dim numbers, e.g. self.actor(torch.as_tensor("
        "state, dtype=torch.float32)).detach().numpy(); drop a batch dimension of 1 if you "
        "added one.",
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
            hint="the agent's __init__ builds your ReplayBuffer, OUNoise, DDPGActor and "
            "DDPGCritic: make their checks pass first.",
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
            hint="sample from the env's action space, self.env.action_space.sample(), which "
            "is [-1, 1] here.",
        )
    from_actor = [
        _close(a, greedy(start)) or _close(a, noisy(start, row))
        for a, row in zip(actions, warmup, strict=True)
    ]
    if from_actor and all(from_actor):
        return Finding(
            f"during warm-up (total_step=0 < initial_random_steps="
            f"{case['initial_random_steps']}) select_action returned the actor's action.",
            hint="while self.total_step < self.initial_random_steps (in training), act "
            "uniformly at random: self.env.action_space.sample(). A fresh actor's actions are "
            "all near 0 and explore nothing.",
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
            hint="draw them uniformly: self.env.action_space.sample() (or np.random.uniform(-1, "
            "1, size=action_dim)).",
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
                        hint="np.clip(action + noise, -1.0, 1.0): the env accepts [-1, 1] only.",
                    )
                if _close(action, g):
                    return Finding(
                        "the action is the actor's output without the noise that was sampled.",
                        where=where,
                        hint="add it: np.clip(action + self.noise.sample(), -1.0, 1.0).",
                    )
                return Finding(
                    "after warm-up the action must be the actor's output plus the noise, "
                    "clipped to [-1, 1].",
                    expected=_short(expected),
                    got=_short(action),
                    where=where,
                    hint="random actions only while total_step < initial_random_steps; after "
                    "that: action = actor(state) + self.noise.sample(), then np.clip(..., -1, 1).",
                )
            if expected is None:
                if not np.all(np.abs(action) <= 1 + 1e-6):
                    return Finding(
                        "a training action is outside [-1, 1].",
                        got=_short(action),
                        where=where,
                        hint="np.clip(action + noise, -1.0, 1.0).",
                    )
                if _close(action, g):
                    return Finding(
                        "the training action is the actor's output with no exploration noise.",
                        where=where,
                        hint="add self.noise.sample() to the actor's action, then clip to "
                        "[-1, 1]: a deterministic policy without noise explores nothing.",
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
                    hint="return done = terminated or truncated: the training loop must reset "
                    "the env when the episode ends, either way.",
                )
            if not _close(row.get("env_action"), action):
                return Finding(
                    "the env received another action than the one select_action returned.",
                    expected=_short(action),
                    got=_short(row.get("env_action")),
                    where=where,
                    hint="step(action) passes action to self.env.step unchanged.",
                )
            stored = row.get("stored") or []
            if len(stored) != 1:
                return Finding(
                    f"step stored {len(stored)} transitions in memory for one env step.",
                    where=where,
                    hint="in training, store exactly one: self.memory.store(*self.transition, "
                    "reward, next_state, terminated), with self.transition = [state, action] "
                    "set by select_action.",
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
                        hint="select_action sets self.transition = [state, action] with the "
                        "action it returns; step stores self.transition + [reward, next_state, "
                        "terminated].",
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
                        hint="self.memory.store(*self.transition, reward, next_state, "
                        "terminated). After a time limit the pendulum would have gone on, so "
                        "the TD target must still bootstrap from next_state.",
                    )
                return Finding(
                    f"the stored done is {s_done}; the env's terminated flag was "
                    f"{float(terminated)}.",
                    where=where,
                    hint="store terminated: self.memory.store(*self.transition, reward, "
                    "next_state, terminated).",
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
                hint="add noise in training only: if not self.is_test: action = "
                "np.clip(action + self.noise.sample(), -1.0, 1.0). A test measures the policy "
                "itself.",
            )
        if row.get("total_step") == 0:
            return Finding(
                "in test mode select_action took a random warm-up action.",
                where=where,
                hint="the warm-up is for training only: random actions while total_step < "
                "initial_random_steps and not self.is_test.",
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


# ---------------------------------------------------------------------------
# The agent: update_model
# ---------------------------------------------------------------------------

_TARGET_HINT = (
    "y = reward + gamma * (1 - done) * critic_target(next_state, actor_target(next_state)), "
    "under torch.no_grad()."
)
_WRONG_TARGETS = {
    "online": (
        "the TD target uses the online networks: critic(s', actor(s')).",
        "bootstrap from the slowly moving copies, critic_target(next_state, "
        "actor_target(next_state)): a target built from the network being trained chases "
        "itself.",
    ),
    "no_mask": (
        "the TD target ignores done: it bootstraps past the end of terminated episodes.",
        "multiply the bootstrap by mask = 1 - done: " + _TARGET_HINT,
    ),
    "done_as_mask": (
        "the TD target multiplies the bootstrap by done instead of (1 - done).",
        "mask = 1 - done: " + _TARGET_HINT,
    ),
    "online_no_mask": (
        "the TD target uses the online networks and ignores done.",
        _TARGET_HINT,
    ),
    "target_critic_online_actor": (
        "the TD target evaluates the target critic at the online actor's action actor(s').",
        "next_action = self.actor_target(next_state): " + _TARGET_HINT,
    ),
    "online_critic_target_actor": (
        "the TD target uses the online critic: critic(s', actor_target(s')).",
        "use self.critic_target(next_state, next_action): " + _TARGET_HINT,
    ),
    "no_gamma": (
        "the TD target does not discount the bootstrap: gamma is missing.",
        "y = reward + self.gamma * (1 - done) * critic_target(next_state, "
        "actor_target(next_state)).",
    ),
    "no_bootstrap": (
        "the TD target has no bootstrap term: the critic regresses onto the reward alone.",
        _TARGET_HINT,
    ),
}


def _calls(run: Record, net: str, states: Any, actions: Any) -> list[Record]:
    return [
        c
        for c in run.get("calls") or []
        if c.get("net") == net
        and _close(c.get("state"), states)
        and _close(c.get("action"), actions)
    ]


def _grad(calls: list[Record]) -> np.ndarray | None:
    grads = [np.asarray(c["grad"], dtype=np.float64).reshape(-1) for c in calls if c.get("grad")]
    return None if not grads else np.sum(grads, axis=0)


def diagnose_update_model(rec: Record, case: Record) -> Finding | None:
    """The TD target, no gradient into targets, the actor's sign, soft updates, the returns.

    The batch's rewards make the online critic's Q(s, a) equal to one hypothesis's TD
    target, run by run. Every correct regression loss has zero gradient on Q exactly
    where Q equals the target, so the run whose gradient vanishes names the target the
    student computed. "Vanishes" means below 1e-3 of the gradient when Q is 1 below
    the target (float32 rounding leaves about 1e-7).
    """
    stage, message = _error(rec)
    if stage == "construct":
        return Finding(
            f"DDPGAgent(env, ...) raised {message}.",
            hint="the agent's __init__ builds your ReplayBuffer, OUNoise, DDPGActor and "
            "DDPGCritic: make their checks pass first.",
            from_error=True,
        )
    runs = {r.get("label"): r for r in rec.get("runs") or []}
    for label in ("target", "offset"):
        run = runs.get(label)
        if run is None or run.get("error"):
            error = run.get("error") if run else message
            return Finding(f"update_model() raised {error}.", from_error=True)
    batch = case["batch"]
    obs, acts = batch["obs"], batch["acts"]
    on_batch = _calls(runs["target"], "critic", obs, acts)
    if not on_batch:
        if _calls(runs["target"], "critic_target", obs, acts):
            return Finding(
                "the critic loss evaluates the target critic on the batch's (state, action).",
                hint="the critic being trained is self.critic: q = self.critic(state, action).",
            )
        return Finding(
            "update_model never evaluates self.critic(state, action) on the sampled batch.",
            hint="q = self.critic(state, action) with state = samples['obs'] and action = "
            "samples['acts'] as float32 tensors; critic_loss = F.mse_loss(q, y).",
        )
    g_target = _grad(on_batch)
    if g_target is None:
        return Finding(
            "no gradient of the critic loss reaches critic(state, action).",
            hint="compute q = self.critic(state, action) with autograd on (only y goes under "
            "torch.no_grad()), then critic_loss.backward().",
        )
    g_offset = _grad(_calls(runs["offset"], "critic", obs, acts))
    scale = 0.0 if g_offset is None else float(np.abs(g_offset).max())
    if scale == 0.0:
        return Finding("the critic loss does not change with Q(s, a).", hint=_TARGET_HINT)

    def at_rest(run: Record | None) -> bool:
        if run is None or run.get("error"):
            return False
        g = _grad(_calls(run, "critic", obs, acts))
        return g is not None and float(np.abs(g).max()) <= 1e-3 * scale

    if not at_rest(runs["target"]):
        for label in TARGET_HYPOTHESES[1:]:
            if at_rest(runs.get(label)):
                problem, hint = _WRONG_TARGETS[label]
                return Finding(problem, hint=hint)
        return Finding(
            "the critic is not regressed onto y = r + gamma * (1 - done) * Q'(s', mu'(s')) "
            "with the target networks Q' and mu': its loss is not at its minimum when "
            "Q(s, a) equals that target.",
            hint=_TARGET_HINT + " Watch the shapes: rews and done are (B,) while the critic "
            "returns (B, 1); reshape them with .reshape(-1, 1), or (B, 1) + (B,) broadcasts "
            "to (B, B).",
        )
    if not np.all(g_offset < 0):
        return Finding(
            "the critic loss pushes Q(s, a) away from its target: where Q is 1 below the "
            "target, its gradient on Q is not negative.",
            hint="minimize a regression loss of Q onto y, e.g. F.mse_loss(q, y).",
        )
    grads = runs["offset"].get("target_grads") or {}
    if any(g for values in grads.values() for g in values if g is not None):
        return Finding(
            "the target networks received gradient from the critic loss.",
            hint="compute the TD target under torch.no_grad() (or .detach() it): the targets "
            "move only by soft updates, and the critic must chase a fixed target.",
        )
    mu_obs = case["actor_actions"]
    through = _calls(runs["offset"], "critic", obs, mu_obs)
    if not through:
        if _calls(runs["offset"], "critic_target", obs, mu_obs):
            return Finding(
                "the actor loss uses the target critic.",
                hint="actor_loss = -self.critic(state, self.actor(state)).mean(): the actor "
                "climbs the critic being trained.",
            )
        return Finding(
            "the actor loss never evaluates self.critic(state, self.actor(state)) on the batch.",
            hint="actor_loss = -self.critic(state, self.actor(state)).mean().",
        )
    g_actor = _grad(through)
    if g_actor is None:
        return Finding(
            "no gradient of the actor loss goes through critic(state, actor(state)).",
            hint="compute actor_loss = -self.critic(state, self.actor(state)).mean() with "
            "autograd on, then actor_loss.backward().",
        )
    if np.all(g_actor > 0):
        return Finding(
            "the actor loss has the wrong sign: minimizing it lowers Q(s, actor(s)).",
            hint="the actor maximizes Q and the optimizer minimizes: actor_loss = "
            "-self.critic(state, self.actor(state)).mean().",
        )
    if not np.all(g_actor < 0):
        return Finding(
            "the actor loss is not -mean Q(s, actor(s)): its gradient on Q differs in sign "
            "across the batch.",
            hint="actor_loss = -self.critic(state, self.actor(state)).mean().",
        )
    actor_calls = [c for c in runs["offset"].get("calls") or [] if c.get("net") == "actor"]
    actor_grad = _grad([c for c in actor_calls if _close(c.get("state"), obs)])
    if actor_grad is None or not np.any(actor_grad != 0):
        return Finding(
            "no gradient reaches the actor: its action is detached before the critic.",
            hint="pass self.actor(state) to the critic as it is (no .detach(), no no_grad).",
        )
    found = _soft_update_in_agent(runs["offset"], case)
    if found:
        return found
    returned = runs["offset"].get("returned")
    if not isinstance(returned, list) or len(returned) != 2:
        return Finding(
            f"update_model returned {returned}; expected two floats (actor_loss, critic_loss).",
            hint="return actor_loss.item(), critic_loss.item().",
        )
    if any(isinstance(v, str) for v in returned):
        return Finding(
            f"update_model returned {returned}: the losses must be plain floats.",
            hint="return actor_loss.item(), critic_loss.item(): a tensor keeps its whole graph "
            "alive in the list of losses.",
        )
    actor_loss = float(case["actor_loss"])
    if not math.isclose(returned[0], actor_loss, rel_tol=1e-4, abs_tol=1e-5):
        if math.isclose(returned[1], actor_loss, rel_tol=1e-4, abs_tol=1e-5):
            return Finding(
                "update_model returns (critic_loss, actor_loss); the order is (actor_loss, "
                "critic_loss).",
                hint="return actor_loss.item(), critic_loss.item().",
            )
        return Finding(
            f"the returned actor loss {returned[0]:.5g} is not -mean Q(s, actor(s)) = "
            f"{actor_loss:.5g}.",
            hint="return actor_loss.item() with actor_loss = -self.critic(state, "
            "self.actor(state)).mean().",
        )
    if not returned[1] > 0:
        return Finding(
            f"the returned critic loss is {returned[1]:.4g} while Q(s, a) is 1 away from the "
            "target.",
            hint="return critic_loss.item().",
        )
    return None


def _soft_update_in_agent(run: Record, case: Record) -> Finding | None:
    tau, nets, after = float(case["tau"]), case["nets"], run.get("after") or {}
    kinds = {}
    for target, online in (("actor_target", "actor"), ("critic_target", "critic")):
        before = np.concatenate([np.ravel(nets[target]["weight"]), np.ravel(nets[target]["bias"])])
        source = np.concatenate([np.ravel(nets[online]["weight"]), np.ravel(nets[online]["bias"])])
        kinds[target] = _update_kind(after.get(target, []), before, source, tau)
    if all(k == "ok" for k in kinds.values()):
        return None
    call = "soft_update(self.{0}_target, self.{0}, self.tau)"
    if all(k == "same" for k in kinds.values()):
        return Finding(
            "neither target network moved: the targets are not soft-updated.",
            hint=f"end update_model with {call.format('actor')} and {call.format('critic')}.",
        )
    if all(k == "copy" for k in kinds.values()):
        return Finding(
            "the target networks became copies of the online ones: a hard update.",
            hint=f"{call.format('actor')} moves them only tau of the way (likewise the critic).",
        )
    for target, kind in kinds.items():
        online = target.removesuffix("_target")
        if kind == "same":
            return Finding(
                f"self.{target} is not soft-updated.", hint=f"call {call.format(online)}."
            )
        if kind == "copy":
            return Finding(
                f"self.{target} became a copy of self.{online}: a hard update.",
                hint=f"{call.format(online)} moves it only tau of the way.",
            )
        if kind == "swapped":
            return Finding(
                f"self.{target} moved 1 - tau of the way to self.{online}: tau is on the "
                "wrong side (does check_soft_update pass?).",
                hint=_SOFT_HINT,
            )
        if kind == "other":
            return Finding(
                f"self.{target} moved by another amount than tau = self.tau = {tau}.",
                hint=f"pass self.tau: {call.format(online)}.",
            )
    return None
