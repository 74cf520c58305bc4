#!/usr/bin/env bash
# Set everything up, release the student notebooks, and execute a reference
# notebook headless, writing its animations and plots to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate

course-lib release
course-lib run solutions/00_gymnasium_tour.ipynb --out out/00_gymnasium_tour
