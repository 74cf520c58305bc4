"""Probes for notebook 04: DDPG on Pendulum-v1.

Each probe runs a student's class or function on a case drawn from the grader's seed and
returns what came out as plain data: lengths, sampled batches, noise paths, parameters
after an update, the gradient that reached each output of a stand-in network. Nothing is
judged here; :mod:`course_lib.exercises.ddpg` reads the data outside the kernel,
taking the case itself from the reference solution's observation.

The agent probes build the student's ``DDPGAgent`` on a tiny toy env and swap in
stand-ins whose behaviour is known exactly: linear networks that log each call (inputs,
and the gradient that later flows into the output), a noise process that replays a
script, and a memory that records what is stored and serves a fixed batch. Optimizers
are replaced by plain SGD with learning rate 0, so the networks stay as they were and
only the target networks' soft update moves parameters.

The visible checks of :mod:`course_lib.checks.ddpg` run the same ``run_*`` functions on
fixed cases, so that a student sees the grader's diagnosis while working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course_lib.envs import random_state
from course_lib.exercises.ddpg import BUFFER_KEYS, TARGET_HYPOTHESES
from course_lib.observations import module_to_data
from course_lib.probes.ppo import probe_action_normalizer
from course_lib.toy_envs import BoxToyEnv

__all__ = [
    "agent_step_case",
    "ou_noise_case",
    "probe_action_normalizer",
    "probe_agent_step",
    "probe_ddpg_actor",
    "probe_ddpg_critic",
    "probe_ou_noise",
    "probe_replay_buffer",
    "probe_soft_update",
    "probe_update_model",
    "replay_buffer_case",
    "run_agent_step",
    "run_ou_noise",
    "run_replay_buffer",
    "run_soft_update",
    "run_update_model",
    "soft_update_case",
    "update_model_case",
]

Record = dict[str, Any]
Run = tuple[Record, BaseException | None]

OBS_DIM = 2  # BoxToyEnv's observation: [steps since reset, seed tag]
MAX_CALLS_LOGGED = 32


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."


def _array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _nested(value: Any) -> Any:
    """A value as nested lists of floats (None if it is not numeric)."""
    try:
        return _array(value).tolist()
    except (TypeError, ValueError, RuntimeError):
        return None


def _flat(value: Any) -> list[float] | None:
    try:
        return _array(value).reshape(-1).tolist()
    except (TypeError, ValueError, RuntimeError):
        return None


def _shape(value: Any) -> list[int] | None:
    try:
        return [int(n) for n in np.shape(value)]
    except (TypeError, ValueError, RuntimeError):
        return None


def _number(value: Any) -> float | str:
    """A plain number as a float; anything else (a tensor, a bool) as ``<type name>``."""
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        return f"<{type(value).__name__}>"
    return float(value)


def _flag(value: Any) -> float | None:
    try:
        return float(_array(value).reshape(-1)[0])
    except (TypeError, ValueError, RuntimeError, IndexError):
        return None


def _grid(rng: np.random.Generator, shape: Any, scale: float = 1.0) -> np.ndarray:
    """Normal draws rounded to multiples of 1/32: exact in float32, so comparisons are exact."""
    return np.round(rng.normal(size=shape) * scale * 32) / 32


def _params(net: torch.nn.Module) -> list[float]:
    return [float(v) for p in net.parameters() for v in p.detach().reshape(-1).tolist()]


# ---------------------------------------------------------------------------
# ReplayBuffer
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# OUNoise
# ---------------------------------------------------------------------------


def ou_noise_case(seed: int, **overrides: float) -> Record:
    """Parameters of a long noise path, and of a slow process to test ``reset``.

    theta and sigma are far apart (theta <= 0.2 < 0.35 <= sigma) so that swapping them
    shows and a correct process never looks swapped. The reset process has theta 0.01:
    without a reset, its state after 30 steps has spread about sqrt(26) sigma from mu,
    against sigma just after a reset.
    """
    rng = np.random.default_rng(seed)
    size = int(overrides.get("size", rng.integers(2, 4)))
    case: Record = {
        "seed": int(seed),
        "size": size,
        "mu": float(np.round(rng.uniform(-0.5, 0.5), 3)),
        "theta": float(np.round(rng.uniform(0.1, 0.2), 3)),
        "sigma": float(np.round(rng.uniform(0.35, 0.6), 3)),
        "reset_mu": float(np.round(rng.uniform(1.0, 2.0), 3)),
        "reset_theta": 0.01,
        "reset_sigma": 0.2,
        "burn": 30,
        "n_resets": 60,
    }
    case.update(overrides)
    # >= 5,000 increments in all: enough for the estimates' margins (exercises.ddpg)
    case["n_steps"] = int(overrides.get("n_steps", -(-5000 // int(case["size"]))))
    return case


def run_ou_noise(OUNoise: Callable[..., Any], case: Record) -> Run:
    """A long path of ``sample()`` after construction, then first samples after ``reset()``."""
    size = int(case["size"])
    rec: Record = {"case": case, "error": None, "shape": None, "shape_1": None}
    rec.update({"path": [], "after_reset": []})
    stage = "construct"
    try:
        with random_state(case["seed"]):
            noise = OUNoise(size, mu=case["mu"], theta=case["theta"], sigma=case["sigma"])
            stage = "sample"
            for t in range(case["n_steps"]):
                x = noise.sample()
                if t == 0:
                    rec["shape"] = _shape(x)
                    if rec["shape"] != [size]:
                        return rec, None
                rec["path"].append([round(v, 6) for v in _array(x).reshape(-1).tolist()])
            stage = "reset"
            slow = OUNoise(
                size, mu=case["reset_mu"], theta=case["reset_theta"], sigma=case["reset_sigma"]
            )
            for _ in range(case["n_resets"]):
                for _ in range(case["burn"]):
                    slow.sample()
                slow.reset()
                rec["after_reset"].append(_flat(slow.sample()))
            stage = "size 1"
            rec["shape_1"] = _shape(OUNoise(1).sample())
    except Exception as exc:  # the student's error is data for the judge
        rec["error"] = {"stage": stage, "message": _error(exc)}
        return rec, exc
    return rec, None


def probe_ou_noise(OUNoise: Callable[..., Any], seed: int) -> Record:
    """A noise path with grader-chosen mu, theta, sigma, and samples right after resets."""
    return run_ou_noise(OUNoise, ou_noise_case(seed))[0]


# ---------------------------------------------------------------------------
# The networks
# ---------------------------------------------------------------------------


def probe_ddpg_actor(DDPGActor: Callable[..., torch.nn.Module], seed: int) -> Record:
    """The actor as an exported program, built with grader-chosen sizes and init_w."""
    rng = np.random.default_rng(seed)
    in_dim, out_dim = int(rng.integers(2, 6)), int(rng.integers(1, 3))
    init_w = float(rng.choice([1e-3, 3e-3, 1e-2]))
    rec: Record = {"num_inputs": in_dim, "num_actions": out_dim, "init_w": init_w}
    rec.update({"program": None, "error": None})
    try:
        with random_state(seed):
            actor = DDPGActor(in_dim, out_dim, init_w=init_w).eval()
            rec["program"] = module_to_data(actor, (torch.zeros(4, in_dim),))
    except Exception as exc:  # reported by the grader
        rec["error"] = _error(exc)
    return rec


def probe_ddpg_critic(DDPGCritic: Callable[..., torch.nn.Module], seed: int) -> Record:
    """The critic ``(state, action) -> Q`` as an exported program with two inputs."""
    rng = np.random.default_rng(seed)
    obs_dim, act_dim = int(rng.integers(2, 5)), int(rng.integers(1, 3))
    init_w = float(rng.choice([1e-3, 3e-3, 1e-2]))
    rec: Record = {"num_inputs": obs_dim, "num_actions": act_dim, "init_w": init_w}
    rec.update({"program": None, "error": None})
    try:
        with random_state(seed):
            critic = DDPGCritic(obs_dim + act_dim, init_w=init_w).eval()
            rec["program"] = module_to_data(
                critic, (torch.zeros(4, obs_dim), torch.zeros(4, act_dim))
            )
    except Exception as exc:  # reported by the grader
        rec["error"] = _error(exc)
    return rec


# ---------------------------------------------------------------------------
# soft_update
# ---------------------------------------------------------------------------


class _SoftNet(torch.nn.Module):
    """Two linear layers and a bare parameter: every kind of parameter must move."""

    def __init__(self, gen: torch.Generator) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # the layers' default init draws globally
            self.body = torch.nn.Sequential(
                torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
            )
        self.gain = torch.nn.Parameter(torch.ones(2))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) * self.gain


def soft_update_case(seed: int, **overrides: float) -> Record:
    """The interpolation weight tau (never 0.5, where its two sides coincide)."""
    rng = np.random.default_rng(seed)
    case: Record = {"seed": int(seed), "tau": float(np.round(rng.uniform(0.05, 0.4), 3))}
    case.update(overrides)
    gen = torch.Generator().manual_seed(int(seed))
    target, source = _SoftNet(gen), _SoftNet(gen)
    case["names"] = [name for name, _ in target.named_parameters()]
    case["target"] = [p.detach().reshape(-1).tolist() for p in target.parameters()]
    case["source"] = [p.detach().reshape(-1).tolist() for p in source.parameters()]
    return case


def run_soft_update(soft_update: Callable[..., Any], case: Record) -> Run:
    """Call ``soft_update(target, source, tau)`` once; record both networks afterwards."""
    rec: Record = {"case": case, "error": None, "target": None, "source": None}
    gen = torch.Generator().manual_seed(int(case["seed"]))
    target, source = _SoftNet(gen), _SoftNet(gen)
    try:
        with random_state(case["seed"]):
            soft_update(target, source, case["tau"])
    except Exception as exc:  # the student's error is data for the judge
        rec["error"] = {"stage": "call", "message": _error(exc)}
        return rec, exc
    finally:
        rec["target"] = [p.detach().reshape(-1).tolist() for p in target.parameters()]
        rec["source"] = [p.detach().reshape(-1).tolist() for p in source.parameters()]
    return rec, None


def probe_soft_update(soft_update: Callable[..., Any], seed: int) -> Record:
    """Both networks after one soft update with a grader-chosen tau."""
    return run_soft_update(soft_update, soft_update_case(seed))[0]


# ---------------------------------------------------------------------------
# Stand-ins for the agent's parts
# ---------------------------------------------------------------------------


def _log_call(
    log: list[Record] | None, net: str, state: Any, action: Any, out: torch.Tensor
) -> None:
    """Log a stand-in's call; the gradient reaching its output is filled in by backward."""
    if log is None or len(log) >= MAX_CALLS_LOGGED:
        return
    entry: Record = {"net": net, "state": _nested(state), "action": None, "grad": None}
    if action is not None:
        entry["action"] = _nested(action)
    log.append(entry)
    if out.requires_grad:

        def keep(grad: torch.Tensor) -> None:
            g = grad.detach().double().numpy()
            entry["grad"] = (g if entry["grad"] is None else g + np.asarray(entry["grad"])).tolist()

        out.register_hook(keep)


