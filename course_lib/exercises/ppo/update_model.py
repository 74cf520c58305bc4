"""Notebook 03's update exercise: ``PPOAgent.update_model``, read from what it hands on.

The probe (:mod:`course_lib.probes.ppo.update_model`) fills the agent's rollout storage
with numbers chosen here (:func:`update_model_case`), puts in a linear Gaussian actor and a
critic that looks its values up, both known exactly, and optimizers that record each step
(learning rate 0: nothing moves). It then calls ``update_model(next_state)`` with the
course's ``compute_gae``, ``ppo_iter`` and ``ppo_losses`` in place of the student's (each
is a question of its own, :mod:`course_lib.exercises.parts`); they record what they are
given. :func:`diagnose_update_model` reads the record: which tensor each loss reads (the
stored actions' log-probabilities under the current actor, the critic's fresh values, the
GAE returns, detached advantages), whether the critic's loss rests where its values equal
the returns, one optimizer step per minibatch on that minibatch's gradient alone, the
storage emptied, and the two mean losses returned.

The rollout's advantages are chosen first and its rewards solved for them, so every
expected number is known without running a reference: two runs differ only in what the
critic outputs now, the returns themselves (``rest``) or the stored values (``offset``).

Part of :mod:`course_lib.exercises.ppo`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.steps import steps_finding

__all__ = [
    "ITER_ARRAYS",
    "LOSS_ARGS",
    "STORAGE",
    "diagnose_update_model",
    "iter_order",
    "update_model_case",
]

Record = dict[str, Any]

STORAGE = ("states", "actions", "values", "log_probs", "rewards", "masks")
"""The agent's rollout storage: one entry per step, one row per env."""
ITER_ARRAYS = ("states", "actions", "values", "log_probs", "returns", "advantages")
"""``ppo_iter``'s arrays, in the order of its arguments."""
LOSS_ARGS = ("log_probs", "old_log_probs", "advantages", "entropy", "values", "old_values",
             "returns")  # fmt: skip
"""``ppo_losses``'s tensor arguments, in order (epsilon and entropy_weight follow)."""

N_ENVS, STEPS, OBS_DIM = 2, 4, 2
SIGMA = 4.0
"""The actor's standard deviation: stored actions lie one sigma from the mean, so the
surrogate's gradient on log_std is 0 and every gradient stays well below the notebook's
clipping norm (0.5), where an accumulated gradient would hide."""

_UPDATE = Hint(
    "ppo.update_model.helpers_miscalled",
    "with torch.no_grad(): next_value = self.critic(next_state); returns = compute_gae("
    "next_value, self.rewards, self.masks, self.values, self.gamma, self.tau); then, per "
    "minibatch of ppo_iter(self.epoch, self.batch_size, states, actions, values, log_probs, "
    "returns, advantages): _, dist = self.actor(state); log_prob = dist.log_prob(action)"
    ".sum(-1); value = self.critic(state); ppo_losses(log_prob, old_log_prob, adv, entropy, "
    "value, old_value, return_, self.epsilon, self.entropy_weight).",
)


def _grid(rng: np.random.Generator, shape: Any, scale: float = 1.0) -> np.ndarray:
    """Normal draws rounded to multiples of 1/32: exact in float32."""
    return np.round(rng.normal(size=shape) * scale * 32) / 32


def iter_order(batch: int, epoch_index: int) -> list[int]:
    """The order the course's ``ppo_iter`` visits the samples in, epoch by epoch: fixed, so
    a record names its samples, and different each epoch, as a shuffle would be."""
    step = next(k for k in (5, 3, 7, 1) if math.gcd(k, batch) == 1)
    return [(step * i + 3 * epoch_index + 1) % batch for i in range(batch)]


