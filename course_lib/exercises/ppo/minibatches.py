"""Notebook 03's minibatches exercise: its visible cases and diagnoses, raised by
:mod:`course_lib.checks.ppo.minibatches`.

Part of :mod:`course_lib.exercises.ppo`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from course_lib.envs import random_state
from course_lib.exercises.compare import to_numpy
from course_lib.exercises.finding import Finding, Hint


def diagnose_ppo_iter(ppo_iter: Callable[..., Iterable[Any]]) -> Finding | None:
    """Diagnose ``ppo_iter``: each epoch yields every sample exactly once, aligned, shuffled."""
    for batch, mini, epochs in [(12, 4, 3), (10, 4, 2), (64, 16, 4)]:
        idx = torch.arange(batch, dtype=torch.float32)
        states = torch.stack([idx, -idx, idx * 0.5], dim=1)
        arrays = [states, idx.unsqueeze(1) + 100, idx + 200, idx + 300, idx + 400, idx + 500]
        case = f"{batch} samples, mini_batch_size={mini}, epoch={epochs}"
        try:
            with random_state(batch):  # the student's shuffles are reproducible, then undone
                batches = list(ppo_iter(epochs, mini, *arrays))
        except Exception as err:
            return Finding(f"ppo_iter raised {type(err).__name__}: {err}", where=case)
        seen: list[list[int]] = []
        for k, mb in enumerate(batches):
            if not (isinstance(mb, tuple | list) and len(mb) == 6):
                return Finding(
                    "each minibatch must be a tuple (states, actions, values, log_probs, "
                    "returns, advantages).",
                    got=f"{type(mb).__name__} of length "
                    f"{len(mb) if hasattr(mb, '__len__') else '?'}",
                    where=case,
                )
            s = to_numpy(mb[0])
            if not (s.ndim == 2 and s.shape[1] == 3):
                return Finding(
                    "states lost their shape.",
                    got=s.shape,
                    where=case,
                    hint=Hint(
                        "ppo.ppo_iter.states_not_row_indexed",
                        "index rows: states[idx, :] or states[idx].",
                    ),
                )
            ids = s[:, 0].astype(int)
            for j, offset in enumerate([100, 200, 300, 400, 500], start=1):
                col = to_numpy(mb[j]).reshape(-1) - offset
                if not (col.shape == ids.shape and bool(np.allclose(col, ids))):
                    return Finding(
                        "the arrays of a minibatch are not aligned: one index must pick the same "
                        "samples from every array, in the same order as the arguments.",
                        where=f"{case}, minibatch {k}, array {j}",
                    )
            seen.append(ids.tolist())
        per_epoch = []
        flat = [i for b in seen for i in b]
        if not (len(flat) == batch * epochs):
            return Finding(
                f"the minibatches hold {len(flat)} samples in all; {epochs} epochs of {batch} "
                f"samples make {batch * epochs}.",
                where=case,
                hint=Hint(
                    "ppo.ppo_iter.last_minibatch_dropped",
                    "per epoch, cover all samples once; keep the last, smaller minibatch when "
                    "the batch size is not a multiple of mini_batch_size.",
                ),
            )
        for e in range(epochs):
            chunk = flat[e * batch : (e + 1) * batch]
            per_epoch.append(chunk)
            if not (sorted(chunk) == list(range(batch))):
                return Finding(
                    "within an epoch, some samples come twice and others never.",
                    got=f"epoch {e}: counts {np.bincount(chunk, minlength=batch).tolist()}",
                    where=case,
                    hint=Hint(
                        "ppo.ppo_iter.sampled_with_replacement",
                        "sampling each minibatch with np.random.choice draws WITH replacement "
                        "across minibatches: shuffle once per epoch (a permutation) and slice it.",
                    ),
                )
        if not (len({tuple(c) for c in per_epoch}) > 1):
            return Finding(
                "every epoch visits the samples in the same order.",
                where=case,
                hint=Hint(
                    "ppo.ppo_iter.permutation_not_redrawn",
                    "draw a new permutation (torch.randperm or np.random.permutation) each epoch.",
                ),
            )
    return None