class KnownActor(torch.nn.Module):
    """``action = state @ weight.T + bias``: a linear actor whose outputs are known."""

    def __init__(
        self, weight: Any, bias: Any, log: list[Record] | None = None, name: str = "actor"
    ) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(weight, dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.tensor(bias, dtype=torch.float32))
        self.log, self.net_name = log, name

    def forward(self, state: Any) -> torch.Tensor:
        x = torch.as_tensor(state, dtype=torch.float32)
        out = x @ self.weight.T + self.bias
        _log_call(self.log, self.net_name, x, None, out)
        return out


class KnownCritic(torch.nn.Module):
    """``Q(state, action) = [state, action] @ weight + bias``, shape (B, 1)."""

    def __init__(
        self, weight: Any, bias: float, log: list[Record] | None = None, name: str = "critic"
    ) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(weight, dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.tensor([bias], dtype=torch.float32))
        self.log, self.net_name = log, name

    def forward(self, state: Any, action: Any) -> torch.Tensor:
        s = torch.as_tensor(state, dtype=torch.float32)
        a = torch.as_tensor(action, dtype=torch.float32)
        out = torch.cat([s, a], dim=-1) @ self.weight[:, None] + self.bias
        _log_call(self.log, self.net_name, s, a, out)
        return out


class ScriptedNoise:
    """Replays a fixed list of noise vectors, counting the calls."""

    def __init__(self, values: list[list[float]]) -> None:
        self.values = [np.asarray(v, dtype=np.float64) for v in values]
        self.calls = 0
        self.resets = 0

    def sample(self) -> np.ndarray:
        value = self.values[self.calls % len(self.values)]
        self.calls += 1
        return value.copy()

    def reset(self) -> None:
        self.resets += 1


