"""Compare two versions of a visible-checks module: every implementation its test module defines
or parametrizes (references, variants, bugs) must get the same outcome from both: the same pass
line, or the same exception type and text. For redesigns that must not change what a check says.

    git show REV:course_lib/checks/tour.py > /tmp/old_tour.py
    python scripts/compare_checks.py /tmp/old_tour.py course_lib.checks.tour \
        tests.checks.test_tour check_run_episode check_td_target     # exit 1 on a difference
"""

import contextlib
import importlib
import importlib.util
import io
import sys

import numpy as np
import torch

sys.path.insert(0, ".")
old_path, new_mod, test_mod, *checks = sys.argv[1:]
spec = importlib.util.spec_from_file_location("old_mod", old_path)
old = importlib.util.module_from_spec(spec)
spec.loader.exec_module(old)
new = importlib.import_module(new_mod)
T = importlib.import_module(test_mod)
cands = []
for name, obj in vars(T).items():
    if callable(obj) and not name.startswith("test_") and not isinstance(obj, type(sys)):
        cands.append((name, obj))
    for mk in getattr(obj, "pytestmark", []) if name.startswith("test_") else []:
        if mk.name == "parametrize":
            for v in mk.args[1]:
                for x in v if isinstance(v, (tuple, list)) else (v,):
                    if callable(x):
                        cands.append((name, x))
                    elif isinstance(x, dict) and hasattr(T, "make_model"):
                        try:
                            cands.append((name + str(x), T.make_model(**x)))
                        except Exception:
                            pass


def outcome(check, impl):
    torch.manual_seed(0)
    np.random.seed(0)
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            check(impl)
        return ("ok", buf.getvalue())
    except BaseException as e:
        return (type(e).__name__, str(e), buf.getvalue())


n = diff = 0
for cname in checks:
    for label, impl in cands:
        a, b = outcome(getattr(old, cname), impl), outcome(getattr(new, cname), impl)
        n += 1
        if a != b:
            diff += 1
            print("DIFF", cname, label, a, b)
failing = sum(1 for c in checks for _, i in cands if outcome(getattr(new, c), i)[0] != "ok")
print(f"{n} (check, implementation) pairs, {failing} of them failures: {diff} differ")
raise SystemExit(1 if diff else 0)
