"""Helpers for the diagnoses of networks and losses: building a student's network, inputs,
gradients, shared parameters, and a property every correct network of the course has: each
row of a batch is its own.

A network that normalizes or mixes over the batch gives one state's action (or value) a
dependence on the other states. The visible checks and the grader's probes of exported
networks test it the same way: the first three rows' outputs must not change when the rest of
the batch does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.exercises.compare import shape_finding
from course_lib.exercises.finding import Finding, Hint

__all__ = [
    "REACH_BIAS",
    "ROWS",
    "actor_reach_finding",
    "build",
    "deterministic_finding",
    "diagnose_value_network",
    "first_rows_equal",
    "grads",
    "n_params",
    "output_range",
    "rows_independent",
    "seeded_obs",
    "shares_parameters",
    "top_probability_scaled",
    "value_reach_finding",
    "with_other_rows",
]

#: How many leading rows are compared.
ROWS = 3


def first_rows_equal(full: torch.Tensor, again: torch.Tensor) -> bool:
    """Whether the first :data:`ROWS` rows of two outputs agree (atol 1e-5, rtol 1e-4).

    Examples:
        >>> first_rows_equal(torch.ones(5, 2), torch.ones(3, 2))
        True
        >>> first_rows_equal(torch.ones(5, 2), torch.zeros(3, 2))
        False
    """
    return bool(torch.allclose(full[:ROWS], again[:ROWS], atol=1e-5, rtol=1e-4))


def with_other_rows(x: torch.Tensor, gen: torch.Generator, n: int = 5) -> torch.Tensor:
    """``x``'s first :data:`ROWS` rows followed by ``n`` standard-normal rows from ``gen``."""
    return torch.cat([x[:ROWS], torch.randn(n, *x.shape[1:], generator=gen)])


def rows_independent(fn: Callable[..., Any], *inputs: torch.Tensor, seed: int) -> bool:
    """Whether ``fn``'s first rows stay the same when the other rows of every input change
    (to rows drawn from ``seed``).

    Examples:
        >>> rows_independent(lambda x: 2 * x, torch.randn(8, 3), seed=0)
        True
        >>> rows_independent(lambda x: x - x.mean(0), torch.randn(8, 3), seed=0)
        False
    """
    gen = torch.Generator().manual_seed(seed)
    others = [with_other_rows(x, gen) for x in inputs]
    with torch.no_grad():
        return first_rows_equal(fn(*inputs), fn(*others))


def seeded_obs(batch: int, dim: int, seed: int = 0) -> torch.Tensor:
    """A reproducible batch of float32 observations, without touching the global RNG."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, dim, generator=gen)


def build(
    cls: Callable[..., Any], *args: Any, **kwargs: Any
) -> tuple[torch.nn.Module | None, Finding | None]:
    """Instantiate a student's network class: ``(net, None)``, or ``(None, what is wrong)``
    when it raised or is not a module (a ``NotImplementedError``, the stub, propagates)."""
    try:
        net = cls(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as err:
        call = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        return None, Finding(f"{cls.__name__}({call}) raised {type(err).__name__}: {err}")
    if not isinstance(net, torch.nn.Module):
        return None, Finding(
            f"{cls.__name__} must be a torch.nn.Module subclass.",
            got=type(net).__name__,
            hint=Hint(
                "networks.network.not_a_module",
                "declare it as `class Name(nn.Module)` and call super().__init__() first.",
            ),
        )
    return net, None


def grads(output: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """d output / d input for each input (zeros where the output does not depend on it)."""
    if not output.requires_grad:
        return [torch.zeros_like(x) for x in inputs]
    found = torch.autograd.grad(output, inputs, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, found, strict=True)]


def shares_parameters(net: torch.nn.Module, a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether some parameter of ``net`` gets a non-zero gradient from both ``a`` and ``b``."""
    params = [p for p in net.parameters() if p.requires_grad]
    ga = grads(a.sum(), params)
    gb = grads(b.sum(), params)
    return any(x.abs().sum() > 0 and y.abs().sum() > 0 for x, y in zip(ga, gb, strict=True))