class RecordingMemory:
    """A replay buffer stand-in: records each ``store`` and serves one fixed batch."""

    def __init__(self, batch: dict[str, np.ndarray] | None = None) -> None:
        self.stored: list[list[Any]] = []
        self.batch = batch or {}
        self.sampled = 0

    def store(self, obs: Any, act: Any, rew: Any, next_obs: Any, done: Any) -> None:
        self.stored.append([_flat(obs), _flat(act), _flag(rew), _flat(next_obs), _flag(done)])

    def sample_batch(self, batch_size: int | None = None) -> dict[str, np.ndarray]:
        self.sampled += 1
        return {k: v.copy() for k, v in self.batch.items()}

    def __len__(self) -> int:
        return 1_000_000  # "full enough": update_model may check it before sampling


def _agent_kwargs(case: Record) -> dict[str, Any]:
    return {
        "memory_size": 64,
        "batch_size": int(case.get("batch_size", 4)),
        "ou_noise_theta": 0.15,
        "ou_noise_sigma": 0.2,
        "gamma": float(case.get("gamma", 0.9)),
        "tau": float(case.get("tau", 0.1)),
        "initial_random_steps": int(case.get("initial_random_steps", 10)),
    }


def _box_env(act_dim: int, **kwargs: Any) -> BoxToyEnv:
    return BoxToyEnv(low=[-1.0] * act_dim, high=[1.0] * act_dim, **kwargs)


