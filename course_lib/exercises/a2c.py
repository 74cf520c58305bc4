"""Notebook 02's graded exercises (A2C on CartPole-v1).

For each exercise, the visible cases and the diagnosis the visible check raises
(:mod:`course_lib.checks.a2c`); like notebook 01's, they take the student's code and run it.
The actor and the critic are exported and probed by the grader; ``compute_returns`` and
``evaluate_actions`` are judged equal to the reference on the grader's cases
(:mod:`course_lib.probes.a2c`); ``a2c_losses`` by the properties every correct A2C loss has
(:func:`judge_a2c_losses`, with the visible check's :func:`positive_multiple`); the trained
policy is played against the notebook's criterion.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course_lib.exercises.compare import (
    close_finding,
    each_record,
    first_difference,
    shape_finding,
    values_finding,
)
from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.manifest import (
    Close,
    Diagnosed,
    Entry,
    KnownMistakes,
    NetworkProbe,
    PolicyCriterion,
)
from course_lib.exercises.networks import (
    build,
    deterministic_finding,
    diagnose_value_network,
    grads,
    seeded_obs,
    top_probability_scaled,
)

__all__ = [
    "MANIFEST",
    "advantage_weights",
    "diagnose_a2c_losses",
    "diagnose_actor",
    "diagnose_compute_returns",
    "diagnose_critic",
    "diagnose_evaluate_actions",
    "judge_a2c_losses",
    "positive_multiple",
]


def positive_multiple(g: np.ndarray, a: np.ndarray) -> float | None:
    """The c > 0 with g = c * a (to 1e-4 relative), if there is one, else None.

    With ``a`` zero, any c fits a zero ``g``: 1.0 is returned for it.

    Examples:
        >>> positive_multiple(np.array([2.0, -4.0]), np.array([1.0, -2.0]))
        2.0
        >>> positive_multiple(np.array([-2.0, 4.0]), np.array([1.0, -2.0])) is None
        True
    """
    denom = float(a @ a)
    if denom == 0.0:
        return 1.0 if np.allclose(g, 0) else None
    c = float(g @ a) / denom
    if c <= 0 or not np.allclose(g, c * a, rtol=1e-4, atol=1e-6 * max(1.0, abs(c))):
        return None
    return c


def advantage_weights(g: np.ndarray, advantage: np.ndarray) -> float | None:
    """The c > 0 with ``g = -c * A'`` for an advantage the A2C family accepts, else None.

    ``g`` is the actor loss's gradient on the log-probabilities. ``A'`` is the advantage
    itself (any positive scale: sum or mean, a constant factor) or the advantage normalized
    over the batch, ``(A - mean(A)) / std(A)`` with any std (population, sample, plus an
    epsilon): the normalization's scale is one more positive factor, its shift the batch mean.

    Examples:
        >>> a = np.array([1.0, -2.0, 4.0])
        >>> advantage_weights(-a / 4, a)
        0.25
        >>> advantage_weights(-(a - a.mean()) / a.std(), a) is not None
        True
        >>> advantage_weights(-(a - 3.0), a) is None  # shifted by something else than the mean
        True
    """
    c = positive_multiple(g, -advantage)
    return c if c is not None else positive_multiple(g, -(advantage - advantage.mean()))


def diagnose_actor(Actor: Callable[..., torch.nn.Module]) -> Finding | None:
    """Diagnose ``Actor(num_inputs, num_actions)``: ``forward(obs)`` returns a ``Categorical``."""
    for num_inputs, num_actions in [(4, 2), (3, 5)]:
        actor, found = build(Actor, num_inputs, num_actions)
        if found is not None:
            return found
        obs = seeded_obs(7, num_inputs)
        try:
            dist = actor(obs)
        except ValueError as err:
            return Finding(
                f"building the distribution failed: {err}",
                hint=Hint(
                    "a2c.actor.raw_scores_as_probs",
                    "raw network outputs are not probabilities: use "
                    "`Categorical(logits=self.net(obs))`, or softmax them first.",
                ),
            )
        if not isinstance(dist, torch.distributions.Categorical):
            return Finding(
                "forward(obs) must return a torch.distributions.Categorical.",
                got=type(dist).__name__,
                hint=Hint(
                    "a2c.actor.not_categorical",
                    "end forward with `return Categorical(logits=logits)`.",
                ),
            )
        found = shape_finding(
            "dist.probs",
            dist.probs,
            (7, num_actions),
            hint=Hint(
                "a2c.actor.wrong_distribution_shape",
                "one distribution per observation over num_actions actions.",
            ),
        )
        if found is not None:
            return found
        if not bool((dist.probs >= 0).all()):
            return Finding(
                "dist.probs has negative entries.",
                hint=Hint(
                    "a2c.actor.raw_scores_as_probs",
                    "pass the network output as logits=..., or softmax over dim=-1.",
                ),
            )
        row_sums = dist.probs.detach().sum(dim=-1)
        found = close_finding(
            "row sums of dist.probs",
            row_sums,
            torch.ones(7),
            hint=Hint(
                "a2c.actor.raw_scores_as_probs",
                "pass the network output as logits=..., or softmax over dim=-1.",
            ),
        )
        if found is not None:
            return found
        single = actor(obs[2:3]).probs.detach()
        found = close_finding(
            "probabilities of obs[2] evaluated alone",
            single[0],
            dist.probs.detach()[2],
            hint=Hint(
                "a2c.actor.softmax_over_batch",
                "one observation's action probabilities depend on the rest of the batch: "
                "normalize over the actions (softmax dim=-1), never over the batch (dim=0).",
            ),
        )
        if found is not None:
            return found
        actions = torch.zeros(7, dtype=torch.long)
        log_probs = dist.log_prob(actions)
        found = shape_finding("dist.log_prob(actions)", log_probs, (7,))
        if found is not None:
            return found
        params = [p for p in actor.parameters() if p.requires_grad]
        if not (len(params) > 0 and any(g.abs().sum() > 0 for g in grads(log_probs.sum(), params))):
            return Finding(
                "no gradient flows from log_prob back to the actor's parameters.",
                hint=Hint(
                    "a2c.actor.output_detached",
                    "build the distribution from the network's output without detaching it.",
                ),
            )
        found = deterministic_finding(
            top_probability_scaled(actor, lambda net, x=obs: net(x).probs)
        )
        if found is not None:
            return found
    return None


def diagnose_critic(Critic: Callable[..., torch.nn.Module]) -> Finding | None:
    """Diagnose ``Critic(num_inputs)``: ``forward(obs)`` returns V of shape (B, 1)."""
    return diagnose_value_network(
        Critic, (4, 3), forward="forward(obs)", value="V(obs)", float32=True
    )


# rewards, gamma, expected, {mistake: values}
_CASES: list[tuple[list[float], float, list[float], dict[str, list[float]]]] = [
    (
        [1.0, 1.0, 1.0],
        0.5,
        [1.75, 1.5, 1.0],
        {
            "gamma_h": [1.75, 0.75, 0.25],
            "forward": [1.0, 1.5, 1.75],
            "normalized": [1.06904493, 0.26726123, -1.33630617],
        },
    ),
    (
        [0.0, 0.0, 2.0, -1.0],
        0.9,
        [0.891, 0.99, 1.1, -1.0],
        {"gamma_h": [0.891, 0.891, 0.891, -0.729], "forward": [0.0, 0.0, 2.0, 0.8]},
    ),
    ([1.0, 2.0, 3.0], 1.0, [6.0, 5.0, 3.0], {"forward": [1.0, 3.0, 6.0]}),
    ([1.0, 2.0, 3.0], 0.0, [1.0, 2.0, 3.0], {"gamma_h": [1.0, 0.0, 0.0]}),
    ([5.0], 0.99, [5.0], {}),
]


_HINTS = {
    "gamma_h": Hint(
        "a2c.compute_returns.gamma_h_from_start",
        "the discount of reward r_h seen from step t is gamma^(h - t), not gamma^h: "
        "every return starts undiscounted at its own step.",
    ),
    "forward": Hint(
        "a2c.compute_returns.accumulated_forwards",
        "accumulate from the END of the episode backwards, G_t = r_t + gamma * G_(t+1), "
        "and return the returns in time order (the first step's first).",
    ),
    "reversed": Hint(
        "a2c.compute_returns.backward_list_not_reversed",
        "the returns come last step first: the list built backwards must be reversed "
        "(returns[::-1]) to be in time order.",
    ),
    "normalized": Hint(
        "a2c.compute_returns.normalizes_returns",
        "compute_returns returns the raw discounted returns; normalize them (if you "
        "want to) in the training loop.",
    ),
}


def _order_mistakes(
    rewards: list[float], gamma: float, expected: list[float]
) -> list[tuple[list[float], str]]:
    """The answers of a loop that runs the wrong way: accumulating in time order (its list
    as built, or reversed), or the right returns listed last step first."""
    forward, g = [], 0.0
    for reward in rewards:
        g = reward + gamma * g
        forward.append(g)
    return [
        (forward, _HINTS["forward"]),
        (forward[::-1], _HINTS["forward"]),
        (list(expected)[::-1], _HINTS["reversed"]),
    ]


def diagnose_compute_returns(
    compute_returns: Callable[[list[float], float], Any],
) -> Finding | None:
    """Diagnose ``compute_returns(rewards, gamma) -> list[float]`` on known reward lists."""
    for rewards, gamma, expected, wrong in _CASES:
        out = compute_returns(list(rewards), gamma)
        if not isinstance(out, list | tuple | np.ndarray | torch.Tensor):
            return Finding("compute_returns must return a list of floats.", got=type(out).__name__)
        found = values_finding(
            "returns",
            np.asarray([float(x) for x in out]),
            expected,
            mistakes=[
                *((values, _HINTS[key]) for key, values in wrong.items()),
                *_order_mistakes(rewards, gamma, expected),
            ],
            hint=Hint(
                "a2c.compute_returns.wrong_discounting",
                "G_t = sum over h >= t of gamma^(h - t) * r_h.",
            ),
            case=f"rewards={rewards}, gamma={gamma}",
        )
        if found is not None:
            return found
    out = compute_returns([], 0.99)
    if not (len(out) == 0):
        return Finding("an empty episode must give an empty list of returns.", got=out)
    return None


class _TableActor(torch.nn.Module):
    """Action probabilities looked up by the integer in obs[:, 0]."""

    def __init__(self) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(
            torch.log(torch.tensor([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.9, 0.1]]))
        )

    def forward(self, obs: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.logits[obs[:, 0].long()])


class _TableCritic(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.values = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0, 0.0]))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.values[obs[:, 0].long()].unsqueeze(1)


def diagnose_evaluate_actions(evaluate_actions: Callable[..., Any]) -> Finding | None:
    """Diagnose ``evaluate_actions(actor, critic, obs (T, n), actions (T,))``.

    It must return ``(log_probs (T,), values (T,))``.
    """
    actor, critic = _TableActor(), _TableCritic()
    obs = torch.tensor([[0.0, 9.0], [1.0, 9.0], [2.0, 9.0], [3.0, 9.0], [2.0, 9.0]])
    actions = torch.tensor([0, 1, 1, 0, 0])
    out = evaluate_actions(actor, critic, obs, actions)
    if not (isinstance(out, tuple) and len(out) == 2):
        return Finding("evaluate_actions must return (log_probs, values).", got=type(out).__name__)
    log_probs, values = out
    found = shape_finding("log_probs", log_probs, (5,))
    if found is not None:
        return found
    found = shape_finding(
        "values",
        values,
        (5,),
        hint=Hint(
            "a2c.evaluate_actions.values_not_squeezed",
            "the critic gives (T, 1): flatten it with `.squeeze(-1)` so it lines up with "
            "the returns (T,) instead of broadcasting into a (T, T) matrix.",
        ),
    )
    if found is not None:
        return found
    probs = np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.9, 0.1]])[[0, 1, 2, 3, 2]]
    log = np.log(probs)
    found = values_finding(
        "log_probs",
        log_probs.detach(),
        np.log([0.2, 0.4, 0.7, 0.9, 0.3]),
        mistakes=[
            (
                log.max(axis=1),
                Hint(
                    "a2c.evaluate_actions.uses_most_probable_action",
                    "use the actions that were taken, not the most probable ones.",
                ),
            ),
            (
                log[:, 0],
                Hint(
                    "a2c.evaluate_actions.same_action_every_row",
                    "use `dist.log_prob(actions)` with the actions taken at each step.",
                ),
            ),
            (
                log[:, 1],
                Hint(
                    "a2c.evaluate_actions.same_action_every_row",
                    "use `dist.log_prob(actions)` with the actions taken at each step.",
                ),
            ),
        ],
        hint=Hint(
            "a2c.evaluate_actions.wrong_actions_evaluated",
            "log_probs[t] is log pi(actions[t] | obs[t]): `actor(obs).log_prob(actions)`. "
            "Do not sample new actions here.",
        ),
        case="a table actor with known probabilities",
    )
    if found is not None:
        return found
    found = close_finding(
        "values",
        values.detach(),
        [0.5, -1.0, 2.0, 0.0, 2.0],
        case="a table critic with known values",
    )
    if found is not None:
        return found
    g_actor = grads(log_probs.sum(), [actor.logits])[0]
    g_critic = grads(values.sum(), [critic.values])[0]
    if not (bool(g_actor.abs().sum() > 0) and bool(g_critic.abs().sum() > 0)):
        return Finding(
            "log_probs or values carry no gradient back to the networks.",
            hint=Hint(
                "a2c.evaluate_actions.gradient_cut",
                "compute them with gradient on: no torch.no_grad(), .detach() or .item() here.",
            ),
        )
    return None


def diagnose_a2c_losses(a2c_losses: Callable[..., Any]) -> Finding | None:
    """Diagnose ``a2c_losses(log_probs, values, returns) -> (actor_loss, critic_loss)`` (all (T,)).

    Any correct variant passes: MSE or Huber, sum or mean, any positive scale, and advantages
    normalized over the batch ((A - mean) / std, detached).
    """
    gen = torch.Generator().manual_seed(3)
    t = 6
    log_probs = (-torch.rand(t, generator=gen) * 2 - 0.05).requires_grad_()
    values = torch.randn(t, generator=gen).requires_grad_()
    # A bootstrapped target carries gradient; a correct loss must not send any into it.
    returns = (values.detach() + torch.tensor([1.5, -0.4, 0.3, -2.0, 0.8, -0.1])).requires_grad_()
    out = a2c_losses(log_probs, values, returns)
    if not (isinstance(out, tuple) and len(out) == 2):
        return Finding("a2c_losses must return (actor_loss, critic_loss).", got=type(out).__name__)
    actor_loss, critic_loss = out
    for label, loss in (("actor_loss", actor_loss), ("critic_loss", critic_loss)):
        if not (isinstance(loss, torch.Tensor) and loss.ndim == 0):
            return Finding(
                f"{label} must be a scalar tensor (0-dim).",
                got=getattr(loss, "shape", type(loss).__name__),
                hint=Hint(
                    "a2c.losses.not_reduced", "reduce over the episode with .mean() or .sum()."
                ),
            )
    a_logp, a_v, a_r = (g.numpy() for g in grads(actor_loss, [log_probs, values, returns]))
    c_logp, c_v, c_r = (g.numpy() for g in grads(critic_loss, [log_probs, values, returns]))
    if not (np.allclose(a_v, 0) and np.allclose(a_r, 0)):
        return Finding(
            "the actor loss sends gradient into the values (or the returns).",
            hint=Hint(
                "a2c.losses.advantage_not_detached",
                "detach the advantage in the actor term: `(returns - values).detach()`; the "
                "actor must not train the critic.",
            ),
        )
    if not np.allclose(c_logp, 0):
        return Finding(
            "the critic loss depends on the log-probabilities.",
            hint=Hint(
                "a2c.losses.critic_uses_log_probs",
                "the critic loss compares values with returns only.",
            ),
        )
    if not np.allclose(c_r, 0):
        return Finding(
            "the critic loss sends gradient into the returns (the target).",
            hint=Hint(
                "a2c.losses.target_not_detached",
                "detach the target: `loss_fn(values, returns.detach())`, so the "
                "critic moves toward the target and not the target toward the critic.",
            ),
        )
    advantage = (returns - values).detach().numpy()
    if advantage_weights(a_logp, advantage) is None:
        flipped = advantage_weights(-a_logp, advantage) is not None
        return Finding(
            "the actor loss's gradient is not proportional to -(advantage).",
            expected="d actor_loss / d log_probs = -c * A for one c > 0, A = returns - values "
            "(or A normalized over the batch, (A - mean) / std)",
            got=np.round(a_logp, 4),
            hint=Hint(
                "a2c.losses.actor_loss_sign",
                "the sign is flipped: minimize -(log_probs * advantage).",
            )
            if flipped
            else Hint(
                "a2c.losses.wrong_actor_weights",
                "the actor loss is -(log_probs * advantage).mean() (or .sum()), nothing else "
                "weighted per step.",
            ),
        )
    diff = (values - returns).detach().numpy()
    if not (np.all(np.sign(c_v) == np.sign(diff)) and np.all(c_v != 0)):
        return Finding(
            "the critic loss does not pull each value toward its own return.",
            expected=f"gradient signs {np.sign(diff).astype(int).tolist()} (of value - return)",
            got=np.round(c_v, 4),
            hint=Hint(
                "a2c.losses.critic_not_elementwise",
                "use MSE or Huber between values and returns, elementwise (both of shape (T,)).",
            ),
        )
    at_target = a2c_losses(log_probs, returns.detach().clone(), returns)[1]
    found = close_finding(
        "critic_loss when values equal returns",
        [float(at_target.detach())],
        [0.0],
        atol=1e-6,
        hint=Hint(
            "a2c.losses.critic_extra_terms",
            "the critic loss must be 0 when every value equals its return.",
        ),
    )
    if found is not None:
        return found
    column = a2c_losses(log_probs, values.reshape(t, 1), returns)
    for label, a, b in (
        ("actor_loss", column[0], actor_loss),
        ("critic_loss", column[1], critic_loss),
    ):
        found = close_finding(
            f"{label} with values of shape (T, 1)",
            [float(a.detach())],
            [float(b.detach())],
            hint=Hint(
                "a2c.losses.values_not_flattened",
                "values of shape (T, 1) broadcast against returns (T,) into a (T, T) matrix: "
                "flatten them first (`values.reshape(-1)` or `.squeeze(-1)`).",
            ),
        )
        if found is not None:
            return found
    return None


def judge_a2c_losses(student: Any, reference: Any) -> Finding | None:
    """Any correct A2C loss: judged by properties on the reference's inputs.

    The student's record must be for the same inputs as the reference (the grader's),
    and for each input set: the actor loss's gradient is zero on values and returns and
    a positive multiple of -(returns - values), or of it normalized over the batch, on
    log_probs (:func:`advantage_weights`); the critic loss's gradient is
    zero on log_probs and returns and has the sign of (values - returns) on values; the
    critic loss is 0 when values equal returns; values of shape (T, 1) give the same losses.
    """
    return each_record(student, reference, _a2c_losses_record, "input set")


def _a2c_losses_record(got: Any, ref: Any, where: str) -> Finding | None:
    try:
        if first_difference(ref["inputs"], got["inputs"], "", 1e-6, 1e-7) is not None:
            return Finding(f"{where}: the inputs are not the grader's")
        _, values, returns = (np.asarray(x, dtype=np.float64) for x in ref["inputs"])
        (g_a_lp, g_a_v, g_a_r), (g_c_lp, g_c_v, g_c_r) = (
            [np.asarray(g, dtype=np.float64) for g in grads] for grads in got["grads"]
        )
        actor_loss, critic_loss = (float(v) for v in got["values"])
        column = [float(v) for v in got["column_values"]]
        at_target = float(got["critic_at_target"])
    except (KeyError, TypeError, ValueError) as err:
        return Finding(f"{where}: malformed observation ({type(err).__name__})")
    advantage = returns - values
    # Normalizing the advantage over a batch of one step divides 0 by a std of 0 (or NaN):
    # undefined, and no CartPole episode is that short, so a non-finite actor loss there
    # is not held against the variant. Everything else of that case is still checked.
    one_step_normalized = advantage.size == 1 and not all(
        np.all(np.isfinite(x)) for x in (g_a_lp, g_a_v, g_a_r, actor_loss, column[0])
    )
    if one_step_normalized:
        g_a_lp, g_a_v, g_a_r = (np.zeros_like(g) for g in (g_a_lp, g_a_v, g_a_r))
        actor_loss = column[0] = 0.0
    checks = [
        (
            np.allclose(g_a_v, 0) and np.allclose(g_a_r, 0),
            "actor loss sends gradient to values/returns",
            "a2c.losses.advantage_not_detached",
        ),
        (
            np.allclose(g_c_lp, 0) and np.allclose(g_c_r, 0),
            "critic loss sends gradient to log_probs/returns",
            "a2c.losses.target_not_detached"
            if np.allclose(g_c_lp, 0)
            else "a2c.losses.critic_uses_log_probs",
        ),
        (
            advantage_weights(g_a_lp, advantage) is not None,
            "actor gradient is not a positive multiple of -advantage (or of the advantage "
            "normalized over the batch)",
            "a2c.losses.wrong_actor_weights",
        ),
        (
            bool(
                np.all(
                    (np.sign(g_c_v) == np.sign(values - returns))
                    | (np.abs(values - returns) < 1e-9)
                )
            ),
            "critic gradient does not pull values toward returns",
            "a2c.losses.critic_not_elementwise",
        ),
        (
            abs(at_target) < 1e-6,
            "critic loss is not 0 when values equal returns",
            "a2c.losses.critic_extra_terms",
        ),
        (
            math.isclose(column[0], actor_loss, rel_tol=1e-5, abs_tol=1e-6)
            and math.isclose(column[1], critic_loss, rel_tol=1e-5, abs_tol=1e-6),
            "values of shape (T, 1) change the losses (broadcasting)",
            "a2c.losses.values_not_flattened",
        ),
    ]
    for ok, why, mistake in checks:
        if not ok:
            return Finding(f"{where}: {why}", mistake=mistake)
    return None


def discounted_returns(rewards: list[float], gamma: float) -> list[float]:
    """G_t = r_t + gamma * G_(t+1), in time order (the reference's answer)."""
    returns, g = [], 0.0
    for reward in reversed(rewards):
        g = reward + gamma * g
        returns.append(g)
    return returns[::-1]


def _returns_forwards(rewards: list[float], gamma: float) -> list[float]:
    returns, g = [], 0.0
    for reward in rewards:
        g = reward + gamma * g
        returns.append(g)
    return returns


def _returns_gamma_h(rewards: list[float], gamma: float) -> list[float]:
    return [sum(gamma**h * rewards[h] for h in range(t, len(rewards))) for t in range(len(rewards))]


def _returns_not_reversed(rewards: list[float], gamma: float) -> list[float]:
    return discounted_returns(rewards, gamma)[::-1]


def _returns_normalized(rewards: list[float], gamma: float) -> list[float]:
    g = np.asarray(discounted_returns(rewards, gamma), dtype=np.float64)
    return list((g - g.mean()) / (g.std() + 1e-8)) if g.size else []


COMPUTE_RETURNS_MISTAKES: dict[str, tuple[Callable[..., list[float]], ...]] = {
    "a2c.compute_returns.accumulated_forwards": (
        _returns_forwards,
        lambda rewards, gamma: _returns_forwards(rewards, gamma)[::-1],
    ),
    "a2c.compute_returns.gamma_h_from_start": (_returns_gamma_h,),
    "a2c.compute_returns.backward_list_not_reversed": (_returns_not_reversed,),
    "a2c.compute_returns.normalizes_returns": (_returns_normalized,),
}
"""Known wrong ``compute_returns`` implementations, by mistake name: the grader replays its
probe with each to name a wrong answer (:class:`~course_lib.exercises.manifest.KnownMistakes`)."""

MANIFEST: dict[str, Entry] = {
    "actor": NetworkProbe("actor"),
    "critic": NetworkProbe("critic"),
    "compute_returns": Close(
        known=KnownMistakes(
            "course_lib.probes.a2c:probe_compute_returns",
            "course_lib.exercises.a2c:COMPUTE_RETURNS_MISTAKES",
        )
    ),
    "evaluate_actions": Close(),
    "a2c_losses": Diagnosed(judge_a2c_losses, "every property of a correct A2C loss holds"),
    "trained_policy": PolicyCriterion(),
}
