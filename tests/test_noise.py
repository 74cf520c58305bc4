"""course_lib.noise: exploration noise given in notebook 05."""

from __future__ import annotations

import numpy as np

from course_lib.noise import GaussianNoise, OUNoise


def test_ou_noise_has_the_documented_statistics():
    np.random.seed(0)
    noise = OUNoise(size=1, theta=0.15, sigma=0.2)
    x = np.array([noise.sample()[0] for _ in range(100_000)])
    stationary_std = 0.2 / np.sqrt(0.15 * (2 - 0.15))
    assert abs(x.mean()) < 0.05  # its standard error is about 0.02 here
    assert abs(x.std() / stationary_std - 1) < 0.05
    lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert abs(lag1 - 0.85) < 0.01


def test_ou_noise_resets_to_mu_and_returns_copies():
    noise = OUNoise(size=3, mu=0.5)
    first = noise.sample()
    first[:] = 100.0
    assert np.all(noise.state < 50)  # changing a sample does not change the process
    noise.reset()
    np.testing.assert_array_equal(noise.state, [0.5, 0.5, 0.5])


def test_gaussian_noise_is_independent_with_the_given_scale():
    np.random.seed(0)
    noise = GaussianNoise(size=2, sigma=0.3)
    x = np.array([noise.sample() for _ in range(50_000)])
    assert x.shape == (50_000, 2)
    assert np.allclose(x.std(axis=0), 0.3, rtol=0.03)
    assert abs(np.corrcoef(x[:-1, 0], x[1:, 0])[0, 1]) < 0.02