# ---------------------------------------------------------------------------
# The agent: select_action and step
# ---------------------------------------------------------------------------


def agent_step_case(seed: int, **overrides: Any) -> Record:
    """Toy episodes, a linear actor and a noise script for ``select_action`` and ``step``.

    Episode 0 is truncated (a time limit) after ``horizon`` steps, episode 1 terminates
    after ``terminate_after``. The actor's outputs stay within [-0.5, 0.5]; the script
    alternates large noise (|n| >= 1.6: the sum always needs clipping) and small noise
    (|n| <= 0.3: never clipped).
    """
    rng = np.random.default_rng(seed)
    act_dim = int(overrides.get("act_dim", rng.integers(1, 3)))
    script = []
    for k in range(12):
        sign = rng.choice([-1.0, 1.0], size=act_dim)
        magnitude = rng.uniform(1.6, 2.0, act_dim) if k % 2 == 0 else rng.uniform(0, 0.3, act_dim)
        script.append((np.round(sign * magnitude * 64) / 64).tolist())
    case: Record = {
        "seed": int(seed),
        "act_dim": act_dim,
        "reward": float(np.round(rng.uniform(-2.0, 2.0), 3)),
        "horizon": int(rng.integers(3, 5)),
        "terminate_after": int(rng.integers(2, 4)),
        "tags": [int(rng.integers(1, 6)), int(rng.integers(1, 6))],
        "actor_weight": (
            np.round(rng.uniform(-0.02, 0.02, (act_dim, OBS_DIM)) * 512) / 512
        ).tolist(),
        "actor_bias": (np.round(rng.uniform(-0.3, 0.3, act_dim) * 512) / 512).tolist(),
        "noise": script,
        "initial_random_steps": 10,
        "n_warmup": 64,
        "n_test": 3,
    }
    case.update(overrides)
    return case


