"""Notebook 03's gae exercise: its visible cases and diagnoses, raised by
:mod:`course_lib.checks.ppo.gae`.

Part of :mod:`course_lib.exercises.ppo`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from course_lib.exercises.compare import close_finding, to_numpy, values_finding
from course_lib.exercises.finding import Finding, Hint

# next_value, rewards, masks, values, gamma, tau, expected returns, {mistake: returns}
_GAE_CASES: list[dict[str, Any]] = [
    {
        "next_value": 2.0,
        "rewards": [1.0, 0.0, -1.0, 0.5],
        "masks": [1, 1, 1, 1],
        "values": [0.5, 1.0, -0.5, 2.0],
        "gamma": 0.9,
        "tau": 0.8,
        "expected": [1.6418944, 0.64152, 1.016, 2.3],
        "mistakes": {
            "forward": [1.9, 0.558, 0.48176, 3.0068672],
            "swapped": [1.3995648, 0.44384, 0.672, 2.1],
            "advantages": [1.1418944, -0.35848, 1.516, 0.3],
            "off_by_one": [0.9974944, 0.37152, -1.234, 2.3],
            "lambda_only": [1.7256, 0.782, 1.04, 2.3],
        },
    },
    {
        "next_value": 3.0,
        "rewards": [1.0, 2.0, 0.0, 1.0],
        "masks": [1, 0, 1, 1],
        "values": [1.0, 0.0, 2.0, -1.0],
        "gamma": 0.9,
        "tau": 0.8,
        "expected": [2.44, 2.0, 2.484, 3.7],
        "mistakes": {
            "forward": [1.0, 2.0, 0.54, 2.6488],
            "swapped": [2.44, 2.0, 2.368, 3.4],
            "chain_across": [2.6909056, 2.34848, 2.484, 3.7],
            "no_mask_boot": [3.736, 3.8, 2.484, 3.7],
            "advantages": [1.44, 2.0, 0.484, 4.7],
            "off_by_one": [3.34, 2.0, 2.592, 0.1],
            "lambda_only": [2.6, 2.0, 2.86, 3.7],
        },
    },
    {
        "next_value": -1.0,
        "rewards": [-2.0, -1.0, 0.5],
        "masks": [1, 1, 0],
        "values": [0.0, -1.5, 1.0],
        "gamma": 0.95,
        "tau": 0.5,
        "expected": [-2.8490625, -0.2875, 0.5],
        "mistakes": {
            "forward": [-3.425, -1.676875, 0.5],
            "swapped": [-2.3878125, -0.7375, 0.5],
            "no_mask_boot": [-3.06340625, -0.73875, -0.45],
            "advantages": [-2.8490625, 1.2125, -0.5],
            "off_by_one": [-2.5521875, -2.6625, 0.5],
            "lambda_only": [-2.825, -0.3, 0.5],
        },
    },
    {
        "next_value": 1.0,
        "rewards": [1.0, 1.0, 1.0],
        "masks": [1, 1, 1],
        "values": [0.0, 0.0, 0.0],
        "gamma": 0.5,
        "tau": 1.0,
        "expected": [1.875, 1.75, 1.5],
        "mistakes": {
            "forward": [1.0, 1.5, 2.25],
            "swapped": [2.0, 2.0, 2.0],
            "lambda_only": [3.5, 2.5, 1.5],
        },
    },
    {
        "next_value": 4.0,
        "rewards": [1.0, 2.0],
        "masks": [1, 1],
        "values": [0.5, 0.5],
        "gamma": 0.9,
        "tau": 0.0,
        "expected": [1.45, 5.6],
        "mistakes": {"swapped": [1.0, 2.0], "advantages": [0.95, 5.1]},
    },
]


_GAE_HINTS = {
    "forward": Hint(
        "ppo.compute_gae.forward_recursion",
        "walk the rollout BACKWARDS: gae_t = delta_t + gamma * tau * mask_t * gae_(t+1), "
        "starting from the last step.",
    ),
    "swapped": Hint(
        "ppo.compute_gae.gamma_lambda_swapped",
        "gamma and tau (GAE's lambda) are swapped: the TD error uses gamma, "
        "delta_t = r_t + gamma * V_(t+1) * mask_t - V_t; only the decay of gae uses gamma * tau.",
    ),
    "chain_across": Hint(
        "ppo.compute_gae.chain_across_episodes",
        "multiply the carried gae by mask_t too: an advantage must not flow "
        "backwards from one episode into the one before it.",
    ),
    "no_mask_boot": Hint(
        "ppo.compute_gae.no_mask_on_bootstrap",
        "multiply V_(t+1) by mask_t: after an episode's end, the next value "
        "belongs to a new episode and must not be bootstrapped.",
    ),
    "advantages": Hint(
        "ppo.compute_gae.returned_advantages",
        "return advantage + value (the critic's target), not the advantage alone: "
        "returns.insert(0, gae + values[t]).",
    ),
    "off_by_one": Hint(
        "ppo.compute_gae.off_by_one_next_value",
        "the TD error bootstraps from the NEXT state's value: use values[t + 1] "
        "(with next_value appended at the end), not values[t].",
    ),
    "lambda_only": Hint(
        "ppo.compute_gae.lambda_only_decay", "the decay of gae is gamma * tau, not tau alone."
    ),
    "reversed": Hint(
        "ppo.compute_gae.returns_not_reversed",
        "the returns come last step first: the list built backwards must be reversed "
        "(returns[::-1]), or built with returns.insert(0, ...), to be in time order.",
    ),
}


def _as_column(values: Iterable[float]) -> list[torch.Tensor]:
    return [torch.tensor([[float(v)]]) for v in values]


def _flat(
    out: Any, length: int, n_envs: int, case: str
) -> tuple[np.ndarray | None, Finding | None]:
    if not isinstance(out, list | tuple):
        return None, Finding(
            "compute_gae must return a list (one entry per step).",
            got=type(out).__name__,
            where=case,
        )
    if not (len(out) == length):
        return None, Finding(
            f"compute_gae returned {len(out)} entries for a rollout of {length} steps.",
            where=case,
            hint=Hint(
                "ppo.compute_gae.not_one_return_per_step", "one return per step, in time order."
            ),
        )
    rows = [to_numpy(x).reshape(-1) for x in out]
    if not all(r.size == n_envs for r in rows):
        return None, Finding(
            f"each entry must hold one value per env ({n_envs}).",
            got=[r.size for r in rows],
            where=case,
        )
    return np.stack(rows), None


def diagnose_compute_gae(compute_gae: Callable[..., Any]) -> Finding | None:
    """Diagnose ``compute_gae(next_value, rewards, masks, values, gamma, tau)`` on known rollouts.

    Every entry is a tensor of shape ``(n_envs, 1)``; the result is a list of
    returns (advantage + value), one per step.
    """
    for case in _GAE_CASES:
        label = (
            f"next_value={case['next_value']}, rewards={case['rewards']}, masks={case['masks']}, "
            f"values={case['values']}, gamma={case['gamma']}, tau={case['tau']}"
        )
        out = compute_gae(
            torch.tensor([[case["next_value"]]]),
            _as_column(case["rewards"]),
            _as_column(case["masks"]),
            _as_column(case["values"]),
            case["gamma"],
            case["tau"],
        )
        _value, found = _flat(out, len(case["rewards"]), 1, label)
        if found is not None:
            return found
        got = _value[:, 0]
        found = values_finding(
            "returns",
            got,
            case["expected"],
            mistakes=[
                *((v, _GAE_HINTS[k]) for k, v in case["mistakes"].items()),
                (case["expected"][::-1], _GAE_HINTS["reversed"]),
            ],
            hint=Hint(
                "ppo.compute_gae.wrong_gae_recursion",
                "delta_t = r_t + gamma * V_(t+1) * mask_t - V_t; "
                "gae_t = delta_t + gamma * tau * mask_t * gae_(t+1); return gae_t + V_t.",
            ),
            case=label,
        )
        if found is not None:
            return found
    # two envs side by side: the first two cases in one batch
    a, b = _GAE_CASES[0], _GAE_CASES[1]

    def pair(key: str) -> list[torch.Tensor]:
        return [torch.tensor([[float(x)], [float(y)]]) for x, y in zip(a[key], b[key], strict=True)]

    out = compute_gae(
        torch.tensor([[a["next_value"]], [b["next_value"]]]),
        pair("rewards"),
        pair("masks"),
        pair("values"),
        0.9,
        0.8,
    )
    got, found = _flat(out, 4, 2, "two envs side by side")
    if found is not None:
        return found
    found = close_finding(
        "returns of two envs computed side by side",
        got,
        np.stack([a["expected"], b["expected"]], axis=1),
        hint=Hint(
            "ppo.compute_gae.not_elementwise_over_envs",
            "compute elementwise (no .item(), no sums over envs): each env is its own rollout.",
        ),
        case="the first two cases as two envs, entries of shape (2, 1)",
    )
    if found is not None:
        return found
    return None
