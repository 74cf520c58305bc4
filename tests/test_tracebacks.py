"""course_lib.tracebacks: in a real kernel, a failed check and an unwritten exercise are
reported message first, without the course's frames; cl.full_tracebacks() brings Python's
traceback back; other errors keep theirs."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.notebook

CELLS = {
    "imports": "import course_lib as cl\nfrom course_lib.checks import a2c as checks",
    "stub": (
        "def compute_returns(rewards, gamma):\n"
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()"
    ),
    "check_stub": "checks.check_compute_returns(compute_returns)",
    "wrong": "def compute_returns(rewards, gamma):\n    return [float(r) for r in rewards]",
    "check_wrong": "checks.check_compute_returns(compute_returns)",
    "class_stub": (
        "class Net:\n    def __init__(self):\n        raise NotImplementedError()\n\nNet()"
    ),
    "torch_missing_forward": "import torch\n\nclass M(torch.nn.Module):\n    pass\n\nM()(1)",
    "full": "cl.full_tracebacks()\nchecks.check_compute_returns(compute_returns)",
    "full_stub": "Net()",
    "short_again": "cl.full_tracebacks(False)\nchecks.check_compute_returns(compute_returns)",
}


@pytest.fixture(scope="module")
def errors():
    """The error output of each cell, its traceback lines without colour codes."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS.values()])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120).execute()
    out = {}
    for name, cell in zip(CELLS, nb.cells, strict=True):
        for o in cell.outputs:
            if o.output_type == "error":
                lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in o.traceback]
                out[name] = (o.ename, "\n".join(lines))
    return out


def test_a_failed_check_shows_its_message_first_and_no_course_frame(errors):
    ename, text = errors["check_wrong"]
    assert ename == "CheckFailed"
    lines = text.splitlines()
    assert lines[0].startswith("✘ [check_compute_returns] returns: wrong value at index 0")
    assert "likely bug:" in text
    assert "checked in Cell In[5], line 1: checks.check_compute_returns(compute_returns)" in text
    assert "cl.full_tracebacks()" in lines[-1]
    assert "course_lib" not in text and len(lines) <= 10, text


def test_an_unwritten_exercise_is_named_with_its_cell(errors):
    ename, text = errors["check_stub"]
    assert ename == "NotImplementedError"
    assert text.startswith("✘ compute_returns() is not written yet: Cell In[2] still raises")
    assert "called from Cell In[3], line 1" in text and "course_lib" not in text
    _, text = errors["class_stub"]
    assert text.startswith("✘ Net is not written yet: Cell In[6]")


def test_a_library_not_implemented_error_keeps_its_traceback(errors):
    ename, text = errors["torch_missing_forward"]
    assert ename == "NotImplementedError"
    assert "not written yet" not in text and "forward" in text


def test_full_tracebacks_are_one_call_away_and_can_be_turned_off_again(errors):
    _, text = errors["full"]
    assert "course_lib/checks/a2c.py" in text and "Traceback" in text
    _, text = errors["full_stub"]
    assert "not written yet" not in text and "Traceback" in text
    _, text = errors["short_again"]
    assert text.startswith("✘ [check_compute_returns]")


def test_the_short_reports_leave_plain_python_alone():
    """Outside IPython, a CheckFailed prints as it always did (doctests, scripts)."""
    from course_lib.checks.core import CheckFailed
    from course_lib.tracebacks import install

    assert install() is False
    err = CheckFailed("check_x", "wrong", hint="fix it")
    assert str(err) == "[check_x] wrong\n  likely bug: fix it"
