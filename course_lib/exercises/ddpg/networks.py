"""Notebook 04's exported networks: a deterministic actor and a Q(state, action) critic.

Both arrive as ``torch.export`` programs (:func:`course_lib.observations.module_to_data`).
The grader loads one (weights only, allowed operations only) in its own process and applies
the function its manifest entry names (:class:`~course_lib.exercises.manifest.NetworkProbe`),
``problems(module, data, seed) -> list[str]`` (empty when the network behaves as
specified). Each draws its inputs from the grader's
seed: 16 standard normal states, then 16 actions uniform in [-1, 1].
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "deterministic_actor_problems",
    "state_action_critic_problems",
]


def _output_layer_problems(module: Any, n_out: int, init_w: float) -> list[str]:
    """Some layer with ``n_out`` outputs has weight and bias uniform in [-init_w, init_w]."""
    params = dict(module.named_parameters())
    candidates = [(name, p) for name, p in params.items() if p.dim() == 2 and p.shape[0] == n_out]
    if not candidates:
        return [f"no layer has {n_out} output(s)"]
    for name, weight in reversed(candidates):
        bias = params.get(name[: -len("weight")] + "bias") if name.endswith("weight") else None
        tensors = [weight] if bias is None else [weight, bias]
        inside = all(float(t.detach().abs().max()) <= init_w * (1 + 1e-6) for t in tensors)
        # 32 or more uniform draws: the chance that they span less than half the range is
        # about 32 * 0.5**31, below 1e-7
        w = weight.detach()
        spread = w.numel() < 32 or float(w.max() - w.min()) > init_w
        if inside and spread:
            return []
    return [
        f"the output layer is not initialized uniformly in [-init_w, init_w] = "
        f"[-{init_w:g}, {init_w:g}] (weight and bias)"
    ]


def _grader_inputs(data: dict[str, Any], seed: int, *, actions: bool) -> tuple[Any, Any]:
    """The grader's 16 states (standard normal), then with ``actions`` its 16 actions
    (uniform in [-1, 1], else None), drawn from ``seed``."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    n_in, n_act = int(data["num_inputs"]), int(data["num_actions"])
    obs = torch.randn(16, n_in, generator=gen)
    act = torch.rand(16, n_act, generator=gen) * 2 - 1 if actions else None
    return obs, act


def deterministic_actor_problems(module: Any, data: dict[str, Any], seed: int) -> list[str]:
    """A deterministic actor: (B, A) actions in [-1, 1] even when scaled up, rows
    independent, the output layer uniform in [-init_w, init_w]."""
    import torch

    from course_lib.exercises.networks import (
        actor_reach_finding,
        first_rows_equal,
    )

    obs, _ = _grader_inputs(data, seed, actions=False)
    n_act, init_w = int(data["num_actions"]), float(data["init_w"])
    action = module(obs)
    if not isinstance(action, torch.Tensor) or tuple(action.shape) != (obs.shape[0], n_act):
        got = tuple(action.shape) if isinstance(action, torch.Tensor) else type(action).__name__
        return [f"actions have shape {got}, not ({obs.shape[0]}, {n_act})"]
    problems = _output_layer_problems(module, n_act, init_w)
    other = torch.cat([obs[:3], torch.randn(5, obs.shape[1], generator=_gen(obs))])
    if not first_rows_equal(action, module(other)):
        problems.append("one state's action depends on the rest of the batch")
    found = actor_reach_finding(module, lambda m, x: m(x), obs.shape[1], n_act, -1.0, 1.0)
    if found is not None:
        problems.append(found.named_problem())
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(50.0).add_(1.0)
        for x in (obs, 1e3 * obs.abs(), -1e3 * obs.abs()):
            out = module(x)
            if not bool(torch.isfinite(out).all()) or float(out.abs().max()) > 1.0:
                problems.append("the action leaves [-1, 1] (squash the output with tanh)")
                break
    return problems


def state_action_critic_problems(module: Any, data: dict[str, Any], seed: int) -> list[str]:
    """A critic Q(state, action): (B, 1), depends on both inputs, rows independent, the
    output layer uniform in [-init_w, init_w]."""
    import torch

    from course_lib.exercises.networks import (
        first_rows_equal,
        value_reach_finding,
    )

    obs, act = _grader_inputs(data, seed, actions=True)
    init_w = float(data["init_w"])
    state, action = obs.clone().requires_grad_(), act.clone().requires_grad_()
    q = module(state, action)
    if not isinstance(q, torch.Tensor) or tuple(q.shape) != (obs.shape[0], 1):
        got = tuple(q.shape) if isinstance(q, torch.Tensor) else type(q).__name__
        return [f"values have shape {got}, not ({obs.shape[0]}, 1)"]
    problems = _output_layer_problems(module, 1, init_w)
    g_state, g_action = torch.autograd.grad(q.sum(), [state, action], allow_unused=True)
    if any(g is None or float(g.abs().sum()) == 0.0 for g in (g_state, g_action)):
        problems.append("Q does not depend on both the state and the action")
    gen = _gen(obs)
    other_s = torch.cat([obs[:3], torch.randn(5, obs.shape[1], generator=gen)])
    other_a = torch.cat([act[:3], torch.rand(5, act.shape[1], generator=gen) * 2 - 1])
    with torch.no_grad():
        if not first_rows_equal(q.detach(), module(other_s, other_a)):
            problems.append("one pair's value depends on the rest of the batch")
    n_in = obs.shape[1]
    found = value_reach_finding(
        module, lambda m, x: m(x[:, :n_in], x[:, n_in:]), n_in + act.shape[1], "Q(state, action)"
    )
    if found is not None:
        problems.append(found.named_problem())
    return problems


def _gen(obs: Any) -> Any:
    import torch

    return torch.Generator().manual_seed(int(obs.shape[0]) * 7919 + int(obs.shape[1]))
