"""The checks of PPO's actor and critic, and of their uniform initialization

Part of :mod:`course_lib.checks.ppo`."""

from __future__ import annotations

from collections.abc import Callable

import torch

from course_lib.checks.core import fail_on, passed
from course_lib.exercises.ppo.networks import (
    diagnose_init_layer_uniform,
    diagnose_ppo_actor,
    diagnose_ppo_critic,
)


def check_init_layer_uniform(init_layer_uniform: Callable[..., torch.nn.Linear]) -> None:
    """Check ``init_layer_uniform(layer, init_w)``: weights and biases uniform in [-w, w]."""
    name = "check_init_layer_uniform"
    fail_on(name, diagnose_init_layer_uniform(init_layer_uniform))
    passed(name, "weights and biases uniform in [-init_w, init_w], the layer returned")


def check_ppo_actor(PPOActor: Callable[..., torch.nn.Module]) -> None:
    """Check ``PPOActor(in_dim, out_dim, log_std_min, log_std_max)``.

    ``forward(state)`` returns ``(action, dist)``: a ``Normal`` whose mean is in
    [-1, 1] (tanh) and whose log-std stays in [log_std_min, log_std_max] even for
    extreme inputs and weights; the action is a sample of it.
    """
    name = "check_ppo_actor"
    fail_on(name, diagnose_ppo_actor(PPOActor))
    passed(name, "Normal with tanh mean in [-1, 1], bounded learned log-std, sampled action")


def check_ppo_critic(PPOCritic: Callable[..., torch.nn.Module]) -> None:
    """Check ``PPOCritic(in_dim)``: ``forward(state)`` returns V of shape (B, 1)."""
    name = "check_ppo_critic"
    fail_on(name, diagnose_ppo_critic(PPOCritic))
    passed(name, "V(state) has shape (B, 1) and gradient")
