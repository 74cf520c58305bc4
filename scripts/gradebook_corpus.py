"""Grade one fixed class and dump what the gradebook says, to compare graders before and after
a change that must not change behaviour (a redesign).

The class: `course-lib sample-class` (correct, partly wrong, broken, tampered and hostile
work) plus, for each of notebooks 01-05, a correct submission and one with a known bug. It is
graded by `course-lib grade` at fast budgets with a fixed seed, and every row of the
gradebook (submission, test, tampering; no file hashes, times or paths) goes to a JSON file.

    python scripts/gradebook_corpus.py dump OUT_DIR before.json
    ... change the grader ...
    python scripts/gradebook_corpus.py dump OUT_DIR2 after.json
    python scripts/gradebook_corpus.py compare before.json after.json   # exit 1 on a difference
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
SEED = 4242

# One known bug per notebook: exercise -> replacement body, or a function of the solution.
BUGS = {
    "01_actor_critic": {},
    "02_a2c": {"evaluate_actions": "return actor(obs).log_prob(actions), critic(obs)"},
    "03_ppo": {
        "ppo_iter": (
            "batch_size = states.shape[0]\n"
            "for _ in range(epoch):\n"
            "    for _ in range(batch_size // mini_batch_size):\n"
            "        idx = np.random.choice(batch_size, mini_batch_size, replace=False)\n"
            "        yield (states[idx], actions[idx], values[idx], log_probs[idx],\n"
            "               returns[idx], advantages[idx])"
        )
    },
    "04_ddpg": {
        "ou_noise": lambda src: src.replace(
            "np.random.standard_normal(len(x))", "np.random.rand(len(x))"
        )
    },
    "05_td3": {"td3": lambda src: src.replace("torch.min(target_q1", "torch.max(target_q1")},
}


def _fill():
    try:  # where the sample-class helpers live, before and after the instructor side moved
        from course_lib.instructor.grading.sample import fill
    except ImportError:
        from course_lib.grading.sample import fill
    return fill


def _run(*args: str) -> None:
    subprocess.run(["course-lib", *args], check=True, cwd=ROOT)


def dump(out: Path, target: Path) -> None:
    out = out.resolve()
    _run("sample-class", str(out), "--solutions", str(SOLUTIONS))
    fill = _fill()
    for assignment, bug in BUGS.items():
        for student, spec in (("zed", {}), ("yan", bug)):
            path = out / "submitted" / student / assignment / f"{assignment}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(fill(SOLUTIONS / f"{assignment}.ipynb", spec), path)
    book = out / "gradebook.sqlite"
    _run(
        "grade",
        str(out / "submitted"),
        "--solutions",
        str(SOLUTIONS),
        "--gradebook",
        str(book),
        "--workers",
        "2",
        "--fast",
        "--seed",
        str(SEED),
        "--cell-timeout",
        "60",
        "--notebook-timeout",
        "600",
    )
    db = sqlite3.connect(book)
    rows = db.execute(
        "SELECT s.student, s.assignment, s.status, s.error, s.score, s.max_score, "
        "t.grade_id, t.score, t.max_score, t.status, t.message, t.visible "
        "FROM submissions s LEFT JOIN tests t ON t.submission_id = s.id "
        "ORDER BY s.student, s.assignment, t.grade_id"
    ).fetchall()
    tampering = db.execute(
        "SELECT s.student, s.assignment, m.grade_id, m.kind, m.detail FROM tampering m "
        "JOIN submissions s ON s.id = m.submission_id ORDER BY 1, 2, 3, 4"
    ).fetchall()
    target.write_text(json.dumps({"tests": rows, "tampering": tampering}, indent=1) + "\n")
    print(f"{len(rows)} test rows, {len(tampering)} tampering rows -> {target}")


def compare(before: Path, after: Path) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    problems = 0
    for part in ("tests", "tampering"):
        rows_a, rows_b = a[part], b[part]
        print(f"{part}: {len(rows_a)} rows before, {len(rows_b)} after")
        only_a = [r for r in rows_a if r not in rows_b]
        only_b = [r for r in rows_b if r not in rows_a]
        for row in only_a[:20]:
            print("  only before:", row)
        for row in only_b[:20]:
            print("  only after: ", row)
        problems += len(only_a) + len(only_b)
    print("identical" if not problems else f"{problems} differing rows")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "dump":
        dump(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        raise SystemExit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        raise SystemExit(__doc__)
