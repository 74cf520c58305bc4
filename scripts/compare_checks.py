"""Compare two versions of a visible-checks module on what its tests make it check.

Runs the test module with every named check wrapped: each call runs the old version first, then
the new one, from the same random state, and compares their outcomes (the pass line printed,
or the exception's type and text). The test then sees the new version's outcome. For redesigns
that must not change what a check says; exit 1 on any difference.

    git show REV:course_lib/checks/ppo/gae.py > /tmp/old_gae.py
    python scripts/compare_checks.py /tmp/old_gae.py course_lib.checks.ppo.gae \\
        tests/checks/test_ppo.py check_compute_gae
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _outcome(check, args, kwargs):
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            check(*args, **kwargs)
    except BaseException as err:  # the check's verdict, or the student's own error
        return (type(err).__name__, str(err), buf.getvalue()), err
    return ("passed", buf.getvalue()), None


class _Compare:
    def __init__(self, old_path: str, new_module: str, names: list[str]) -> None:
        spec = importlib.util.spec_from_file_location("old_checks", old_path)
        self.old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.old)
        self.new = importlib.import_module(new_module)
        self.names = names
        self.calls = self.failures = 0
        self.diffs: list[str] = []

    def pytest_configure(self, config):
        package = importlib.import_module(self.new.__name__.rsplit(".", 1)[0])
        for name in self.names:
            original = getattr(self.new, name)
            wrapped = self._wrap(name, getattr(self.old, name), original)
            for module in (self.new, package):
                if getattr(module, name, None) is original:
                    setattr(module, name, wrapped)

    def _wrap(self, name, old, new):
        def both(*args, **kwargs):
            state = (torch.get_rng_state(), np.random.get_state(), random.getstate())
            a, _ = _outcome(old, args, kwargs)
            torch.set_rng_state(state[0])
            np.random.set_state(state[1])
            random.setstate(state[2])
            b, err = _outcome(new, args, kwargs)
            self.calls += 1
            self.failures += b[0] != "passed"
            if a != b:
                self.diffs.append(f"{name}: before {a!r}\n   after  {b!r}")
            print(b[-1], end="")
            if err is not None:
                raise err

        return both

    def pytest_sessionfinish(self, session):
        for diff in self.diffs:
            print("DIFF", diff)
        print(
            f"\n{self.calls} calls of {', '.join(self.names)} ({self.failures} failures): "
            f"{len(self.diffs)} differ"
        )


def main(argv: list[str]) -> int:
    old_path, new_module, tests, *names = argv
    compare = _Compare(old_path, new_module, names)
    sys.path.insert(0, str(ROOT))
    code = pytest.main(["-q", "-p", "no:xdist", "-p", "no:cacheprovider", tests], plugins=[compare])
    return 1 if compare.diffs or compare.calls == 0 or code not in (0,) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
