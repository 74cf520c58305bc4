from __future__ import annotations

import pytest

from course_lib.config import FAST_ENV_VAR, budget, is_fast


@pytest.mark.parametrize(("raw", "fast"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_is_fast_reads_the_switch(monkeypatch, raw, fast):
    monkeypatch.setenv(FAST_ENV_VAR, raw)
    assert is_fast() is fast
    assert budget(10_000, 100) == (100 if fast else 10_000)


def test_unset_means_full_budgets(monkeypatch):
    monkeypatch.delenv(FAST_ENV_VAR, raising=False)
    assert budget(3, 1) == 3


def test_garbage_value_names_the_fix(monkeypatch):
    monkeypatch.setenv(FAST_ENV_VAR, "maybe")
    with pytest.raises(ValueError, match=r"COURSE_LIB_FAST='maybe' is not understood: set it to 1"):
        is_fast()


def test_fast_budget_larger_than_full_is_refused():
    with pytest.raises(ValueError, match=r"fast budget \(10\) must not exceed the full one \(5\)"):
        budget(5, 10)
