"""A replay buffer for off-policy agents (given in notebook 05; notebook 04 builds its own).

Transitions live in preallocated numpy arrays used as a ring: once ``size`` transitions
are stored, each new one overwrites the oldest. Batches are drawn uniformly, with
replacement, from what is stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ReplayBuffer"]


class ReplayBuffer:
    """A fixed-size ring of transitions ``(obs, act, rew, next_obs, done)``.

    ``done`` is whether the episode *terminated* at this transition: a time-limit
    truncation is stored as ``False``, so the value of ``next_obs`` is still bootstrapped.

    Args:
        obs_dim: length of an observation vector.
        act_dim: length of an action vector.
        size: capacity (transitions kept).
        batch_size: default size of :meth:`sample_batch`'s batches.

    Examples:
        >>> buffer = ReplayBuffer(obs_dim=3, act_dim=1, size=2, batch_size=4)
        >>> for t in range(3):
        ...     buffer.store([t, t, t], [0.5], 1.0, [t + 1, t + 1, t + 1], False)
        >>> len(buffer)
        2
        >>> batch = buffer.sample_batch()
        >>> sorted(batch), batch["obs"].shape, batch["rews"].shape
        (['acts', 'done', 'next_obs', 'obs', 'rews'], (4, 3), (4,))
        >>> bool(np.isin(batch["obs"][:, 0], [1.0, 2.0]).all())  # transition 0 was overwritten
        True
    """

    def __init__(self, obs_dim: int, act_dim: int, size: int, batch_size: int = 32) -> None:
        for name, value in (
            ("obs_dim", obs_dim),
            ("act_dim", act_dim),
            ("size", size),
            ("batch_size", batch_size),
        ):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.obs_buf = np.zeros((size, obs_dim), dtype=np.float32)
        self.next_obs_buf = np.zeros((size, obs_dim), dtype=np.float32)
        self.acts_buf = np.zeros((size, act_dim), dtype=np.float32)
        self.rews_buf = np.zeros(size, dtype=np.float32)
        self.done_buf = np.zeros(size, dtype=np.float32)
        self.max_size, self.batch_size = int(size), int(batch_size)
        self.ptr, self.size = 0, 0

    def store(self, obs: Any, act: Any, rew: float, next_obs: Any, done: bool) -> None:
        """Write one transition over the oldest slot once the buffer is full."""
        try:
            self.obs_buf[self.ptr] = obs
            self.next_obs_buf[self.ptr] = next_obs
            self.acts_buf[self.ptr] = act
        except ValueError as err:
            raise ValueError(
                f"a transition does not fit the buffer: observations must have shape "
                f"{self.obs_buf.shape[1:]} and actions {self.acts_buf.shape[1:]} ({err})"
            ) from None
        self.rews_buf[self.ptr] = rew
        self.done_buf[self.ptr] = done
        self.ptr = (self.ptr + 1) % self.max_size
        self.size = min(self.size + 1, self.max_size)

    def sample_batch(self, batch_size: int | None = None) -> dict[str, np.ndarray]:
        """A batch drawn uniformly from the stored transitions.

        Returns:
            ``obs (B, obs_dim)``, ``next_obs (B, obs_dim)``, ``acts (B, act_dim)``,
            ``rews (B,)``, ``done (B,)``, all float32, ``B = batch_size`` (the
            buffer's own unless given).

        Raises:
            ValueError: if the buffer is empty.
        """
        if self.size == 0:
            raise ValueError("the replay buffer is empty: store transitions before sampling")
        idxs = np.random.randint(0, self.size, size=batch_size or self.batch_size)
        return {
            "obs": self.obs_buf[idxs],
            "next_obs": self.next_obs_buf[idxs],
            "acts": self.acts_buf[idxs],
            "rews": self.rews_buf[idxs],
            "done": self.done_buf[idxs],
        }

    def __len__(self) -> int:
        return self.size
