"""Bugs of notebook 04's ``DDPGAgent.update_model`` and what both the visible check and the
grader's judge say about them (the two read a run with the same diagnosis,
:func:`course_lib.exercises.ddpg.diagnose_update_model`).

Each bug is a variant of ``make_agent(bug)`` in ``tests/checks/test_ddpg.py``.
"""

from __future__ import annotations

# (bug, text the message contains), plain text, not a regex
UPDATE_MODEL_BUGS = [
    ("online_target", "the TD target uses the online networks"),
    ("target_grad", "the target networks received gradient"),
    ("no_mask", "the TD target ignores done"),
    ("actor_sign", "the actor loss has the wrong sign"),
    ("no_soft_update", "neither target network moved"),
    ("copy_targets", "became copies of the online ones: a hard update"),
    ("broadcast", "(B, 1) + (B,) broadcasts"),
    ("tensors", "the losses must be plain floats"),
    ("swapped_returns", "returns (critic_loss, actor_loss)"),
    ("no_gamma", "gamma is missing"),
    ("actor_on_buffer", "the actor loss evaluates the critic at the batch's stored actions"),
    ("no_critic_zero_grad", "the critic's gradients carry over between updates"),
    ("no_actor_zero_grad", "the actor's gradients carry over between updates"),
    ("zero_grad_after_backward", "self.critic_optimizer.step() found no gradient"),
    ("no_critic_step", "self.critic_optimizer.step() ran 0 times in 2 updates"),
    ("swapped_soft_update", "soft_update's arguments are swapped"),
    ("zero_grad_after_step", "the critic's gradients carry over between updates"),
]