def n_params(net: torch.nn.Module) -> int:
    """How many numbers the network's parameters hold."""
    return sum(p.numel() for p in net.parameters())


def diagnose_value_network(
    Critic: Callable[..., torch.nn.Module],
    in_dims: tuple[int, ...],
    *,
    forward: str,
    value: str,
    float32: bool,
) -> Finding | None:
    """A state-value critic ``Critic(in_dim)``: ``forward`` returns ``value`` of shape (B, 1),
    with gradient (and float32, with ``float32``), for each of ``in_dims``."""
    for in_dim in in_dims:
        critic, found = build(Critic, in_dim)
        if found is not None:
            return found
        out = critic(seeded_obs(7, in_dim))
        if not isinstance(out, torch.Tensor):
            return Finding(f"{forward} must return a tensor.", got=type(out).__name__)
        found = shape_finding(
            value,
            out,
            (7, 1),
            hint=Hint(
                "networks.critic.value_squeezed",
                "end with nn.Linear(hidden, 1) and do not squeeze inside the critic.",
            ),
        )
        if found is not None:
            return found
        if float32 and out.dtype != torch.float32:
            return Finding(f"{value} must be float32.", got=out.dtype)
        if not out.requires_grad:
            return Finding(
                f"{value} carries no gradient.",
                hint=Hint(
                    "networks.critic.output_detached",
                    "do not detach or wrap the forward pass in torch.no_grad().",
                ),
            )
        found = value_reach_finding(critic, lambda m, x: m(x), in_dim, value)
        if found is not None:
            return found
    return None


SCALE_UP = 50.0
"""How much :func:`top_probability_scaled` multiplies every parameter by."""
DETERMINISTIC_TOP = 0.99
"""The top probability a discrete policy must reach once its parameters are scaled up."""


def top_probability_scaled(
    module: torch.nn.Module, probs: Callable[[torch.nn.Module], torch.Tensor]
) -> float:
    """The largest probability ``probs(module)`` gives any action once every parameter of
    ``module`` is multiplied by :data:`SCALE_UP`, in place (pass a network of your own).

    Scaling a network's weights and biases up scales its output scores up, so a policy whose
    scores are its logits grows as sure as it likes: its top probability goes to 1. One whose
    scores are squashed first (probabilities fed back in as logits, a tanh) stays uncertain
    whatever it learns, and a greedy evaluation hides it.
    """
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(SCALE_UP)
        return float(probs(module).max())


def deterministic_finding(top: float) -> Finding | None:
    """A :class:`Finding` when a policy's :func:`top_probability_scaled` stays below
    :data:`DETERMINISTIC_TOP`: it can never become (nearly) deterministic."""
    if top >= DETERMINISTIC_TOP:
        return None
    return Finding(
        "the policy can never become deterministic: with every weight scaled up "
        f"{SCALE_UP:g}x, the most likely action still gets at most {top:.2f} of the "
        "probability.",
        hint=Hint(
            "networks.policy.softmax_as_logits",
            "softmax probabilities passed as logits (Categorical(logits=softmax(x))), or "
            "squashed scores, keep every action likely whatever the network learns: pass the raw "
            "scores as logits=, or the softmax output as probs=.",
        ),
    )


REACH_BIAS = 1000.0
"""What :func:`output_range` sets an output bias to, either sign."""


