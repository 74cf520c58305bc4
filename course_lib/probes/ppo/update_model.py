"""Probing the agent's update_model: a known rollout, known networks, recording stand-ins

The case and the reading are the exercise's (:mod:`course_lib.exercises.ppo.update_model`);
this module runs the student's ``update_model`` on it and records what it does.

Part of :mod:`course_lib.probes.ppo`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from course_lib.envs import random_state
from course_lib.exercises.parts import course_parts
from course_lib.exercises.ppo.agent_step import AGENT_PARTS
from course_lib.exercises.ppo.update_model import STORAGE, iter_order, update_model_case
from course_lib.exercises.steps import RecordingSGD
from course_lib.probes._common import Record, Run
from course_lib.probes._common import error_text as _error
from course_lib.probes._common import number as _number
from course_lib.toy_envs import BoxToyEnv

__all__ = ["probe_update_model", "run_update_model"]

MAX_VALUES = 256  # numbers kept per recorded argument
MAX_CALLS = 64  # calls kept per stand-in and run


def _flat(value: Any) -> list[float] | None:
    """A tensor, an array or a list of them, flattened in order (None: not numeric or large)."""
    try:
        if isinstance(value, list | tuple):
            parts = [np.asarray(_detached(v), dtype=np.float64).reshape(-1) for v in value]
            flat = np.concatenate(parts) if parts else np.zeros(0)
        else:
            flat = np.asarray(_detached(value), dtype=np.float64).reshape(-1)
    except (TypeError, ValueError, RuntimeError):
        return None
    return flat.tolist() if flat.size <= MAX_VALUES else None


def _detached(value: Any) -> Any:
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value


def _arg(value: Any) -> Record:
    """What a stand-in records of one argument."""
    try:
        shape: Any = [int(n) for n in np.shape(_detached(value))]
    except (TypeError, ValueError, RuntimeError):
        shape = None
    return {
        "shape": shape,
        "data": _flat(value),
        "grad": bool(getattr(value, "requires_grad", False)),
    }


class GaussianActor(torch.nn.Module):
    """``PPOActor``'s interface with a linear mean and a fixed-size log_std, both known."""

    def __init__(self, case: Record) -> None:
        super().__init__()
        actor = case["actor"]
        self.weight = torch.nn.Parameter(torch.tensor(actor["weight"], dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.tensor(actor["bias"], dtype=torch.float32))
        log_std = torch.full((int(case["act_dim"]),), float(np.log(case["sigma"])))
        self.log_std = torch.nn.Parameter(log_std)

    def forward(self, state: Any) -> tuple[torch.Tensor, torch.distributions.Normal]:
        x = torch.as_tensor(state, dtype=torch.float32)
        mean = x @ self.weight.T + self.bias
        dist = torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))
        return dist.sample(), dist


class LookupCritic(torch.nn.Module):
    """``PPOCritic``'s interface: V(state) looked up by the state's row (0 for a state it was
    not given), plus ``state @ w + c`` with w and c 0, so that gradient reaches parameters.

    Evaluated with autograd on, it adds the gradient reaching each rollout sample's value
    to :attr:`grad` (indexed like the case's samples) and counts those rows in :attr:`fresh`.
    """

    def __init__(self, states: np.ndarray, values: np.ndarray, samples: int) -> None:
        super().__init__()
        self.table_states = torch.as_tensor(states, dtype=torch.float32)
        self.table_values = torch.as_tensor(values, dtype=torch.float32)
        self.samples = samples
        self.w = torch.nn.Parameter(torch.zeros(self.table_states.shape[1]))
        self.c = torch.nn.Parameter(torch.zeros(1))
        self.grad = np.zeros(samples)
        self.fresh = 0

    def forward(self, state: Any) -> torch.Tensor:
        x = torch.as_tensor(state, dtype=torch.float32)
        rows = x.reshape(-1, x.shape[-1]) if x.dim() else x.reshape(1, -1)
        if rows.shape[-1] != self.table_states.shape[1]:
            raise ValueError(
                f"the critic takes states of {self.table_states.shape[1]} numbers; got shape "
                f"{tuple(x.shape)}"
            )
        match = (rows[:, None, :] - self.table_states[None]).abs().amax(-1) < 1e-6
        index = torch.where(match.any(1), match.float().argmax(1), -1)
        base = torch.where(index >= 0, self.table_values[index.clamp(min=0)], 0.0)
        out = (base + rows.detach() @ self.w + self.c).reshape(*x.shape[:-1], 1)
        if out.requires_grad:
            mine = [(r, int(i)) for r, i in enumerate(index.tolist()) if 0 <= i < self.samples]
            self.fresh += len(mine)

            def keep(grad: torch.Tensor) -> None:
                g = grad.detach().double().reshape(-1).numpy()
                for r, i in mine:
                    self.grad[i] += g[r]

            out.register_hook(keep)
        return out


