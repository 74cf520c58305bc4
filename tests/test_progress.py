"""Tests of course_lib.progress: tqdm with quiet defaults outside a live terminal."""

from __future__ import annotations

import io
import sys

import pytest
from tqdm.std import tqdm

from course_lib import plotting
from course_lib.progress import progress


class _FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend to run in an interactive terminal, outside CI.

    Called in the test body: pytest's output capture resets ``sys.stderr``
    between fixture set-up and the test call.
    """
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", _FakeTerminal())


def test_iterates_and_counts() -> None:
    bar = progress(range(4), desc="train", file=io.StringIO())
    assert isinstance(bar, tqdm)
    assert list(bar) == [0, 1, 2, 3]
    assert bar.n == 4
    assert bar.desc == "train"


def test_manual_bar_with_total() -> None:
    bar = progress(total=10, file=io.StringIO())
    bar.update(3)
    assert (bar.n, bar.total) == (3, 10)
    bar.close()


def test_terminal_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    _terminal(monkeypatch)
    bar = progress(range(2), file=io.StringIO())
    assert bar.mininterval == 0.5
    assert bar.dynamic_ncols  # tqdm swaps True for a width-reading function
    bar.close()


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_ci_is_quiet(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    _terminal(monkeypatch)
    monkeypatch.setenv("CI", value)
    assert progress(range(2), file=io.StringIO()).mininterval == 5.0


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_ci_switched_off_is_interactive(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    _terminal(monkeypatch)
    monkeypatch.setenv("CI", value)
    assert progress(range(2), file=io.StringIO()).mininterval == 0.5


def test_piped_stderr_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a tty
    assert progress(range(2), file=io.StringIO()).mininterval == 5.0


def test_notebook_is_interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setattr(plotting, "in_notebook", lambda: True)
    assert progress(range(2), file=io.StringIO()).mininterval == 0.5


def test_kwargs_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    _terminal(monkeypatch)
    bar = progress(range(2), file=io.StringIO(), mininterval=2.0, dynamic_ncols=False)
    assert (bar.mininterval, bar.dynamic_ncols) == (2.0, False)


def test_a_bar_closed_before_its_total_ends_at_what_was_done():
    """Training stops at the criterion before its budget: a success, not an error."""
    out = io.StringIO()
    bar = progress(total=1000, desc="env steps", file=out)
    bar.update(69)
    bar.close()
    assert (bar.n, bar.total) == (69, 69)
    assert "env steps (stopped at 69 of 1,000)" in out.getvalue()
    full = progress(total=10, desc="episodes", file=io.StringIO())
    full.update(10)
    full.close()
    assert full.desc == "episodes"


@pytest.mark.notebook
def test_in_a_notebook_the_closed_bar_leaves_text_not_a_widget():
    """The widget is replaced by its last line (a saved notebook shows no 'model not
    found'), and a bar stopped early is not painted as a failure."""
    import nbformat
    from nbclient import NotebookClient

    source = (
        "import course_lib as cl\n"
        "bar = cl.progress(total=1000, desc='env steps')\n"
        "bar.update(69)\n"
        "live = bar.container.children[1]\n"
        "bar.close()\n"
        "print(live.bar_style or 'plain')"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    (shown, printed) = nb.cells[0].outputs
    assert list(shown.data) == ["text/plain"], shown.data
    assert "env steps (stopped at 69 of 1,000): 100%" in shown.data["text/plain"]
    assert printed.text.strip() == "success"
