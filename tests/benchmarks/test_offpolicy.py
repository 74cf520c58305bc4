"""benchmarks/offpolicy.py: trying other hyperparameters with --set."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import offpolicy  # noqa: E402

from course_lib.instructor.runner import load_cells  # noqa: E402


def test_overrides_are_parsed_as_python_values():
    assert offpolicy.parse_overrides(["batch_size=64", "lr=3e-4", "noise=ou"]) == {
        "batch_size": 64,
        "lr": 3e-4,
        "noise": "ou",
    }


@pytest.mark.parametrize("item", ["batch_size", "=3", "batch size=3"])
def test_a_malformed_override_names_the_form(item):
    with pytest.raises(SystemExit, match="FIELD=VALUE"):
        offpolicy.parse_overrides([item])


def test_overrides_change_the_config_of_the_task_and_only_its_env():
    ns = load_cells(ROOT / "solutions" / "05_td3.ipynb", offpolicy.TD3_CELLS)
    mountaincar = ns["mountaincar"]
    offpolicy._apply_overrides(offpolicy.TASKS["td3-pendulum"], ns, {"batch_size": 64})
    assert ns["pendulum"].batch_size == 64
    assert ns["mountaincar"] is mountaincar
    with pytest.raises(SystemExit, match=r"pendulum has no field 'batchsize'.*batch_size"):
        offpolicy._apply_overrides(offpolicy.TASKS["td3-pendulum"], ns, {"batchsize": 64})
