"""The grader's standard network kinds, and what is wrong with an exported network of each.

``actor_critic`` (probabilities and a value), ``actor`` (probabilities), ``gaussian_actor``
(mean and std) and ``critic`` (a value) are probed here; every other kind names its own
problems function in its exercise's manifest (:class:`~course_lib.exercises.manifest.NetworkProbe`).
The grader loads the exported program (weights only, allowed operations only) in its own process
and calls :func:`standard_problems` on it.
"""

from __future__ import annotations

from typing import Any

from course_lib.exercises.finding import Hint

__all__ = ["STANDARD_KINDS", "network_failure", "standard_problems"]

STANDARD_KINDS = ("actor_critic", "actor", "gaussian_actor", "critic")
"""The network kinds probed here; every other kind names its own problems function."""


def network_failure(err: BaseException) -> str:
    """The problem of a network that raised on the grader's inputs."""
    return f"the network failed on the grader's inputs: {type(err).__name__}: {err}"


def gaussian_actor_problems(module: Any, obs: Any, data: dict[str, Any]) -> list[str]:
    """A Gaussian actor exported as (mean, std): shapes, tanh range, bounded log-std."""
    import torch

    from course_lib.exercises.networks import actor_reach_finding, rows_independent

    n_act = int(data.get("num_actions", 1))
    low, high = float(data["log_std_min"]), float(data["log_std_max"])
    mean, std = module(obs)
    if tuple(mean.shape) != (obs.shape[0], n_act) or tuple(std.shape) != tuple(mean.shape):
        return [
            f"mean/std have shapes {tuple(mean.shape)}/{tuple(std.shape)}, "
            f"not ({obs.shape[0]}, {n_act})"
        ]
    if not rows_independent(lambda o: module(o)[0], obs, seed=1):
        return [
            Hint(
                "networks.actor.mixes_batch_rows",
                "one observation's action depends on the rest of the batch",
            )
        ]
    found = actor_reach_finding(
        module, lambda m, x: m(x)[0], obs.shape[1], n_act, -1.0, 1.0, "the mean"
    )
    if found is not None:
        return [found.named_problem()]
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(50.0).add_(1.0)
        for x in (obs, 1e3 * obs.abs(), -1e3 * obs.abs()):
            mean, std = module(x)
            if not bool(torch.isfinite(mean).all()) or float(mean.abs().max()) > 1.0:
                return [
                    Hint(
                        "ppo.networks.mean_not_tanh_squashed",
                        "the mean leaves [-1, 1] (squash it with tanh)",
                    )
                ]
            log_std = std.log()
            if not (
                bool(torch.isfinite(log_std).all())
                and float(log_std.min()) >= low - 1e-4
                and float(log_std.max()) <= high + 1e-4
            ):
                return [
                    Hint(
                        "ppo.networks.log_std_unbounded",
                        f"the log-std leaves [log_std_min, log_std_max] = [{low:g}, {high:g}]",
                    )
                ]
    return []


def standard_problems(kind: str, module: Any, data: dict[str, Any], seed: int) -> list[str]:
    """The problems of a network of a standard ``kind`` (:data:`STANDARD_KINDS`); a failure is
    added to those found before it."""
    import torch

    from course_lib.exercises.networks import (
        deterministic_finding,
        rows_independent,
        top_probability_scaled,
        value_reach_finding,
    )

    n_in = int(data["num_inputs"])
    n_act = int(data.get("num_actions", 1))
    obs = torch.randn(16, n_in, generator=torch.Generator().manual_seed(seed))
    problems: list[str] = []
    try:
        out = module(obs)
        if kind in ("actor_critic", "actor"):
            probs = out[0] if kind == "actor_critic" else out
            if tuple(probs.shape) != (16, n_act):
                problems.append(f"probabilities have shape {tuple(probs.shape)}, not (16, {n_act})")
            elif not (
                bool((probs >= 0).all())
                and torch.allclose(probs.sum(-1), torch.ones(16), atol=1e-4)
            ):
                problems.append(
                    Hint(
                        "networks.policy.no_softmax_over_actions",
                        "rows of probabilities are not >= 0 summing to 1",
                    )
                )
            elif not rows_independent(
                (lambda o: module(o)[0]) if kind == "actor_critic" else module, obs, seed=1
            ):
                problems.append(
                    Hint(
                        "networks.policy.softmax_over_batch",
                        "one observation's probabilities depend on the rest of the batch",
                    )
                )
        if kind == "gaussian_actor":
            problems.extend(gaussian_actor_problems(module, obs, data))
        if kind in ("actor_critic", "critic"):
            value = out[1] if kind == "actor_critic" else out
            if tuple(value.shape) != (16, 1):
                problems.append(f"values have shape {tuple(value.shape)}, not (16, 1)")
        if kind == "actor_critic" and not problems:
            params = [p for p in module.parameters() if p.requires_grad]
            ga = torch.autograd.grad(
                out[0][:, 0].sum(), params, retain_graph=True, allow_unused=True
            )
            gv = torch.autograd.grad(out[1].sum(), params, allow_unused=True)
            shared = any(
                a is not None and b is not None and a.abs().sum() > 0 and b.abs().sum() > 0
                for a, b in zip(ga, gv, strict=True)
            )
            if not shared:
                problems.append(
                    Hint(
                        "actor_critic.network.no_shared_trunk", "the two heads share no parameters"
                    )
                )
            if not data.get("grows_with_hidden", False):
                problems.append(
                    Hint(
                        "actor_critic.network.num_hidden_ignored",
                        "num_hidden does not change the network's size",
                    )
                )
        if kind in ("actor_critic", "critic") and not problems:  # after the gradients
            found = value_reach_finding(
                module,
                (lambda m, x: m(x)[1]) if kind == "actor_critic" else (lambda m, x: m(x)),
                n_in,
            )
            if found is not None:
                problems.append(found.named_problem())
        if kind in ("actor_critic", "actor") and not problems:  # last: it scales the weights
            found = deterministic_finding(
                top_probability_scaled(
                    module, (lambda m: m(obs)[0]) if kind == "actor_critic" else (lambda m: m(obs))
                )
            )
            if found is not None:
                problems.append(found.named_problem())
    except Exception as err:  # a broken program is the submission's fault
        problems.append(network_failure(err))
    return problems
