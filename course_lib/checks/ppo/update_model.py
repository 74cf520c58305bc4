"""The check of the agent's update: what each loss reads, the optimizer steps

Part of :mod:`course_lib.checks.ppo`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib.checks.core import CheckFailed, fail_on, passed
from course_lib.exercises.finding import Finding
from course_lib.exercises.ppo.update_model import diagnose_update_model, update_model_case
from course_lib.probes.ppo.update_model import run_update_model


def check_update_model(PPOAgent: Callable[..., Any]) -> None:
    """Raise :func:`~course_lib.exercises.ppo.update_model.diagnose_update_model`'s finding
    on two known rollouts (one and two action dimensions).

    The actor and critic are replaced by known ones, the optimizers by recording SGD with
    learning rate 0, and ``compute_gae``, ``ppo_iter`` and ``ppo_losses`` by the course's
    own while the check runs (each has its own check). Checked: next_value is
    V(next_state); ppo_iter gets the rollout flattened alike with advantages = returns -
    stored values, detached; each minibatch's losses get the stored actions'
    log-probabilities under the current actor and the critic's fresh values, both with
    gradient; the critic's loss rests where its values equal the returns; one step per
    minibatch, on that minibatch's gradient alone; the storage is emptied; the mean
    (actor_loss, critic_loss) is returned.
    """
    name = "check_update_model"
    for seed, act_dim in ((31, 1), (32, 2)):
        case = update_model_case(seed, act_dim=act_dim)
        record, exc = run_update_model(PPOAgent, case)
        if isinstance(exc, NotImplementedError):
            raise exc
        found = diagnose_update_model(record, case)
        if found is None and exc is not None:
            found = Finding(f"raised {type(exc).__name__}: {exc}", from_error=True)
        if found is not None:
            err = CheckFailed.from_finding(name, found)
            if found.from_error and exc is not None:
                raise err from exc
            fail_on(name, found)
    passed(
        name,
        "GAE from V(next_state); each minibatch's losses read the stored actions under the "
        "current actor and the critic's fresh values; one step per minibatch; storage emptied",
    )
