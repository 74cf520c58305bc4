"""Notebook 01's graded exercises (one two-headed actor-critic network on CartPole-v1).

For each exercise, the visible cases and the diagnosis the visible check raises
(:mod:`course_lib.checks.actor_critic`). These diagnoses need the live objects (the network,
autograd), so each takes the student's code and a case and runs it. The hidden probes
(:mod:`course_lib.probes.actor_critic`) record the student's outputs on the grader's cases;
the grader judges them as :data:`MANIFEST` says: the network probed, the functions equal to
the reference's, the trained policy played against the notebook's criterion.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course_lib.exercises.compare import close_finding, shape_finding, values_finding
from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.manifest import Close, Entry, KnownMistakes, NetworkProbe, PolicyCriterion
from course_lib.exercises.networks import (
    build,
    deterministic_finding,
    grads,
    n_params,
    seeded_obs,
    shares_parameters,
    top_probability_scaled,
    value_reach_finding,
)

__all__ = [
    "ACTOR_CRITIC_CASES",
    "MANIFEST",
    "RETURN_CASES",
    "diagnose_action_log_probs",
    "diagnose_actor_critic",
    "diagnose_actor_critic_loss",
    "diagnose_normalized_returns",
    "diagnose_num_hidden",
]

NO_SOFTMAX = Hint(
    "actor_critic.network.no_softmax_over_actions",
    "the policy head must end with a softmax over the actions: "
    "`torch.softmax(logits, dim=-1)` (dim=-1, not 0: dim 0 normalizes across the batch).",
)

# ---------------------------------------------------------------------------
# ActorCritic(num_inputs, num_actions, num_hidden=128) -> (action_probs, value)
# ---------------------------------------------------------------------------

ACTOR_CRITIC_CASES: list[tuple[int, int, dict[str, Any]]] = [(4, 2, {"num_hidden": 16}), (3, 5, {})]
"""``(num_inputs, num_actions, kwargs)`` the network is built with."""


def diagnose_actor_critic(
    ActorCritic: Callable[..., torch.nn.Module], case: tuple[int, int, dict[str, Any]]
) -> Finding | None:
    """Build the student's network for ``case`` and read its forward pass on 7 observations."""
    num_inputs, num_actions, kwargs = case
    model, found = build(ActorCritic, num_inputs, num_actions, **kwargs)
    if found is not None:
        return found
    assert model is not None
    obs = seeded_obs(7, num_inputs)
    out = model(obs)
    if not (isinstance(out, tuple) and len(out) == 2):
        return Finding(
            "forward(obs) must return a pair (action_probs, value).", got=type(out).__name__
        )
    probs, value = out
    found = shape_finding(
        "action_probs",
        probs,
        (7, num_actions),
        hint=Hint(
            "actor_critic.network.policy_head_wrong_shape",
            "one row per observation, one column per action.",
        ),
    ) or shape_finding(
        "value",
        value,
        (7, 1),
        hint=Hint(
            "actor_critic.network.value_squeezed",
            "keep the value head's output as (B, 1); flatten it later, where it meets the returns.",
        ),
    )
    if found is not None:
        return found
    if not (probs.dtype == torch.float32 and value.dtype == torch.float32):
        return Finding("outputs must be float32.", got=(probs.dtype, value.dtype))
    p = probs.detach().numpy()
    row_sums = p.sum(axis=1)
    if not (np.all(p >= 0) and np.allclose(row_sums, 1.0, atol=1e-5)):
        return Finding(
            "action_probs are not probabilities: each row must be >= 0 and sum to 1.",
            expected="row sums all 1.0",
            got=np.round(row_sums, 4),
            hint=NO_SOFTMAX,
        )
    if not shares_parameters(model, probs[:, 0], value):
        return Finding(
            "the policy head and the value head share no parameters.",
            hint=Hint(
                "actor_critic.network.no_shared_trunk",
                "both heads should read the same hidden layer (the shared trunk): "
                "h = relu(trunk(obs)); probs = softmax(policy_head(h)); value = value_head(h).",
            ),
        )
    found = value_reach_finding(model, lambda net, x: net(x)[1], num_inputs, "the value head")
    if found is not None:
        return found
    return deterministic_finding(top_probability_scaled(model, lambda net: net(obs)[0]))