def run_agent_step(DDPGAgent: Callable[..., Any], case: Record) -> Run:
    """Warm-up actions, two training episodes step by step, then test-mode actions."""
    act_dim = int(case["act_dim"])
    after_warmup = int(case["initial_random_steps"]) + 100
    rec: Record = {"case": case, "error": None, "warmup": [], "episodes": [[], []], "test": []}
    stage = "construct"
    try:
        with random_state(case["seed"]):
            envs = [
                _box_env(act_dim, horizon=case["horizon"], reward=case["reward"]),
                _box_env(
                    act_dim,
                    horizon=case["terminate_after"] + 2,
                    terminate_after=case["terminate_after"],
                    reward=case["reward"],
                ),
            ]
            agent = DDPGAgent(envs[0], **_agent_kwargs(case))
            noise = ScriptedNoise(case["noise"])
            memory = RecordingMemory()
            agent.actor = KnownActor(case["actor_weight"], case["actor_bias"])
            agent.noise, agent.memory, agent.is_test = noise, memory, False
            agent.initial_random_steps = int(case["initial_random_steps"])
            for env in envs:
                env.action_space.seed(int(case["seed"]))

            def act(state: Any, total_step: int) -> tuple[Record, Any]:
                agent.total_step = total_step
                calls = noise.calls
                action = agent.select_action(state)
                row = {
                    "state": _flat(state),
                    "action": _flat(action),
                    "shape": _shape(action),
                    "noise_calls": noise.calls - calls,
                    "noise_index": noise.calls - 1,
                }
                return row, action

            state, _ = envs[0].reset(seed=case["tags"][0])
            stage = "select_action during warm-up"
            for _ in range(int(case["n_warmup"])):
                rec["warmup"].append(act(state, 0)[0])
            for e, env in enumerate(envs):
                agent.env = env
                state, _ = env.reset(seed=case["tags"][e])
                for j in range(env.horizon):
                    stage = f"select_action (episode {e}, step {j})"
                    row, action = act(state, after_warmup)
                    rec["episodes"][e].append(row)
                    stored = len(memory.stored)
                    stage = f"step (episode {e}, step {j})"
                    out = agent.step(action)
                    row["env_action"] = _flat(env.last_action)
                    row["stored"] = memory.stored[stored:]
                    if not (isinstance(out, tuple | list) and len(out) == 3):
                        row["returned"] = {"n": len(out) if isinstance(out, tuple | list) else None}
                        break
                    row["returned"] = {
                        "n": 3,
                        "next_state": _flat(out[0]),
                        "reward": _flag(out[1]),
                        "done": _flag(out[2]),
                    }
                    state = out[0]
                    if row["returned"]["done"]:
                        break
            stage = "select_action in test mode"
            agent.is_test = True
            for total in (after_warmup, 0):
                for t in range(int(case["n_test"])):
                    state = np.array([t, case["tags"][0]], dtype=np.float32)
                    rec["test"].append({**act(state, total)[0], "total_step": total})
    except Exception as exc:  # the student's error is data for the judge
        rec["error"] = {"stage": stage, "message": _error(exc)}
        return rec, exc
    return rec, None


def probe_agent_step(DDPGAgent: Callable[..., Any], seed: int) -> Record:
    """``select_action`` and ``step`` on toy episodes, with known actor and scripted noise."""
    return run_agent_step(DDPGAgent, agent_step_case(seed))[0]


# ---------------------------------------------------------------------------
# The agent: update_model
# ---------------------------------------------------------------------------


def linear_actor(net: Record, states: np.ndarray) -> np.ndarray:
    """What :class:`KnownActor` with these weights outputs, in float64."""
    return states @ np.asarray(net["weight"]).T + np.asarray(net["bias"])


