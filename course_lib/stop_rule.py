"""The training loops' stop rule: evaluate the greedy policy now and then, stop at the
criterion (with a margin, and with the grader's verdict in view), keep the best weights.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from course_lib.batched_envs import can_batch
from course_lib.envs import _check_seed, random_state
from course_lib.evaluation import EvalResult, _check_positive_int, evaluate, pass_chance

__all__ = ["CriterionTracker"]


class CriterionTracker:
    """A stop rule: evaluate the greedy policy now and then, keep the best weights.

    Every ``every_steps`` training steps, :meth:`check` plays the first
    ``quick_episodes`` evaluation episodes; only if they average at least
    ``quick_threshold`` (by default the threshold itself) does it play all
    ``n_episodes`` (the quick episodes are the first ones of the full evaluation,
    so nothing is wasted). A quick threshold below the threshold lets a few
    episodes screen out hopeless policies cheaply without turning away a policy
    whose full evaluation would pass: a mean over few episodes is noisy. The best full evaluation
    so far and the weights that scored it are kept, so a collapse after the
    criterion was met costs nothing: :meth:`restore_best` puts them back.
    With ``batched=True`` the policy takes a batch of observations (see
    :func:`evaluate`), which makes each evaluation several times faster. After
    the quick episodes the rest are played ``chunk`` at a time; given the
    environment's ``max_return``, the evaluation stops as soon as the
    threshold is out of reach even if every remaining episode were perfect.
    With ``worst_at_least``, the criterion also asks every episode to return
    at least that much (a policy that fails from one start in fifty can still
    have a good mean); the evaluation stops at the first episode below it.
    With ``graded=(criterion, episodes)``, it also asks that a grader playing
    ``episodes`` episodes of its own would find a mean of ``criterion`` or more
    with at least ``confidence`` chance, judged from the returns played
    (:func:`~course_lib.evaluation.pass_chance`): the margin ``threshold`` alone can be
    met by a lucky evaluation of a policy that the grader then fails. The default, 99%,
    stays clear of the visible reward check's 95%, which estimates the same chance from
    other episodes: a rule that stopped at 95% would leave half its policies just below.
    On an environment :mod:`course_lib.batched_envs` simulates (Pendulum, CartPole), a
    batched evaluation plays all ``n_episodes`` in one pass, which costs about
    what the quick episodes alone would, and then decides exactly as above.
    Every evaluation runs on its own random state (seeded with ``seed``): a
    policy that draws random numbers leaves the training run as it was.

    Examples:
        >>> tracker = CriterionTracker("CartPole-v1", threshold=9.0, every_steps=10,
        ...                            n_episodes=3, quick_episodes=1)
        >>> tracker.due(5), tracker.due(10)
        (False, True)
        >>> tracker.check(lambda obs: 0, steps=10)
        True
        >>> tracker.history
        [(10, 9.333333333333334, True)]
    """

    def __init__(
        self,
        env_id: str,
        threshold: float,
        *,
        every_steps: int = 1000,
        n_episodes: int = 20,
        quick_episodes: int = 3,
        quick_threshold: float | None = None,
        seed: int = 10_000,
        env_kwargs: Mapping[str, Any] | None = None,
        batched: bool = False,
        max_return: float | None = None,
        chunk: int = 10,
        worst_at_least: float | None = None,
        graded: tuple[float, int] | None = None,
        confidence: float = 0.99,
    ) -> None:
        self.env_id = env_id
        self.worst_at_least = None if worst_at_least is None else float(worst_at_least)
        if graded is not None:
            criterion, episodes = graded
            graded = (float(criterion), _check_positive_int(episodes, "graded episodes"))
        if not 0.0 < confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {confidence!r}; e.g. 0.99.")
        self.graded, self.confidence = graded, float(confidence)
        self.batched = batched
        self.max_return = max_return
        self.chunk = _check_positive_int(chunk, "chunk")
        self.threshold = float(threshold)
        self.quick_threshold = self.threshold if quick_threshold is None else float(quick_threshold)
        if self.quick_threshold > self.threshold:
            raise ValueError(
                f"quick_threshold ({self.quick_threshold:g}) is above the threshold "
                f"({self.threshold:g}): the quick check would turn away policies that meet "
                f"the criterion; give a value at or below the threshold, or None."
            )
        self.every_steps = _check_positive_int(every_steps, "every_steps")
        self.n_episodes = _check_positive_int(n_episodes, "n_episodes")
        self.quick_episodes = min(_check_positive_int(quick_episodes, "quick_episodes"), n_episodes)
        self.seed = _check_seed(seed)
        self.env_kwargs = dict(env_kwargs or {})
        self._simulated = batched and can_batch(env_id, self.env_kwargs)
        self.history: list[tuple[int, float, bool]] = []
        """Every evaluation as ``(steps, mean return, whether it counts)``: it counts when all
        ``n_episodes`` were played and none returned less than ``worst_at_least``."""
        self.points: list[tuple[int, float]] = []
        """Every evaluation as ``(episode or steps, mean return)``, for a plot."""
        self.best_mean = -np.inf
        self.best_state: dict[str, Any] | None = None
        self.reached_at: int | None = None
        self._next = self.every_steps

    def due(self, steps: int) -> bool:
        """Whether an evaluation is due after ``steps`` training steps."""
        return steps >= self._next

    def check(
        self,
        policy: Callable[[np.ndarray], Any],
        steps: int,
        model: Any = None,
        episode: int | None = None,
    ) -> bool:
        """Evaluate ``policy`` now; return whether the criterion is met.

        Args:
            policy: the greedy policy, observation -> action in env units.
            steps: training steps so far (for the history and the next due time).
            model: the network whose ``state_dict`` to keep when this is the best so far.
            episode: the episode count, to place the point on a per-episode plot
                (:attr:`points`); steps are used when it is not given.
        """
        self._next = steps + self.every_steps
        returns = self._play(policy)
        mean = float(np.mean(returns))
        failed = self.worst_at_least is not None and min(returns) < self.worst_at_least
        complete = len(returns) == self.n_episodes and not failed
        self.history.append((steps, mean, complete))
        self.points.append((steps if episode is None else episode, mean))
        reached = complete and mean >= self.threshold
        if reached and self.graded is not None:
            criterion, episodes = self.graded
            reached = pass_chance(returns, criterion, episodes) >= self.confidence
        # the weights that meet the rule are kept even if an earlier evaluation, which did
        # not (its graded chance too low), had a higher mean
        if complete and (mean > self.best_mean or reached):
            self.best_mean = mean
            if model is not None:
                self.best_state = copy.deepcopy(model.state_dict())
        if reached and self.reached_at is None:
            self.reached_at = steps
        return reached

    def _play(self, policy: Callable[[np.ndarray], Any]) -> list[float]:
        """The returns of the episodes played: the quick ones, then chunks until decided."""
        returns: list[float] = []
        sizes = [self.quick_episodes]
        while sum(sizes) < self.n_episodes:
            sizes.append(min(self.chunk, self.n_episodes - sum(sizes)))
        played: list[float] = []
        if self._simulated:  # all episodes cost one pass: play them, then decide as below
            played = self._evaluate(policy, self.n_episodes, self.seed).returns.tolist()
        for size in sizes:
            if self._simulated:
                returns.extend(played[len(returns) : len(returns) + size])
            else:
                returns.extend(
                    self._evaluate(policy, size, self.seed + len(returns)).returns.tolist()
                )
            if len(returns) == self.quick_episodes and np.mean(returns) < self.quick_threshold:
                break  # the quick check failed: not worth a full evaluation
            if self.worst_at_least is not None and min(returns) < self.worst_at_least:
                break  # an episode failed: the criterion cannot be met
            if self.max_return is not None:
                best_case = sum(returns) + (self.n_episodes - len(returns)) * self.max_return
                if best_case < self.threshold * self.n_episodes:
                    break  # even perfect remaining episodes could not reach the threshold
        return returns

    def _evaluate(self, policy: Callable[[np.ndarray], Any], n: int, seed: int) -> EvalResult:
        # On its own random state: a policy that draws random numbers (a Gaussian actor
        # returning its mean) leaves training exactly as it would be without evaluations.
        with random_state(self.seed):
            return evaluate(
                self.env_id, policy, n, seed, env_kwargs=self.env_kwargs, batched=self.batched
            )

    def summary(self) -> str:
        """One line on how the stop rule went."""
        if not self.history:
            return "no greedy evaluation yet"
        worst = "" if self.worst_at_least is None else f", every episode >= {self.worst_at_least:g}"
        if self.graded is not None:
            worst += (
                f", {self.graded[0]:g} over {self.graded[1]} graded episodes with "
                f"{self.confidence:.0%} chance or more"
            )
        if self.reached_at is not None:
            return (
                f"criterion met at step {self.reached_at:,} (greedy mean {self.best_mean:.1f} "
                f"over {self.n_episodes} episodes{worst})"
            )
        best = "none complete" if self.best_mean == -np.inf else f"{self.best_mean:.1f}"
        return f"criterion {self.threshold:g} not met; best greedy evaluation {best}"

    def restore_best(self, model: Any) -> bool:
        """Load the best weights seen into ``model``; return whether there were any."""
        if self.best_state is None:
            return False
        model.load_state_dict(self.best_state)
        return True
