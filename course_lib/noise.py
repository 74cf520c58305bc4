"""Exploration noise for deterministic policies (given in notebook 05).

Both processes share one interface: :meth:`reset` at the start of an episode and
:meth:`sample` once per step, which returns an array of the action's shape, in the
normalized action space ``[-1, 1]`` (scale it when the actor acts in env units).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GaussianNoise", "OUNoise"]


class OUNoise:
    """Ornstein-Uhlenbeck noise: ``x <- x + theta * (mu - x) + sigma * N(0, 1)``.

    Successive samples are correlated (lag-1 autocorrelation ``1 - theta``), so
    the agent keeps pushing the same way for a while: the exploration that finds
    MountainCar's flag. The long-run standard deviation is
    ``sigma / sqrt(theta * (2 - theta))``.

    Examples:
        >>> np.random.seed(0)
        >>> noise = OUNoise(size=2, theta=0.15, sigma=0.2)
        >>> noise.sample().shape
        (2,)
        >>> noise.reset(); noise.state.tolist()
        [0.0, 0.0]
    """

    def __init__(self, size: int, mu: float = 0.0, theta: float = 0.15, sigma: float = 0.2):
        self.mu = mu * np.ones(size)
        self.theta, self.sigma = float(theta), float(sigma)
        self.reset()

    def reset(self) -> None:
        """Restart the process at its mean."""
        self.state = self.mu.copy()

    def sample(self) -> np.ndarray:
        """Advance the process one step and return its new state (a copy)."""
        x = self.state
        self.state = (
            x + self.theta * (self.mu - x) + self.sigma * np.random.standard_normal(x.shape)
        )
        return self.state.copy()


class GaussianNoise:
    """Independent ``N(0, sigma^2)`` noise at every step (TD3's default exploration).

    Examples:
        >>> np.random.seed(0)
        >>> GaussianNoise(size=3, sigma=0.1).sample().shape
        (3,)
    """

    def __init__(self, size: int, sigma: float = 0.1):
        self.size, self.sigma = int(size), float(sigma)

    def reset(self) -> None:
        """Nothing to reset: the noise has no state."""

    def sample(self) -> np.ndarray:
        """One draw of shape ``(size,)``."""
        return self.sigma * np.random.standard_normal(self.size)