def _affine(got: np.ndarray, target: np.ndarray) -> bool:
    """``got = a * target + b`` with ``a > 0`` (a per-batch normalization), to 1e-4."""
    if got.shape != target.shape or not np.all(np.isfinite(got)):
        return False
    design = np.stack([target, np.ones_like(target)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, got, rcond=None)
    fit = a * target + b
    return bool(a > 0 and np.allclose(got, fit, atol=1e-4 * max(1.0, float(np.abs(got).max()))))


def update_model_case(seed: int, act_dim: int | None = None) -> Record:
    """A rollout of ``STEPS`` steps on ``N_ENVS`` envs (an episode ends in each), the actor's
    weights, gamma, lambda (``tau``) and the minibatch settings, with every expected number.

    The advantages are drawn first (magnitudes 0.02-0.06, both signs) and the rewards solved
    so that GAE gives exactly them: ``returns = advantages + values``. Drawn again until, in
    every minibatch the course's ``ppo_iter`` yields, the advantages are not an affine image
    of the returns (so "advantages = returns" is told apart from a normalization).
    """
    rng = np.random.default_rng(seed)
    act_dim = int(act_dim if act_dim is not None else rng.integers(1, 3))
    epoch, batch_size, batch = 2, 4, N_ENVS * STEPS
    gamma = float(np.round(rng.uniform(0.8, 0.95), 3))
    tau = float(np.round(rng.uniform(0.7, 0.95), 3))
    masks = np.ones((STEPS, N_ENVS))
    masks[1, 0] = masks[2, 1] = 0.0
    for _ in range(1000):
        states = _grid(rng, (STEPS + 1, N_ENVS, OBS_DIM), 0.25)  # the last row: next_state
        if len(np.unique(states.reshape(-1, OBS_DIM), axis=0)) < (STEPS + 1) * N_ENVS:
            continue
        weight, bias = _grid(rng, (act_dim, OBS_DIM), 0.5), _grid(rng, act_dim, 0.3)
        mean = states[:STEPS] @ weight.T + bias
        actions = mean + SIGMA * rng.choice([-1.0, 1.0], size=(STEPS, N_ENVS, act_dim))
        values = _grid(rng, (STEPS, N_ENVS))
        next_value = _grid(rng, N_ENVS)
        adv = rng.choice([-1.0, 1.0], (STEPS, N_ENVS)) * rng.uniform(0.02, 0.06, (STEPS, N_ENVS))
        adv = np.round(adv * 1024) / 1024
        flat_adv, flat_ret = adv.reshape(-1), (adv + values).reshape(-1)
        chunks = [
            iter_order(batch, e)[k : k + batch_size]
            for e in range(epoch)
            for k in range(0, batch, batch_size)
        ]
        if all(
            np.ptp(flat_adv[c]) > 0.01 and not _affine(flat_adv[c], flat_ret[c])
            for c in [*chunks, list(range(batch))]
        ):
            break
    else:
        raise RuntimeError(f"no distinguishable update case for seed {seed}")
    # GAE: A_t = delta_t + gamma * tau * m_t * A_{t+1}, delta_t = r_t + gamma * m_t * V_{t+1} - V_t
    next_values = np.concatenate([values[1:], next_value[None]], axis=0)
    later = np.concatenate([adv[1:], np.zeros((1, N_ENVS))], axis=0)
    delta = adv - gamma * tau * masks * later
    rewards = delta - gamma * masks * next_values + values
    log_prob = act_dim * (-0.5 - math.log(SIGMA) - 0.5 * math.log(2 * math.pi))
    entropy = act_dim * (0.5 + 0.5 * math.log(2 * math.pi) + math.log(SIGMA))
    return {
        "seed": int(seed),
        "act_dim": act_dim,
        "n_envs": N_ENVS,
        "steps": STEPS,
        "epoch": epoch,
        "batch_size": batch_size,
        "gamma": gamma,
        "tau": tau,
        "epsilon": 0.2,
        "entropy_weight": 0.01,
        "sigma": SIGMA,
        "actor": {"weight": weight.tolist(), "bias": bias.tolist()},
        "states": states[:STEPS].tolist(),
        "next_state": states[STEPS].tolist(),
        "actions": actions.tolist(),
        "log_probs": [[log_prob] * N_ENVS for _ in range(STEPS)],
        "entropy": entropy,
        "values": values.tolist(),
        "next_value": next_value.tolist(),
        "rewards": rewards.tolist(),
        "masks": masks.tolist(),
        "advantages": adv.tolist(),
        "returns": (adv + values).tolist(),
    }


# ---------------------------------------------------------------------------
# Reading a record
# ---------------------------------------------------------------------------


def _arr(value: Any) -> np.ndarray | None:
    try:
        out = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    return out


def _close(got: Any, expected: Any, atol: float = 1e-5) -> bool:
    a, b = _arr(got), _arr(expected)
    if a is None or b is None or a.size != b.size:
        return False
    return bool(np.allclose(a, b, atol=atol, rtol=1e-5))


def _per_sample(case: Record) -> dict[str, np.ndarray]:
    """Each quantity per sample (time-major: sample t * n_envs + env), float64."""
    b = int(case["n_envs"]) * int(case["steps"])
    out = {
        name: np.asarray(case[name], dtype=np.float64).reshape(b, -1)
        for name in ("states", "actions", "values", "log_probs", "returns", "advantages")
    }
    for name in ("values", "log_probs", "returns", "advantages"):
        out[name] = out[name].reshape(-1)
    return out


def _samples(rows: Any, case: Record) -> list[int] | None:
    """Which rollout sample each row of ``rows`` is (matched on the state), or None."""
    states = _per_sample(case)["states"]
    got = _arr(rows)
    if got is None or got.size % states.shape[1]:
        return None
    found = []
    for row in got.reshape(-1, states.shape[1]):
        hits = np.flatnonzero(np.all(np.abs(states - row) < 1e-6, axis=1))
        if len(hits) != 1:
            return None
        found.append(int(hits[0]))
    return found


def _gae_finding(call: Record, case: Record) -> Finding | None:
    """The arguments of the first ``compute_gae`` call."""
    expected = np.asarray(case["next_value"], dtype=np.float64)
    got = _arr(call.get("next_value"))
    hint = Hint(
        "ppo.update_model.next_value_not_critic",
        "next_value = self.critic(next_state) (a tensor of shape (n_envs, 1)), under no_grad.",
    )
    if got is None or got.size != expected.size:
        return Finding(
            "compute_gae's next_value does not hold one value per env.",
            expected=f"{expected.size} values (shape (n_envs, 1))",
            got=call.get("next_value_shape"),
            hint=hint,
        )
    if not _close(got, expected):
        last = np.asarray(case["values"], dtype=np.float64)[-1]
        if np.allclose(got, 0.0):
            problem = "compute_gae's next_value is 0: the rollout's last step loses its bootstrap."
        elif _close(got, last) or _close(got, np.asarray(case["returns"])[-1]):
            problem = (
                "compute_gae's next_value is the value of the last stored state, not of the "
                "state after it (update_model's next_state)."
            )
        else:
            problem = "compute_gae's next_value is not self.critic(next_state)."
        return Finding(problem, expected=expected.round(5).tolist(), got=got.round(5).tolist(),
                       hint=hint)  # fmt: skip
    gamma, tau = call.get("gamma"), call.get("tau")
    if not (_close(gamma, case["gamma"]) and _close(tau, case["tau"])):
        swapped = _close(gamma, case["tau"]) and _close(tau, case["gamma"])
        return Finding(
            "compute_gae got gamma and tau swapped." if swapped
            else f"compute_gae got gamma={gamma}, tau={tau}, not the agent's.",
            expected={"gamma": case["gamma"], "tau": case["tau"]},
            hint=Hint("ppo.update_model.gae_wrong_gamma_tau",
                      "compute_gae(next_value, self.rewards, self.masks, self.values, "
                      "self.gamma, self.tau)."),
        )  # fmt: skip
    for name in ("rewards", "masks", "values"):
        if not _close(call.get(name), case[name]):
            others = [o for o in ("rewards", "masks", "values") if _close(call.get(name), case[o])]
            problem = (
                f"compute_gae's {name} argument holds the stored {others[0]}: the arguments "
                "are out of order."
                if others
                else f"compute_gae's {name} argument is not the stored self.{name}."
            )
            return Finding(
                problem,
                hint=Hint(
                    "ppo.update_model.gae_args_misordered",
                    "compute_gae(next_value, self.rewards, self.masks, self.values, "
                    "self.gamma, self.tau): the lists as stored, one entry per step.",
                ),
            )
    return None


def _iter_finding(call: Record, case: Record) -> tuple[Finding | None, list[int] | None]:
    """The arguments of the first ``ppo_iter`` call; the samples its rows hold."""
    hint = Hint(
        "ppo.update_model.rollout_not_concatenated",
        "states, actions, values, log_probs, returns = (torch.cat(x) for x in (self.states, "
        "self.actions, self.values, self.log_probs, returns)), flattened alike; advantages = "
        "returns - values (the stored values).",
    )
    if call.get("mini_batch_size") != case["batch_size"]:
        return Finding(
            f"ppo_iter got mini_batch_size={call.get('mini_batch_size')}, not self.batch_size.",
            expected={"mini_batch_size": case["batch_size"]},
            hint=Hint(
                "ppo.update_model.iter_wrong_batch_size",
                "ppo_iter(self.epoch, self.batch_size, states, actions, values, log_probs, "
                "returns, advantages).",
            ),
        ), None
    arrays = call.get("arrays") or []
    if len(arrays) != len(ITER_ARRAYS):
        return Finding(
            f"ppo_iter got {len(arrays)} arrays; it takes {len(ITER_ARRAYS)}: "
            + ", ".join(ITER_ARRAYS) + ".",
        ), None  # fmt: skip
    got = dict(zip(ITER_ARRAYS, arrays, strict=True))
    batch = int(case["n_envs"]) * int(case["steps"])
    perm = _samples(got["states"].get("data"), case)
    if perm is None or sorted(perm) != list(range(batch)):
        return Finding(
            "the states handed to ppo_iter are not the rollout's states, each once.",
            expected=f"{batch} rows (rollout_len * n_envs)",
            got=got["states"].get("shape"),
            hint=hint,
        ), None
    expected = _per_sample(case)
    for name in ITER_ARRAYS:
        if got[name].get("grad"):
            return Finding(
                f"the {name} handed to ppo_iter carry gradient: they were computed with autograd "
                "on (from self.critic(...) or self.actor(...)), so the losses would reach "
                "through them into the networks.",
                hint=Hint(
                    "ppo.update_model.rollout_with_gradient",
                    "the rollout's tensors are fixed data: compute them under torch.no_grad() "
                    "(select_action's and update_model's), or .detach() them.",
                ),
            ), perm
    for name in ITER_ARRAYS[1:]:
        data = _arr(got[name].get("data"))
        want = expected[name][perm].reshape(-1)
        if got[name].get("shape") == [batch, batch]:
            return Finding(
                f"the {name} handed to ppo_iter have shape ({batch}, {batch}): a (B, 1) tensor "
                "met a (B,) one, and PyTorch broadcast them to (B, B).",
                hint=Hint(
                    "ppo.update_model.returns_values_broadcast",
                    "flatten before combining: returns = torch.cat(returns).reshape(-1), "
                    "advantages = returns - values.reshape(-1).",
                ),
            ), perm
        if name == "advantages":
            if data is not None and data.size == batch and _affine(data, want):
                continue
            if data is not None and data.size == batch and _affine(data, expected["returns"][perm]):
                return Finding(
                    "the advantages handed to ppo_iter are the returns: the baseline is not "
                    "subtracted.",
                    hint=Hint(
                        "ppo.update_model.baseline_not_subtracted",
                        "advantages = returns - values, with the values stored during the "
                        "rollout (GAE's returns are advantage + value).",
                    ),
                ), perm
        elif _close(data, want):
            continue
        act_dim = int(case["act_dim"])
        if name == "log_probs" and data is not None and data.size == batch * act_dim:
            if act_dim > 1 and _close(data.reshape(batch, act_dim).sum(1), want):
                continue  # one per dimension, summed in the minibatch loop
            return Finding(
                "the log_probs handed to ppo_iter hold one number per action dimension.",
                hint=Hint(
                    "ppo.update_model.stored_log_probs_per_dim",
                    "store dist.log_prob(action).sum(-1, keepdim=True): one log-probability "
                    "per sample, the dimensions being independent.",
                ),
            ), perm
        swapped = [o for o in ITER_ARRAYS[1:5] if o != name and _close(data, expected[o][perm])]
        return Finding(
            f"ppo_iter's {name} argument holds the {swapped[0]}: the arguments are out of order."
            if swapped
            else f"the {name} handed to ppo_iter are not the rollout's, aligned with its states.",
            got=got[name].get("shape"),
            hint=Hint(
                "ppo.update_model.iter_args_misordered",
                "ppo_iter(self.epoch, self.batch_size, states, actions, values, log_probs, "
                "returns, advantages): " + hint,
            ),
        ), perm
    return None, perm


def _shapes_finding(got: Record, n: int, where: str) -> Finding | None:
    """The shapes ppo_losses's docstring gives: (B,) for log_probs, old_log_probs,
    advantages and returns (entropy may be its mean); (B, 1), or (B,), for values and
    old_values."""
    for name in ("log_probs", "old_log_probs", "advantages", "returns", "entropy"):
        shape = got[name].get("shape")
        if shape == [n] or (name == "entropy" and shape == []):
            continue
        return Finding(
            f"the {name} handed to ppo_losses have shape {tuple(shape or ())}; ppo_losses "
            f"takes (B,) = ({n},).",
            hint=Hint(
                "ppo.update_model.loss_args_not_flattened",
                "flatten with .reshape(-1): a (B, 1) tensor against a (B,) one broadcasts to "
                "(B, B), and the loss silently mixes every sample with every other.",
            ),
            where=where,
        )
    shapes = [got[name].get("shape") for name in ("values", "old_values")]
    if any(s not in ([n, 1], [n]) for s in shapes):
        return Finding(
            f"ppo_losses got values of shape {tuple(shapes[0] or ())} and old_values of shape "
            f"{tuple(shapes[1] or ())}; it takes both (B, 1) = ({n}, 1).",
            hint=Hint(
                "ppo.update_model.values_misshaped",
                "value = self.critic(state), (B, 1); old_values as stored, (B, 1), flattened "
                "like the states.",
            ),
            where=where,
        )
    return None


def _losses_finding(
    calls: list[Record], case: Record, chunks: list[list[int]] | None
) -> Finding | None:
    """The arguments of every ``ppo_losses`` call; ``chunks``: each call's samples."""
    expected = _per_sample(case)
    act_dim = int(case["act_dim"])
    for k, call in enumerate(calls):
        args = call.get("args") or []
        if len(args) != len(LOSS_ARGS):
            return Finding(f"ppo_losses got {len(args)} tensors; it takes {len(LOSS_ARGS)}.")
        if not (
            _close(call.get("epsilon"), case["epsilon"])
            and _close(call.get("entropy_weight"), case["entropy_weight"])
        ):
            return Finding(
                f"ppo_losses got epsilon={call.get('epsilon')}, entropy_weight="
                f"{call.get('entropy_weight')}, not the agent's.",
                hint=Hint(
                    "ppo.update_model.wrong_loss_hyperparams",
                    "pass self.epsilon and self.entropy_weight.",
                ),
            )
        got = dict(zip(LOSS_ARGS, args, strict=True))
        idx = chunks[k] if chunks is not None and k < len(chunks) else None
        data = {name: _arr(a.get("data")) for name, a in got.items()}
        old_data = data["old_log_probs"]
        n = len(idx) if idx is not None else (0 if old_data is None else old_data.size)
        where = f"minibatch {k + 1}"
        for name in ("log_probs", "entropy"):
            per_dim = act_dim > 1 and data[name] is not None and data[name].size == n * act_dim
            if per_dim or got[name].get("shape") == [n, act_dim]:
                return Finding(
                    f"the {name} handed to ppo_losses hold one number per action dimension.",
                    hint=Hint(
                        "ppo.update_model.action_dims_not_summed",
                        f"sum over the action's dimensions: dist.{name.removesuffix('s')}"
                        f"({'action' if name == 'log_probs' else ''}).sum(-1).",
                    ),
                    where=where,
                )
        found = _shapes_finding(got, n, where)
        if found:
            return found
        lp, old = got["log_probs"], got["old_log_probs"]
        if old.get("grad") and not lp.get("grad"):
            return Finding(
                "ppo_losses got the stored log-probabilities first and the new ones second: "
                "the order is (log_probs, old_log_probs, ...).",
                where=where,
            )
        if not lp.get("grad"):
            same = idx is not None and _close(data["log_probs"], expected["log_probs"][idx])
            return Finding(
                "the log_probs handed to ppo_losses are the stored ones: they carry no "
                "gradient, the ratio is always 1 and the actor never learns."
                if same
                else "the log_probs handed to ppo_losses carry no gradient (computed under "
                "torch.no_grad() or detached): the actor never learns.",
                hint=Hint(
                    "ppo.update_model.stored_log_probs_reused",
                    "recompute them from the current actor in every minibatch: _, dist = "
                    "self.actor(state); log_prob = dist.log_prob(action).sum(-1).",
                ),
                where=where,
            )
        for name in ("old_log_probs", "advantages", "old_values", "returns"):
            if got[name].get("grad"):
                return Finding(
                    f"the {name} handed to ppo_losses carry gradient: they are targets, fixed "
                    "by the rollout.",
                    hint=Hint(
                        "ppo.update_model.loss_targets_with_gradient",
                        "compute them from the stored tensors under torch.no_grad(), or "
                        ".detach() them.",
                    ),
                    where=where,
                )
        if not got["values"].get("grad"):
            stored = idx is not None and _close(data["values"], expected["values"][idx])
            return Finding(
                "the critic is regressed on the values stored during the rollout: they carry "
                "no gradient, so the critic never learns."
                if stored
                else "the values handed to ppo_losses carry no gradient: the critic never learns.",
                hint=Hint(
                    "ppo.update_model.critic_on_old_values",
                    "value = self.critic(state) in each minibatch, with autograd on; the "
                    "stored values are old_values.",
                ),
                where=where,
            )
        if idx is None:
            continue
        for name, want, problem, fix in (
            (
                "log_probs",
                expected["log_probs"][idx],
                "the log_probs handed to ppo_losses are not the log-probabilities of the "
                "minibatch's stored actions under self.actor(state).",
                Hint(
                    "ppo.update_model.log_probs_of_new_sample",
                    "evaluate the actions that were taken, not a new sample: _, dist = "
                    "self.actor(state); log_prob = dist.log_prob(action).sum(-1).",
                ),
            ),
            (
                "old_log_probs",
                expected["log_probs"][idx],
                "the old_log_probs handed to ppo_losses are not the stored log-probabilities "
                "of the minibatch's samples.",
                Hint(
                    "ppo.update_model.old_log_probs_not_stored",
                    "old_log_probs come from self.log_probs, flattened like the states.",
                ),
            ),
            (
                "entropy",
                np.full(len(idx) if np.size(data["entropy"]) != 1 else 1, case["entropy"]),
                "the entropy handed to ppo_losses is not the current policy's entropy per "
                "sample, summed over the action's dimensions.",
                Hint(
                    "ppo.update_model.entropy_not_current_dist",
                    "entropy = dist.entropy().sum(-1) from the minibatch's dist.",
                ),
            ),
            (
                "old_values",
                expected["values"][idx],
                "the old_values handed to ppo_losses are not the stored values.",
                Hint(
                    "ppo.update_model.old_values_not_stored",
                    "old_values come from self.values (the rollout's), flattened like the states.",
                ),
            ),
            (
                "returns",
                expected["returns"][idx],
                "the returns handed to ppo_losses are not compute_gae's returns.",
                Hint(
                    "ppo.update_model.returns_not_from_gae",
                    "pass compute_gae's returns, flattened like the states; returns already "
                    "include the values (advantage + value).",
                ),
            ),
        ):
            if not _close(data[name], want):
                return Finding(problem, hint=fix, where=where)
        adv = data["advantages"]
        if adv is None or adv.size != len(idx) or not _affine(adv, expected["advantages"][idx]):
            return Finding(
                "the advantages handed to ppo_losses are not returns - values (or a per-batch "
                "normalization of them).",
                hint=Hint(
                    "ppo.update_model.advantages_wrong_formula",
                    "advantages = returns - values with the stored values, detached; "
                    "normalizing them per minibatch, (adv - adv.mean()) / (adv.std() + 1e-8), is "
                    "fine.",
                ),
                where=where,
            )
    return None


def _critic_finding(rest: Record, offset: Record, case: Record) -> Finding | None:
    """The critic's loss rests where its values are the returns and pulls toward them."""
    fresh = rest.get("critic_fresh") or 0
    if not fresh:
        return Finding(
            "update_model never evaluates self.critic(state) on the rollout's states with "
            "autograd on: the critic is never trained.",
            hint=Hint(
                "ppo.update_model.critic_not_recomputed",
                "value = self.critic(state) for each minibatch's states, in its loss.",
            ),
        )
    g_rest, g_off = _arr(rest.get("critic_grad")), _arr(offset.get("critic_grad"))
    target = np.asarray(case["values"], dtype=np.float64).reshape(-1) - np.asarray(
        case["returns"], dtype=np.float64
    ).reshape(-1)
    if g_rest is None or g_off is None or g_off.size != target.size:
        return Finding("malformed observation (the critic's gradients are missing)")
    scale = float(np.abs(g_off).max())
    if not scale > 0:
        return Finding(
            "the critic's loss does not change with the critic's values.",
            hint=Hint(
                "ppo.update_model.critic_loss_ignores_values",
                "critic_loss = F.mse_loss(value, return_) (or a clipped variant).",
            ),
        )
    if float(np.abs(g_rest).max()) > 1e-2 * scale:
        return Finding(
            "the critic is not regressed onto compute_gae's returns: its loss is not at its "
            "minimum where self.critic(state) equals them.",
            hint=Hint(
                "ppo.update_model.critic_target_not_returns",
                "the critic's target is the returns (advantage + value), matched to the "
                "minibatch's states: " + _UPDATE,
            ),
        )
    if not np.all(np.sign(g_off) == np.sign(target)):
        return Finding(
            "the critic's loss pushes its values away from the returns.",
            hint=Hint(
                "ppo.update_model.critic_loss_sign_flipped", "minimize (return_ - value) ** 2."
            ),
        )
    return None


def _steps_in_run(run: Record, minibatches: int | None) -> Finding | None:
    steps = run.get("steps") or {}
    for net in ("actor", "critic"):
        seen = list(steps.get(net) or [])
        if not seen or not any(seen):
            return Finding(
                f"no gradient reaches the {net} at any optimizer step.",
                hint=Hint(
                    "ppo.update_model.no_backward_before_step",
                    f"backward the {net}'s loss before self.{net}_optimizer.step(), and do not "
                    "zero the gradients in between.",
                ),
            )
        if minibatches is not None and len(seen) != minibatches:
            return Finding(
                f"self.{net}_optimizer.step() ran {len(seen)} times for {minibatches} "
                "minibatches: take one step per minibatch.",
                hint=Hint(
                    "ppo.update_model.steps_not_per_minibatch",
                    "zero_grad, backward and step inside the loop over ppo_iter.",
                ),
            )
    return None


def _returned_finding(run: Record) -> Finding | None:
    returned = run.get("returned")
    if not isinstance(returned, list) or len(returned) != 2:
        return Finding(
            f"update_model returned {returned}; expected two floats (actor_loss, critic_loss).",
            hint=Hint(
                "ppo.update_model.losses_not_returned",
                "return the mean actor loss and the mean critic loss over the minibatches.",
            ),
        )
    if any(isinstance(v, str) for v in returned):
        return Finding(
            f"update_model returned {returned}: the losses must be plain floats.",
            hint=Hint(
                "ppo.update_model.returned_loss_tensors",
                "collect loss.item() per minibatch: a tensor with gradient keeps its whole "
                "graph alive.",
            ),
        )
    losses = [c.get("returned") for c in run.get("losses") or []]
    if not losses or not all(isinstance(x, list) and len(x) == 2 for x in losses):
        return None
    mean = np.mean(np.asarray(losses, dtype=np.float64), axis=0)
    if any(_close(returned, m, atol=1e-6) for m in (mean, losses[-1])):
        return None
    if any(_close(returned[::-1], m, atol=1e-6) for m in (mean, losses[-1])):
        return Finding(
            "update_model returns (critic_loss, actor_loss); the order is (actor_loss, "
            "critic_loss).",
        )
    return Finding(
        f"update_model returned {[round(v, 6) for v in returned]}, not the mean "
        f"(actor_loss, critic_loss) over its minibatches, {np.round(mean, 6).tolist()}.",
        hint=Hint(
            "ppo.update_model.returned_losses_not_mean",
            "append actor_loss.item() and critic_loss.item() per minibatch; return their means.",
        ),
    )


def diagnose_update_model(rec: Record, case: Record) -> Finding | None:
    """What is wrong with ``update_model`` on ``case``, read from the probe's record."""
    error = rec.get("error") or {}
    if error.get("stage") == "construct":
        return Finding(
            f"PPOAgent(env, ...) raised {error.get('message')}.",
            hint=Hint(
                "ppo.update_model.batched_env_spaces",
                "the agent takes a vector env: use env.single_observation_space and "
                "env.single_action_space for the network sizes.",
            ),
            from_error=True,
        )
    runs = {r.get("label"): r for r in rec.get("runs") or [] if isinstance(r, dict)}
    rest, offset = runs.get("rest"), runs.get("offset")
    if rest is None:
        return Finding(f"update_model(next_state) raised {error.get('message')}.",
                       from_error=True)  # fmt: skip
    # what the stand-ins were handed is read where the critic outputs the stored values, as
    # at the start of a real update (a student may recompute them); if that run never
    # happened, where the first run stopped
    handed = offset if offset is not None and offset.get("losses") else rest
    if handed.get("gae"):
        found = _gae_finding(handed["gae"][0], case)
        if found:
            return found
    chunks: list[list[int]] | None = None
    if handed.get("iter"):
        calls = handed["iter"]
        epochs = sum(c.get("epoch") for c in calls if isinstance(c.get("epoch"), float))
        if epochs != case["epoch"]:  # one call for all epochs, or one call per epoch
            return Finding(
                f"ppo_iter was asked for {epochs:g} epochs in all, not self.epoch = "
                f"{case['epoch']}.",
                hint=Hint(
                    "ppo.update_model.iter_wrong_epoch_count",
                    "ppo_iter(self.epoch, self.batch_size, states, actions, values, "
                    "log_probs, returns, advantages).",
                ),
            )
        chunks = []
        for call in calls:
            found, perm = _iter_finding(call, case)
            if found:
                return found
            assert perm is not None
            chunks += [[perm[i] for i in c] for c in call.get("chunks") or []]
    if handed.get("losses"):
        found = _losses_finding(handed["losses"], case, chunks)
        if found:
            return found
    for run in (rest, offset):
        if run is None or run.get("error"):
            raised = (run or rest).get("error") or error.get("message")
            return Finding(
                f"update_model(next_state) raised {raised}.",
                hint=_UPDATE,
                from_error=True,
            )
    assert offset is not None
    minibatches = None  # the critic rests in the first run: its steps are read in the second
    if offset.get("iter"):
        minibatches = sum(len(c.get("chunks") or []) for c in offset["iter"])
    found = _critic_finding(rest, offset, case) or _steps_in_run(offset, minibatches)
    if found:
        return found
    left = {k: n for k, n in (rest.get("storage_after") or {}).items() if n}
    if left:
        return Finding(
            "update_model leaves the rollout in storage ("
            + ", ".join(f"self.{k}: {n} entries" for k, n in left.items())
            + "): the next rollout is appended to it and learnt from again, with stale "
            "log-probabilities.",
            hint=Hint(
                "ppo.update_model.storage_not_cleared",
                "empty the six lists at the end of update_model (e.g. self.states.clear()).",
            ),
        )
    found = _returned_finding(rest)
    if found:
        return found
    twice = rec.get("twice") or {}
    if twice.get("error"):
        return Finding(f"a second update_model() on the same agent raised {twice['error']}.")
    for net in ("critic", "actor"):
        seen = (twice.get("steps") or {}).get(net) or []
        found = steps_finding(
            net,
            seen,
            4,
            unit="minibatch step",
            carry_hint=Hint(
                "ppo.update_model.zero_grad_once_per_update",
                "PyTorch adds each backward() to .grad: call zero_grad() on the "
                f"{net}'s optimizer before the backward of every minibatch, not once per update.",
            ),
        )
        if found is not None:
            return found
    return None
