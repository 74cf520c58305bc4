"""The agent's update_model: the TD target, the actor's gradient, the soft updates

Part of :mod:`course_lib.exercises.ddpg`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_lib.exercises.ddpg.base import (
    TARGET_HYPOTHESES,
    Record,
    _close,
    _error,
)
from course_lib.exercises.ddpg.soft_update import (
    _SOFT_HINT,
    _update_kind,
)
from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.steps import steps_finding

_TARGET_HINT = (
    "y = reward + gamma * (1 - done) * critic_target(next_state, actor_target(next_state)), "
    "under torch.no_grad()."
)
_WRONG_TARGETS = {
    "online": (
        "the TD target uses the online networks: critic(s', actor(s')).",
        Hint(
            "ddpg.update_model.td_target_from_online_networks",
            "bootstrap from the slowly moving copies, critic_target(next_state, "
            "actor_target(next_state)): a target built from the network being trained chases "
            "itself.",
        ),
    ),
    "no_mask": (
        "the TD target ignores done: it bootstraps past the end of terminated episodes.",
        Hint(
            "ddpg.update_model.no_done_mask",
            "multiply the bootstrap by mask = 1 - done: " + _TARGET_HINT,
        ),
    ),
    "done_as_mask": (
        "the TD target multiplies the bootstrap by done instead of (1 - done).",
        Hint("ddpg.update_model.done_used_as_mask", "mask = 1 - done: " + _TARGET_HINT),
    ),
    "online_no_mask": (
        "the TD target uses the online networks and ignores done.",
        Hint("ddpg.update_model.online_networks_no_mask", _TARGET_HINT),
    ),
    "target_critic_online_actor": (
        "the TD target evaluates the target critic at the online actor's action actor(s').",
        Hint(
            "ddpg.update_model.next_action_from_online_actor",
            "next_action = self.actor_target(next_state): " + _TARGET_HINT,
        ),
    ),
    "online_critic_target_actor": (
        "the TD target uses the online critic: critic(s', actor_target(s')).",
        Hint(
            "ddpg.update_model.td_target_from_online_critic",
            "use self.critic_target(next_state, next_action): " + _TARGET_HINT,
        ),
    ),
    "no_gamma": (
        "the TD target does not discount the bootstrap: gamma is missing.",
        Hint(
            "ddpg.update_model.no_discount",
            "y = reward + self.gamma * (1 - done) * critic_target(next_state, "
            "actor_target(next_state)).",
        ),
    ),
    "no_bootstrap": (
        "the TD target has no bootstrap term: the critic regresses onto the reward alone.",
        Hint("ddpg.update_model.no_bootstrap", _TARGET_HINT),
    ),
}


def _calls(run: Record, net: str, states: Any, actions: Any) -> list[Record]:
    return [
        c
        for c in run.get("calls") or []
        if c.get("net") == net
        and _close(c.get("state"), states)
        and _close(c.get("action"), actions)
    ]


def _grad(calls: list[Record]) -> np.ndarray | None:
    grads = [np.asarray(c["grad"], dtype=np.float64).reshape(-1) for c in calls if c.get("grad")]
    return None if not grads else np.sum(grads, axis=0)


def diagnose_update_model(rec: Record, case: Record) -> Finding | None:
    """The TD target, no gradient into targets, the actor's sign, soft updates, the returns.

    The batch's rewards make the online critic's Q(s, a) equal to one hypothesis's TD
    target, run by run. Every correct regression loss has zero gradient on Q exactly
    where Q equals the target, so the run whose gradient vanishes names the target the
    student computed. "Vanishes" means below 1e-3 of the gradient when Q is 1 below
    the target (float32 rounding leaves about 1e-7).
    """
    stage, message = _error(rec)
    if stage == "construct":
        return Finding(
            f"DDPGAgent(env, ...) raised {message}.",
            hint=Hint(
                "ddpg.update_model.broken_agent_parts",
                "the agent's __init__ builds your ReplayBuffer, OUNoise, DDPGActor and "
                "DDPGCritic: make their checks pass first.",
            ),
            from_error=True,
        )
    runs = {r.get("label"): r for r in rec.get("runs") or []}
    for label in ("target", "offset"):
        run = runs.get(label)
        if run is None or run.get("error"):
            error = run.get("error") if run else message
            return Finding(f"update_model() raised {error}.", from_error=True)
    batch = case["batch"]
    obs, acts = batch["obs"], batch["acts"]
    on_batch = _calls(runs["target"], "critic", obs, acts)
    if not on_batch:
        if _calls(runs["target"], "critic_target", obs, acts):
            return Finding(
                "the critic loss evaluates the target critic on the batch's (state, action).",
                hint=Hint(
                    "ddpg.update_model.critic_loss_on_target_critic",
                    "the critic being trained is self.critic: q = self.critic(state, action).",
                ),
            )
        return Finding(
            "update_model never evaluates self.critic(state, action) on the sampled batch.",
            hint=Hint(
                "ddpg.update_model.q_not_on_batch",
                "q = self.critic(state, action) with state = samples['obs'] and action = "
                "samples['acts'] as float32 tensors; critic_loss = F.mse_loss(q, y).",
            ),
        )
    mu_obs = case["actor_actions"]
    if len(on_batch) >= 2 and not _calls(runs["target"], "critic", obs, mu_obs):
        return Finding(
            "the actor loss evaluates the critic at the batch's stored actions, "
            "critic(state, action), not at the actor's own actions: no gradient reaches the "
            "actor.",
            hint=Hint(
                "ddpg.update_model.actor_loss_on_stored_actions",
                "actor_loss = -self.critic(state, self.actor(state)).mean(): the actor "
                "improves by moving its own action up the critic's slope.",
            ),
        )
    g_target = _grad(on_batch)
    if g_target is None:
        return Finding(
            "no gradient of the critic loss reaches critic(state, action).",
            hint=Hint(
                "ddpg.update_model.q_without_gradient",
                "compute q = self.critic(state, action) with autograd on (only y goes under "
                "torch.no_grad()), then critic_loss.backward().",
            ),
        )
    g_offset = _grad(_calls(runs["offset"], "critic", obs, acts))
    scale = 0.0 if g_offset is None else float(np.abs(g_offset).max())
    if scale == 0.0:
        return Finding(
            "the critic loss does not change with Q(s, a).",
            hint=Hint("ddpg.update_model.critic_loss_ignores_q", _TARGET_HINT),
        )

    def at_rest(run: Record | None) -> bool:
        if run is None or run.get("error"):
            return False
        g = _grad(_calls(run, "critic", obs, acts))
        return g is not None and float(np.abs(g).max()) <= 1e-3 * scale

    if not at_rest(runs["target"]):
        for label in TARGET_HYPOTHESES[1:]:
            if at_rest(runs.get(label)):
                problem, hint = _WRONG_TARGETS[label]
                return Finding(problem, hint=hint)
        return Finding(
            "the critic is not regressed onto y = r + gamma * (1 - done) * Q'(s', mu'(s')) "
            "with the target networks Q' and mu': its loss is not at its minimum when "
            "Q(s, a) equals that target.",
            hint=Hint(
                "ddpg.update_model.wrong_td_target",
                _TARGET_HINT + " Watch the shapes: rews and done are (B,) while the critic "
                "returns (B, 1); reshape them with .reshape(-1, 1), or (B, 1) + (B,) broadcasts "
                "to (B, B).",
            ),
        )
    if not np.all(g_offset < 0):
        return Finding(
            "the critic loss pushes Q(s, a) away from its target: where Q is 1 below the "
            "target, its gradient on Q is not negative.",
            hint=Hint(
                "ddpg.update_model.critic_loss_sign",
                "minimize a regression loss of Q onto y, e.g. F.mse_loss(q, y).",
            ),
        )
    grads = runs["offset"].get("target_grads") or {}
    if any(g for values in grads.values() for g in values if g is not None):
        return Finding(
            "the target networks received gradient from the critic loss.",
            hint=Hint(
                "ddpg.update_model.target_with_gradient",
                "compute the TD target under torch.no_grad() (or .detach() it): the targets "
                "move only by soft updates, and the critic must chase a fixed target.",
            ),
        )
    through = _calls(runs["offset"], "critic", obs, mu_obs)
    if not through:
        if _calls(runs["offset"], "critic_target", obs, mu_obs):
            return Finding(
                "the actor loss uses the target critic.",
                hint=Hint(
                    "ddpg.update_model.actor_loss_on_target_critic",
                    "actor_loss = -self.critic(state, self.actor(state)).mean(): the actor "
                    "climbs the critic being trained.",
                ),
            )
        return Finding(
            "the actor loss never evaluates self.critic(state, self.actor(state)) on the batch.",
            hint=Hint(
                "ddpg.update_model.actor_loss_not_via_critic",
                "actor_loss = -self.critic(state, self.actor(state)).mean().",
            ),
        )
    g_actor = _grad(through)
    if g_actor is None:
        return Finding(
            "no gradient of the actor loss goes through critic(state, actor(state)).",
            hint=Hint(
                "ddpg.update_model.actor_loss_without_gradient",
                "compute actor_loss = -self.critic(state, self.actor(state)).mean() with "
                "autograd on, then actor_loss.backward().",
            ),
        )
    if np.all(g_actor > 0):
        return Finding(
            "the actor loss has the wrong sign: minimizing it lowers Q(s, actor(s)).",
            hint=Hint(
                "ddpg.update_model.actor_loss_sign",
                "the actor maximizes Q and the optimizer minimizes: actor_loss = "
                "-self.critic(state, self.actor(state)).mean().",
            ),
        )
    if not np.all(g_actor < 0):
        return Finding(
            "the actor loss is not -mean Q(s, actor(s)): its gradient on Q differs in sign "
            "across the batch.",
            hint=Hint(
                "ddpg.update_model.actor_loss_not_mean_q",
                "actor_loss = -self.critic(state, self.actor(state)).mean().",
            ),
        )
    actor_calls = [c for c in runs["offset"].get("calls") or [] if c.get("net") == "actor"]
    actor_grad = _grad([c for c in actor_calls if _close(c.get("state"), obs)])
    if actor_grad is None or not np.any(actor_grad != 0):
        return Finding(
            "no gradient reaches the actor: its action is detached before the critic.",
            hint=Hint(
                "ddpg.update_model.actor_action_detached",
                "pass self.actor(state) to the critic as it is (no .detach(), no no_grad).",
            ),
        )
    found = _soft_update_in_agent(runs["offset"], case) or _optimizer_steps(rec.get("twice"))
    if found:
        return found
    returned = runs["offset"].get("returned")
    if not isinstance(returned, list) or len(returned) != 2:
        return Finding(
            f"update_model returned {returned}; expected two floats (actor_loss, critic_loss).",
            hint=Hint(
                "ddpg.update_model.wrong_return_values",
                "return actor_loss.item(), critic_loss.item().",
            ),
        )
    if any(isinstance(v, str) for v in returned):
        return Finding(
            f"update_model returned {returned}: the losses must be plain floats.",
            hint=Hint(
                "ddpg.update_model.returns_tensors",
                "return actor_loss.item(), critic_loss.item(): a tensor keeps its whole graph "
                "alive in the list of losses.",
            ),
        )
    actor_loss = float(case["actor_loss"])
    if not math.isclose(returned[0], actor_loss, rel_tol=1e-4, abs_tol=1e-5):
        if math.isclose(returned[1], actor_loss, rel_tol=1e-4, abs_tol=1e-5):
            return Finding(
                "update_model returns (critic_loss, actor_loss); the order is (actor_loss, "
                "critic_loss).",
                hint=Hint(
                    "ddpg.update_model.returned_losses_swapped",
                    "return actor_loss.item(), critic_loss.item().",
                ),
            )
        return Finding(
            f"the returned actor loss {returned[0]:.5g} is not -mean Q(s, actor(s)) = "
            f"{actor_loss:.5g}.",
            hint=Hint(
                "ddpg.update_model.wrong_returned_actor_loss",
                "return actor_loss.item() with actor_loss = -self.critic(state, "
                "self.actor(state)).mean().",
            ),
        )
    if not returned[1] > 0:
        return Finding(
            f"the returned critic loss is {returned[1]:.4g} while Q(s, a) is 1 away from the "
            "target.",
            hint=Hint("ddpg.update_model.wrong_returned_critic_loss", "return critic_loss.item()."),
        )
    return None


def _optimizer_steps(twice: Record | None) -> Finding | None:
    """Each optimizer steps once per update, on the gradient of that update alone."""
    if not twice:
        return None  # recorded by an older probe
    if twice.get("error"):
        return Finding(f"a second update_model() on the same agent raised {twice['error']}.")
    steps = twice.get("steps") or {}
    for net in ("critic", "actor"):
        found = steps_finding(net, steps.get(net) or [])
        if found is not None:
            return found
    return None


def _soft_update_in_agent(run: Record, case: Record) -> Finding | None:
    tau, nets, after = float(case["tau"]), case["nets"], run.get("after") or {}
    kinds = {}
    for target, online in (("actor_target", "actor"), ("critic_target", "critic")):
        before = np.concatenate([np.ravel(nets[target]["weight"]), np.ravel(nets[target]["bias"])])
        source = np.concatenate([np.ravel(nets[online]["weight"]), np.ravel(nets[online]["bias"])])
        kinds[target] = _update_kind(after.get(target, []), before, source, tau)
    if all(k == "ok" for k in kinds.values()):
        return None
    call = "soft_update(self.{0}_target, self.{0}, self.tau)"
    for target, online in (("actor_target", "actor"), ("critic_target", "critic")):
        start = np.concatenate([np.ravel(nets[online]["weight"]), np.ravel(nets[online]["bias"])])
        if kinds[target] == "same" and not _close(after.get(online, []), start, 1e-7, 1e-7):
            return Finding(
                f"self.{online} moved toward self.{target}: soft_update's arguments are "
                "swapped (the online network is trained, not averaged).",
                hint=Hint(
                    "ddpg.update_model.soft_update_args_swapped",
                    f"the target comes first: {call.format(online)}.",
                ),
            )
    if all(k == "same" for k in kinds.values()):
        return Finding(
            "neither target network moved: the targets are not soft-updated.",
            hint=Hint(
                "ddpg.update_model.missing_soft_update",
                f"end update_model with {call.format('actor')} and {call.format('critic')}.",
            ),
        )
    if all(k == "copy" for k in kinds.values()):
        return Finding(
            "the target networks became copies of the online ones: a hard update.",
            hint=Hint(
                "ddpg.update_model.hard_target_update",
                f"{call.format('actor')} moves them only tau of the way (likewise the critic).",
            ),
        )
    for target, kind in kinds.items():
        online = target.removesuffix("_target")
        if kind == "same":
            return Finding(
                f"self.{target} is not soft-updated.",
                hint=Hint("ddpg.update_model.missing_soft_update", f"call {call.format(online)}."),
            )
        if kind == "copy":
            return Finding(
                f"self.{target} became a copy of self.{online}: a hard update.",
                hint=Hint(
                    "ddpg.update_model.hard_target_update",
                    f"{call.format(online)} moves it only tau of the way.",
                ),
            )
        if kind == "swapped":
            return Finding(
                f"self.{target} moved 1 - tau of the way to self.{online}: tau is on the "
                "wrong side (does check_soft_update pass?).",
                hint=Hint("ddpg.update_model.soft_update_tau_swapped", _SOFT_HINT),
            )
        if kind == "other":
            return Finding(
                f"self.{target} moved by another amount than tau = self.tau = {tau}.",
                hint=Hint(
                    "ddpg.update_model.wrong_tau_passed", f"pass self.tau: {call.format(online)}."
                ),
            )
    return None
