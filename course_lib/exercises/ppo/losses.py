"""Notebook 03's losses exercise: its visible cases and diagnoses, raised by
:mod:`course_lib.checks.ppo.losses`.

Part of :mod:`course_lib.exercises.ppo`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from course_lib.exercises.compare import close_finding, values_finding
from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.networks import grads

_LOG_RATIO = [0.5, -0.5, 0.05, 0.3, -0.4, 0.0, 0.1, -0.1]


_OLD = [-1.0, -0.8, -1.2, -0.3, -2.0, -0.6, -1.5, -0.9]


_ADV = [1.0, -1.0, 2.0, -1.5, 1.2, 0.7, -0.4, 0.9]


_ENT = [1.0, 0.5, 0.8, 1.2, 0.9, 1.1, 0.7, 1.0]


_EPS, _W = 0.2, 0.05


_ACTOR_LOSS = -0.33930292


_ACTOR_MISTAKES = {
    -0.46712726: Hint(
        "ppo.ppo_losses.max_of_surrogates",
        "the surrogate takes the MIN of the two terms, not the max: "
        "min(r * A, clip(r, 1 - eps, 1 + eps) * A), a pessimistic bound.",
    ),
    -0.31444963: Hint(
        "ppo.ppo_losses.advantage_clipped",
        "clip the RATIO, not the advantage: clip(r, 1 - eps, 1 + eps) * A.",
    ),
    -0.25066881: Hint(
        "ppo.ppo_losses.product_clipped", "clip the ratio alone, not the product r * A."
    ),
    -0.24930292: Hint(
        "ppo.ppo_losses.entropy_sign_flipped",
        "the entropy bonus has the wrong sign: SUBTRACT entropy_weight * entropy "
        "from the loss (more entropy = more exploration = lower loss).",
    ),
    -0.34912339: Hint(
        "ppo.ppo_losses.ratio_inverted",
        "the ratio is new / old: exp(log_probs - old_log_probs), not the inverse.",
    ),
    0.24125: Hint(
        "ppo.ppo_losses.log_ratio_not_exponentiated",
        "the ratio is exp(log_probs - old_log_probs), not the difference of logs.",
    ),
    -2.71442335: Hint(
        "ppo.ppo_losses.summed_not_averaged", "average over the batch (.mean()), do not sum."
    ),
    0.24930292: Hint(
        "ppo.ppo_losses.surrogate_not_negated",
        "the loss is the NEGATIVE surrogate: the optimizer minimizes, PPO maximizes.",
    ),
    -0.29430292: Hint(
        "ppo.ppo_losses.no_entropy_bonus",
        "the entropy bonus is missing: subtract entropy_weight * entropy.mean().",
    ),
}


def _loss_inputs() -> dict[str, torch.Tensor]:
    old = torch.tensor(_OLD)
    values = torch.tensor([[0.5], [-1.0], [2.0], [0.0], [1.5], [-0.5], [0.3], [1.0]])
    return {
        "log_probs": (old + torch.tensor(_LOG_RATIO)).requires_grad_(),
        "old_log_probs": old.clone().requires_grad_(),
        "advantages": torch.tensor(_ADV),
        "entropy": torch.tensor(_ENT).requires_grad_(),
        "values": values.clone().requires_grad_(),
        "old_values": values.clone().requires_grad_(),
        "returns": torch.tensor([1.0, -2.0, 2.5, 0.5, 1.0, 0.0, 0.0, 1.5]).requires_grad_(),
    }


def _call_losses(
    ppo_losses: Callable[..., Any], x: dict[str, torch.Tensor]
) -> tuple[Any | None, Finding | None]:
    try:
        out = ppo_losses(
            x["log_probs"],
            x["old_log_probs"],
            x["advantages"],
            x["entropy"],
            x["values"],
            x["old_values"],
            x["returns"],
            _EPS,
            _W,
        )
    except Exception as err:
        return None, Finding(f"ppo_losses raised {type(err).__name__}: {err}")
    if not (isinstance(out, tuple | list) and len(out) == 2):
        return None, Finding(
            "ppo_losses must return (actor_loss, critic_loss).", got=type(out).__name__
        )
    for what, loss in zip(("actor_loss", "critic_loss"), out, strict=True):
        if not (isinstance(loss, torch.Tensor) and loss.numel() == 1):
            return None, Finding(
                f"{what} must be a scalar tensor.",
                got=getattr(loss, "shape", type(loss).__name__),
                hint=Hint(
                    "ppo.ppo_losses.loss_not_reduced", "reduce with .mean() over the minibatch."
                ),
            )
    return out, None


def _critic_target_finding(ppo_losses: Callable[..., Any], critic_loss: float) -> Finding | None:
    """The critic's target is ``returns``: its loss must change when they do (a clipped value
    loss may read old_values too; a loss that reads old_values alone regresses the critic onto
    its own past predictions, which no ``.detach()`` mends)."""
    moved = _loss_inputs()
    moved["returns"] = (moved["returns"].detach() + 1.0).requires_grad_()
    out, found = _call_losses(ppo_losses, moved)
    if found is not None or abs(float(out[1].detach()) - critic_loss) > 1e-7:
        return None
    shifted = _loss_inputs()
    shifted["old_values"] = (shifted["old_values"].detach() + 1.0).requires_grad_()
    out, found = _call_losses(ppo_losses, shifted)
    reads_old = found is None and abs(float(out[1].detach()) - critic_loss) > 1e-7
    return Finding(
        "critic_loss does not change with returns: "
        + (
            "it regresses the values onto old_values, the critic's own predictions from the "
            "rollout, so the critic learns nothing new."
            if reads_old
            else "the critic is not regressed onto its targets."
        ),
        hint=Hint(
            "ppo.ppo_losses.critic_target_not_returns",
            "the target is returns (from compute_gae): critic_loss = (returns - "
            "values.reshape(-1)).pow(2).mean().",
        ),
    )


def diagnose_ppo_losses(ppo_losses: Callable[..., Any]) -> Finding | None:
    """Diagnose ``ppo_losses``: the clipped surrogate with entropy bonus, and a critic regression.

    Signature: ``ppo_losses(log_probs, old_log_probs, advantages, entropy, values,
    old_values, returns, epsilon, entropy_weight) -> (actor_loss, critic_loss)``.
    The actor loss has one right value on the frozen case; the critic loss may
    be MSE, Huber or a clipped value loss: it is checked by its properties.
    """
    x = _loss_inputs()
    _value, found = _call_losses(ppo_losses, x)
    if found is not None:
        return found
    actor_loss, critic_loss = _value
    wrong = [(value, hint) for value, hint in _ACTOR_MISTAKES.items()]
    found = values_finding(
        "actor_loss",
        float(actor_loss.detach()),
        _ACTOR_LOSS,
        mistakes=wrong,
        hint=Hint(
            "ppo.ppo_losses.wrong_surrogate_formula",
            "r = exp(log_probs - old_log_probs); actor_loss = -mean(min(r * A, "
            "clip(r, 1 - eps, 1 + eps) * A)) - entropy_weight * mean(entropy).",
        ),
        case="8 samples with ratios on both sides of the clip range, eps=0.2, entropy_weight=0.05",
        atol=1e-5,
    )
    if found is not None:
        return found
    g_new, g_old, g_values = grads(actor_loss, [x["log_probs"], x["old_log_probs"], x["values"]])
    if not bool(g_old.abs().sum() == 0):
        return Finding(
            "actor_loss sends gradient into old_log_probs.",
            hint=Hint(
                "ppo.ppo_losses.old_log_probs_not_detached",
                "old_log_probs belong to the policy that collected the data: a constant. "
                "Use old_log_probs.detach() in the ratio (and store them without gradient).",
            ),
        )
    if not bool(g_values.abs().sum() == 0):
        return Finding(
            "actor_loss depends on the critic's values.",
            hint=Hint(
                "ppo.ppo_losses.actor_reads_values",
                "the actor's weight is the given advantage; the critic learns from "
                "critic_loss only.",
            ),
        )
    # where the clip binds, the surrogate is flat in log_probs
    r = np.exp(_LOG_RATIO)
    a = np.asarray(_ADV)
    flat = ((r > 1 + _EPS) & (a > 0)) | ((r < 1 - _EPS) & (a < 0))
    got_flat = g_new.abs().numpy() < 1e-9
    if not bool((got_flat == flat).all()):
        return Finding(
            "the gradient of actor_loss w.r.t. log_probs is wrong where the ratio is clipped.",
            expected=f"zero gradient exactly at samples {np.flatnonzero(flat).tolist()}",
            got=f"zero gradient at samples {np.flatnonzero(got_flat).tolist()}",
            hint=Hint(
                "ppo.ppo_losses.clip_gradient_misplaced",
                "the clip must stop the gradient only where it binds: "
                "torch.min(r * A, torch.clamp(r, 1 - eps, 1 + eps) * A).",
            ),
        )
    # critic: properties every correct variant has
    found = _critic_target_finding(ppo_losses, float(critic_loss.detach()))
    if found is not None:
        return found
    g_c = grads(critic_loss, [x["log_probs"], x["returns"], x["old_values"], x["values"]])
    if not bool(g_c[0].abs().sum() == 0):
        return Finding(
            "critic_loss depends on log_probs.",
            hint=Hint(
                "ppo.ppo_losses.critic_reads_log_probs",
                "the critic's loss compares values with returns only.",
            ),
        )
    if not (bool(g_c[1].abs().sum() == 0) and bool(g_c[2].abs().sum() == 0)):
        return Finding(
            "critic_loss sends gradient into returns or old_values.",
            hint=Hint(
                "ppo.ppo_losses.critic_targets_not_detached",
                "the targets are constants: use returns.detach() (and old_values.detach()).",
            ),
        )
    dv = g_c[3].reshape(-1).numpy()
    diff = (x["values"].detach().reshape(-1) - x["returns"].detach()).numpy()
    if not bool(np.all(np.sign(dv[diff != 0]) == np.sign(diff[diff != 0]))):
        return Finding(
            "critic_loss does not pull each value toward its return.",
            got=f"d critic_loss / d values = {np.round(dv, 4).tolist()}",
            hint=Hint(
                "ppo.ppo_losses.values_returns_broadcast",
                "regress values onto returns: e.g. (returns - values).pow(2).mean(); watch the "
                "shapes: values is (B, 1), returns (B,): flatten values first, or (B, 1) - (B,) "
                "broadcasts into (B, B).",
            ),
        )
    if not (float(critic_loss.detach()) > 0):
        return Finding(
            "critic_loss is not positive away from the targets.", got=float(critic_loss.detach())
        )
    y = _loss_inputs()
    y["values"] = y["returns"].detach().reshape(-1, 1).clone().requires_grad_()
    y["old_values"] = y["values"].detach().clone()
    _value, found = _call_losses(ppo_losses, y)
    if found is not None:
        return found
    _, at_target = _value
    found = close_finding(
        "critic_loss when values equal returns",
        float(at_target.detach()),
        0.0,
        atol=1e-6,
        hint=Hint(
            "ppo.ppo_losses.critic_loss_offset",
            "the critic's loss must vanish when every value equals its return.",
        ),
    )
    if found is not None:
        return found
    return None
