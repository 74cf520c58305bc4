"""Guards shared by every test: unit tests, doctests and notebooks alike."""

from __future__ import annotations

import os

import pytest

from course_lib.config import FAST_ENV_VAR


@pytest.fixture(autouse=True)
def _fast_mode_left_as_found():
    """A test that changes COURSE_LIB_FAST must put it back.

    The notebooks executed later in the same run read it: one test leaving it unset would
    silently run every later notebook at its full budget.
    """
    before = os.environ.get(FAST_ENV_VAR)
    yield
    after = os.environ.get(FAST_ENV_VAR)
    if after == before:
        return
    if before is None:
        del os.environ[FAST_ENV_VAR]
    else:
        os.environ[FAST_ENV_VAR] = before
    pytest.fail(
        f"this test changed {FAST_ENV_VAR} from {before!r} to {after!r} and left it so; "
        f"use monkeypatch.setenv or unittest.mock.patch.dict, which restore it."
    )


@pytest.fixture
def notebook_globals_restored():
    """For a test that runs notebook cells in this process: the process-wide state those cells
    set is put back after it (notebooks 02 and 03 turn off torch.distributions' argument
    validation, for speed). After each test, not each module: under pytest-xdist other
    modules' tests run on the same worker between a module's own. Module-scoped fixtures that
    run cells keep the state themselves (``tests.notebook_state.torch_globals_kept``)."""
    from tests.notebook_state import torch_globals_kept

    with torch_globals_kept():
        yield


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``--dist loadgroup``), keep each notebook's nbval cells together.

    nbval runs a notebook's cells in order in one kernel, so they must share a worker; every
    other test is spread over the workers one by one (or by its module's ``xdist_group``).
    """
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.xdist_group(f"nbval-{item.path.stem}"))


def pytest_collection_finish(session):
    """Under ``--dist loadgroup``, every test with an ``xdist_group`` must carry its group in its
    node id (pytest-xdist appends ``@group``): without it the groups are silently spread over
    the workers, and a notebook's nbval cells or a module's shared set-up run on both."""
    config = session.config
    if not getattr(config.option, "loadgroup", False):  # set by pytest-xdist, when loaded
        return
    lost = [
        item.nodeid
        for item in session.items
        if any(True for _ in item.iter_markers("xdist_group")) and "@" not in item.nodeid
    ]
    if lost:
        raise pytest.UsageError(
            f"pytest-xdist could not tag {len(lost)} tests with their xdist_group (first: "
            f"{lost[0]}); pytest {pytest.__version__} stores node ids where this pytest-xdist "
            "does not write them. Install the pytest the dev extra allows: "
            "pip install -e '.[dev]'."
        )
