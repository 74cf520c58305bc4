"""course_lib.buffers: the replay buffer given in notebook 05."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.buffers import ReplayBuffer


def filled(n: int, size: int = 10, batch_size: int = 4) -> ReplayBuffer:
    buffer = ReplayBuffer(obs_dim=2, act_dim=1, size=size, batch_size=batch_size)
    for t in range(n):
        buffer.store([t, -t], [t / 100], float(t), [t + 1, -t - 1], t % 3 == 0)
    return buffer


def test_len_is_the_fill_and_stops_at_the_capacity():
    assert [len(filled(n)) for n in (0, 1, 9, 10, 11, 25)] == [0, 1, 9, 10, 10, 10]


def test_batches_have_the_documented_keys_shapes_and_dtype():
    batch = filled(5).sample_batch()
    assert {k: v.shape for k, v in batch.items()} == {
        "obs": (4, 2),
        "next_obs": (4, 2),
        "acts": (4, 1),
        "rews": (4,),
        "done": (4,),
    }
    assert all(v.dtype == np.float32 for v in batch.values())
    assert filled(5).sample_batch(batch_size=7)["obs"].shape == (7, 2)


def test_samples_come_only_from_stored_transitions_and_stay_aligned():
    np.random.seed(0)
    batch = filled(3, size=100, batch_size=500).sample_batch()
    t = batch["obs"][:, 0]
    assert set(t.tolist()) == {0.0, 1.0, 2.0}  # never an empty slot
    np.testing.assert_array_equal(batch["next_obs"][:, 0], t + 1)
    np.testing.assert_array_equal(batch["rews"], t)
    np.testing.assert_array_equal(batch["done"], (t % 3 == 0).astype(np.float32))


def test_the_oldest_transitions_are_overwritten():
    np.random.seed(0)
    batch = filled(25, size=10, batch_size=1000).sample_batch()
    assert set(batch["obs"][:, 0].tolist()) == set(map(float, range(15, 25)))


def test_sampling_is_uniform_over_the_fill():
    np.random.seed(1)
    counts = np.bincount(filled(5, size=50, batch_size=50_000).sample_batch()["rews"].astype(int))
    assert counts.shape == (5,) and counts.min() > 9_500 and counts.max() < 10_500


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match="the replay buffer is empty"):
        ReplayBuffer(2, 1, 10).sample_batch()
    with pytest.raises(ValueError, match="size must be a positive integer"):
        ReplayBuffer(2, 1, 0)
    with pytest.raises(ValueError, match=r"observations must have shape \(2,\)"):
        ReplayBuffer(2, 1, 10).store([1.0, 2.0, 3.0], [0.0], 0.0, [0.0, 0.0], False)
