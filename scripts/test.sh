#!/usr/bin/env bash
# Set everything up, then run every check CI runs: lint, release freshness,
# unit tests, doctests, and every instructor notebook executed in a real
# kernel (fast budgets).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate

echo "== ruff"
ruff check .
ruff format --check .

echo "== import layering (import-linter contracts in pyproject.toml)"
lint-imports

echo "== notebooks/ is generated from solutions/"
course-lib release --check

echo "== pytest (unit tests, doctests, solution notebooks under nbval, fast budgets; 2 workers)"
export COURSE_LIB_FAST=1
# Two workers (pytest-xdist), one per core; a notebook's nbval cells and the tests that
# share a module's expensive set-up stay on one worker (their xdist_group).
python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup --durations=40 \
  --doctest-modules course_lib tests \
  --nbval-lax --nbval-current-env --nbval-cell-timeout=900 solutions "$@"

echo "== the declared dependency floors (tests/constraints/floors.txt)"
bash scripts/floors.sh
