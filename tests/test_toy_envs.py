from __future__ import annotations

import pytest

from course_lib.toy_envs import StepAfterEndError, ToyEnv


def test_termination_and_truncation_on_the_same_step_set_both_flags():
    env = ToyEnv(horizon=2, terminate_after=2)
    env.reset(seed=3)
    assert env.step(0)[2:4] == (False, False)
    obs, reward, terminated, truncated, _ = env.step(1)
    assert (reward, terminated, truncated) == (2.0, True, True)
    assert obs.tolist() == [2.0, 3.0]


def test_stepping_after_the_end_raises_and_reset_records_seeds():
    env = ToyEnv(horizon=1)
    env.reset(seed=None)
    env.step(0)
    with pytest.raises(
        StepAfterEndError, match=r"stop the loop as soon as terminated or truncated"
    ):
        env.step(0)
    env.reset(seed=101)
    assert env.reset_seeds == [None, 101]
    assert env.n_steps_total == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": 0}, r"horizon must be >= 1, got 0"),
        ({"terminate_after": 0}, r"terminate_after must be >= 1 or None, got 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ToyEnv(**kwargs)


def test_bad_action():
    env = ToyEnv()
    env.reset()
    with pytest.raises(ValueError, match=r"takes action 0 or 1, got 2"):
        env.step(2)