def linear_critic(net: Record, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """What :class:`KnownCritic` with these weights outputs, in float64, shape (B,)."""
    x = np.concatenate([states, actions], axis=-1)
    return x @ np.asarray(net["weight"]) + float(net["bias"])


def _bootstraps(case: Record) -> dict[str, np.ndarray]:
    """The term added to the reward under each hypothesis, per sample (float64)."""
    nets, gamma = case["nets"], float(case["gamma"])
    s2 = np.asarray(case["batch"]["next_obs"])
    done = np.asarray(case["batch"]["done"])
    mask = 1.0 - done

    def q(critic: str, actor: str) -> np.ndarray:
        return linear_critic(nets[critic], s2, linear_actor(nets[actor], s2))

    target, online = q("critic_target", "actor_target"), q("critic", "actor")
    return {
        "target": gamma * mask * target,
        "online": gamma * mask * online,
        "no_mask": gamma * target,
        "done_as_mask": gamma * done * target,
        "online_no_mask": gamma * online,
        "target_critic_online_actor": gamma * mask * q("critic_target", "actor"),
        "online_critic_target_actor": gamma * mask * q("critic", "actor_target"),
        "no_gamma": mask * target,
        "no_bootstrap": np.zeros_like(target),
    }


def update_model_case(seed: int, **overrides: Any) -> Record:
    """Four linear networks, a batch, gamma and tau; rewards for every hypothesis.

    Drawn again until every two hypotheses differ by at least 0.05 on some sample: 50
    times the judge's "at rest" threshold (1e-3 of the gradient at a gap of 1), and far
    above float32 rounding (about 1e-7), so each hypothesis is told apart from the others.
    gamma stays <= 0.95, so that even "gamma missing" moves the target by 5% of Q'.
    """
    rng = np.random.default_rng(seed)
    act_dim = int(overrides.get("act_dim", rng.integers(1, 3)))
    batch_size = int(overrides.get("batch_size", rng.integers(4, 7)))
    case: Record = {
        "seed": int(seed),
        "act_dim": act_dim,
        "batch_size": batch_size,
        "gamma": float(np.round(rng.uniform(0.8, 0.95), 3)),
        "tau": float(np.round(rng.uniform(0.1, 0.4), 3)),
    }
    case.update({k: v for k, v in overrides.items() if k in ("gamma", "tau")})
    for _ in range(1000):
        done = np.zeros(batch_size)
        done[rng.choice(batch_size, size=int(rng.integers(1, batch_size)), replace=False)] = 1.0
        case["batch"] = {
            "obs": _grid(rng, (batch_size, OBS_DIM)).tolist(),
            "acts": (np.round(rng.uniform(-1, 1, (batch_size, act_dim)) * 32) / 32).tolist(),
            "next_obs": _grid(rng, (batch_size, OBS_DIM)).tolist(),
            "done": done.tolist(),
        }
        nets: Record = {}
        for name in ("actor", "actor_target"):
            nets[name] = {
                "weight": _grid(rng, (act_dim, OBS_DIM), 0.5).tolist(),
                "bias": _grid(rng, act_dim, 0.3).tolist(),
            }
        for name in ("critic", "critic_target"):
            weight = _grid(rng, OBS_DIM + act_dim)
            # the action's weights are large: the actor's gradient through Q is never small
            weight[OBS_DIM:] = (
                np.round(rng.choice([-1.0, 1.0], act_dim) * rng.uniform(0.5, 1.0, act_dim) * 32)
                / 32
            )
            nets[name] = {"weight": weight.tolist(), "bias": float(_grid(rng, ()))}
        case["nets"] = nets
        boots = _bootstraps(case)
        gaps = [
            np.abs(boots[a] - boots[b]).max()
            for i, a in enumerate(TARGET_HYPOTHESES)
            for b in TARGET_HYPOTHESES[i + 1 :]
        ]
        if min(gaps) >= 0.05:
            break
    else:
        raise RuntimeError(f"no case with distinguishable TD targets for seed {seed}")
    obs, acts = np.asarray(case["batch"]["obs"]), np.asarray(case["batch"]["acts"])
    q = linear_critic(case["nets"]["critic"], obs, acts)
    mu_obs = linear_actor(case["nets"]["actor"], obs)
    case["q"] = q.tolist()
    case["actor_actions"] = mu_obs.tolist()
    case["actor_loss"] = float(-linear_critic(case["nets"]["critic"], obs, mu_obs).mean())
    rewards = {label: (q - boot).tolist() for label, boot in boots.items()}
    rewards["offset"] = (q - boots["target"] + 1.0).tolist()  # target = Q + 1
    case["rewards"] = rewards
    return case


def _install(agent: Any, case: Record, rewards: list[float], log: list[Record]) -> None:
    nets = case["nets"]
    agent.actor = KnownActor(nets["actor"]["weight"], nets["actor"]["bias"], log, "actor")
    agent.actor_target = KnownActor(
        nets["actor_target"]["weight"], nets["actor_target"]["bias"], log, "actor_target"
    )
    agent.critic = KnownCritic(nets["critic"]["weight"], nets["critic"]["bias"], log, "critic")
    agent.critic_target = KnownCritic(
        nets["critic_target"]["weight"], nets["critic_target"]["bias"], log, "critic_target"
    )
    # learning rate 0: the online networks keep their values, so every number is known
    agent.actor_optimizer = torch.optim.SGD(agent.actor.parameters(), lr=0.0)
    agent.critic_optimizer = torch.optim.SGD(agent.critic.parameters(), lr=0.0)
    batch = {k: np.asarray(v, dtype=np.float32) for k, v in case["batch"].items()}
    batch["rews"] = np.asarray(rewards, dtype=np.float32)
    agent.memory = RecordingMemory(batch)
    agent.gamma, agent.tau = float(case["gamma"]), float(case["tau"])
    agent.batch_size = int(case["batch_size"])
    agent.total_step, agent.is_test = 10_000, False


def run_update_model(DDPGAgent: Callable[..., Any], case: Record) -> Run:
    """One ``update_model()`` per reward set (each TD-target hypothesis, and the offset).

    Each run starts from fresh stand-ins. It records every network call (inputs, and the
    gradient that reached the output), which target parameters received gradient, all
    parameters afterwards and what ``update_model`` returned.
    """
    rec: Record = {"case": case, "error": None, "runs": []}
    labels = ["target", "offset", *TARGET_HYPOTHESES[1:]]
    stage = "construct"
    try:
        with random_state(case["seed"]):
            env = _box_env(int(case["act_dim"]), horizon=10)
            agent = DDPGAgent(env, **_agent_kwargs(case))
            for label in labels:
                stage = f"update_model ({label})"
                log: list[Record] = []
                run: Record = {"label": label, "error": None, "returned": None, "calls": log}
                rec["runs"].append(run)
                _install(agent, case, case["rewards"][label], log)
                try:
                    out = agent.update_model()
                except Exception as exc:  # recorded per run; the first one is re-raised
                    run["error"] = _error(exc)
                    if label == "target":
                        raise
                    continue
                finally:
                    run["target_grads"] = {
                        name: [
                            None if p.grad is None else float(p.grad.abs().max())
                            for p in getattr(agent, name).parameters()
                        ]
                        for name in ("actor_target", "critic_target")
                    }
                    run["after"] = {
                        name: _params(getattr(agent, name))
                        for name in ("actor", "actor_target", "critic", "critic_target")
                    }
                if isinstance(out, tuple | list):
                    run["returned"] = [_number(v) for v in out]
                else:
                    run["returned"] = f"<{type(out).__name__}>"
    except Exception as exc:  # the student's error is data for the judge
        rec["error"] = {"stage": stage, "message": _error(exc)}
        return rec, exc
    return rec, None


def probe_update_model(DDPGAgent: Callable[..., Any], seed: int) -> Record:
    """``update_model`` with known networks and batches built around TD-target hypotheses."""
    return run_update_model(DDPGAgent, update_model_case(seed))[0]