class Recorder:
    """The course's ``compute_gae``, ``ppo_iter`` and ``ppo_losses``, recording their
    arguments into the current run."""

    def __init__(self) -> None:
        self.run: Record = {}

    def start(self, label: str) -> Record:
        self.run = {"label": label, "error": None, "gae": [], "iter": [], "losses": []}
        return self.run

    def _log(self, kind: str, entry: Record) -> None:
        if len(self.run.setdefault(kind, [])) < MAX_CALLS:
            self.run[kind].append(entry)

    def compute_gae(
        self, next_value: Any, rewards: Any, masks: Any, values: Any, gamma: Any, tau: Any
    ) -> list[Any]:
        self._log(
            "gae",
            {
                "next_value": _flat(next_value),
                "next_value_shape": _arg(next_value)["shape"],
                "rewards": _flat(rewards),
                "masks": _flat(masks),
                "values": _flat(values),
                "gamma": _number(gamma),
                "tau": _number(tau),
            },
        )
        values = [*values, next_value]
        gae: Any = 0.0
        returns: list[Any] = []
        for t in reversed(range(len(rewards))):
            delta = rewards[t] + gamma * values[t + 1] * masks[t] - values[t]
            gae = delta + gamma * tau * masks[t] * gae
            returns.insert(0, gae + values[t])
        return returns

    def ppo_iter(
        self,
        epoch: Any,
        mini_batch_size: Any,
        states: Any,
        actions: Any,
        values: Any,
        log_probs: Any,
        returns: Any,
        advantages: Any,
    ) -> Iterator[tuple[Any, ...]]:
        arrays = (states, actions, values, log_probs, returns, advantages)
        entry: Record = {
            "epoch": _number(epoch),
            "mini_batch_size": _number(mini_batch_size),
            "arrays": [_arg(a) for a in arrays],
            "chunks": [],
        }
        self._log("iter", entry)
        return self._minibatches(int(epoch), int(mini_batch_size), arrays, entry["chunks"])

    @staticmethod
    def _minibatches(
        epoch: int, size: int, arrays: tuple[Any, ...], chunks: list[list[int]]
    ) -> Iterator[tuple[Any, ...]]:
        batch = len(arrays[0])
        for e in range(epoch):
            order = iter_order(batch, e)
            for start in range(0, batch, size):
                idx = order[start : start + size]
                chunks.append(idx)
                yield tuple(
                    a[torch.as_tensor(idx)] if isinstance(a, torch.Tensor) else a[np.asarray(idx)]
                    for a in arrays
                )

    def ppo_losses(
        self,
        log_probs: Any,
        old_log_probs: Any,
        advantages: Any,
        entropy: Any,
        values: Any,
        old_values: Any,
        returns: Any,
        epsilon: Any,
        entropy_weight: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        args = (log_probs, old_log_probs, advantages, entropy, values, old_values, returns)
        entry: Record = {
            "args": [_arg(a) for a in args],
            "epsilon": _number(epsilon),
            "entropy_weight": _number(entropy_weight),
            "returned": None,
        }
        self._log("losses", entry)
        lp, old, adv, ent, value, _, ret = (
            torch.as_tensor(a, dtype=torch.float32).reshape(-1) for a in args
        )
        sizes = {int(t.numel()) for t in (lp, old, adv, value, ret)}
        sizes |= {int(ent.numel())} - {1}  # the entropy's mean does as well
        if len(sizes) != 1:
            raise ValueError(
                "ppo_losses got tensors of different sizes for one minibatch "
                f"({[list(np.shape(_detached(a))) for a in args]})"
            )
        ratio = (lp - old).exp()
        clipped = ratio.clamp(1.0 - float(epsilon), 1.0 + float(epsilon))
        surrogate = torch.min(ratio * adv, clipped * adv)
        actor_loss = -surrogate.mean() - float(entropy_weight) * ent.mean()
        critic_loss = (ret - value).pow(2).mean()
        entry["returned"] = [float(actor_loss.detach()), float(critic_loss.detach())]
        return actor_loss, critic_loss


def _vec_env(act_dim: int, n_envs: int) -> gym.vector.SyncVectorEnv:
    return gym.vector.SyncVectorEnv(
        [lambda: BoxToyEnv(horizon=10, low=[-1.0] * act_dim, high=[1.0] * act_dim)] * n_envs,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )


def _templates(agent: Any, case: Record) -> dict[str, Any]:
    """One entry of each storage list as the student's own select_action and step store it
    (its type, dtype and shape), from a short rollout; {} where that does not work."""
    try:
        agent.critic = LookupCritic(np.zeros((1, 2)), np.zeros(1), 0)
        state, _ = agent.env.reset(seed=int(case["seed"]))
        for _ in range(int(case["steps"])):
            with torch.no_grad():
                action = agent.select_action(state)
            state, *_ = agent.step(np.asarray(action))
    except Exception:
        return {}
    out = {}
    for name in STORAGE:
        stored = getattr(agent, name, None)
        if isinstance(stored, list) and stored:
            out[name] = stored[0]
    return out


def _entry(block: np.ndarray, template: Any, per_dim: np.ndarray | None = None) -> Any:
    """``block`` (one step's rows) in the template's type and shape, else a float32 tensor
    of the reference's shape ((n_envs, 1) for a number per env)."""
    shape = getattr(template, "shape", None)
    if shape is not None and per_dim is not None and int(np.prod(shape)) == per_dim.size:
        block = per_dim
    if isinstance(template, torch.Tensor) and template.numel() == block.size:
        dtype = template.dtype if template.is_floating_point() else torch.float32
        return torch.as_tensor(block, dtype=dtype).reshape(template.shape)
    if isinstance(template, np.ndarray) and template.size == block.size:
        dtype = template.dtype if np.issubdtype(template.dtype, np.floating) else np.float32
        return np.asarray(block, dtype=dtype).reshape(template.shape)
    rows = block.reshape(block.shape[0], -1)
    return torch.as_tensor(rows, dtype=torch.float32)


def _fill(agent: Any, case: Record, templates: dict[str, Any]) -> None:
    """The case's rollout in the agent's storage, entry by entry (new lists)."""
    act_dim = int(case["act_dim"])
    for name in STORAGE:
        data = np.asarray(case[name], dtype=np.float64)
        entries = []
        for t in range(int(case["steps"])):
            per_dim = None
            if name == "log_probs":  # one number per action dimension, if stored that way
                per_dim = np.repeat(data[t][:, None] / act_dim, act_dim, axis=1)
            block = data[t] if data.ndim == 3 else data[t][:, None]
            entries.append(_entry(block, templates.get(name), per_dim))
        setattr(agent, name, entries)


def _install(agent: Any, case: Record, label: str, templates: dict[str, Any]) -> LookupCritic:
    """Known networks, recording optimizers (learning rate 0), the case's settings and rollout.
    The critic now outputs the returns (``rest``) or the stored values (``offset``)."""
    samples = int(case["n_envs"]) * int(case["steps"])
    states = np.asarray(case["states"], dtype=np.float64).reshape(samples, -1)
    now = np.asarray(case["returns" if label == "rest" else "values"]).reshape(-1)
    critic = LookupCritic(
        np.concatenate([states, np.asarray(case["next_state"])]),
        np.concatenate([now, np.asarray(case["next_value"])]),
        samples,
    )
    agent.actor, agent.critic = GaussianActor(case), critic
    agent.actor_optimizer = RecordingSGD(agent.actor.parameters())
    agent.critic_optimizer = RecordingSGD(agent.critic.parameters())
    for name in ("gamma", "tau", "epsilon", "epoch", "batch_size", "entropy_weight"):
        setattr(agent, name, case[name])
    agent.is_test = False
    _fill(agent, case, templates)
    return critic


def _returned(out: Any) -> Any:
    """What update_model returned: plain numbers as floats (a one-number tensor without
    gradient too), anything else by its type."""

    def value(v: Any) -> Any:
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            return "<Tensor with gradient>" if v.requires_grad else float(v)
        return _number(v)

    if isinstance(out, tuple | list):
        return [value(v) for v in out]
    return f"<{type(out).__name__}>"


def run_update_model(PPOAgent: Callable[..., Any], case: Record) -> Run:
    """``update_model(next_state)`` on the case, with the critic at rest (its values are the
    returns) and then offset (its values are the stored ones); then twice in a row on one
    agent (one minibatch each), for the gradients each optimizer steps on.

    The agent is built with the course's networks (:data:`AGENT_PARTS`) and calls the
    course's ``compute_gae``, ``ppo_iter`` and ``ppo_losses``, which record their arguments.
    """
    rec: Record = {"case": case, "error": None, "runs": []}
    recorder = Recorder()
    parts = {
        **AGENT_PARTS,
        "compute_gae": recorder.compute_gae,
        "ppo_iter": recorder.ppo_iter,
        "ppo_losses": recorder.ppo_losses,
    }
    next_state = np.asarray(case["next_state"], dtype=np.float32)
    stage = "construct"
    try:
        with random_state(int(case["seed"])), course_parts(PPOAgent, parts):
            agent = PPOAgent(
                _vec_env(int(case["act_dim"]), int(case["n_envs"])),
                batch_size=case["batch_size"],
                gamma=case["gamma"],
                tau=case["tau"],
                epsilon=case["epsilon"],
                epoch=case["epoch"],
                rollout_len=case["steps"],
                entropy_weight=case["entropy_weight"],
            )
            templates = _templates(agent, case)
            for label in ("rest", "offset"):
                stage = f"update_model ({label})"
                run = recorder.start(label)
                rec["runs"].append(run)
                critic = _install(agent, case, label, templates)
                try:
                    run["returned"] = _returned(agent.update_model(next_state))
                except Exception as exc:
                    run["error"] = _error(exc)
                    raise
                finally:
                    run["critic_grad"] = critic.grad.tolist()
                    run["critic_fresh"] = critic.fresh
                    run["steps"] = {
                        net: list(getattr(getattr(agent, f"{net}_optimizer", None), "seen", []))
                        for net in ("actor", "critic")
                    }
                    run["storage_after"] = {
                        name: len(v) if isinstance(v := getattr(agent, name, None), list) else 0
                        for name in STORAGE
                    }
            stage = "update_model (twice)"
            rec["twice"] = _run_twice(agent, case, templates, recorder, next_state)
    except Exception as exc:  # the student's error is data for the judge
        rec["error"] = {"stage": stage, "message": _error(exc)}
        return rec, exc
    return rec, None


def _run_twice(
    agent: Any, case: Record, templates: dict[str, Any], recorder: Recorder, next_state: Any
) -> Record:
    """Two updates on one agent, the same rollout refilled, each of two epochs of one
    minibatch (the whole rollout): all four optimizer steps must see the same gradient
    (zero_grad before each minibatch's backward), never none."""
    _install(agent, case, "offset", templates)
    agent.epoch, agent.batch_size = 2, int(case["n_envs"]) * int(case["steps"])
    twice: Record = {"error": None}
    try:
        for _ in range(2):
            _fill(agent, case, templates)
            recorder.start("twice")
            agent.update_model(next_state)
    except Exception as exc:
        twice["error"] = _error(exc)
    twice["steps"] = {
        net: list(getattr(getattr(agent, f"{net}_optimizer", None), "seen", []))
        for net in ("actor", "critic")
    }
    return twice


def probe_update_model(PPOAgent: Callable[..., Any], seed: int) -> Record:
    """``update_model`` on a rollout drawn from the grader's seed."""
    return run_update_model(PPOAgent, update_model_case(seed))[0]