def output_range(
    module: torch.nn.Module,
    outputs: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor],
    n_in: int,
    n_out: int,
    *,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The smallest and largest output, per column, that ``outputs(module, x)`` gives on 16
    seeded inputs ``x`` when an output bias is set to ``+-``:data:`REACH_BIAS`; None when the
    module has no bias of ``n_out`` entries. Every bias tried is put back afterwards.

    An output layer ``Linear(hidden, n_out)`` adds its bias last: set large, it drives an actor
    that ends in tanh (times max_action) to either end of its range, and a value head that
    ends in the linear layer to large values of either sign. A squashing mistake cannot
    follow: a sigmoid never goes below 0, a ReLU or a tanh after a value head caps it. Each
    parameter of ``n_out`` entries is tried (the output bias is one of them).
    """
    x = torch.randn(16, n_in, generator=torch.Generator().manual_seed(seed))
    lows: list[torch.Tensor] = []
    highs: list[torch.Tensor] = []
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() != 1 or p.numel() != n_out:
                continue
            kept = p.detach().clone()
            try:
                for sign in (1.0, -1.0):
                    p.fill_(sign * REACH_BIAS)
                    try:
                        out = outputs(module, x).detach().double().reshape(16, -1)
                    except Exception:  # not the output bias: a std of exp(-1000) is refused
                        continue
                    lows.append(out.min(dim=0).values)
                    highs.append(out.max(dim=0).values)
            finally:
                p.copy_(kept)
    if not lows:
        return None
    return torch.stack(lows).min(dim=0).values, torch.stack(highs).max(dim=0).values


def bounded_reach_finding(
    low_seen: torch.Tensor, high_seen: torch.Tensor, low: float, high: float, what: str, hint: str
) -> Finding | None:
    """A :class:`Finding` when the outputs :func:`output_range` saw do not reach within 5% of
    both ends of ``[low, high]`` in every column."""
    margin = 0.05 * (high - low)
    for j, (lo, hi) in enumerate(zip(low_seen.tolist(), high_seen.tolist(), strict=True)):
        if lo > low + margin or hi < high - margin:
            return Finding(
                f"{what} can never reach both ends of [{low:g}, {high:g}]: even with its output "
                f"bias at +-{REACH_BIAS:g}, column {j} stays within [{lo:.3g}, {hi:.3g}].",
                hint=hint,
            )
    return None


def unbounded_reach_finding(
    low_seen: torch.Tensor, high_seen: torch.Tensor, what: str, hint: str
) -> Finding | None:
    """A :class:`Finding` when the values :func:`output_range` saw are not large of both
    signs: a value head must be able to learn any return."""
    for j, (lo, hi) in enumerate(zip(low_seen.tolist(), high_seen.tolist(), strict=True)):
        if lo > -0.5 * REACH_BIAS or hi < 0.5 * REACH_BIAS:
            return Finding(
                f"{what} cannot take every value: even with its output bias at "
                f"+-{REACH_BIAS:g}, column {j} stays within [{lo:.3g}, {hi:.3g}].",
                hint=hint,
            )
    return None


def actor_reach_finding(
    module: torch.nn.Module,
    outputs: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor],
    n_in: int,
    n_out: int,
    low: float,
    high: float,
    what: str = "the action",
) -> Finding | None:
    """A squashing mistake in a bounded actor: ``outputs(module, x)`` cannot reach both ends
    of ``[low, high]`` (see :func:`output_range`)."""
    seen = output_range(module, outputs, n_in, n_out)
    if seen is None:
        return None
    return bounded_reach_finding(
        *seen,
        low,
        high,
        what,
        hint=Hint(
            "networks.actor.squashed_output",
            "end with tanh (times the bound): a sigmoid, a ReLU or a clamp before the output "
            "layer leaves part of the range out for good.",
        ),
    )


def value_reach_finding(
    module: torch.nn.Module,
    outputs: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor],
    n_in: int,
    what: str = "the value",
) -> Finding | None:
    """A squashing mistake in a value head: ``outputs(module, x)`` cannot take large values of
    both signs (see :func:`output_range`)."""
    seen = output_range(module, outputs, n_in, 1)
    if seen is None:
        return None
    return unbounded_reach_finding(
        *seen,
        what,
        hint=Hint(
            "networks.value_head.squashed_output",
            "end the value head with a plain nn.Linear(hidden, 1): returns can be any number "
            "(Pendulum's are all negative), and a ReLU, tanh or sigmoid after it caps them.",
        ),
    )
