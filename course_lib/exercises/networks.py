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
from course_lib.exercises.finding import Finding

__all__ = [
    "ROWS",
    "build",
    "deterministic_finding",
    "diagnose_value_network",
    "first_rows_equal",
    "grads",
    "n_params",
    "rows_independent",
    "seeded_obs",
    "shares_parameters",
    "top_probability_scaled",
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
            hint="declare it as `class Name(nn.Module)` and call super().__init__() first.",
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
            hint="end with nn.Linear(hidden, 1) and do not squeeze inside the critic.",
        )
        if found is not None:
            return found
        if float32 and out.dtype != torch.float32:
            return Finding(f"{value} must be float32.", got=out.dtype)
        if not out.requires_grad:
            return Finding(
                f"{value} carries no gradient.",
                hint="do not detach or wrap the forward pass in torch.no_grad().",
            )
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
        hint="softmax probabilities passed as logits (Categorical(logits=softmax(x))), or "
        "squashed scores, keep every action likely whatever the network learns: pass the raw "
        "scores as logits=, or the softmax output as probs=.",
    )
