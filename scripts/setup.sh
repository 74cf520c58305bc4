#!/usr/bin/env bash
# Set up everything the course needs in ./.venv: torch (CPU build), the course
# package with its dev tools, and the system sandbox tool used by the grader.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# The torch wheel to install when the venv has none. The project accepts any
# torch in its declared range (Colab's included); this pin is the CPU build.
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate

if ! python -c "import torch" 2>/dev/null; then
  echo "setup: installing $TORCH_SPEC"
  python -m pip install --quiet --disable-pip-version-check "$TORCH_SPEC"
fi
echo "setup: installing course-lib with its instructor tools, dev tools, and the benchmarks' and cluster extras"
python -m pip install --quiet --disable-pip-version-check -e ".[instructor,dev,bench,cluster]"
python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null

# bubblewrap gives the grader a real sandbox on Linux; without it the grader
# warns loudly and falls back to resource limits only.
if ! command -v bwrap >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "setup: installing bubblewrap"
  (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null) \
    || echo "setup: could not install bubblewrap; grading will fall back to resource limits"
fi
# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "setup: installing chromium (for the browser tests)"
  (apt-get install -y -qq chromium >/dev/null 2>&1 \
    || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) \
    || echo "setup: could not install chromium; the browser tests will fail until it is installed"
fi
echo "setup: done ($(python -c 'import torch, gymnasium; print("torch", torch.__version__, "| gymnasium", gymnasium.__version__)'))"
