"""Shared helpers for checks on networks and losses (not a public API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from course_lib.checks.core import expect, fail


def seeded_obs(batch: int, dim: int, seed: int = 0) -> torch.Tensor:
    """A reproducible batch of float32 observations, without touching the global RNG."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, dim, generator=gen)


def build(check: str, cls: Callable[..., Any], *args: Any, **kwargs: Any) -> torch.nn.Module:
    """Instantiate a student's network class, turning a crash into a clear failure."""
    try:
        net = cls(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as err:
        call = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        fail(check, f"{cls.__name__}({call}) raised {type(err).__name__}: {err}")
    expect(
        check,
        isinstance(net, torch.nn.Module),
        f"{cls.__name__} must be a torch.nn.Module subclass.",
        got=type(net).__name__,
        hint="declare it as `class Name(nn.Module)` and call super().__init__() first.",
    )
    return net


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
    return sum(p.numel() for p in net.parameters())
