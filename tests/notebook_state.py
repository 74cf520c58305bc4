"""The process-wide state notebook cells set, kept for the tests that run cells in-process.

Notebooks 02 and 03 turn off torch.distributions' argument validation, for speed, and set
torch's thread count. A test module that runs their cells must not leave either behind: under
pytest-xdist other modules' tests run on the same worker, between this module's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_globals_kept() -> Iterator[None]:
    """Run the block, then put torch's validation default and thread count back."""
    import torch

    validate = torch.distributions.Distribution._validate_args
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.distributions.Distribution.set_default_validate_args(validate)
        torch.set_num_threads(threads)
