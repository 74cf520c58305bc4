"""What notebook 05's visible train check and the grader's train judge both say about a bug.

They read a run with the same functions (:mod:`course_lib.exercises.td3`), so for most bugs
of ``TD3.train`` (``make_td3(bug)`` in ``tests/checks/test_td3.py``) the two messages are
the same; the test files add the few that differ.
"""

from __future__ import annotations

# bug -> what both messages must say (a regex)
SHARED_TRAIN_BUGS = {
    "max": r"MAX\(q1', q2'\)",
    "q1_only": "with double_q=True the target uses q1' alone",
    "min_when_off": "with double_q=False the target still takes min",
    "separate_targets": "each critic is regressed on its own target",
    "online": "the target is computed from the ONLINE critic",
    "obs_target": "bootstraps from obs instead of next_obs",
    "no_mask": r"the \(1 - done\) mask is missing",
    "done_mask": r"masked with done instead of \(1 - done\)",
    "fixed_discount": "uses discount 0.99 instead of self.discount",
    "broadcast": r"the target has shape \(B, B\)",
    "with_grad": "gradient flows into the target networks",
    "only_q1_trained": "does not train the second critic",
    "noise_on_batch": "evaluated at actions other than the stored ones",
    "noise_unclipped": "the smoothing noise exceeds ±noise_clip",
    "noise_broadcast": "every sample of the batch gets the same smoothing noise",
    "noise_dims_shared": "the action dimensions of a sample share one noise draw",
    "uniform_noise": "the smoothing noise is not centred on 0",
    "no_noise": "the target action carries no smoothing noise",
    "noise_on_actor": "the target action carries no smoothing noise",
    "actor_noise_too": "the actor loss evaluates the critic at a noisy",
    "online_actor_target": "the target action comes from the ONLINE actor",
    "no_clamp": r"the target action leaves \[-max_action, max_action\]",
    "clamp_before_noise": r"the target action leaves \[-max_action, max_action\]",
    "clamp_one": "never goes beyond ±1",
    "actor_sign": "actor_loss has the wrong sign",
    "actor_q2": "actor_loss uses the second critic",
    "actor_min": r"actor_loss takes min\(q1, q2\)",
    "actor_sum": "actor_loss sums over the batch",
    "actor_target_action": "the actor loss uses actor_target's actions",
    "actor_target_critic": "the actor loss uses the TARGET critic",
    "no_actor_step": "the actor did not change on an update call",
    "no_delay": "the actor is updated on every call despite policy_freq",
    "targets_every_step": "the targets are updated on every call",
    "tau_swapped": "tau on the wrong side",
    "copy_targets": r"was copied from .* \(tau = 1\)",
    "fixed_tau": "moved with tau = 0.005, not self.tau",
    "partial_soft": "only some of .*'s parameters were soft-updated",
    "returns_swapped": r"the order is \(critic_loss, actor_loss\)",
    "tensor_loss": "the critic loss returned by train is not a Python float",
    "actor_on_buffer": "the actor loss evaluates the critic at the batch's stored actions",
    "no_critic_zero_grad": "the critic's gradients carry over between updates",
    "no_actor_zero_grad": "the actor's gradients carry over between updates",
}
