#!/usr/bin/env bash
# Show the declared dependency floors hold: install the lowest versions pyproject.toml allows
# (tests/constraints/floors.txt) into ./.venv-floors, then run the fast unit tests and
# notebooks 00 and 03 (fast budgets) on them. A CI step (scripts/test.sh runs it).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv-floors
FLOORS=tests/constraints/floors.txt
PIP=(python -m pip install --quiet --disable-pip-version-check)

if [ ! -x "$VENV/bin/python" ]; then
  echo "floors: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
# torch first, from its pin in the floors file (the local CPU build; see the file).
"${PIP[@]}" "$(grep -E '^torch==' "$FLOORS")"
"${PIP[@]}" -c "$FLOORS" -e ".[instructor]" pytest pytest-xdist
python -m ipykernel install --sys-prefix --name python3 >/dev/null
python -m pip check
python - "$FLOORS" <<'PY'
import sys
from importlib.metadata import version
from packaging.utils import canonicalize_name
wanted = {}
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, pin = line.split("==")
        wanted[canonicalize_name(name)] = pin
wrong = [f"{n} {version(n)} (wanted {p})" for n, p in wanted.items()
         if version(n).split("+")[0] != p]
if wrong:
    raise SystemExit("floors: installed versions differ from the floors: " + ", ".join(wrong))
print("floors: installed", ", ".join(f"{n}=={p}" for n, p in wanted.items()))
PY

export COURSE_LIB_FAST=1
# The fast unit tests: everything but the grader's tests (tests/instructor/grading and the
# authoring guide's example, which grades), the notebook and benchmark tests, and the tests of
# other installs (Colab's pins, nbgrader, Gradescope, the browser), which need tools the floors install
# leaves out; then notebooks 00 and 03 under nbval.
python -m pytest -q --disable-warnings -n "${PYTEST_WORKERS:-2}" --dist loadgroup -p no:cacheprovider \
  --ignore=tests/instructor/grading --ignore=tests/notebooks --ignore=tests/benchmarks \
  --ignore=tests/colab --ignore=tests/integrations --ignore=tests/authoring --ignore=tests/browser \
  tests \
  --nbval-lax --nbval-current-env --nbval-cell-timeout=900 \
  solutions/00_gymnasium_tour.ipynb solutions/03_ppo.ipynb
