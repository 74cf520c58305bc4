"""The analyses of TD3.train's runs, in order, and analyze_train

Part of :mod:`course_lib.exercises.td3`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.exercises.finding import Finding, Hint
from course_lib.exercises.steps import steps_finding
from course_lib.exercises.td3.model import (
    _a,
    _actor_np,
    _hypotheses,
    _q_np,
    _tables,
)
from course_lib.exercises.td3.read import (
    _TARGET,
    _TARGET_MISTAKES,
    _critic_loss_calls,
    _explains,
    _first_call,
    _rank_correlation,
    _returned_critic_loss,
    _same,
)
from course_lib.exercises.td3.soft_updates import _analyze_soft_updates, _vector


def _analyze_target(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """The TD target: clipped double-Q (or q1'), masked, discounted, without gradient."""
    observed = []
    for case, run in runs:
        where = case["label"]
        call, problem = _first_call(run, where)
        if problem is None and call is not None:
            problem = _returned_critic_loss(call, where)
        if problem is not None or call is None:
            return problem
        if any(any(flags) for flags in call["target_grads"].values()):
            return Finding(
                "gradient flows into the target networks: the TD target was computed with "
                "gradient.",
                Hint(
                    "td3.train.target_not_detached",
                    "compute it inside `with torch.no_grad():` (or .detach() it): the critics "
                    "regress on a constant, and only the online critic learns from the critic "
                    "loss.",
                ),
                where=where,
            )
        found, problem = _critic_loss_calls(case, call, where)
        if problem is not None:
            return problem
        g = []
        for j in (0, 1):
            parts = [_a(c["grads"][j]) for c in found if c["grads"][j] is not None]
            g.append(np.sum(parts, axis=0) if parts else np.zeros(len(case["rews"])))
        for j, label in ((0, "first"), (1, "second")):
            if not np.any(g[j] != 0):
                return Finding(
                    f"the critic loss does not train the {label} critic (its Q values get no "
                    "gradient).",
                    Hint(
                        "td3.train.critic_missing_from_loss",
                        "critic_loss = loss(current_Q1, y) + loss(current_Q2, y), then "
                        "critic_optimizer.zero_grad(); critic_loss.backward(); "
                        "critic_optimizer.step().",
                    ),
                    where=where,
                )
        if not call["returned"][0] > 0:
            return Finding(
                "the returned critic loss is not positive though the Q values are off target.",
                Hint(
                    "td3.train.wrong_critic_loss_return",
                    "return the critic loss itself: critic_loss.item().",
                ),
                got=call["returned"][0],
                where=where,
            )
        observed.append((case, g))
    tables = [_tables(case) for case, _ in observed]
    hyps = [_hypotheses(case, t) for (case, _), t in zip(observed, tables, strict=True)]
    grads_all = np.concatenate([np.concatenate(g) for _, g in observed])
    fits = []  # (explains every sign, rank correlation of the gradient with Q - y)
    for h in range(len(hyps[0])):
        signs = all(
            _explains(g[0], t["q1"], hs[h][1]) and _explains(g[1], t["q2"], hs[h][2])
            for (_, g), t, hs in zip(observed, tables, hyps, strict=True)
        )
        gaps = np.concatenate(
            [
                np.concatenate([t["q1"] - hs[h][1], t["q2"] - hs[h][2]])
                for t, hs in zip(tables, hyps, strict=True)
            ]
        )
        fits.append((signs, _rank_correlation(grads_all, gaps)))
    # Any regression loss explains the signs, and its gradient grows with Q - y (rank
    # correlation 1, less a hair for float32 ties). Among the hypotheses that explain the
    # signs, the best correlated names what the student computed.
    explained = [h for h, (signs, _) in enumerate(fits) if signs]
    best = max((fits[h][1] for h in explained), default=-1.0)
    if 0 in explained and fits[0][1] >= best - 1e-3:
        return None
    where = runs[0][0]["label"]
    if explained:
        name = hyps[0][max(explained, key=lambda h: (fits[h][1], -h))][0]
        problem, hint = _TARGET_MISTAKES[name]
        return Finding(problem, hint, where=where)
    case, g = observed[-1] if observed else (runs[0][0], [np.zeros(1)] * 2)
    return Finding(
        f"the critics are not regressed on {_TARGET}.",
        Hint(
            "td3.train.wrong_td_target",
            "under torch.no_grad(): next_action = (actor_target(next_state) + clipped noise)"
            ".clamp(-max_action, max_action); target_Q1, target_Q2 = critic_target(next_state, "
            "next_action); y = reward + not_done * discount * min(target_Q1, target_Q2); then "
            "critic_loss = loss(current_Q1, y) + loss(current_Q2, y). Watch the shapes: reward and "
            "not_done as (B, 1).",
        ),
        expected="d critic_loss / d Q1 with the sign of (Q1 - y) at every sample",
        got=f"d critic_loss / d Q1 = {np.round(g[0], 5).tolist()}",
        where=where,
    )


def _std_factor(k: float) -> float:
    """Standard deviation of a standard normal clipped to [-k, k]."""
    phi = math.exp(-k * k / 2) / math.sqrt(2 * math.pi)
    inside = math.erf(k / math.sqrt(2))
    return math.sqrt(inside - 2 * k * phi + k * k * (1 - inside))


def _target_actions(
    case: dict[str, Any], call: dict[str, Any], where: str
) -> tuple[np.ndarray | None, Finding | None]:
    nxt = _a(case["next_obs"])
    ids = [int(i) for i in np.round(nxt[:, 0])]
    found = [c for c in call["records"] if c["role"] == "critic_target" and c["ids"] == ids]
    if not found:
        online = [c for c in call["records"] if c["role"] == "critic" and c["ids"] == ids]
        if online:
            return None, Finding(
                _TARGET_MISTAKES["online"][0], _TARGET_MISTAKES["online"][1], where=where
            )
        return None, Finding(
            "the target critic is never evaluated at next_obs.",
            Hint(
                "td3.train.target_critic_not_at_next_obs",
                "target_Q1, target_Q2 = self.critic_target(next_state, next_action).",
            ),
            where=where,
        )
    acts = _a(found[0]["actions"])
    if acts.shape != (len(ids), case["action_dim"]):
        return None, Finding(
            "the target critic receives actions of the wrong shape.",
            Hint(
                "td3.train.target_action_wrong_shape",
                "next_action has the shape of the batch's actions, (B, action_dim).",
            ),
            expected=(len(ids), case["action_dim"]),
            got=acts.shape,
            where=where,
        )
    return acts, None


_NOISE_FIX = (
    "target policy smoothing: noise = (torch.randn_like(action) * self.policy_noise)"
    ".clamp(-self.noise_clip, self.noise_clip); next_action = (self.actor_target(next_state) "
    "+ noise).clamp(-self.max_action, self.max_action)."
)


def _analyze_noise(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """The smoothing noise on the target action: per sample and dimension, scaled, clipped."""
    for case, run in runs:
        where = case["label"]
        call, problem = _first_call(run, where)
        if problem is not None or call is None:
            return problem
        taken, problem = _target_actions(case, call, where)
        if problem is not None or taken is None:
            return problem
        cfg = case["config"]
        top, sigma, clip = cfg["max_action"], cfg["policy_noise"], cfg["noise_clip"]
        nxt = _a(case["next_obs"])
        noise = taken - _actor_np(case["actor_target"], nxt, top)
        from_online = taken - _actor_np(case["actor"], nxt, top)
        largest = float(np.max(np.abs(taken)))
        if largest > top * (1 + 1e-5):
            return Finding(
                f"the target action leaves [-max_action, max_action] = [-{top:.3g}, {top:.3g}].",
                Hint(
                    "td3.train.target_action_not_clamped",
                    "clamp the noisy sum, after adding the noise: (self.actor_target(next_state) "
                    "+ noise).clamp(-self.max_action, self.max_action).",
                ),
                got=f"largest |next_action| = {largest:.4g}",
                where=where,
            )
        if sigma == 0.0:
            if np.max(np.abs(noise)) > 1e-5:
                online = np.max(np.abs(from_online)) <= 1e-5
                return Finding(
                    "the target action comes from the ONLINE actor."
                    if online
                    else "with policy_noise=0 the target action still carries noise.",
                    Hint(
                        "td3.train.target_action_from_online_actor",
                        "next_action = self.actor_target(next_state) + noise.",
                    )
                    if online
                    else Hint(
                        "td3.train.wrong_noise_scale",
                        "scale the standard normal draw by self.policy_noise (not a fixed "
                        "number), and clip it with self.noise_clip.",
                    ),
                    where=where,
                )
            continue
        if top > 1.0:
            if largest <= 1.0 + 1e-3:
                return Finding(
                    f"the target action never goes beyond ±1, though max_action = {top:.3g}.",
                    Hint(
                        "td3.train.target_action_clamped_to_one",
                        "clamp to ±self.max_action, not ±1: the actors act in env units.",
                    ),
                    got=f"largest |next_action| = {largest:.4g}",
                    where=where,
                )
            continue
        spread = float(np.max(np.abs(noise)))
        if spread <= 1e-6:
            return Finding(
                "the target action carries no smoothing noise: it equals actor_target(next_obs).",
                Hint(
                    "td3.train.no_smoothing_noise",
                    _NOISE_FIX + " The noise goes on the target action, not on the stored actions "
                    "or the actor's action.",
                ),
                where=where,
            )
        if spread > clip + 1e-5 and float(np.max(np.abs(from_online))) <= clip + 1e-5:
            return Finding(
                "the target action comes from the ONLINE actor.",
                Hint(
                    "td3.train.target_action_from_online_actor",
                    "next_action = (self.actor_target(next_state) + noise).clamp(...).",
                ),
                where=where,
            )
        if spread > clip + 1e-5:
            return Finding(
                f"the smoothing noise exceeds ±noise_clip = ±{clip:.3g}.",
                Hint(
                    "td3.train.smoothing_noise_not_clipped",
                    "clip the noise itself before adding it: (torch.randn_like(action) * "
                    "self.policy_noise).clamp(-self.noise_clip, self.noise_clip).",
                ),
                got=f"largest |noise| = {spread:.4g}",
                where=where,
            )
        problem = _noise_statistics(noise, sigma, clip, where)
        if problem is not None:
            return problem
    return None


def _noise_statistics(noise: np.ndarray, sigma: float, clip: float, where: str) -> Finding | None:
    """Per sample and dimension, centred, with the asked spread (margins in the comments)."""
    n = noise.size
    per_dim = noise.std(axis=0)
    # A correct draw's per-dimension spread over >= 256 samples is within ~4.5% of its
    # standard deviation (one standard error); a twentieth of it is > 20 standard errors
    # away, while one draw shared by the batch has no spread at all.
    if np.min(per_dim) < 0.05 * sigma * _std_factor(clip / sigma):
        return Finding(
            "every sample of the batch gets the same smoothing noise.",
            Hint(
                "td3.train.noise_shared_across_batch",
                "draw one value per sample and dimension: torch.randn_like(action), of shape "
                "(B, action_dim), not torch.randn(action_dim) or torch.randn(1).",
            ),
            got=f"spread over the batch per dimension: {np.round(per_dim, 4).tolist()}",
            where=where,
        )
    shared = np.isclose(noise[:, 0], noise[:, -1], rtol=0, atol=1e-6)
    if noise.shape[1] >= 2 and np.mean(shared) > 0.5:
        return Finding(
            "the action dimensions of a sample share one noise draw.",
            Hint(
                "td3.train.noise_shared_across_dims",
                "draw one value per sample AND dimension: torch.randn_like(action), not "
                "torch.randn(B, 1).",
            ),
            where=where,
        )
    at_clip = float(np.mean(np.abs(noise) >= clip - 1e-5))
    if clip < 2 * sigma:
        # here a correct draw reaches the clip with probability 2 * P(z > clip / sigma)
        # (0.45 to 0.62 for the clips used): the fraction over >= 512 draws is within
        # 0.03 of it (1 standard error = 0.022); 0.2 away is > 9 standard errors.
        expected = 1 - math.erf(clip / sigma / math.sqrt(2))
        if abs(at_clip - expected) > 0.2:
            return Finding(
                f"the smoothing noise reaches ±noise_clip on {at_clip:.0%} of its draws; "
                f"with policy_noise = {sigma:.3g} about {expected:.0%} should.",
                Hint(
                    "td3.train.wrong_noise_scale",
                    "noise = torch.randn_like(action) * self.policy_noise, clipped to "
                    "±self.noise_clip (use the agent's settings, not fixed numbers).",
                ),
                where=where,
            )
        return None
    # Unclipped enough to read the moments: over n >= 512 draws the mean is within
    # 4.4% of sigma and the std within 3.1% (1 standard error); the margins below are
    # > 5.5 and > 6 standard errors, while the typical mistakes miss by 30% or more.
    scale = sigma * _std_factor(clip / sigma)
    mean, std = float(noise.mean()), float(noise.std())
    if abs(mean) > 0.25 * scale:
        return Finding(
            f"the smoothing noise is not centred on 0 (mean {mean:.3g} over {n} draws).",
            Hint(
                "td3.train.uniform_smoothing_noise",
                "draw from a standard normal: torch.randn_like(action) (torch.rand_like is uniform "
                "on [0, 1): always positive).",
            ),
            where=where,
        )
    if not 0.8 * scale <= std <= 1.2 * scale:
        return Finding(
            f"the smoothing noise has standard deviation {std:.3g}; policy_noise = "
            f"{sigma:.3g} asks for about {scale:.3g}.",
            Hint(
                "td3.train.wrong_noise_scale",
                "noise = torch.randn_like(action) * self.policy_noise, then clip it to "
                "±self.noise_clip.",
            ),
            where=where,
        )
    return None


def _analyze_actor(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """The actor loss -Q1(s, actor(s)).mean() and the actor's step (policy_freq=1)."""
    for case, run in runs:
        where = case["label"]
        call, problem = _first_call(run, where)
        if problem is not None or call is None:
            return problem
        problem = _returned_critic_loss(call, where)
        if problem is not None:
            return problem
        actor_loss = call["returned"][1]
        if not isinstance(actor_loss, float):
            return Finding(
                "with policy_freq=1 every call updates the actor, but train returned "
                f"actor_loss={actor_loss!r}.",
                Hint(
                    "td3.train.wrong_actor_loss_return",
                    "update the actor when self.total_it % self.policy_freq == 0 and return "
                    "actor_loss.item() (a float); None only on calls without an actor update.",
                ),
                where=where,
            )
        top = case["config"]["max_action"]
        obs, acts = _a(case["obs"]), _a(case["acts"])
        ids = [int(i) for i in np.round(obs[:, 0])]
        own = _actor_np(case["actor"], obs, top)
        their = _actor_np(case["actor_target"], obs, top)
        at_obs = [c for c in call["records"] if c["ids"] == ids]
        for_actor = [c for c in at_obs if not (c["role"] == "critic" and _same(c["actions"], acts))]
        users = [c for c in for_actor if _same(c["actions"], own)]
        if not users:
            if any(_same(c["actions"], their) for c in for_actor):
                return Finding(
                    "the actor loss uses actor_target's actions.",
                    Hint(
                        "td3.train.actor_loss_on_target_actor",
                        "use the online actor: -self.critic.Q1(state, self.actor(state)).mean().",
                    ),
                    where=where,
                )
            if for_actor:
                return Finding(
                    "the actor loss evaluates the critic at a noisy (or altered) action.",
                    Hint(
                        "td3.train.actor_loss_on_noisy_action",
                        "actor_loss = -self.critic.Q1(state, self.actor(state)).mean(): the "
                        "smoothing noise belongs to the target action only.",
                    ),
                    where=where,
                )
            stored = [c for c in at_obs if c["role"] == "critic" and _same(c["actions"], acts)]
            if len(stored) >= 2:
                return Finding(
                    "the actor loss evaluates the critic at the batch's stored actions, "
                    "Q1(state, action), not at the actor's own actions: no gradient reaches "
                    "the actor.",
                    Hint(
                        "td3.train.actor_loss_on_stored_actions",
                        "actor_loss = -self.critic.Q1(state, self.actor(state)).mean().",
                    ),
                    where=where,
                )
            return Finding(
                "the actor loss never evaluates the critic at (obs, actor(obs)).",
                Hint(
                    "td3.train.actor_loss_without_actor_action",
                    "actor_loss = -self.critic.Q1(state, self.actor(state)).mean().",
                ),
                where=where,
            )
        if all(c["role"] == "critic_target" for c in users):
            return Finding(
                "the actor loss uses the TARGET critic.",
                Hint(
                    "td3.train.actor_loss_on_target_critic",
                    "use the online critic: -self.critic.Q1(state, self.actor(state)).mean().",
                ),
                where=where,
            )
        q1, q2 = _q_np(case["critic"], 0, obs, own), _q_np(case["critic"], 1, obs, own)
        expected = -float(q1.mean())
        mistakes = [
            (
                -expected,
                "actor_loss has the wrong sign.",
                Hint(
                    "td3.train.actor_loss_wrong_sign",
                    "the optimizer minimizes: "
                    "actor_loss = -self.critic.Q1(state, self.actor(state)).mean() pushes "
                    "the actor "
                    "toward actions with a higher Q.",
                ),
            ),
            (
                -float(q2.mean()),
                "actor_loss uses the second critic.",
                Hint(
                    "td3.train.actor_loss_on_second_critic",
                    "TD3's actor follows "
                    "the first critic: -self.critic.Q1(state, self.actor(state)).mean().",
                ),
            ),
            (
                -float(np.minimum(q1, q2).mean()),
                "actor_loss takes min(q1, q2).",
                Hint(
                    "td3.train.actor_loss_min_of_critics",
                    "TD3's actor maximizes Q1 alone: "
                    "-self.critic.Q1(state, self.actor(state)).mean().",
                ),
            ),
            (
                -float(q1.sum()),
                "actor_loss sums over the batch.",
                Hint("td3.train.actor_loss_summed", "average it: .mean()."),
            ),
        ]
        if not math.isclose(actor_loss, expected, rel_tol=1e-4, abs_tol=1e-5):
            for value, wrong, fix in mistakes:
                if math.isclose(actor_loss, value, rel_tol=1e-4, abs_tol=1e-5):
                    return Finding(
                        wrong, fix, expected=round(expected, 6), got=actor_loss, where=where
                    )
            return Finding(
                "the returned actor loss is not -Q1(obs, actor(obs)).mean().",
                Hint(
                    "td3.train.wrong_actor_loss_formula",
                    "actor_loss = -self.critic.Q1(state, self.actor(state)).mean(); return "
                    "actor_loss.item().",
                ),
                expected=round(expected, 6),
                got=actor_loss,
                where=where,
            )
        after = call["params"]["actor"]
        if set(after) != {"weight", "bias"}:
            return Finding("self.actor was replaced during train.", where=where)
        k1 = float(case["critic"]["k1"])
        gain = k1 * float((_actor_np(after, obs, top) - own).sum())
        if gain <= 0:
            return Finding(
                "the actor did not change on an update call."
                if gain == 0
                else "the actor's step lowered Q1 instead of raising it.",
                Hint(
                    "td3.train.actor_not_updated" if gain == 0 else "td3.train.actor_step_lowers_q",
                    "self.actor_optimizer.zero_grad(); actor_loss.backward(); "
                    "self.actor_optimizer.step(), with actor_loss = "
                    "-self.critic.Q1(state, self.actor(state)).mean().",
                ),
                where=where,
            )
    return _analyze_soft_updates(runs)


def _analyze_schedule(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """Delayed policy updates: the actor and the targets move every policy_freq calls only."""
    for case, run in runs:
        call, problem = _first_call(run, case["label"])
        if problem is not None or call is None:
            return problem
        freq = case["config"]["policy_freq"]
        before = _vector(case["actor"])
        critic_before = _vector(case["critic"])
        for t, call in enumerate(run["calls"], start=1):
            where = f"{case['label']}, call {t}"
            if call.get("error"):
                return Finding(str(call["error"]), where=where)
            if call["total_it"] != t:
                return Finding(
                    f"after call {t} of train, self.total_it is {call['total_it']!r}, not {t}.",
                    Hint(
                        "td3.train.total_it_not_incremented",
                        "start train with self.total_it += 1: the delay counts calls.",
                    ),
                    where=where,
                )
            problem = _returned_critic_loss(call, where)
            if problem is not None:
                return problem
            if call["batch_sizes"] != [case["batch_size"]]:
                return Finding(
                    "train must draw one batch of batch_size transitions per call.",
                    Hint(
                        "td3.train.batch_not_sampled_once",
                        "batch = replay_buffer.sample_batch(batch_size), once per call.",
                    ),
                    got=f"sample_batch called with {call['batch_sizes']}",
                    where=where,
                )
            update = t % freq == 0
            actor_loss = call["returned"][1]
            after = _vector(call["params"]["actor"])
            critic_after = _vector(call["params"]["critic"])
            if set(after) != set(before) or set(critic_after) != set(critic_before):
                return Finding("a network of the agent was replaced during train.", where=where)
            if all(np.array_equal(critic_after[n], critic_before[n]) for n in critic_before):
                return Finding(
                    f"the critic did not change on call {t}.",
                    Hint(
                        "td3.train.critic_not_updated",
                        "every call: self.critic_optimizer.zero_grad(); critic_loss.backward(); "
                        "self.critic_optimizer.step().",
                    ),
                    where=where,
                )
            moved = any(not np.array_equal(after[n], before[n]) for n in before)
            if moved and not update:
                return Finding(
                    f"the actor is updated on every call despite policy_freq = {freq} (it "
                    f"changed on call {t}, total_it = {t}).",
                    Hint(
                        "td3.train.no_policy_delay",
                        "delayed policy updates: update the actor (and the targets) only when "
                        "self.total_it % self.policy_freq == 0.",
                    ),
                    where=where,
                )
            if update and not moved:
                return Finding(
                    f"the actor did not change on call {t}, where total_it % policy_freq == 0.",
                    Hint(
                        "td3.train.actor_not_updated",
                        "on those calls: actor_loss = -self.critic.Q1(state, self.actor(state))"
                        ".mean(); self.actor_optimizer.zero_grad(); actor_loss.backward(); "
                        "self.actor_optimizer.step().",
                    ),
                    where=where,
                )
            if update != isinstance(actor_loss, float) or (not update and actor_loss is not None):
                return Finding(
                    f"train returned actor_loss={actor_loss!r} on call {t} (policy_freq = {freq}).",
                    Hint(
                        "td3.train.wrong_actor_loss_return",
                        "return the actor loss as a float (actor_loss.item()) on calls that update "
                        "the actor, and None on the others.",
                    ),
                    where=where,
                )
            before, critic_before = after, critic_after
    return _analyze_soft_updates(runs)


def _analyze_steps(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> Finding | None:
    """Two identical updates: each optimizer steps once per call, on that call's gradient."""
    for case, run in runs:
        where = case["label"]
        _call, problem = _first_call(run, where)
        if problem is not None:
            return problem
        errors = [c["error"] for c in run.get("calls") or [] if c.get("error")]
        if errors:
            return Finding(str(errors[0]), where=where)
        steps = run.get("steps")
        if steps is None:
            return None  # recorded by an older probe
        for net in ("critic", "actor"):
            found = steps_finding(net, steps.get(net) or [], updates=int(case["calls"]))
            if found is not None:
                return Finding(found.problem, found.hint, where=where)
    return None


Analysis = Callable[[list[tuple[dict[str, Any], dict[str, Any]]]], Finding | None]

ANALYSES: list[tuple[str, Analysis]] = [
    ("target_double_q", _analyze_target),
    ("target_single_q", _analyze_target),
    ("noise", _analyze_noise),
    ("noise_clip", _analyze_noise),
    ("noise_off", _analyze_noise),
    ("noise_clamp", _analyze_noise),
    ("actor", _analyze_actor),
    ("schedule", _analyze_schedule),
    ("steps", _analyze_steps),
]
"""The analyses of a train run, in the order the check applies them."""


def analyze_train(
    cases: dict[str, list[dict[str, Any]]], runs: dict[str, list[dict[str, Any]]]
) -> Finding | None:
    """The first problem the runs show, or None when every analysis passes."""
    for key, analysis in ANALYSES:
        problem = analysis(list(zip(cases[key], runs[key], strict=True)))
        if problem is not None:
            return problem
    return None
