"""Notebook 03's networks exercise: its visible cases and diagnoses, raised by
:mod:`course_lib.checks.ppo.networks`.

Part of :mod:`course_lib.exercises.ppo`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.exercises.compare import shape_finding
from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.networks import (
    actor_reach_finding,
    build,
    diagnose_value_network,
    grads,
    seeded_obs,
)


def diagnose_init_layer_uniform(
    init_layer_uniform: Callable[..., torch.nn.Linear],
) -> Finding | None:
    """Diagnose ``init_layer_uniform(layer, init_w)``: weights and biases uniform in [-w, w]."""
    for init_w in (3e-3, 0.5):
        layer = torch.nn.Linear(64, 200)
        out = init_layer_uniform(layer, init_w) if init_w != 3e-3 else init_layer_uniform(layer)
        if out is not layer:
            return Finding(
                "init_layer_uniform must return the layer it was given (initialized in place).",
                got=type(out).__name__,
                hint=Hint("ppo.networks.layer_not_returned", "end with `return layer`."),
            )
        for what, tensor in (("weight", layer.weight), ("bias", layer.bias)):
            values = tensor.detach()
            if not bool(values.abs().max() <= init_w + 1e-7):
                return Finding(
                    f"layer.{what} has entries outside [-{init_w:g}, {init_w:g}].",
                    got=f"largest |{what}| = {float(values.abs().max()):.4g}",
                    hint=Hint(
                        "ppo.networks.layer_not_uniform_init",
                        f"initialize layer.{what} with .uniform_(-init_w, init_w) (the bias too).",
                    ),
                    where=f"init_w={init_w:g}",
                )
            spread = float(values.max() - values.min())
            if not (spread > 1.5 * init_w if values.numel() >= 64 else spread > 0):
                return Finding(
                    f"layer.{what} does not look uniform over [-{init_w:g}, {init_w:g}].",
                    got=f"min {float(values.min()):.4g}, max {float(values.max()):.4g}",
                    hint=Hint(
                        "ppo.networks.init_not_spread",
                        f"use layer.{what}.data.uniform_(-init_w, init_w); a constant or the "
                        "default init does not spread over the whole interval.",
                    ),
                    where=f"init_w={init_w:g}",
                )
    return None


def _actor_outputs(
    actor: torch.nn.Module, obs: torch.Tensor
) -> tuple[tuple[Any, Any] | None, Finding | None]:
    out = actor(obs)
    if not (isinstance(out, tuple) and len(out) == 2):
        return None, Finding(
            "forward(state) must return a pair (action, dist).",
            got=type(out).__name__,
            hint=Hint(
                "ppo.networks.forward_not_action_dist",
                "end forward with `return action, dist` where dist = Normal(mu, std).",
            ),
        )
    action, dist = out
    if not isinstance(dist, torch.distributions.Normal):
        return None, Finding(
            "the second output must be a torch.distributions.Normal.", got=type(dist).__name__
        )
    return (action, dist), None


def diagnose_ppo_actor(PPOActor: Callable[..., torch.nn.Module]) -> Finding | None:
    """Diagnose ``PPOActor(in_dim, out_dim, log_std_min, log_std_max)``.

    ``forward(state)`` returns ``(action, dist)``: a ``Normal`` whose mean is in
    [-1, 1] (tanh) and whose log-std stays in [log_std_min, log_std_max] even for
    extreme inputs and weights; the action is a sample of it.
    """
    for in_dim, out_dim in [(3, 1), (5, 2)]:
        actor, found = build(PPOActor, in_dim, out_dim)
        if found is not None:
            return found
        obs = seeded_obs(7, in_dim)
        _value, found = _actor_outputs(actor, obs)
        if found is not None:
            return found
        action, dist = _value
        found = shape_finding(
            "dist.mean",
            dist.mean,
            (7, out_dim),
            hint=Hint(
                "ppo.networks.mean_layer_wrong_size",
                "one mean per observation and action dimension.",
            ),
        )
        if found is not None:
            return found
        found = shape_finding("dist.stddev", dist.stddev.expand_as(dist.mean), (7, out_dim))
        if found is not None:
            return found
        found = shape_finding(
            "action",
            action,
            (7, out_dim),
            hint=Hint(
                "ppo.networks.action_not_sampled",
                "return a sample of dist: `action = dist.sample()`.",
            ),
        )
        if found is not None:
            return found
        if not bool(dist.mean.abs().max() <= 1.0):
            return Finding(
                "the mean is outside [-1, 1].",
                got=f"largest |mean| = {float(dist.mean.detach().abs().max()):.4g}",
                hint=Hint(
                    "ppo.networks.mean_not_tanh_squashed",
                    "squash the mean with torch.tanh: actions live in [-1, 1] (ActionNormalizer "
                    "rescales them to the env's range).",
                ),
            )
        params = [p for p in actor.parameters() if p.requires_grad]
        log_prob = dist.log_prob(action.detach()).sum()
        if not (len(params) > 0 and any(g.abs().sum() > 0 for g in grads(log_prob, params))):
            return Finding(
                "no gradient flows from dist.log_prob back to the actor's parameters.",
                hint=Hint(
                    "ppo.networks.dist_params_detached",
                    "build mu and std from the network without .detach() or torch.no_grad().",
                ),
            )
        g_mean, g_std = (
            grads(dist.mean.sum(), params),
            grads(dist.stddev.expand_as(dist.mean).sum(), params),
        )
        if not any(g.abs().sum() > 0 for g in g_std):
            return Finding(
                "the standard deviation is not learned: no parameter changes it.",
                hint=Hint(
                    "ppo.networks.log_std_not_learned",
                    "make log_std a learned output (a layer) or an nn.Parameter.",
                ),
            )
        if not any(g.abs().sum() > 0 for g in g_mean):
            return Finding("the mean has no gradient.")
        found = actor_reach_finding(
            actor,
            lambda m, x: _actor_outputs(m, x)[0][1].mean,
            in_dim,
            out_dim,
            -1.0,
            1.0,
            "the mean",
        )
        if found is not None:
            return found
        # extreme inputs and weights: the bounds must hold anyway
        for low, high in [(-20.0, 0.0), (-5.0, 2.0)]:
            bounded, found = build(PPOActor, in_dim, out_dim, log_std_min=low, log_std_max=high)
            if found is not None:
                return found
            with torch.no_grad():
                for p in bounded.parameters():
                    p.mul_(50.0)
                    p.add_(1.0)
            for sign in (1.0, -1.0):
                _value, found = _actor_outputs(bounded, sign * 1e3 * obs.abs())
                if found is not None:
                    return found
                _, d = _value
                log_std = d.stddev.detach().log()
                if not (
                    bool(torch.isfinite(log_std).all())
                    and bool((log_std >= low - 1e-4).all())
                    and bool((log_std <= high + 1e-4).all())
                ):
                    return Finding(
                        f"log-std leaves [log_std_min, log_std_max] = [{low:g}, {high:g}] for "
                        "large inputs or weights.",
                        got=f"log std in [{float(log_std.min()):.4g}, {float(log_std.max()):.4g}]",
                        hint=Hint(
                            "ppo.networks.log_std_unbounded",
                            "bound it: log_std = log_std_min + (log_std_max - log_std_min) * "
                            "(tanh(x) + 1) / 2, or torch.clamp(x, log_std_min, log_std_max). "
                            "An unbounded std explodes or collapses during training.",
                        ),
                    )
                if not bool(d.mean.abs().max() <= 1.0):
                    return Finding(
                        "the mean leaves [-1, 1] for large inputs or weights.",
                        hint=Hint(
                            "ppo.networks.mean_not_tanh_squashed",
                            "squash the mean with torch.tanh.",
                        ),
                    )
    return None


def diagnose_ppo_critic(PPOCritic: Callable[..., torch.nn.Module]) -> Finding | None:
    """Diagnose ``PPOCritic(in_dim)``: ``forward(state)`` returns V of shape (B, 1)."""
    return diagnose_value_network(
        PPOCritic, (3, 5), forward="forward", value="V(state)", float32=False
    )
