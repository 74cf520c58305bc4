"""A property every correct network of the course has: each row of a batch is its own.

A network that normalizes or mixes over the batch gives one state's action (or value) a
dependence on the other states. The visible checks and the grader's probes of exported
networks test it the same way: the first three rows' outputs must not change when the rest of
the batch does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["ROWS", "first_rows_equal", "rows_independent", "with_other_rows"]

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
