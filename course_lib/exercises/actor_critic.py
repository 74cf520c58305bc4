"""Notebook 01's graded exercises (one two-headed actor-critic network on CartPole-v1).

The network is exported and probed by the grader (two heads sharing parameters, sizes that
follow ``num_hidden``); the three functions are judged equal to the reference on the
grader's cases (:mod:`course_lib.probes.actor_critic`); the trained policy is played against
the notebook's criterion.
"""

from __future__ import annotations

from course_lib.exercises.manifest import Close, Entry, NetworkProbe, PolicyCriterion

__all__ = ["MANIFEST"]

MANIFEST: dict[str, Entry] = {
    "actor_critic": NetworkProbe("actor_critic"),
    "action_log_probs": Close(),
    "normalized_returns": Close(),
    "actor_critic_loss": Close(),
    "trained_policy": PolicyCriterion(),
}
