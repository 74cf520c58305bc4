"""The OUNoise exercise: whether the increments are normal and the process reverts to mu

Part of :mod:`course_lib.exercises.ddpg`.
"""

from __future__ import annotations

import math

import numpy as np

from course_lib.exercises.ddpg.base import (
    Record,
    _error,
)
from course_lib.exercises.finding import Finding, Hint

_NORMAL_HINT = Hint(
    "ddpg.ou_noise.non_normal_increments",
    "draw the random part from a standard normal, sigma * np.random.standard_normal(size) "
    "(or np.random.randn): random.random() and np.random.rand() are uniform in [0, 1).",
)


def diagnose_ou_noise(rec: Record, case: Record) -> Finding | None:
    """Shape, memory, symmetric normal increments, theta and sigma in place, reset to mu.

    Margins with n >= 5,000 increments (0.1 <= theta <= 0.2 < 0.35 <= sigma), for a
    correct process: theta and sigma differ by >= 0.15, far beyond the swap test's
    tolerance (0.25 theta and 0.25 sigma; the estimates' standard errors are near 0.01);
    the dimensions' increments correlate at 0 +- 0.02 (bound 0.9); the lag-1
    autocorrelation is 1 - theta >= 0.8 with standard error <= 0.01 (bound 0.5; white
    noise gives 0); the standardized increments have mean 0 +- 0.014 (bound 0.15; uniform
    [0, 1) draws give 0.5), a negative share of 0.5 +- 0.007 (bound 0.05; uniform draws
    give 0) and a standard deviation of 1 +- 0.01 (bounds 0.8 and 1.2; uniform [-1, 1]
    draws give 0.58); the fitted pull is theta with standard error
    sqrt(theta (2 - theta) / n) <= 0.006 (bounds theta * [0.5, 1.5], >= 8 standard
    errors). After a reset the squared distance to mu averages sigma^2 with relative
    standard error <= 0.13 (bound 3 sigma^2); a reset that does nothing gives about
    26 sigma^2 (theta 0.01 after 30 steps), a reset to 0 instead of mu about 24 sigma^2.
    """
    size, mu, theta, sigma = case["size"], case["mu"], case["theta"], case["sigma"]
    stage, message = _error(rec)
    if stage == "construct":
        return Finding(
            f"OUNoise({size}, mu={mu}, theta={theta}, sigma={sigma}) raised {message}.",
            from_error=True,
        )
    shape = rec.get("shape")
    if shape is not None and shape != [size]:
        return Finding(
            f"sample() returned an array of shape {tuple(shape)}; expected ({size},) for "
            f"OUNoise(size={size}).",
            hint=Hint(
                "ddpg.ou_noise.wrong_state_shape",
                "keep the state as an array of shape (size,): self.mu = mu * np.ones(size), "
                "self.state = self.mu.copy(), and draw np.random.standard_normal(size) each step.",
            ),
        )
    if stage == "sample":
        return Finding(f"sample() raised {message}.", from_error=True)
    path = np.asarray(rec["path"], dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != size or path.shape[0] < 100:
        return Finding("the recorded noise path is incomplete or ragged.")
    if not np.all(np.isfinite(path)):
        return Finding("sample() returned NaN or inf.")
    prev, step = path[:-1], path[1:] - path[:-1]
    z = (step - theta * (mu - prev)) / sigma  # sigma * N(0, 1) / sigma for a correct process
    if size >= 2 and np.corrcoef(z[:, 0], z[:, 1])[0, 1] > 0.9:
        return Finding(
            "every dimension of the noise moves by the same random amount: one random number "
            "is shared by all dimensions.",
            hint=Hint(
                "ddpg.ou_noise.shared_random_draw",
                "draw one standard normal per dimension: np.random.standard_normal(len(x)).",
            ),
        )
    pull_from = mu - prev
    theta_hat = float((step * pull_from).sum() / (pull_from * pull_from).sum())
    sigma_hat = float((step - theta_hat * pull_from).std())
    if abs(theta_hat - sigma) < 0.25 * sigma and abs(sigma_hat - theta) < 0.25 * theta:
        return Finding(
            f"theta and sigma are swapped: the pull toward mu is {theta_hat:.3f} per step "
            f"(sigma={sigma}) and the random part's scale {sigma_hat:.3f} (theta={theta}).",
            hint=Hint(
                "ddpg.ou_noise.theta_sigma_swapped",
                "dx = theta * (mu - x) + sigma * N(0, 1): theta pulls back toward mu, sigma "
                "scales the random part.",
            ),
        )
    lag1 = float(np.mean([np.corrcoef(path[:-1, j], path[1:, j])[0, 1] for j in range(size)]))
    if not lag1 > 0.5:
        return Finding(
            f"successive samples are uncorrelated (lag-1 autocorrelation {lag1:.2f}, about "
            f"1 - theta = {1 - theta:.2f} expected): the noise has no memory.",
            hint=Hint(
                "ddpg.ou_noise.no_memory",
                "OU noise is a process: x = self.state; dx = theta * (mu - x) + sigma * "
                "np.random.standard_normal(len(x)); self.state = x + dx; return self.state.",
            ),
        )
    mean, negative, spread = float(z.mean()), float((z < 0).mean()), float(z.std())
    if negative < 0.05:
        return Finding(
            f"the random part of the increments is never negative (mean {mean:.2f} sigma): "
            "the noise drifts to one side of mu and explores one direction only.",
            hint=_NORMAL_HINT,
        )
    if abs(mean) > 0.15:
        return Finding(
            f"the random part of the increments is biased (mean {mean:.2f} sigma instead of 0).",
            hint=_NORMAL_HINT,
        )
    if not 0.5 * theta <= theta_hat <= 1.5 * theta:
        return Finding(
            f"the state is pulled toward mu by {theta_hat:.3f} of the gap per step; expected "
            f"theta = {theta}.",
            hint=Hint(
                "ddpg.ou_noise.wrong_mean_reversion",
                "dx = theta * (mu - x) + sigma * N(0, 1), with x the current state.",
            ),
        )
    if not 0.8 <= spread <= 1.2:
        return Finding(
            f"the random part of the increments has standard deviation {spread:.2f} sigma; "
            "expected sigma * N(0, 1), that is 1 sigma.",
            hint=_NORMAL_HINT,
        )
    if stage == "reset":
        return Finding(f"reset() (or the samples after it) raised {message}.", from_error=True)
    after = np.asarray(rec["after_reset"], dtype=np.float64)
    if after.ndim != 2 or after.shape != (case["n_resets"], size):
        return Finding("the samples recorded after reset() are incomplete.")
    ratio = float(np.mean((after - case["reset_mu"]) ** 2) / case["reset_sigma"] ** 2)
    if not ratio <= 3.0:
        return Finding(
            f"right after reset() the next sample is {math.sqrt(ratio):.1f} sigma from mu on "
            "average (about 1 sigma expected): reset() does not put the state back at mu.",
            hint=Hint(
                "ddpg.ou_noise.reset_not_to_mu",
                "reset(): self.state = self.mu.copy() (a copy: if the state is mu itself, "
                "updating the state in place moves mu too).",
            ),
        )
    if stage:
        return Finding(f"OUNoise raised {message} ({stage}).", from_error=True)
    if rec.get("shape_1") != [1]:
        return Finding(
            f"OUNoise(1).sample() has shape {tuple(rec.get('shape_1') or ())}; expected (1,).",
            hint=Hint(
                "ddpg.ou_noise.scalar_state_for_size_one",
                "keep the state an array of shape (size,), even for size 1.",
            ),
        )
    return None