def diagnose_num_hidden(ActorCritic: Callable[..., torch.nn.Module]) -> Finding | None:
    """Whether ``num_hidden`` changes the network's size."""
    sizes = []
    for width in (16, 32):
        model, found = build(ActorCritic, 4, 2, num_hidden=width)
        if found is not None:
            return found
        assert model is not None
        sizes.append(n_params(model))
    small, large = sizes
    if not small < large:
        return Finding(
            "num_hidden does not change the network's size.",
            got=f"{small} parameters with num_hidden=16, {large} with 32",
            hint=Hint(
                "actor_critic.network.num_hidden_ignored",
                "use num_hidden as the width of the shared hidden layer.",
            ),
        )
    return None


# ---------------------------------------------------------------------------
# action_log_probs(action_probs (T, A), actions (T,)) -> log_probs (T,)
# ---------------------------------------------------------------------------

_PROBS = [[0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]
_ACTIONS = [0, 1, 1]
_LOG_PROBS = [-1.6094379425, -0.9162907004, -0.3566749691]


def diagnose_action_log_probs(action_log_probs: Callable[..., Any]) -> Finding | None:
    """Run ``action_log_probs`` on the visible case; what is wrong with its output."""
    probs = torch.tensor(_PROBS, requires_grad=True)
    actions = torch.tensor(_ACTIONS)
    out = action_log_probs(probs, actions)
    if not isinstance(out, torch.Tensor):
        return Finding(
            "action_log_probs must return a tensor.",
            got=type(out).__name__,
            hint=Hint(
                "actor_critic.action_log_probs.leaves_torch",
                "stay in torch so the gradient reaches the network.",
            ),
        )
    found = shape_finding(
        "log_probs",
        out,
        (3,),
        hint=Hint(
            "actor_critic.action_log_probs.gather_not_squeezed",
            "gather gives (T, 1): squeeze the last dimension.",
        ),
    )
    if found is not None:
        return found
    log = np.log(np.array(_PROBS))
    found = values_finding(
        "log_probs",
        out,
        _LOG_PROBS,
        mistakes=[
            (
                np.array(_PROBS)[[0, 1, 2], _ACTIONS],
                Hint(
                    "actor_critic.action_log_probs.missing_log",
                    "take the log of the probabilities.",
                ),
            ),
            (
                log.max(axis=1),
                Hint(
                    "actor_critic.action_log_probs.uses_most_probable_action",
                    "use the actions that were taken, not the most probable ones.",
                ),
            ),
            (
                log[:, 0],
                Hint(
                    "actor_critic.action_log_probs.same_action_every_row",
                    "index each row with its own action: probs[t, actions[t]].",
                ),
            ),
            (
                log[:, 1],
                Hint(
                    "actor_critic.action_log_probs.same_action_every_row",
                    "index each row with its own action: probs[t, actions[t]].",
                ),
            ),
        ],
        hint=Hint(
            "actor_critic.action_log_probs.wrong_entries_picked",
            "pick row t's entry at column actions[t] "
            "(`probs.gather(1, actions.unsqueeze(1)).squeeze(1)`), then take the log.",
        ),
        case=f"action_probs={_PROBS}, actions={_ACTIONS}",
    )
    if found is not None:
        return found
    (g,) = grads(out.sum(), [probs])
    if not bool(g.abs().sum() > 0):
        return Finding(
            "no gradient flows from log_probs back to action_probs.",
            hint=Hint(
                "actor_critic.action_log_probs.gradient_cut",
                "do not detach, call .item() or go through numpy: the actor learns through "
                "these log-probabilities.",
            ),
        )
    return None


# ---------------------------------------------------------------------------
# normalized_returns(rewards, gamma, eps=1e-8) -> Tensor (T,)
# ---------------------------------------------------------------------------

# rewards, gamma, expected, mistakes (gamma^h from the episode start; accumulated forwards;
# unbiased std; not normalized)
RETURN_CASES: list[tuple[list[float], float, list[float], dict[str, list[float]]]] = [
    (
        [1.0, 1.0, 1.0],
        0.5,
        [1.06904493, 0.26726123, -1.33630617],
        {
            "gamma_h": [1.33630619, -0.26726124, -1.06904495],
            "forward": [-1.33630617, 0.26726123, 1.06904493],
            "unbiased": [0.87287154, 0.21821788, -1.09108942],
            "raw": [1.75, 1.5, 1.0],
        },
    ),
    (
        [0.0, 0.0, 2.0, -1.0],
        0.9,
        [0.45675273, 0.57101304, 0.69796895, -1.72573472],
        {
            "gamma_h": [0.57735026, 0.57735026, 0.57735026, -1.73205078],
            "forward": [-0.8551861, -0.8551861, 1.58820276, 0.12216944],
            "unbiased": [0.39555946, 0.4945118, 0.60445884, -1.49453011],
            "raw": [0.891, 0.99, 1.1, -1.0],
        },
    ),
]
_RETURN_HINTS = {
    "gamma_h": Hint(
        "actor_critic.normalized_returns.gamma_h_from_start",
        "discount each reward by gamma^(h - t), counted from step t, not gamma^h from "
        "the start of the episode.",
    ),
    "forward": Hint(
        "actor_critic.normalized_returns.accumulated_forwards",
        "accumulate from the END of the episode backwards: G_t = r_t + gamma * G_(t+1).",
    ),
    "unbiased": Hint(
        "actor_critic.normalized_returns.unbiased_std",
        "torch.std is unbiased by default; normalize with the population std "
        "(`std(unbiased=False)`, like np.std).",
    ),
    "raw": Hint(
        "actor_critic.normalized_returns.not_normalized",
        "normalize the returns: subtract their mean and divide by (std + eps).",
    ),
}


def diagnose_normalized_returns(
    normalized_returns: Callable[..., Any],
    case: tuple[list[float], float, list[float], dict[str, list[float]]],
) -> Finding | None:
    """Run ``normalized_returns`` on one of :data:`RETURN_CASES`."""
    rewards, gamma, expected, wrong = case
    out = normalized_returns(list(rewards), gamma)
    if not isinstance(out, torch.Tensor):
        return Finding("normalized_returns must return a tensor.", got=type(out).__name__)
    if out.dtype != torch.float32:
        return Finding(
            "the returns must be float32.",
            got=out.dtype,
            hint=Hint(
                "actor_critic.normalized_returns.not_float32",
                "build them with torch.tensor(..., dtype=torch.float32).",
            ),
        )
    return values_finding(
        "normalized returns",
        out,
        expected,
        mistakes=[(values, _RETURN_HINTS[key]) for key, values in wrong.items()],
        case=f"rewards={rewards}, gamma={gamma}",
        atol=1e-5,
    )


def diagnose_normalized_returns_edges(normalized_returns: Callable[..., Any]) -> Finding | None:
    """A one-step episode (std 0) normalizes to 0; an empty one gives an empty tensor."""
    one = normalized_returns([5.0], 0.99)
    found = values_finding(
        "normalized returns",
        one,
        [0.0],
        case="a one-step episode, rewards=[5.0]",
        hint=Hint(
            "actor_critic.normalized_returns.missing_eps",
            "one return has std 0: with `+ eps` in the denominator it normalizes to 0, not NaN.",
        ),
    )
    if found is not None:
        return found
    return shape_finding(
        "the returns of an empty episode",
        normalized_returns([], 0.99),
        (0,),
        hint=Hint(
            "actor_critic.normalized_returns.empty_episode_unhandled",
            "return an empty float32 tensor for an empty reward list.",
        ),
    )


# ---------------------------------------------------------------------------
# actor_critic_loss(log_probs (T,), values (T,), returns (T,)) -> scalar
# ---------------------------------------------------------------------------

_LP = [math.log(0.5), math.log(0.25), math.log(0.8)]
_V = [0.2, -0.5, 1.0]
_R = [1.0, 0.0, -1.5]
_LOSS = 3.1348060467


def diagnose_actor_critic_loss(actor_critic_loss: Callable[..., Any]) -> Finding | None:
    """Run ``actor_critic_loss`` on the visible case; read its value and its gradients."""
    log_probs = torch.tensor(_LP, requires_grad=True)
    values = torch.tensor(_V, requires_grad=True)
    # The returns carry gradient here on purpose, as a bootstrapped target would.
    returns = torch.tensor(_R, requires_grad=True)
    loss = actor_critic_loss(log_probs, values, returns)
    if not (isinstance(loss, torch.Tensor) and loss.ndim == 0):
        return Finding(
            "actor_critic_loss must return a scalar tensor (0-dim).",
            got=getattr(loss, "shape", type(loss).__name__),
            hint=Hint("actor_critic.loss.not_reduced", "sum the per-step losses into one number."),
        )
    g_logp, g_v, g_r = grads(loss, [log_probs, values, returns])
    where = f"log_probs=log([0.5, 0.25, 0.8]), values={_V}, returns={_R}"
    found = (
        close_finding(
            "gradients of the loss w.r.t. returns",
            g_r,
            [0.0, 0.0, 0.0],
            hint=Hint(
                "actor_critic.loss.target_not_detached",
                "the target carries gradient: use `returns.detach()` in both terms, so the "
                "critic moves its values toward the returns and never the returns toward the "
                "values.",
            ),
        )
        or values_finding(
            "gradients of the loss w.r.t. log_probs",
            g_logp,
            [-0.8, -0.5, 2.5],
            mistakes=[
                (
                    [0.8, 0.5, -2.5],
                    Hint(
                        "actor_critic.loss.actor_loss_sign",
                        "the actor term's sign is flipped: minimize -log_prob * advantage.",
                    ),
                )
            ],
            hint=Hint(
                "actor_critic.loss.wrong_actor_term",
                "the actor term is -log_prob * (return - value), summed over the episode.",
            ),
            case=where,
        )
        or values_finding(
            "gradients of the loss w.r.t. values",
            g_v,
            [-0.8, -0.5, 1.0],
            mistakes=[
                (
                    [-0.8 + _LP[0], -0.5 + _LP[1], 1.0 + _LP[2]],
                    Hint(
                        "actor_critic.loss.advantage_not_detached",
                        "the advantage is not detached in the actor term: gradient from the actor "
                        "flows into the value head. Use `(returns - values).detach()`.",
                    ),
                ),
                (
                    [-1.6, -1.0, 5.0],
                    Hint(
                        "actor_critic.loss.squared_error_critic",
                        "use the Huber loss (`F.smooth_l1_loss`), not the squared error.",
                    ),
                ),
            ],
            hint=Hint(
                "actor_critic.loss.wrong_critic_term",
                "the critic term is the Huber loss between values and returns, summed.",
            ),
            case=f"values={_V}, returns={_R}",
        )
        or values_finding(
            "loss",
            loss.detach().reshape(1),
            [_LOSS],
            case=where,
            mistakes=[
                (
                    [1.0449353489],
                    Hint(
                        "actor_critic.loss.mean_instead_of_sum",
                        "sum over the episode's steps instead of averaging, as in the original "
                        "example.",
                    ),
                )
            ],
        )
    )
    if found is not None:
        return found
    column = actor_critic_loss(log_probs, values.detach().reshape(3, 1), returns)
    return close_finding(
        "loss with values of shape (T, 1)",
        column.detach(),
        loss.detach(),
        hint=Hint(
            "actor_critic.loss.values_not_flattened",
            "values came in as (T, 1) and broadcast against returns (T,) into a (T, T) "
            "matrix: flatten them first (`values.reshape(-1)` or `.squeeze(-1)`).",
        ),
    )


def _normalized(returns: list[float], unbiased: bool = False) -> torch.Tensor:
    g = torch.tensor(returns, dtype=torch.float32)
    if g.numel() == 0:
        return g
    if unbiased and g.numel() < 2:  # torch.std's unbiased default: NaN for one step
        return torch.full_like(g, float("nan"))
    return (g - g.mean()) / (g.std(unbiased=unbiased) + 1e-8)


def _discounted(rewards: list[float], gamma: float, forwards: bool = False) -> list[float]:
    returns, g = [], 0.0
    for reward in rewards if forwards else reversed(rewards):
        g = reward + gamma * g
        returns.append(g)
    return returns if forwards else returns[::-1]


NORMALIZED_RETURNS_MISTAKES: dict[str, Callable[..., torch.Tensor] | tuple[Callable, ...]] = {
    "actor_critic.normalized_returns.accumulated_forwards": (
        lambda rewards, gamma: _normalized(_discounted(rewards, gamma, forwards=True)),
        lambda rewards, gamma: _normalized(_discounted(rewards, gamma, forwards=True)[::-1]),
    ),
    "actor_critic.normalized_returns.gamma_h_from_start": lambda rewards, gamma: _normalized(
        [sum(gamma**h * rewards[h] for h in range(t, len(rewards))) for t in range(len(rewards))]
    ),
    "actor_critic.normalized_returns.unbiased_std": lambda rewards, gamma: _normalized(
        _discounted(rewards, gamma), unbiased=True
    ),
    "actor_critic.normalized_returns.not_normalized": lambda rewards, gamma: torch.tensor(
        _discounted(rewards, gamma), dtype=torch.float32
    ),
}
"""Known wrong ``normalized_returns`` implementations, by mistake name (see
:class:`~course_lib.exercises.manifest.KnownMistakes`)."""


def _ac_loss(
    log_probs: torch.Tensor,
    values: torch.Tensor,
    returns: torch.Tensor,
    *,
    detach_advantage: bool = True,
    detach_returns: bool = True,
    sign: float = -1.0,
    critic: str = "huber",
    reduce: str = "sum",
) -> torch.Tensor:
    values = values.reshape(-1)
    returns = returns.detach() if detach_returns else returns
    advantages = returns - values
    advantages = advantages.detach() if detach_advantage else advantages
    actor = log_probs * advantages
    if critic == "huber":
        critic_terms = torch.nn.functional.smooth_l1_loss(values, returns, reduction="none")
    else:
        critic_terms = (values - returns) ** 2
    if reduce == "sum":
        return sign * actor.sum() + critic_terms.sum()
    return sign * actor.mean() + critic_terms.mean()


ACTOR_CRITIC_LOSS_MISTAKES: dict[str, Callable[..., torch.Tensor]] = {
    "actor_critic.loss.advantage_not_detached": lambda lp, v, r: _ac_loss(
        lp, v, r, detach_advantage=False
    ),
    "actor_critic.loss.target_not_detached": lambda lp, v, r: _ac_loss(
        lp, v, r, detach_returns=False
    ),
    "actor_critic.loss.actor_loss_sign": lambda lp, v, r: _ac_loss(lp, v, r, sign=1.0),
    "actor_critic.loss.squared_error_critic": lambda lp, v, r: _ac_loss(lp, v, r, critic="mse"),
    "actor_critic.loss.mean_instead_of_sum": lambda lp, v, r: _ac_loss(lp, v, r, reduce="mean"),
}
"""Known wrong ``actor_critic_loss`` implementations, by mistake name (see
:class:`~course_lib.exercises.manifest.KnownMistakes`)."""

MANIFEST: dict[str, Entry] = {
    "actor_critic": NetworkProbe("actor_critic"),
    "action_log_probs": Close(),
    "normalized_returns": Close(
        known=KnownMistakes(
            "course_lib.probes.actor_critic:probe_normalized_returns",
            "course_lib.exercises.actor_critic:NORMALIZED_RETURNS_MISTAKES",
        )
    ),
    "actor_critic_loss": Close(
        known=KnownMistakes(
            "course_lib.probes.actor_critic:probe_actor_critic_loss",
            "course_lib.exercises.actor_critic:ACTOR_CRITIC_LOSS_MISTAKES",
        )
    ),
    "trained_policy": PolicyCriterion(),
}
