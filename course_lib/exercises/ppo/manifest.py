"""How the grader judges notebook 03's observations: the manifest and its judges.

The actor and the critic are exported and probed by the grader; ``ActionNormalizer`` and
``compute_gae`` are judged equal to the reference on the grader's cases
(:mod:`course_lib.probes.ppo`); ``init_layer_uniform``, ``ppo_iter``, ``ppo_losses`` and the
agent's step by the properties every correct variant has (the judges below); the trained
policy is played against the notebook's criterion.

Part of :mod:`course_lib.exercises.ppo`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course_lib.exercises.compare import each_record, first_difference
from course_lib.exercises.finding import Finding
from course_lib.exercises.manifest import (
    Close,
    Diagnosed,
    Entry,
    NetworkProbe,
    PolicyCriterion,
    judge_by,
)
from course_lib.exercises.ppo.update_model import diagnose_update_model

__all__ = [
    "MANIFEST",
    "judge_agent_step",
    "judge_init_layer_uniform",
    "judge_ppo_iter",
    "judge_ppo_losses",
]


def judge_init_layer_uniform(student: Any, reference: Any) -> Finding | None:
    """Weights and biases within [-init_w, init_w], spread over it, the layer returned."""
    try:
        init_w = float(reference["init_w"])
        if not math.isclose(float(student["init_w"]), init_w):
            return Finding("the observation is not for the grader's init_w")
        weight = np.asarray(student["weight"], dtype=np.float64)
        bias = np.asarray(student["bias"], dtype=np.float64)
        returned = student["returned_layer"] is True
    except (KeyError, TypeError, ValueError) as err:
        return Finding(f"malformed observation ({type(err).__name__})")
    if weight.size != len(reference["weight"]) or bias.size != len(reference["bias"]):
        return Finding("the layer's parameters have the wrong sizes")
    if not returned:
        return Finding(
            "the function does not return the layer it initialized",
            mistake="ppo.networks.layer_not_returned",
        )
    for what, x in (("weight", weight), ("bias", bias)):
        if not np.all(np.isfinite(x)) or np.abs(x).max() > init_w * (1 + 1e-6):
            return Finding(
                f"{what} has entries outside [-init_w, init_w]",
                mistake="ppo.networks.layer_not_uniform_init",
            )
        if x.max() - x.min() < 1.5 * init_w or abs(x.mean()) > 0.25 * init_w:
            return Finding(
                f"{what} is not spread uniformly over [-init_w, init_w]",
                mistake="ppo.networks.init_not_spread",
            )
    return None


def judge_ppo_iter(student: Any, reference: Any) -> Finding | None:
    """Every epoch covers every sample exactly once; arrays aligned; epochs reshuffled."""
    return each_record(student, reference, _ppo_iter_record, "case")


def _ppo_iter_record(got: Any, ref: Any, where: str) -> Finding | None:
    try:
        batch, epochs = int(ref["batch"]), int(ref["epochs"])
        if int(got["batch"]) != batch or int(got["epochs"]) != epochs:
            return Finding(f"{where}: not the grader's case")
        flat = [int(i) for mb in got["minibatches"] for i in mb]
        aligned = got["aligned"] is True
        sizes = [len(mb) for mb in got["minibatches"]]
    except (KeyError, TypeError, ValueError) as err:
        return Finding(f"{where}: malformed observation ({type(err).__name__})")
    if not aligned:
        return Finding(
            f"{where}: the arrays of a minibatch are not aligned",
            mistake="ppo.ppo_iter.arrays_not_aligned",
        )
    if len(flat) != batch * epochs:
        return Finding(
            f"{where}: an epoch repeats or drops samples ({len(flat)} samples yielded over "
            f"{epochs} epochs of {batch}, not {batch * epochs})",
            mistake="ppo.ppo_iter.last_minibatch_dropped",
        )
    if max(sizes, default=0) > int(ref["mini"]):
        return Finding(
            f"{where}: a minibatch is larger than mini_batch_size",
            mistake="ppo.ppo_iter.minibatch_too_large",
        )
    chunks = [flat[e * batch : (e + 1) * batch] for e in range(epochs)]
    if any(sorted(c) != list(range(batch)) for c in chunks):
        return Finding(
            f"{where}: an epoch repeats or drops samples",
            mistake="ppo.ppo_iter.sampled_with_replacement",
        )
    if len({tuple(c) for c in chunks}) == 1:
        return Finding(
            f"{where}: every epoch visits the samples in the same order",
            mistake="ppo.ppo_iter.permutation_not_redrawn",
        )
    return None


def judge_ppo_losses(student: Any, reference: Any) -> Finding | None:
    """The clipped surrogate equals the reference's; any critic regression is accepted.

    Actor: the loss value and its gradient on log_probs match the reference's, and no
    gradient reaches old_log_probs. Critic: no gradient to log_probs or returns, the
    gradient on values has the sign of (values - returns), 0 when values equal returns.
    """
    return each_record(student, reference, _ppo_losses_record, "input set")


def _ppo_losses_record(got: Any, ref: Any, where: str) -> Finding | None:
    try:
        if first_difference(ref["residuals"], got["residuals"], "", 1e-6, 1e-7) is not None:
            return Finding(f"{where}: the inputs are not the grader's")
        residuals = np.asarray(ref["residuals"], dtype=np.float64)
        g_values = np.asarray(got["critic_grad_values"], dtype=np.float64)
        checks = [
            (
                first_difference(ref["actor_loss"], got["actor_loss"]) is None,
                "the actor loss differs from the clipped surrogate with entropy bonus",
                "ppo.ppo_losses.wrong_surrogate_formula",
            ),
            (
                first_difference(ref["actor_grad_log_probs"], got["actor_grad_log_probs"]) is None,
                "the actor loss's gradient on log_probs is wrong (clip or min misplaced)",
                "ppo.ppo_losses.clip_gradient_misplaced",
            ),
            (
                np.allclose(got["actor_grad_old_log_probs"], 0),
                "the actor loss sends gradient into old_log_probs (detach them)",
                "ppo.ppo_losses.old_log_probs_not_detached",
            ),
            (
                np.allclose(got["critic_grad_log_probs"], 0)
                and np.allclose(got["critic_grad_returns"], 0),
                "the critic loss sends gradient to log_probs or returns",
                "ppo.ppo_losses.critic_targets_not_detached"
                if np.allclose(got["critic_grad_log_probs"], 0)
                else "ppo.ppo_losses.critic_reads_log_probs",
            ),
            (
                bool(
                    np.all((np.sign(g_values) == np.sign(residuals)) | (np.abs(residuals) < 1e-9))
                ),
                "the critic loss does not pull values toward returns",
                "ppo.ppo_losses.critic_target_not_returns",
            ),
            (
                abs(float(got["critic_at_target"])) < 1e-6,
                "the critic loss is not 0 when values equal returns",
                "ppo.ppo_losses.critic_loss_offset",
            ),
        ]
    except (KeyError, TypeError, ValueError) as err:
        return Finding(f"{where}: malformed observation ({type(err).__name__})")
    for ok, why, mistake in checks:
        if not ok:
            return Finding(f"{where}: {why}", mistake=mistake)
    return None


def judge_agent_step(student: Any, reference: Any) -> Finding | None:
    """Masks and truncation bootstraps equal the reference's; the reward scale is free."""
    try:
        if student["scale_positive"] is not True:
            return Finding(
                "the stored reward is not a positive multiple of the env's",
                mistake="ppo.agent_step.reward_not_env_reward",
            )
    except (KeyError, TypeError) as err:
        return Finding(f"malformed observation ({type(err).__name__})")
    masks = first_difference(reference["masks"], student.get("masks"))
    if masks is not None:
        return Finding(
            f"the stored masks differ at {masks}", mistake="ppo.agent_step.mask_not_one_minus_done"
        )
    boot = first_difference(reference["bootstrap"], student.get("bootstrap"), "", 1e-3, 1e-3)
    if boot is not None:
        return Finding(
            f"the truncation bootstrap is wrong at {boot}",
            mistake="ppo.agent_step.wrong_truncation_bootstrap",
        )
    return None


MANIFEST: dict[str, Entry] = {
    "action_normalizer": Close(),
    "init_layer_uniform": Diagnosed(
        judge_init_layer_uniform, "weights and biases uniform in [-init_w, init_w]"
    ),
    "ppo_actor": NetworkProbe("gaussian_actor"),
    "ppo_critic": NetworkProbe("critic"),
    "compute_gae": Close(),
    "ppo_iter": Diagnosed(
        judge_ppo_iter, "every sample exactly once per epoch, reshuffled, aligned"
    ),
    "ppo_losses": Diagnosed(
        judge_ppo_losses, "clipped surrogate right; critic regression with the right properties"
    ),
    "agent_step": Diagnosed(
        judge_agent_step, "episode ends masked; truncated steps bootstrap from the final state"
    ),
    "ppo_update_model": Diagnosed(
        judge_by(diagnose_update_model),
        "each loss reads the right tensors; the critic rests at the returns; one step per "
        "minibatch on its own gradient; storage emptied; the mean losses returned",
    ),
    "trained_policy": PolicyCriterion(),
}
