"""Handing a trained policy to the grader: one convention for every notebook.

Each notebook with a reward criterion ends its training section with a
variable named ``trained_policy``: the trained network (or agent's actor). A
notebook that trains on several tasks names one per task,
``trained_policy_<task>`` (notebook 05: ``trained_policy_pendulum`` and
``trained_policy_mountaincar``). A
graded cell then calls :func:`export_policy`, which wraps it into a
deterministic ``obs -> action`` module in the environment's own units and
saves it with ``torch.export`` as data (a graph of tensor operations and its
weights). The grader loads that file with :func:`load_policy` outside the
student's kernel and runs its own evaluation episodes: no number printed or
returned in the notebook counts.

Kinds of actor understood (``kind="auto"`` tells them apart by the output):

* ``"categorical"``: ``forward(obs)`` returns a ``torch.distributions.Categorical``;
  the action is the most probable one.
* ``"two_headed"``: ``forward(obs)`` returns ``(action_probs, value)``; the
  action is the argmax of the probabilities.
* ``"gaussian"``: ``forward(obs)`` returns ``(action, dist)`` with ``dist`` a
  ``Normal``; the action is the mean, rescaled from [-1, 1] to the env's range.
* ``"deterministic"``: ``forward(obs)`` returns an action in [-1, 1] (tanh
  output); it is rescaled to the env's range. With ``action_scale="env"`` the
  output is taken to be in env units already (TD3's ``max_action`` actor).
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn

__all__ = [
    "POLICY_VARIABLE",
    "DeterministicPolicy",
    "export_policy",
    "load_policy",
    "policy_to_data",
]

POLICY_VARIABLE = "trained_policy"
Kind = Literal["auto", "categorical", "two_headed", "gaussian", "deterministic"]
_KINDS = ("categorical", "two_headed", "gaussian", "deterministic")


class DeterministicPolicy(nn.Module):
    """Wrap an actor into ``obs (B, obs_dim) float32 -> action`` in env units.

    Discrete envs get ``(B,) int64`` actions; Box envs ``(B, act_dim) float32``.
    """

    def __init__(
        self,
        actor: nn.Module,
        kind: str,
        low: np.ndarray | None = None,
        high: np.ndarray | None = None,
        action_scale: Literal["normalized", "env"] = "normalized",
    ) -> None:
        super().__init__()
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
        self.actor = actor
        self.kind = kind
        self.rescale = kind in ("gaussian", "deterministic") and action_scale == "normalized"
        if low is not None and high is not None:
            self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))
            self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32))
        elif self.rescale:
            raise ValueError(f"a {kind} actor needs the action space's low and high to rescale")

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        out = self.actor(obs)
        if self.kind == "categorical":
            return out.probs.argmax(dim=-1)
        if self.kind == "two_headed":
            return out[0].argmax(dim=-1)
        action = out[1].mean if self.kind == "gaussian" else out
        if self.rescale:
            action = self.low + (action.clamp(-1.0, 1.0) + 1.0) * 0.5 * (self.high - self.low)
        return action.reshape(obs.shape[0], -1)


def _detect_kind(actor: nn.Module, obs: torch.Tensor) -> str:
    out = actor(obs)
    if isinstance(out, torch.distributions.Categorical):
        return "categorical"
    if isinstance(out, tuple) and len(out) == 2:
        if isinstance(out[1], torch.distributions.Normal):
            return "gaussian"
        if isinstance(out[0], torch.Tensor) and isinstance(out[1], torch.Tensor):
            return "two_headed"
    if isinstance(out, torch.Tensor):
        return "deterministic"
    raise TypeError(
        f"cannot tell what kind of actor this is: forward(obs) returned {type(out).__name__}. "
        f"Expected a Categorical, (action_probs, value), (action, Normal) or an action tensor; "
        f"pass kind=... to export_policy."
    )


def _export(
    policy: nn.Module, env_id: str, kind: Kind, action_scale: Literal["normalized", "env"]
) -> tuple[torch.export.ExportedProgram, dict[str, Any]]:
    if not isinstance(policy, nn.Module):
        raise TypeError(
            f"{POLICY_VARIABLE} must be a torch.nn.Module (your trained actor), "
            f"got {type(policy).__name__}."
        )
    env = gym.make(env_id)
    try:
        obs_space, act_space = env.observation_space, env.action_space
    finally:
        env.close()
    obs = torch.as_tensor(np.asarray(obs_space.sample())[None], dtype=torch.float32)
    was_training = policy.training
    policy.eval()
    try:
        with torch.no_grad():
            found = _detect_kind(policy, obs) if kind == "auto" else kind
        low = high = None
        if isinstance(act_space, gym.spaces.Box):
            low, high = act_space.low, act_space.high
        wrapped = DeterministicPolicy(policy, found, low, high, action_scale).eval()
        # Argument validation in torch.distributions branches on tensor values,
        # which a traced graph cannot hold; the exported policy does not need it.
        validate = torch.distributions.Distribution._validate_args
        torch.distributions.Distribution.set_default_validate_args(False)
        try:
            with torch.no_grad():
                program = torch.export.export(wrapped, (obs,))
        finally:
            torch.distributions.Distribution.set_default_validate_args(validate)
    finally:
        policy.train(was_training)
    return program, {"env_id": env_id, "kind": found, "obs_shape": list(obs.shape[1:])}


def export_policy(
    policy: nn.Module,
    env_id: str,
    path: str | Path,
    *,
    kind: Kind = "auto",
    action_scale: Literal["normalized", "env"] = "normalized",
) -> Path:
    """Save ``policy`` as a deterministic obs -> action program for the grader.

    Args:
        policy: the trained actor (an ``nn.Module``), the notebook's ``trained_policy``.
        env_id: the environment it acts in, e.g. ``"CartPole-v1"``.
        path: where to write the ``.pt2`` file.
        kind: what the actor returns (see the module docstring); ``"auto"`` detects it.
        action_scale: whether a continuous actor acts in [-1, 1] (``"normalized"``) or in
            the env's units (``"env"``).

    Returns:
        The path written.
    """
    program, meta = _export(policy, env_id, kind, action_scale)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, path, extra_files={"course_lib.json": json.dumps(meta)})
    return path


def policy_to_data(
    policy: nn.Module,
    env_id: str,
    *,
    kind: Kind = "auto",
    action_scale: Literal["normalized", "env"] = "normalized",
    pass_mark: float | None = None,
    episodes: int | None = None,
) -> dict[str, Any]:
    """Like :func:`export_policy`, but as an observation: ``{"meta": ..., "program": base64}``.

    Args:
        pass_mark, episodes: the notebook's criterion (mean return over that many episodes),
            recorded as ``"criterion"``. The grader plays the reference solution's policy
            observation's criterion, so a hidden test passes the notebook's config here and
            the numbers are written once, in the config.

    Raises:
        ValueError: only one of ``pass_mark`` and ``episodes`` is given, or ``episodes`` < 1.
    """
    if (pass_mark is None) != (episodes is None):
        raise ValueError(
            "policy_to_data: give both pass_mark and episodes (the notebook's criterion), "
            "or neither"
        )
    if episodes is not None and (
        isinstance(episodes, bool) or int(episodes) != episodes or episodes < 1
    ):
        raise ValueError(f"policy_to_data: episodes must be a whole number >= 1, not {episodes!r}")
    program, meta = _export(policy, env_id, kind, action_scale)
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={"course_lib.json": json.dumps(meta)})
    data: dict[str, Any] = {
        "meta": meta,
        "program": base64.b64encode(buffer.getvalue()).decode("ascii"),
    }
    if pass_mark is not None and episodes is not None:
        data["criterion"] = {
            "env_id": env_id,
            "threshold": float(pass_mark),
            "episodes": int(episodes),
        }
    return data


def load_policy(source: str | Path | bytes) -> tuple[Any, dict[str, Any]]:
    """Load an exported policy (a file, or the bytes of one): returns ``(act, meta)``.

    ``act`` takes one observation (numpy) and returns an int (Discrete) or a
    float32 array (Box), ready for :func:`course_lib.evaluation.evaluate`.
    """
    extra: dict[str, str] = {"course_lib.json": ""}
    where = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    program = torch.export.load(where, extra_files=extra)
    meta = json.loads(extra["course_lib.json"] or "{}")
    module = program.module()

    def act(obs: np.ndarray) -> Any:
        x = torch.as_tensor(np.asarray(obs, dtype=np.float32)[None])
        with torch.no_grad():
            y = module(x)[0]
        return int(y) if y.ndim == 0 else y.numpy().astype(np.float32)

    return act, meta
