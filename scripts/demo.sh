#!/usr/bin/env bash
# Set everything up, release the student notebooks, execute a reference notebook
# headless (its animations and plots go to out/), then grade a sample class end
# to end: gradebook, CSV, Gradescope JSON and HTML feedback pages in out/grading/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate

course-lib release
course-lib run solutions/00_gymnasium_tour.ipynb --out out/00_gymnasium_tour

rm -rf out/grading
course-lib sample-class out/grading
course-lib grade out/grading/submitted --gradebook out/grading/gradebook.sqlite \
  --workers 2 --cell-timeout 30
course-lib export --gradebook out/grading/gradebook.sqlite --out out/grading/export
course-lib feedback --gradebook out/grading/gradebook.sqlite --out out/grading/feedback
echo
echo "gradebook:      out/grading/gradebook.sqlite"
echo "grades (CSV):   out/grading/export/grades.csv"
echo "Gradescope:     out/grading/export/gradescope/"
echo "feedback pages: out/grading/feedback/<student>/<assignment>.html"
