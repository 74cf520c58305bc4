"""Notebook 05's exported networks (TD3), probed by the grader in its own process.

Two functions ``problems(module, data, seed) -> list[str]`` (empty when the network behaves
as specified), named by the manifest's
:class:`~course_lib.exercises.manifest.NetworkProbe` entries; the grader loads the program
(weights only, allowed operations only) and applies one:

* ``td3_actor``: ``module(state)`` -> actions (B, action_dim) within ±max_action, even
  with weights scaled up 50 times and inputs up to 1000 times, beyond ±1 when
  max_action > 1, each row independent of the others;
* ``twin_critic``: ``module(state, action)`` -> ``(q1, q2, Q1)``, each (B, 1), q1 and q2
  from networks sharing no parameter, each reading the state and the action, ``Q1``
  equal to ``q1``, each row independent of the others.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["td3_actor_problems", "twin_critic_problems"]


def td3_actor_problems(module: Any, data: dict[str, Any], seed: int) -> list[str]:
    """A deterministic actor in env units: shape, ±max_action bounds, scale, independent rows."""
    import torch

    from course_lib.exercises.networks import (
        actor_reach_finding,
        rows_independent,
    )

    n_in, n_act = int(data["num_inputs"]), int(data["num_actions"])
    top = float(data["max_action"])
    obs = torch.randn(16, n_in, generator=torch.Generator().manual_seed(seed))
    out = module(obs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (16, n_act):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return [f"actions have shape {shape}, not (16, {n_act})"]
    if not rows_independent(module, obs, seed=1):
        return ["one state's action depends on the rest of the batch"]
    reach = actor_reach_finding(module, lambda m, x: m(x), n_in, n_act, -top, top)
    largest = 0.0
    with torch.no_grad():
        for scaled in (False, True):
            if scaled:
                for p in module.parameters():
                    if p.dim() >= 1:
                        p.mul_(50.0)
            for x in (obs, 30.0 * obs, 1e3 * obs.abs(), -1e3 * obs.abs()):
                actions = module(x)
                finite = bool(torch.isfinite(actions).all())
                peak = float(actions.abs().max()) if finite else math.inf
                if peak > top * (1 + 1e-6):
                    return [
                        f"the actions leave [-max_action, max_action] = [-{top:.3g}, {top:.3g}] "
                        f"(largest |action| {peak:.4g}): squash with tanh, then multiply by "
                        "max_action"
                    ]
                largest = max(largest, peak)
    if top > 1.0 and largest <= 1.0 + 1e-3:
        return [
            f"the actions never go beyond [-1, 1] though max_action = {top:.3g}: multiply "
            "tanh's output by max_action"
        ]
    return [] if reach is None else [reach.named_problem()]


def twin_critic_problems(module: Any, data: dict[str, Any], seed: int) -> list[str]:
    """Two independent Q networks of (state, action); Q1 equal to forward's q1."""
    import torch

    from course_lib.exercises.networks import (
        rows_independent,
        value_reach_finding,
    )

    n_in, n_act = int(data["num_inputs"]), int(data["num_actions"])
    gen = torch.Generator().manual_seed(seed)
    state = torch.randn(16, n_in, generator=gen).requires_grad_()
    action = torch.randn(16, n_act, generator=gen).requires_grad_()
    out = module(state, action)
    if not isinstance(out, tuple | list) or len(out) != 3:
        return ["the exported critic does not return (q1, q2) and Q1"]
    q1, q2, again = out
    for label, q in (("q1", q1), ("q2", q2), ("Q1", again)):
        if tuple(q.shape) != (16, 1):
            doubled = tuple(q.shape[:1]) == (32,)
            return [
                f"{label} has shape {tuple(q.shape)}, not (16, 1)"
                + (": concatenate state and action on dim=1, not dim=0" if doubled else "")
            ]
    if not torch.allclose(again, q1, atol=1e-5, rtol=1e-4):
        return ["Q1(state, action) differs from forward's q1"]
    params = [p for p in module.parameters() if p.requires_grad]
    g1 = torch.autograd.grad(q1.sum(), params, retain_graph=True, allow_unused=True)
    g2 = torch.autograd.grad(q2.sum(), params, retain_graph=True, allow_unused=True)
    shared = any(
        a is not None and b is not None and a.abs().sum() > 0 and b.abs().sum() > 0
        for a, b in zip(g1, g2, strict=True)
    )
    if shared or torch.allclose(q1, q2):
        return ["q1 and q2 share parameters: the two critics must be independent networks"]
    for label, q in (("q1", q1), ("q2", q2)):
        found = torch.autograd.grad(q.sum(), [state, action], retain_graph=True, allow_unused=True)
        if any(g is None or not bool(g.abs().sum() > 0) for g in found):
            return [f"{label} does not depend on both the state and the action"]
    for j in (0, 1):
        if not rows_independent(
            lambda s, a, j=j: module(s, a)[j], state.detach(), action.detach(), seed=1
        ):
            return ["one row's Q value depends on the rest of the batch"]
    found = value_reach_finding(
        module,
        lambda m, x: torch.cat(m(x[:, :n_in], x[:, n_in:])[:2], dim=1),
        n_in + n_act,
        "q1 and q2",
    )
    return [] if found is None else [found.named_problem()]
