"""Reading a run: the finding and the first critic and actor calls

Part of :mod:`course_lib.exercises.td3`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.td3.model import (
    _a,
    _actor_np,
)

_TARGET = "y = r + discount * (1 - done) * min(q1', q2') (q1' alone when double_q=False)"

_TARGET_MISTAKES: dict[str, tuple[str, Hint]] = {
    "max": (
        "the critics are regressed on r + discount * (1 - done) * MAX(q1', q2').",
        Hint(
            "td3.train.max_of_twin_targets",
            "the clipped double-Q target takes the MIN of the two target critics: "
            "torch.min(target_Q1, target_Q2). The max overestimates even more than one critic.",
        ),
    ),
    "q1_only": (
        "with double_q=True the target uses q1' alone.",
        Hint(
            "td3.train.q1_only_target",
            "take torch.min(target_Q1, target_Q2) when self.double_q is True; q1' alone is the "
            "ablation double_q=False.",
        ),
    ),
    "min_when_off": (
        "with double_q=False the target still takes min(q1', q2'): the switch is ignored.",
        Hint(
            "td3.train.min_when_double_q_off",
            "when self.double_q is False, the target uses target_Q1 alone (the ablation).",
        ),
    ),
    "separate": (
        "each critic is regressed on its own target (q1 on q1', q2 on q2').",
        Hint(
            "td3.train.separate_critic_targets",
            "compute ONE target y = r + discount * (1 - done) * min(q1', q2') and regress both "
            "critics on it.",
        ),
    ),
    "online": (
        "the target is computed from the ONLINE critic.",
        Hint(
            "td3.train.target_from_online_critic",
            "evaluate the next state with the target networks: self.critic_target(next_state, "
            "next_action), with next_action from self.actor_target.",
        ),
    ),
    "obs": (
        "the target bootstraps from obs instead of next_obs.",
        Hint(
            "td3.train.target_from_obs",
            "the target networks take next_obs: self.critic_target(next_state, next_action).",
        ),
    ),
    "no_mask": (
        "the target bootstraps past terminations: the (1 - done) mask is missing.",
        Hint(
            "td3.train.no_done_mask",
            "y = r + discount * (1 - done) * min(q1', q2'): a terminated transition has no "
            "next value.",
        ),
    ),
    "done_mask": (
        "the target is masked with done instead of (1 - done).",
        Hint(
            "td3.train.done_mask_inverted",
            "multiply by not_done = 1 - done: bootstrap only where the episode did not terminate.",
        ),
    ),
    "discount": (
        "the target uses discount 0.99 instead of self.discount.",
        Hint(
            "td3.train.hardcoded_discount",
            "use self.discount (the tests and the ablations pass other values).",
        ),
    ),
    "broadcast": (
        "the target has shape (B, B): each Q is regressed on a mix of the batch's targets.",
        Hint(
            "td3.train.target_shape_broadcast",
            "rews and done come with shape (B,): reshape them to (B, 1) (e.g. .reshape(-1, 1)) "
            "before combining them with the critics' (B, 1) outputs; (B,) + (B, 1) broadcasts "
            "to (B, B).",
        ),
    ),
}


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties sharing their average rank."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=np.float64)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=ranks) / counts)[inverse]


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's correlation: 1 when b grows with a, whatever the monotone function."""
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def _explains(g: np.ndarray, q: np.ndarray, y: np.ndarray) -> bool:
    """Whether a loss that pulls each q toward y gives the gradient g: sign(g) = sign(q - y)."""
    gap = q - y
    far = np.abs(gap) > 1e-3
    return bool(np.all(np.sign(g[far]) == np.sign(gap[far])))


def _same(x: Any, y: Any, atol: float = 1e-5) -> bool:
    x, y = _a(x), _a(y)
    return x.shape == y.shape and bool(np.allclose(x, y, atol=atol, rtol=1e-5))


def _first_call(run: dict[str, Any], where: str) -> tuple[dict[str, Any] | None, Finding | None]:
    if run.get("error"):
        return None, Finding(
            str(run["error"]),
            Hint(
                "td3.train.given_init_changed",
                "TD3.__init__ is given and is run with stand-in networks: undo any change to it.",
            ),
            where=where,
        )
    calls = run.get("calls") or []
    if not calls:
        return None, Finding("train was never called.", where=where)
    first = calls[0]
    if first.get("error"):
        return None, Finding(
            str(first["error"]),
            Hint(
                "td3.train.outside_network_api",
                "the check swaps the agent's networks for stand-ins with exactly the exercise's "
                "API: actor(state); critic(state, action) -> (q1, q2); critic.Q1(state, action). "
                "train may use only that API and the attributes set in __init__.",
            ),
            where=where,
        )
    return first, None


def _returned_critic_loss(call: dict[str, Any], where: str) -> Finding | None:
    ret = call.get("returned")
    if not isinstance(ret, list) or len(ret) != 2:
        return Finding(
            "train must return the pair (critic_loss, actor_loss).",
            Hint(
                "td3.train.return_not_a_pair",
                "end train with `return critic_loss.item(), actor_loss` (actor_loss None on calls "
                "without an actor update).",
            ),
            got=ret,
            where=where,
        )
    critic_loss = ret[0]
    if critic_loss is None and isinstance(ret[1], float):
        return Finding(
            "train returned (None, a number): the order is (critic_loss, actor_loss).",
            Hint(
                "td3.train.losses_returned_swapped",
                "return critic_loss.item(), actor_loss (the other way round from DDPG's "
                "update_model).",
            ),
            where=where,
        )
    if not isinstance(critic_loss, float):
        return Finding(
            "the critic loss returned by train is not a Python float.",
            Hint(
                "td3.train.critic_loss_not_item",
                "return critic_loss.item(), not the tensor (a tensor keeps its graph alive).",
            ),
            got=critic_loss,
            where=where,
        )
    return None


def _critic_loss_calls(
    case: dict[str, Any], call: dict[str, Any], where: str
) -> tuple[list[dict[str, Any]], Finding | None]:
    """The online critic's forward calls at (obs, acts): those the critic loss goes through."""
    obs, acts = _a(case["obs"]), _a(case["acts"])
    ids = [int(i) for i in np.round(obs[:, 0])]
    own = _actor_np(case["actor"], obs, case["config"]["max_action"])
    at_obs = [
        c
        for c in call["records"]
        if c["role"] == "critic" and c["kind"] == "forward" and c["ids"] == ids
    ]
    found = [c for c in at_obs if _same(c["actions"], acts)]
    if found:
        return found, None
    other = [c for c in at_obs if not _same(c["actions"], own)]
    if other:
        return [], Finding(
            "the critics are evaluated at actions other than the stored ones.",
            Hint(
                "td3.train.critic_loss_on_altered_actions",
                "current_Q1, current_Q2 = self.critic(state, action) with the batch's actions as "
                "stored; the smoothing noise goes on the target action only.",
            ),
            where=where,
        )
    return [], Finding(
        "the critic is never evaluated at the batch's (obs, acts).",
        Hint(
            "td3.train.critic_not_on_batch",
            "current_Q1, current_Q2 = self.critic(state, action), then regress both on the target.",
        ),
        where=where,
    )
