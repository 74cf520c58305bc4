"""The check of ppo_iter: every sample once per epoch, aligned, shuffled

Part of :mod:`course_lib.checks.ppo`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from course_lib.checks.core import (
    expect,
    fail,
    passed,
    to_numpy,
)
from course_lib.envs import random_state


def check_ppo_iter(ppo_iter: Callable[..., Iterable[Any]]) -> None:
    """Check ``ppo_iter``: each epoch yields every sample exactly once, aligned, shuffled."""
    name = "check_ppo_iter"
    for batch, mini, epochs in [(12, 4, 3), (10, 4, 2), (64, 16, 4)]:
        idx = torch.arange(batch, dtype=torch.float32)
        states = torch.stack([idx, -idx, idx * 0.5], dim=1)
        arrays = [states, idx.unsqueeze(1) + 100, idx + 200, idx + 300, idx + 400, idx + 500]
        case = f"{batch} samples, mini_batch_size={mini}, epoch={epochs}"
        try:
            with random_state(batch):  # the student's shuffles are reproducible, then undone
                batches = list(ppo_iter(epochs, mini, *arrays))
        except Exception as err:
            fail(name, f"ppo_iter raised {type(err).__name__}: {err}", where=case)
        seen: list[list[int]] = []
        for k, mb in enumerate(batches):
            expect(
                name,
                isinstance(mb, tuple | list) and len(mb) == 6,
                "each minibatch must be a tuple (states, actions, values, log_probs, "
                "returns, advantages).",
                got=f"{type(mb).__name__} of length {len(mb) if hasattr(mb, '__len__') else '?'}",
                where=case,
            )
            s = to_numpy(mb[0])
            expect(
                name,
                s.ndim == 2 and s.shape[1] == 3,
                "states lost their shape.",
                got=s.shape,
                where=case,
                hint="index rows: states[idx, :] or states[idx].",
            )
            ids = s[:, 0].astype(int)
            for j, offset in enumerate([100, 200, 300, 400, 500], start=1):
                col = to_numpy(mb[j]).reshape(-1) - offset
                expect(
                    name,
                    col.shape == ids.shape and bool(np.allclose(col, ids)),
                    "the arrays of a minibatch are not aligned: one index must pick the same "
                    "samples from every array, in the same order as the arguments.",
                    where=f"{case}, minibatch {k}, array {j}",
                )
            seen.append(ids.tolist())
        per_epoch = []
        flat = [i for b in seen for i in b]
        expect(
            name,
            len(flat) == batch * epochs,
            f"the minibatches hold {len(flat)} samples in all; {epochs} epochs of {batch} "
            f"samples make {batch * epochs}.",
            where=case,
            hint="per epoch, cover all samples once; keep the last, smaller minibatch when "
            "the batch size is not a multiple of mini_batch_size.",
        )
        for e in range(epochs):
            chunk = flat[e * batch : (e + 1) * batch]
            per_epoch.append(chunk)
            expect(
                name,
                sorted(chunk) == list(range(batch)),
                "within an epoch, some samples come twice and others never.",
                got=f"epoch {e}: counts {np.bincount(chunk, minlength=batch).tolist()}",
                where=case,
                hint="sampling each minibatch with np.random.choice draws WITH replacement "
                "across minibatches: shuffle once per epoch (a permutation) and slice it.",
            )
        expect(
            name,
            len({tuple(c) for c in per_epoch}) > 1,
            "every epoch visits the samples in the same order.",
            where=case,
            hint="draw a new permutation (torch.randperm or np.random.permutation) each epoch.",
        )
    passed(name, "every sample exactly once per epoch, shuffled, arrays aligned")
