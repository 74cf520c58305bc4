"""One HTML feedback page per student and assignment.

Each question shows its score, what kind of loss it was (a wrong answer, a crash, a time
limit, not run), the grader's own verdict (what it found, expected against got, the named
mistake; for a trained agent, the return the grader measured) and what the student's
notebook printed (for a trained agent, the student's own measurement). The hidden tests'
code and inputs are never shown; with ``hidden="score"`` the verdicts are left out too, and
the page gives the scores only. The learning curve and an animation of the trained agent
(played by the grader from the exported policy) are embedded. Everything that came from the
submission is escaped.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from course_lib.instructor.grading.gradebook import Gradebook
from course_lib.instructor.grading.provenance import PROVENANCE_KINDS

__all__ = ["HIDDEN_CHOICES", "write_feedback"]

HIDDEN_CHOICES = ("verdict", "score")
"""How much of the grader's verdict students see: all of it, or the score alone."""

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:900px;margin:2em auto;
color:#1d2330;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} .sub{color:#5a6272;margin-top:0}
.total{font-size:1.25em;font-weight:600;margin:1em 0}
table{border-collapse:collapse;width:100%;margin:1em 0} th,td{text-align:left;padding:.5em .6em;
border-bottom:1px solid #e3e6ec;vertical-align:top} th{background:#f5f6f8;font-weight:600}
.passed{color:#137333;font-weight:600}
.failed,.error,.timeout,.not_run{color:#b3261e;font-weight:600}
.verdict{font-size:.9em}
.partial{color:#b06000;font-weight:600}
pre{white-space:pre-wrap;background:#f7f7f9;border:1px solid #e3e6ec;border-radius:4px;
padding:.5em;margin:.3em 0 0;font-size:.85em;max-height:14em;overflow:auto}
.error-box{background:#fdecea;border:1px solid #f5c2c0;border-radius:6px;padding:1em}
.tamper{background:#fff4e5;border:1px solid #ffd8a8;border-radius:6px;padding:.6em 1em}
.legend{color:#5a6272;font-size:.9em}
.media{display:flex;gap:1.5em;flex-wrap:wrap;align-items:flex-end} .media img{max-width:100%}
figure{margin:0} figcaption{color:#5a6272;font-size:.9em}
"""


LEGEND = (
    "Each question is judged on your code for it alone: where one exercise calls another you "
    "wrote (the agent calls your <code>soft_update</code>, <code>compute_gae</code> or "
    "<code>ppo_losses</code>, builds your buffer, noise and networks), the grader runs it "
    "with the course's own version of the other, so one mistake "
    "costs one question. The reward questions train with everything you wrote."
)
"""The rule of :mod:`course_lib.exercises.parts`, as the feedback page states it."""


def _status_label(status: str, visible: str, verdict: str = "") -> str:
    last = visible.strip().splitlines()[-1] if visible.strip() else ""
    if status == "error" and last.startswith("NotImplementedError"):
        return "not written"
    if status == "failed" and " grader episodes (< " in verdict:
        return "below the criterion"
    return {
        "passed": "passed",
        "partial": "partly",
        "failed": "wrong",
        "error": "crashed",
        "timeout": "timed out",
        "not run": "not run",
    }.get(status, status)


RESULTS = (
    "<b>wrong</b>: your code ran and gave a wrong answer (<b>below the criterion</b>: your "
    "trained agent's return, measured by the grader); <b>crashed</b>: your code raised "
    "an error; <b>not written</b>: the exercise still raises NotImplementedError; <b>timed "
    "out</b> or <b>not run</b>: the grader stopped it at a time limit, or never reached it."
)


def _page(gradebook: Gradebook, row: object, hidden: str = "verdict") -> str:
    r = row
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(r['assignment'])} · {e(r['student'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{e(r['assignment'])}</h1><p class='sub'>Feedback for <b>{e(r['student'])}</b></p>",
    ]
    if r["status"] == "error":
        parts.append(
            "<div class='error-box'><b>This submission could not be graded.</b><br>"
            f"{e(r['error'] or '')}</div>"
        )
        return "".join(parts) + "</body></html>"
    parts.append(f"<div class='total'>Score: {r['score']:g} / {r['max_score']:g}</div>")
    tamper = gradebook.tampering_of(r["id"])
    # what the provenance reading found (course_lib.instructor.grading.provenance), apart
    # from changes to locked cells
    borrowed = [t for t in tamper if t[1] in PROVENANCE_KINDS]
    locked = [t for t in tamper if t[1] not in PROVENANCE_KINDS]
    if locked:
        items = "".join(f"<li><code>{e(g)}</code>: {e(k)} ({e(d)})</li>" for g, k, d in locked)
        parts.append(
            "<div class='tamper'>Locked cells were changed; the originals were used:"
            f"<ul>{items}</ul></div>"
        )
    if borrowed:
        items = "".join(f"<li><code>{e(g)}</code>: {e(k)}: {e(d)}</li>" for g, k, d in borrowed)
        parts.append(
            "<div class='tamper'>These answers are the course's own code, not yours, and "
            f"earned no points:<ul>{items}</ul></div>"
        )
    verdicts = hidden == "verdict"
    head = "<th>the grader's verdict</th>" if verdicts else ""
    parts.append(
        "<table><tr><th>test</th><th>score</th><th>result</th>"
        f"{head}<th>what your notebook printed</th></tr>"
    )
    for t in gradebook.tests_of(r["id"]):
        css = t["status"].replace(" ", "_")
        said = f"<pre>{e(t['visible'])}</pre>" if t["visible"] else ""
        verdict = ""
        if verdicts:
            verdict = f"<td class='verdict'>{e(t['message'])}</td>"
        parts.append(
            f"<tr><td><code>{e(t['grade_id'])}</code></td>"
            f"<td>{t['score']:g} / {t['max_score']:g}</td>"
            f"<td class='{css}'>"
            f"{_status_label(t['status'], t['visible'] or '', t['message'] or '')}</td>"
            f"{verdict}<td>{said}</td></tr>"
        )
    parts.append("</table>")
    parts.append(f"<p class='legend'>{RESULTS}</p>")
    if not verdicts:
        parts.append(
            "<p class='legend'>The grader's hidden tests are reported by their score only.</p>"
        )
    parts.append(f"<p class='legend'>{LEGEND}</p>")
    media = []
    names = gradebook.artifact_names(r["id"])
    for name in sorted(names, key=lambda n: not n.startswith("learning_curve")):  # stable
        data = gradebook.artifact(r["id"], name)
        if not data:
            continue
        task = _task_of(name)
        on = f" ({e(task)})" if task else ""
        if name.startswith("learning_curve"):
            media.append(
                "<figure><img alt='learning curve' src='data:image/png;base64,"
                f"{base64.b64encode(data).decode()}'>"
                f"<figcaption>Your learning curve{on}</figcaption></figure>"
            )
        elif name.startswith("agent"):
            media.append(
                "<figure><img alt='trained agent' src='data:image/gif;base64,"
                f"{base64.b64encode(data).decode()}'>"
                f"<figcaption>Your trained agent{on}, played by the grader"
                "</figcaption></figure>"
            )
    if media:
        parts.append(f"<h2>Training</h2><div class='media'>{''.join(media)}</div>")
    return "".join(parts) + "</body></html>"


def _task_of(artifact: str) -> str:
    """``learning_curve_pendulum.png`` and ``agent_pendulum.gif`` -> ``pendulum``; else ``""``."""
    stem = artifact.rsplit(".", 1)[0]
    for prefix in ("learning_curve", "agent"):
        if stem.startswith(prefix):
            return stem.removeprefix(prefix).lstrip("_")
    return ""


def write_feedback(gradebook: Gradebook, out_dir: Path, *, hidden: str = "verdict") -> list[Path]:
    """``<out>/<student>/<assignment>.html`` for the latest grade of each submission.

    Args:
        hidden: one of :data:`HIDDEN_CHOICES`: ``"verdict"`` shows the grader's verdict on
            each question, ``"score"`` its score only.
    """
    if hidden not in HIDDEN_CHOICES:
        raise ValueError(
            f"hidden={hidden!r}: choose one of {', '.join(HIDDEN_CHOICES)} (what students see "
            "of the grader's verdicts)"
        )
    written = []
    for row in gradebook.latest():
        path = out_dir / row["student"] / f"{row['assignment']}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_page(gradebook, row, hidden), encoding="utf-8")
        written.append(path)
    return written
