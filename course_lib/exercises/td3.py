"""Notebook 05's graded exercise ``TD3.train``: its cases, how a run is recorded, and the
analyses that read a run.

``train`` is run on small stand-ins whose outputs are known exactly, fed a fixed batch:

* the stand-in critics hold one value per state in a table (the state's first
  coordinate is its row), plus ``k * sum(action)``;
* the stand-in actors are ``max_action * tanh(W x + b)`` on the other coordinates.

The stand-ins record what the student's code asks of them. The actions the target
critic receives show the smoothing noise. The gradient of the critic loss on each
Q value shows which target the critics were regressed on: every regression loss
(MSE, Huber, ...) pulls each Q toward its own target, so the gradient has the sign
of ``Q - y``; with the online Q values placed just above, then just below, the
right target, only the right target explains the signs of both runs.

The visible check (:mod:`course_lib.checks.td3`) runs fixed cases, the hidden probe
(:mod:`course_lib.probes.td3`) cases drawn from the grader's seed, and the grader's judge
reads the probe's runs with :func:`analyze_train`: a visible failure and a hidden one name
the same bug. Nothing here imports the grader.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from course_lib.envs import random_state

__all__ = [
    "ANALYSES",
    "Finding",
    "FixedBuffer",
    "analyze_train",
    "as_number",
    "build_agent",
    "cases_digest",
    "run_train_case",
    "train_cases",
]


# ---------------------------------------------------------------------------
# Stand-in networks and a fixed replay buffer for the train check
# ---------------------------------------------------------------------------


class _Call:
    """One call of a stand-in critic, and the gradients that later reached its outputs."""

    def __init__(self, role: str, kind: str, state: torch.Tensor, action: torch.Tensor) -> None:
        rows = state.detach().reshape(-1, state.shape[-1])
        self.role, self.kind = role, kind
        self.ids = [int(i) for i in rows[:, 0].round().long().tolist()]
        taken = action.detach()
        rows_of_actions = len(self.ids) if taken.numel() % max(len(self.ids), 1) == 0 else 1
        self.actions = _f32(taken.reshape(rows_of_actions, -1))
        self.grads: list[np.ndarray | None] = [None, None]

    def watch(self, j: int, q: torch.Tensor) -> None:
        if q.requires_grad:

            def keep(g: torch.Tensor) -> None:
                g = g.detach().double().reshape(-1).numpy().copy()
                self.grads[j] = g if self.grads[j] is None else self.grads[j] + g

            q.register_hook(keep)

    def as_data(self, grads: bool = True) -> dict[str, Any]:
        return {
            "role": self.role,
            "kind": self.kind,
            "ids": self.ids,
            "actions": self.actions,
            "grads": [None if g is None or not grads else _f32(g) for g in self.grads],
        }


class _StandInCritic(torch.nn.Module):
    """``Q_j(s, a) = v_j[id(s)] + k_j * sum(a)``; ``id(s)`` is the state's first coordinate."""

    def __init__(
        self,
        role: str,
        v1: Sequence[float],
        v2: Sequence[float],
        k1: float,
        k2: float,
        log: list[_Call],
    ) -> None:
        super().__init__()
        self.v1 = torch.nn.Parameter(torch.tensor(v1, dtype=torch.float32))
        self.v2 = torch.nn.Parameter(torch.tensor(v2, dtype=torch.float32))
        self.k1 = torch.nn.Parameter(torch.tensor(float(k1)))
        self.k2 = torch.nn.Parameter(torch.tensor(float(k2)))
        self.role = role
        self.log = log

    def _q(self, j: int, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        v, k = (self.v1, self.k1) if j == 0 else (self.v2, self.k2)
        ids = state[..., 0].round().long().clamp(0, v.numel() - 1)
        return (v[ids] + k * action.sum(-1)).unsqueeze(-1)

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, ...]:
        call = _Call(self.role, "forward", state, action)
        q1, q2 = self._q(0, state, action), self._q(1, state, action)
        call.watch(0, q1)
        call.watch(1, q2)
        self.log.append(call)
        return q1, q2

    def Q1(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        call = _Call(self.role, "Q1", state, action)
        q1 = self._q(0, state, action)
        call.watch(0, q1)
        self.log.append(call)
        return q1


class _StandInActor(torch.nn.Module):
    """``max_action * tanh(W x + b)``, where x is the state without its first coordinate."""

    def __init__(
        self, weight: Sequence[Sequence[float]], bias: Sequence[float], max_action: float
    ) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(weight, dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.tensor(bias, dtype=torch.float32))
        self.max_action = float(max_action)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.max_action * torch.tanh(state[..., 1:] @ self.weight.T + self.bias)


class FixedBuffer:
    """A replay buffer whose ``sample_batch`` always returns the same batch (copies)."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.batch = {
            key: np.asarray(case[key], dtype=np.float32)
            for key in ("obs", "acts", "rews", "next_obs", "done")
        }
        self.requested: list[Any] = []

    def sample_batch(self, batch_size: int | None = None) -> dict[str, np.ndarray]:
        self.requested.append(batch_size)
        return {key: value.copy() for key, value in self.batch.items()}

    def __len__(self) -> int:
        return len(self.batch["rews"])


# ---------------------------------------------------------------------------
# The cases (inputs), shared by the check and the probe
# ---------------------------------------------------------------------------


def _f32(x: Any) -> Any:
    """Round to float32 (what the student's code sees) as plain data, in few digits.

    Each number is the shortest decimal that reads back as the same float32, which keeps
    the observations small.
    """
    return np.asarray(x, dtype=np.float32).astype(str).astype(np.float64).tolist()


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
    return cases


def cases_digest(cases: dict[str, Any]) -> str:
    """A fingerprint of the runs' inputs, so that they need not travel with the runs."""
    text = json.dumps(cases, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------
# Running the student's train on a case
# ---------------------------------------------------------------------------


def as_number(value: Any) -> Any:
    """A returned loss as data: a float, None, or the name of its type."""
    if value is None:
        return None
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return float(value) if math.isfinite(float(value)) else str(float(value))
    return {"type": type(value).__name__}


def _params(module: Any) -> dict[str, list[float]]:
    try:
        named = module.named_parameters()
        return {n: _f32(p.detach().reshape(-1)) for n, p in named}
    except Exception:  # the student replaced the module by something else
        return {}


def _has_grads(module: Any) -> list[bool]:
    try:
        return [p.grad is not None for p in module.parameters()]
    except Exception:
        return []


def _frozen(module: Any) -> bool:
    try:
        params = list(module.parameters())
    except Exception:
        return False
    return bool(params) and not any(p.requires_grad for p in params)


def build_agent(TD3: Callable[..., Any], case: dict[str, Any], log: list[_Call]) -> Any:
    """The student's TD3 with the case's settings, its networks replaced by stand-ins."""
    cfg = case["config"]
    agent = TD3(
        case["state_dim"],
        case["action_dim"],
        cfg["max_action"],
        discount=cfg["discount"],
        tau=cfg["tau"],
        policy_noise=cfg["policy_noise"],
        noise_clip=cfg["noise_clip"],
        policy_freq=cfg["policy_freq"],
        double_q=cfg["double_q"],
    )
    # A target the student's __init__ froze (requires_grad False) stays frozen: then a
    # target computed outside no_grad cannot send gradient anywhere, and is not a bug.
    frozen = {
        role: _frozen(getattr(agent, role, None)) for role in ("actor_target", "critic_target")
    }
    for role in ("actor", "actor_target"):
        setattr(agent, role, _StandInActor(max_action=cfg["max_action"], **case[role]))
    for role in ("critic", "critic_target"):
        setattr(agent, role, _StandInCritic(role, log=log, **case[role]))
    for role, is_frozen in frozen.items():
        getattr(agent, role).requires_grad_(not is_frozen)
    agent.actor_optimizer = torch.optim.SGD(agent.actor.parameters(), lr=case["lr"]["actor"])
    agent.critic_optimizer = torch.optim.SGD(agent.critic.parameters(), lr=case["lr"]["critic"])
    agent.total_it = 0
    return agent


def run_train_case(TD3: Callable[..., Any], case: dict[str, Any], *, catch: bool) -> dict[str, Any]:
    """Call ``agent.train`` ``case["calls"]`` times on the case's batch; record what happened.

    With ``catch``, an exception becomes an ``error`` entry (for the probe); without, it
    propagates (for the visible check, which shows it).
    """
    log: list[_Call] = []
    calls: list[dict[str, Any]] = []
    with random_state(int(case["seed"])):
        try:
            agent = build_agent(TD3, case, log)
        except Exception as err:
            if not catch:
                raise
            return {"error": f"TD3(...) raised {type(err).__name__}: {err}"[:400], "calls": []}
        buffer = FixedBuffer(case)
        for _ in range(int(case["calls"])):
            start = len(log)
            buffer.requested.clear()
            try:
                out = agent.train(buffer, batch_size=case["batch_size"])
            except Exception as err:
                if not catch:
                    raise
                calls.append({"error": f"train raised {type(err).__name__}: {err}"[:400]})
                break
            returned = (
                [as_number(v) for v in out]
                if isinstance(out, tuple | list) and len(out) == 2
                else {"type": type(out).__name__}
            )
            total_it = getattr(agent, "total_it", None)
            calls.append(
                {
                    "returned": returned,
                    "records": [c.as_data(case.get("grads", False)) for c in log[start:]],
                    "target_grads": {
                        role: _has_grads(getattr(agent, role, None))
                        for role in ("actor_target", "critic_target")
                    },
                    "params": {
                        role: _params(getattr(agent, role, None))
                        for role in ("actor", "actor_target", "critic", "critic_target")
                    }
                    if case.get("params", False)
                    else {},
                    "total_it": total_it if isinstance(total_it, int) else None,
                    "batch_sizes": [b if isinstance(b, int) else None for b in buffer.requested],
                }
            )
    return {"calls": calls}


# ---------------------------------------------------------------------------
# Reading a run: shared by the visible check and the grader's judge
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """What a run shows to be wrong, and the likely fix."""

    problem: str
    hint: str = ""
    expected: Any = None
    got: Any = None
    where: str | None = None

    def message(self) -> str:
        """One line for the grader's feedback."""
        where = f"{self.where}: " if self.where else ""
        return f"{where}{self.problem} {self.hint}".strip()


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


_TARGET = "y = r + discount * (1 - done) * min(q1', q2') (q1' alone when double_q=False)"

_TARGET_MISTAKES: dict[str, tuple[str, str]] = {
    "max": (
        "the critics are regressed on r + discount * (1 - done) * MAX(q1', q2').",
        "the clipped double-Q target takes the MIN of the two target critics: "
        "torch.min(target_Q1, target_Q2). The max overestimates even more than one critic.",
    ),
    "q1_only": (
        "with double_q=True the target uses q1' alone.",
        "take torch.min(target_Q1, target_Q2) when self.double_q is True; q1' alone is the "
        "ablation double_q=False.",
    ),
    "min_when_off": (
        "with double_q=False the target still takes min(q1', q2'): the switch is ignored.",
        "when self.double_q is False, the target uses target_Q1 alone (the ablation).",
    ),
    "separate": (
        "each critic is regressed on its own target (q1 on q1', q2 on q2').",
        "compute ONE target y = r + discount * (1 - done) * min(q1', q2') and regress both "
        "critics on it.",
    ),
    "online": (
        "the target is computed from the ONLINE critic.",
        "evaluate the next state with the target networks: self.critic_target(next_state, "
        "next_action), with next_action from self.actor_target.",
    ),
    "obs": (
        "the target bootstraps from obs instead of next_obs.",
        "the target networks take next_obs: self.critic_target(next_state, next_action).",
    ),
    "no_mask": (
        "the target bootstraps past terminations: the (1 - done) mask is missing.",
        "y = r + discount * (1 - done) * min(q1', q2'): a terminated transition has no next value.",
    ),
    "done_mask": (
        "the target is masked with done instead of (1 - done).",
        "multiply by not_done = 1 - done: bootstrap only where the episode did not terminate.",
    ),
    "discount": (
        "the target uses discount 0.99 instead of self.discount.",
        "use self.discount (the tests and the ablations pass other values).",
    ),
    "broadcast": (
        "the target has shape (B, B): each Q is regressed on a mix of the batch's targets.",
        "rews and done come with shape (B,): reshape them to (B, 1) (e.g. .reshape(-1, 1)) "
        "before combining them with the critics' (B, 1) outputs; (B,) + (B, 1) broadcasts "
        "to (B, B).",
    ),
}


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


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties sharing their average rank."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=np.float64)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=ranks) / counts)[inverse]


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's correlation: 1 when b grows with a, whatever the monotone function."""
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def _explains(g: np.ndarray, q: np.ndarray, y: np.ndarray) -> bool:
    """Whether a loss that pulls each q toward y gives the gradient g: sign(g) = sign(q - y)."""
    gap = q - y
    far = np.abs(gap) > 1e-3
    return bool(np.all(np.sign(g[far]) == np.sign(gap[far])))


def _same(x: Any, y: Any, atol: float = 1e-5) -> bool:
    x, y = _a(x), _a(y)
    return x.shape == y.shape and bool(np.allclose(x, y, atol=atol, rtol=1e-5))


def _first_call(run: dict[str, Any], where: str) -> tuple[dict[str, Any] | None, Finding | None]:
    if run.get("error"):
        return None, Finding(
            str(run["error"]),
            "TD3.__init__ is given: make TD3Actor and TD3Critic work first.",
            where=where,
        )
    calls = run.get("calls") or []
    if not calls:
        return None, Finding("train was never called.", where=where)
    first = calls[0]
    if first.get("error"):
        return None, Finding(
            str(first["error"]),
            "the check swaps the agent's networks for stand-ins with exactly the exercise's "
            "API: actor(state); critic(state, action) -> (q1, q2); critic.Q1(state, action). "
            "train may use only that API and the attributes set in __init__.",
            where=where,
        )
    return first, None


def _returned_critic_loss(call: dict[str, Any], where: str) -> Finding | None:
    ret = call.get("returned")
    if not isinstance(ret, list) or len(ret) != 2:
        return Finding(
            "train must return the pair (critic_loss, actor_loss).",
            "end train with `return critic_loss.item(), actor_loss` (actor_loss None on calls "
            "without an actor update).",
            got=ret,
            where=where,
        )
    critic_loss = ret[0]
    if critic_loss is None and isinstance(ret[1], float):
        return Finding(
            "train returned (None, a number): the order is (critic_loss, actor_loss).",
            "return critic_loss.item(), actor_loss (the other way round from DDPG's update_model).",
            where=where,
        )
    if not isinstance(critic_loss, float):
        return Finding(
            "the critic loss returned by train is not a Python float.",
            "return critic_loss.item(), not the tensor (a tensor keeps its graph alive).",
            got=critic_loss,
            where=where,
        )
    return None


def _critic_loss_calls(
    case: dict[str, Any], call: dict[str, Any], where: str
) -> tuple[list[dict[str, Any]], Finding | None]:
    """The online critic's forward calls at (obs, acts): those the critic loss goes through."""
    obs, acts = _a(case["obs"]), _a(case["acts"])
    ids = [int(i) for i in np.round(obs[:, 0])]
    own = _actor_np(case["actor"], obs, case["config"]["max_action"])
    at_obs = [
        c
        for c in call["records"]
        if c["role"] == "critic" and c["kind"] == "forward" and c["ids"] == ids
    ]
    found = [c for c in at_obs if _same(c["actions"], acts)]
    if found:
        return found, None
    other = [c for c in at_obs if not _same(c["actions"], own)]
    if other:
        return [], Finding(
            "the critics are evaluated at actions other than the stored ones.",
            "current_Q1, current_Q2 = self.critic(state, action) with the batch's actions as "
            "stored; the smoothing noise goes on the target action only.",
            where=where,
        )
    return [], Finding(
        "the critic is never evaluated at the batch's (obs, acts).",
        "current_Q1, current_Q2 = self.critic(state, action), then regress both on the target.",
        where=where,
    )


def _analyze_target(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """The TD target: clipped double-Q (or q1'), masked, discounted, without gradient."""
    observed = []
    for case, run in runs:
        where = case["label"]
        call, problem = _first_call(run, where)
        if problem is None and call is not None:
            problem = _returned_critic_loss(call, where)
        if problem is not None or call is None:
            return problem
        if any(any(flags) for flags in call["target_grads"].values()):
            return Finding(
                "gradient flows into the target networks: the TD target was computed with "
                "gradient.",
                "compute it inside `with torch.no_grad():` (or .detach() it): the critics "
                "regress on a constant, and only the online critic learns from the critic loss.",
                where=where,
            )
        found, problem = _critic_loss_calls(case, call, where)
        if problem is not None:
            return problem
        g = []
        for j in (0, 1):
            parts = [_a(c["grads"][j]) for c in found if c["grads"][j] is not None]
            g.append(np.sum(parts, axis=0) if parts else np.zeros(len(case["rews"])))
        for j, label in ((0, "first"), (1, "second")):
            if not np.any(g[j] != 0):
                return Finding(
                    f"the critic loss does not train the {label} critic (its Q values get no "
                    "gradient).",
                    "critic_loss = loss(current_Q1, y) + loss(current_Q2, y), then "
                    "critic_optimizer.zero_grad(); critic_loss.backward(); "
                    "critic_optimizer.step().",
                    where=where,
                )
        if not call["returned"][0] > 0:
            return Finding(
                "the returned critic loss is not positive though the Q values are off target.",
                "return the critic loss itself: critic_loss.item().",
                got=call["returned"][0],
                where=where,
            )
        observed.append((case, g))
    tables = [_tables(case) for case, _ in observed]
    hyps = [_hypotheses(case, t) for (case, _), t in zip(observed, tables, strict=True)]
    grads_all = np.concatenate([np.concatenate(g) for _, g in observed])
    fits = []  # (explains every sign, rank correlation of the gradient with Q - y)
    for h in range(len(hyps[0])):
        signs = all(
            _explains(g[0], t["q1"], hs[h][1]) and _explains(g[1], t["q2"], hs[h][2])
            for (_, g), t, hs in zip(observed, tables, hyps, strict=True)
        )
        gaps = np.concatenate(
            [
                np.concatenate([t["q1"] - hs[h][1], t["q2"] - hs[h][2]])
                for t, hs in zip(tables, hyps, strict=True)
            ]
        )
        fits.append((signs, _rank_correlation(grads_all, gaps)))
    # Any regression loss explains the signs, and its gradient grows with Q - y (rank
    # correlation 1, less a hair for float32 ties). Among the hypotheses that explain the
    # signs, the best correlated names what the student computed.
    explained = [h for h, (signs, _) in enumerate(fits) if signs]
    best = max((fits[h][1] for h in explained), default=-1.0)
    if 0 in explained and fits[0][1] >= best - 1e-3:
        return None
    where = runs[0][0]["label"]
    if explained:
        name = hyps[0][max(explained, key=lambda h: (fits[h][1], -h))][0]
        problem, hint = _TARGET_MISTAKES[name]
        return Finding(problem, hint, where=where)
    case, g = observed[-1] if observed else (runs[0][0], [np.zeros(1)] * 2)
    return Finding(
        f"the critics are not regressed on {_TARGET}.",
        "under torch.no_grad(): next_action = (actor_target(next_state) + clipped noise)"
        ".clamp(-max_action, max_action); target_Q1, target_Q2 = critic_target(next_state, "
        "next_action); y = reward + not_done * discount * min(target_Q1, target_Q2); then "
        "critic_loss = loss(current_Q1, y) + loss(current_Q2, y). Watch the shapes: reward and "
        "not_done as (B, 1).",
        expected="d critic_loss / d Q1 with the sign of (Q1 - y) at every sample",
        got=f"d critic_loss / d Q1 = {np.round(g[0], 5).tolist()}",
        where=where,
    )


def _std_factor(k: float) -> float:
    """Standard deviation of a standard normal clipped to [-k, k]."""
    phi = math.exp(-k * k / 2) / math.sqrt(2 * math.pi)
    inside = math.erf(k / math.sqrt(2))
    return math.sqrt(inside - 2 * k * phi + k * k * (1 - inside))


def _target_actions(
    case: dict[str, Any], call: dict[str, Any], where: str
) -> tuple[np.ndarray | None, Finding | None]:
    nxt = _a(case["next_obs"])
    ids = [int(i) for i in np.round(nxt[:, 0])]
    found = [c for c in call["records"] if c["role"] == "critic_target" and c["ids"] == ids]
    if not found:
        online = [c for c in call["records"] if c["role"] == "critic" and c["ids"] == ids]
        if online:
            return None, Finding(
                _TARGET_MISTAKES["online"][0], _TARGET_MISTAKES["online"][1], where=where
            )
        return None, Finding(
            "the target critic is never evaluated at next_obs.",
            "target_Q1, target_Q2 = self.critic_target(next_state, next_action).",
            where=where,
        )
    acts = _a(found[0]["actions"])
    if acts.shape != (len(ids), case["action_dim"]):
        return None, Finding(
            "the target critic receives actions of the wrong shape.",
            "next_action has the shape of the batch's actions, (B, action_dim).",
            expected=(len(ids), case["action_dim"]),
            got=acts.shape,
            where=where,
        )
    return acts, None


_NOISE_FIX = (
    "target policy smoothing: noise = (torch.randn_like(action) * self.policy_noise)"
    ".clamp(-self.noise_clip, self.noise_clip); next_action = (self.actor_target(next_state) "
    "+ noise).clamp(-self.max_action, self.max_action)."
)


def _analyze_noise(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """The smoothing noise on the target action: per sample and dimension, scaled, clipped."""
    for case, run in runs:
        where = case["label"]
        call, problem = _first_call(run, where)
        if problem is not None or call is None:
            return problem
        taken, problem = _target_actions(case, call, where)
        if problem is not None or taken is None:
            return problem
        cfg = case["config"]
        top, sigma, clip = cfg["max_action"], cfg["policy_noise"], cfg["noise_clip"]
        nxt = _a(case["next_obs"])
        noise = taken - _actor_np(case["actor_target"], nxt, top)
        from_online = taken - _actor_np(case["actor"], nxt, top)
        largest = float(np.max(np.abs(taken)))
        if largest > top * (1 + 1e-5):
            return Finding(
                f"the target action leaves [-max_action, max_action] = [-{top:.3g}, {top:.3g}].",
                "clamp the noisy sum, after adding the noise: (self.actor_target(next_state) "
                "+ noise).clamp(-self.max_action, self.max_action).",
                got=f"largest |next_action| = {largest:.4g}",
                where=where,
            )
        if sigma == 0.0:
            if np.max(np.abs(noise)) > 1e-5:
                online = np.max(np.abs(from_online)) <= 1e-5
                return Finding(
                    "the target action comes from the ONLINE actor."
                    if online
                    else "with policy_noise=0 the target action still carries noise.",
                    "next_action = self.actor_target(next_state) + noise."
                    if online
                    else "scale the standard normal draw by self.policy_noise (not a fixed "
                    "number), and clip it with self.noise_clip.",
                    where=where,
                )
            continue
        if top > 1.0:
            if largest <= 1.0 + 1e-3:
                return Finding(
                    f"the target action never goes beyond ±1, though max_action = {top:.3g}.",
                    "clamp to ±self.max_action, not ±1: the actors act in env units.",
                    got=f"largest |next_action| = {largest:.4g}",
                    where=where,
                )
            continue
        spread = float(np.max(np.abs(noise)))
        if spread <= 1e-6:
            return Finding(
                "the target action carries no smoothing noise: it equals actor_target(next_obs).",
                _NOISE_FIX + " The noise goes on the target action, not on the stored actions "
                "or the actor's action.",
                where=where,
            )
        if spread > clip + 1e-5 and float(np.max(np.abs(from_online))) <= clip + 1e-5:
            return Finding(
                "the target action comes from the ONLINE actor.",
                "next_action = (self.actor_target(next_state) + noise).clamp(...).",
                where=where,
            )
        if spread > clip + 1e-5:
            return Finding(
                f"the smoothing noise exceeds ±noise_clip = ±{clip:.3g}.",
                "clip the noise itself before adding it: (torch.randn_like(action) * "
                "self.policy_noise).clamp(-self.noise_clip, self.noise_clip).",
                got=f"largest |noise| = {spread:.4g}",
                where=where,
            )
        problem = _noise_statistics(noise, sigma, clip, where)
        if problem is not None:
            return problem
    return None


def _noise_statistics(noise: np.ndarray, sigma: float, clip: float, where: str) -> Finding | None:
    """Per sample and dimension, centred, with the asked spread (margins in the comments)."""
    n = noise.size
    per_dim = noise.std(axis=0)
    # A correct draw's per-dimension spread over >= 256 samples is within ~4.5% of its
    # standard deviation (one standard error); a twentieth of it is > 20 standard errors
    # away, while one draw shared by the batch has no spread at all.
    if np.min(per_dim) < 0.05 * sigma * _std_factor(clip / sigma):
        return Finding(
            "every sample of the batch gets the same smoothing noise.",
            "draw one value per sample and dimension: torch.randn_like(action), of shape "
            "(B, action_dim), not torch.randn(action_dim) or torch.randn(1).",
            got=f"spread over the batch per dimension: {np.round(per_dim, 4).tolist()}",
            where=where,
        )
    shared = np.isclose(noise[:, 0], noise[:, -1], rtol=0, atol=1e-6)
    if noise.shape[1] >= 2 and np.mean(shared) > 0.5:
        return Finding(
            "the action dimensions of a sample share one noise draw.",
            "draw one value per sample AND dimension: torch.randn_like(action), not "
            "torch.randn(B, 1).",
            where=where,
        )
    at_clip = float(np.mean(np.abs(noise) >= clip - 1e-5))
    if clip < 2 * sigma:
        # here a correct draw reaches the clip with probability 2 * P(z > clip / sigma)
        # (0.45 to 0.62 for the clips used): the fraction over >= 512 draws is within
        # 0.03 of it (1 standard error = 0.022); 0.2 away is > 9 standard errors.
        expected = 1 - math.erf(clip / sigma / math.sqrt(2))
        if abs(at_clip - expected) > 0.2:
            return Finding(
                f"the smoothing noise reaches ±noise_clip on {at_clip:.0%} of its draws; "
                f"with policy_noise = {sigma:.3g} about {expected:.0%} should.",
                "noise = torch.randn_like(action) * self.policy_noise, clipped to "
                "±self.noise_clip (use the agent's settings, not fixed numbers).",
                where=where,
            )
        return None
    # Unclipped enough to read the moments: over n >= 512 draws the mean is within
    # 4.4% of sigma and the std within 3.1% (1 standard error); the margins below are
    # > 5.5 and > 6 standard errors, while the typical mistakes miss by 30% or more.
    scale = sigma * _std_factor(clip / sigma)
    mean, std = float(noise.mean()), float(noise.std())
    if abs(mean) > 0.25 * scale:
        return Finding(
            f"the smoothing noise is not centred on 0 (mean {mean:.3g} over {n} draws).",
            "draw from a standard normal: torch.randn_like(action) (torch.rand_like is uniform "
            "on [0, 1): always positive).",
            where=where,
        )
    if not 0.8 * scale <= std <= 1.2 * scale:
        return Finding(
            f"the smoothing noise has standard deviation {std:.3g}; policy_noise = "
            f"{sigma:.3g} asks for about {scale:.3g}.",
            "noise = torch.randn_like(action) * self.policy_noise, then clip it to "
            "±self.noise_clip.",
            where=where,
        )
    return None


def _analyze_actor(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """The actor loss -Q1(s, actor(s)).mean() and the actor's step (policy_freq=1)."""
    for case, run in runs:
        where = case["label"]
        call, problem = _first_call(run, where)
        if problem is not None or call is None:
            return problem
        problem = _returned_critic_loss(call, where)
        if problem is not None:
            return problem
        actor_loss = call["returned"][1]
        if not isinstance(actor_loss, float):
            return Finding(
                "with policy_freq=1 every call updates the actor, but train returned "
                f"actor_loss={actor_loss!r}.",
                "update the actor when self.total_it % self.policy_freq == 0 and return "
                "actor_loss.item() (a float); None only on calls without an actor update.",
                where=where,
            )
        top = case["config"]["max_action"]
        obs, acts = _a(case["obs"]), _a(case["acts"])
        ids = [int(i) for i in np.round(obs[:, 0])]
        own = _actor_np(case["actor"], obs, top)
        their = _actor_np(case["actor_target"], obs, top)
        at_obs = [c for c in call["records"] if c["ids"] == ids]
        for_actor = [c for c in at_obs if not (c["role"] == "critic" and _same(c["actions"], acts))]
        users = [c for c in for_actor if _same(c["actions"], own)]
        if not users:
            if any(_same(c["actions"], their) for c in for_actor):
                return Finding(
                    "the actor loss uses actor_target's actions.",
                    "use the online actor: -self.critic.Q1(state, self.actor(state)).mean().",
                    where=where,
                )
            if for_actor:
                return Finding(
                    "the actor loss evaluates the critic at a noisy (or altered) action.",
                    "actor_loss = -self.critic.Q1(state, self.actor(state)).mean(): the "
                    "smoothing noise belongs to the target action only.",
                    where=where,
                )
            return Finding(
                "the actor loss never evaluates the critic at (obs, actor(obs)).",
                "actor_loss = -self.critic.Q1(state, self.actor(state)).mean().",
                where=where,
            )
        if all(c["role"] == "critic_target" for c in users):
            return Finding(
                "the actor loss uses the TARGET critic.",
                "use the online critic: -self.critic.Q1(state, self.actor(state)).mean().",
                where=where,
            )
        q1, q2 = _q_np(case["critic"], 0, obs, own), _q_np(case["critic"], 1, obs, own)
        expected = -float(q1.mean())
        mistakes = [
            (
                -expected,
                "actor_loss has the wrong sign.",
                "the optimizer minimizes: "
                "actor_loss = -self.critic.Q1(state, self.actor(state)).mean() pushes the actor "
                "toward actions with a higher Q.",
            ),
            (
                -float(q2.mean()),
                "actor_loss uses the second critic.",
                "TD3's actor follows "
                "the first critic: -self.critic.Q1(state, self.actor(state)).mean().",
            ),
            (
                -float(np.minimum(q1, q2).mean()),
                "actor_loss takes min(q1, q2).",
                "TD3's actor maximizes Q1 alone: -self.critic.Q1(state, self.actor(state)).mean().",
            ),
            (-float(q1.sum()), "actor_loss sums over the batch.", "average it: .mean()."),
        ]
        if not math.isclose(actor_loss, expected, rel_tol=1e-4, abs_tol=1e-5):
            for value, wrong, fix in mistakes:
                if math.isclose(actor_loss, value, rel_tol=1e-4, abs_tol=1e-5):
                    return Finding(
                        wrong, fix, expected=round(expected, 6), got=actor_loss, where=where
                    )
            return Finding(
                "the returned actor loss is not -Q1(obs, actor(obs)).mean().",
                "actor_loss = -self.critic.Q1(state, self.actor(state)).mean(); return "
                "actor_loss.item().",
                expected=round(expected, 6),
                got=actor_loss,
                where=where,
            )
        after = call["params"]["actor"]
        if set(after) != {"weight", "bias"}:
            return Finding("self.actor was replaced during train.", where=where)
        k1 = float(case["critic"]["k1"])
        gain = k1 * float((_actor_np(after, obs, top) - own).sum())
        if gain <= 0:
            return Finding(
                "the actor did not change on an update call."
                if gain == 0
                else "the actor's step lowered Q1 instead of raising it.",
                "self.actor_optimizer.zero_grad(); actor_loss.backward(); "
                "self.actor_optimizer.step(), with actor_loss = "
                "-self.critic.Q1(state, self.actor(state)).mean().",
                where=where,
            )
    return _analyze_soft_updates(runs)


def _vector(params: dict[str, Any]) -> dict[str, np.ndarray]:
    # as float32, the parameters' own precision (the case holds some values as float64)
    return {name: _a(_f32(value)).reshape(-1) for name, value in params.items()}


def _analyze_soft_updates(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """Targets move by tau toward the online networks on update calls, stay still otherwise."""
    for case, run in runs:
        calls = run.get("calls") or []
        tau, freq = case["config"]["tau"], case["config"]["policy_freq"]
        before = {role: _vector(case[role]) for role in ("actor", "critic")}
        before.update({f"{r}_target": _vector(case[f"{r}_target"]) for r in ("actor", "critic")})
        for t, call in enumerate(calls, start=1):
            where = f"{case['label']}, call {t}"
            if call.get("error"):
                return Finding(str(call["error"]), where=where)
            after = {role: _vector(p) for role, p in call["params"].items()}
            if any(set(after[r]) != set(before[r]) for r in before):
                return Finding(
                    "a network of the agent was replaced during train.",
                    "update the networks in place (optimizer steps, soft updates); do not "
                    "assign new modules.",
                    where=where,
                )
            update = t % freq == 0
            for net in ("actor", "critic"):
                role = f"{net}_target"
                moved = any(
                    not np.array_equal(after[role][n], before[role][n]) for n in before[role]
                )
                if moved and not update:
                    return Finding(
                        f"the targets are updated on every call: {role} changed on call {t} "
                        f"(total_it = {t}, policy_freq = {freq}).",
                        "soft-update both targets inside `if self.total_it % self.policy_freq "
                        "== 0:`, after the actor step.",
                        where=where,
                    )
                if update:
                    problem = _soft_update_problem(role, net, before, after, tau, moved, where)
                    if problem is not None:
                        return problem
            before = after
    return None


def _soft_update_problem(
    role: str,
    net: str,
    before: dict[str, dict[str, np.ndarray]],
    after: dict[str, dict[str, np.ndarray]],
    tau: float,
    moved: bool,
    where: str,
) -> Finding | None:
    fix = (
        "for param, target_param in zip(self.critic.parameters(), "
        "self.critic_target.parameters()): target_param.data.copy_(self.tau * param.data + "
        "(1 - self.tau) * target_param.data), and the same for the actor."
    )
    if not moved:
        return Finding(
            f"{role} was not updated on an update call (total_it % policy_freq == 0).",
            fix,
            where=where,
        )
    old, new = before[role], after[role]
    sources = (after[net], before[net])  # the online step may come before or after

    def matches(rate: float, src: dict[str, np.ndarray], name: str) -> bool:
        return _same(new[name], rate * src[name] + (1 - rate) * old[name], atol=1e-5)

    good = [n for n in old if any(matches(tau, s, n) for s in sources)]
    if len(good) == len(old):
        return None
    for rate, wrong in (
        (1.0, f"{role} was copied from {net} (tau = 1)."),
        (1.0 - tau, f"{role} moved by 1 - tau instead of tau (tau on the wrong side)."),
        (0.005, f"{role} moved with tau = 0.005, not self.tau."),
    ):
        if all(any(matches(rate, s, n) for s in sources) for n in old):
            return Finding(wrong, fix, where=where)
    still = [n for n in old if np.array_equal(new[n], old[n])]
    if good and still:
        return Finding(
            f"only some of {role}'s parameters were soft-updated.",
            "update every pair of parameters: " + fix,
            where=where,
        )
    return Finding(
        f"{role} is not tau * {net} + (1 - tau) * {role} after an update call.", fix, where=where
    )


def _analyze_schedule(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """Delayed policy updates: the actor and the targets move every policy_freq calls only."""
    for case, run in runs:
        call, problem = _first_call(run, case["label"])
        if problem is not None or call is None:
            return problem
        freq = case["config"]["policy_freq"]
        before = _vector(case["actor"])
        critic_before = _vector(case["critic"])
        for t, call in enumerate(run["calls"], start=1):
            where = f"{case['label']}, call {t}"
            if call.get("error"):
                return Finding(str(call["error"]), where=where)
            if call["total_it"] != t:
                return Finding(
                    f"after call {t} of train, self.total_it is {call['total_it']!r}, not {t}.",
                    "start train with self.total_it += 1: the delay counts calls.",
                    where=where,
                )
            problem = _returned_critic_loss(call, where)
            if problem is not None:
                return problem
            if call["batch_sizes"] != [case["batch_size"]]:
                return Finding(
                    "train must draw one batch of batch_size transitions per call.",
                    "batch = replay_buffer.sample_batch(batch_size), once per call.",
                    got=f"sample_batch called with {call['batch_sizes']}",
                    where=where,
                )
            update = t % freq == 0
            actor_loss = call["returned"][1]
            after = _vector(call["params"]["actor"])
            critic_after = _vector(call["params"]["critic"])
            if set(after) != set(before) or set(critic_after) != set(critic_before):
                return Finding("a network of the agent was replaced during train.", where=where)
            if all(np.array_equal(critic_after[n], critic_before[n]) for n in critic_before):
                return Finding(
                    f"the critic did not change on call {t}.",
                    "every call: self.critic_optimizer.zero_grad(); critic_loss.backward(); "
                    "self.critic_optimizer.step().",
                    where=where,
                )
            moved = any(not np.array_equal(after[n], before[n]) for n in before)
            if moved and not update:
                return Finding(
                    f"the actor is updated on every call despite policy_freq = {freq} (it "
                    f"changed on call {t}, total_it = {t}).",
                    "delayed policy updates: update the actor (and the targets) only when "
                    "self.total_it % self.policy_freq == 0.",
                    where=where,
                )
            if update and not moved:
                return Finding(
                    f"the actor did not change on call {t}, where total_it % policy_freq == 0.",
                    "on those calls: actor_loss = -self.critic.Q1(state, self.actor(state))"
                    ".mean(); self.actor_optimizer.zero_grad(); actor_loss.backward(); "
                    "self.actor_optimizer.step().",
                    where=where,
                )
            if update != isinstance(actor_loss, float) or (not update and actor_loss is not None):
                return Finding(
                    f"train returned actor_loss={actor_loss!r} on call {t} (policy_freq = {freq}).",
                    "return the actor loss as a float (actor_loss.item()) on calls that update "
                    "the actor, and None on the others.",
                    where=where,
                )
            before, critic_before = after, critic_after
    return _analyze_soft_updates(runs)


Analysis = Callable[[list[tuple[dict[str, Any], dict[str, Any]]]], Finding | None]

ANALYSES: list[tuple[str, Analysis]] = [
    ("target_double_q", _analyze_target),
    ("target_single_q", _analyze_target),
    ("noise", _analyze_noise),
    ("noise_clip", _analyze_noise),
    ("noise_off", _analyze_noise),
    ("noise_clamp", _analyze_noise),
    ("actor", _analyze_actor),
    ("schedule", _analyze_schedule),
]
"""The analyses of a train run, in the order the check applies them."""


def analyze_train(
    cases: dict[str, list[dict[str, Any]]], runs: dict[str, list[dict[str, Any]]]
) -> Finding | None:
    """The first problem the runs show, or None when every analysis passes."""
    for key, analysis in ANALYSES:
        problem = analysis(list(zip(cases[key], runs[key], strict=True)))
        if problem is not None:
            return problem
    return None
