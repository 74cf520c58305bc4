"""Probes are deterministic given the seed, and tell a right answer from a wrong one."""

from __future__ import annotations

from course_lib.probes.tour import probe_run_episode, probe_td_target
from tests.checks.test_tour import _done_for_both, run_episode_ref, td_ref


def test_run_episode_probe_is_deterministic_and_seed_dependent():
    a = probe_run_episode(run_episode_ref, seed=5)
    assert a == probe_run_episode(run_episode_ref, seed=5)
    assert a != probe_run_episode(run_episode_ref, seed=6)
    assert len(a["toy"]) == 4
    total, n_steps, terminated, truncated = a["cartpole"]
    assert total == n_steps and terminated != truncated


def test_run_episode_probe_separates_a_buggy_answer():
    assert probe_run_episode(_done_for_both, seed=5) != probe_run_episode(run_episode_ref, seed=5)


def test_td_target_probe_covers_every_flag_and_gamma_edge():
    ref = probe_td_target(td_ref, seed=1)
    assert len(ref) == 12
    masked_on_truncation = probe_td_target(
        lambda r, v, te, tr, g: r + g * (1 - (te or tr)) * v, seed=1
    )
    differing = [
        i for i, (x, y) in enumerate(zip(ref, masked_on_truncation, strict=True)) if x != y
    ]
    # Only (terminated=False, truncated=True) with gamma > 0 differs: gamma 1 and the random one.
    assert differing == [4, 5]
