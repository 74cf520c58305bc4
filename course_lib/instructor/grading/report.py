"""What the class got wrong: the instructor's report over a whole gradebook.

``course-lib report --gradebook G --out DIR`` writes ``DIR/index.html`` (one line per
assignment, linked to its page ``DIR/<assignment>.html``) and ``DIR/findings.csv``. Each
assignment's page shows, from the latest submission of every student:

- per question, the share of full, partial and zero marks, crashes, time limits and cells
  never run, and a histogram of its scores;
- the mistakes the grader's judges named (:class:`~course_lib.exercises.finding.Hint`),
  most frequent first, with the students who made each, then the lost points no judge
  could name;
- each trained agent's return on the grader's episodes against the criterion, and the
  learning curves of the students at the lowest, median and highest return;
- the submissions that need a look (unreadable, tampered with, timed out or crashed);
- what grading cost, per submission.

Everything comes from the gradebook alone (a gradebook written by ``course-lib grade`` on
this machine or on a Dask cluster is the same), and the pages are self-contained: the plots
are PNGs embedded in the HTML, nothing is fetched when the page opens.

``findings.csv`` has one row per (assignment, question, kind, name): ``kind`` is
``mistake`` (``name`` is the mistake's stable name), ``unnamed`` (points lost where no
judge named the mistake), ``below criterion`` (a trained agent; ``name`` is the policy),
``error``, ``timeout``, ``not run``, ``tampering`` (``name`` is its kind) or
``unreadable`` (the file could not be graded); ``count`` students, listed in ``students``.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib.instructor.grading.gradebook import Gradebook
from course_lib.instructor.grading.similarity import (
    DEFAULT_THRESHOLD,
    given_cells,
    read_answers,
    render_pairs,
    screen,
)

__all__ = [
    "FINDINGS_COLUMNS",
    "ClassResults",
    "FindingRow",
    "Report",
    "SimilarityOptions",
    "findings",
    "read_class",
    "write_report",
]

FINDINGS_COLUMNS = ("assignment", "question", "kind", "name", "count", "students", "example")
"""The columns of ``findings.csv``, in order."""

_STATUSES = ("passed", "partial", "failed", "error", "timeout", "not run")
_STATUS_LABELS = {
    "passed": "full marks",
    "partial": "partial",
    "failed": "zero (wrong)",
    "error": "crashed",
    "timeout": "time limit",
    "not run": "not run",
}
_STATUS_COLORS = {
    "passed": "#2e7d32",
    "partial": "#f9a825",
    "failed": "#c62828",
    "error": "#6a1b9a",
    "timeout": "#5d4037",
    "not run": "#9e9e9e",
}


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Question:
    """One graded question of one submission, as the gradebook holds it."""

    grade_id: str
    score: float
    max_score: float
    status: str
    message: str
    visible: str
    details: dict[str, Any]

    @property
    def mistakes(self) -> list[str]:
        named = self.details.get("mistakes") or []
        return [m for m in named if isinstance(m, str)]

    @property
    def policies(self) -> dict[str, dict[str, Any]]:
        policies = self.details.get("policies") or {}
        return {k: v for k, v in policies.items() if isinstance(v, dict)}


@dataclass(frozen=True)
class Submission:
    """A student's latest graded submission of one assignment."""

    id: int
    student: str
    assignment: str
    path: str
    status: str
    error: str | None
    score: float
    max_score: float
    exec_seconds: float
    total_seconds: float
    details: dict[str, Any]
    questions: list[Question]
    tampering: list[tuple[str, str, str]]
    artifacts: list[str]


@dataclass
class ClassResults:
    """Every student's latest submission, by assignment (in name order)."""

    assignments: dict[str, list[Submission]] = field(default_factory=dict)


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def read_class(book: Gradebook) -> ClassResults:
    """The latest submission of every (student, assignment) in ``book``."""
    results = ClassResults()
    for row in book.latest():
        keys = row.keys()
        questions = [
            Question(
                t["grade_id"],
                float(t["score"]),
                float(t["max_score"]),
                t["status"],
                t["message"] or "",
                t["visible"] or "",
                _json(t["details"]) if "details" in t.keys() else {},
            )
            for t in book.tests_of(row["id"])
        ]
        sub = Submission(
            id=int(row["id"]),
            student=row["student"],
            assignment=row["assignment"],
            path=row["path"],
            status=row["status"],
            error=row["error"],
            score=float(row["score"]),
            max_score=float(row["max_score"]),
            exec_seconds=float(row["exec_seconds"]),
            total_seconds=float(row["total_seconds"]),
            details=_json(row["details"]) if "details" in keys else {},
            questions=questions,
            tampering=[tuple(t) for t in book.tampering_of(row["id"])],
            artifacts=book.artifact_names(row["id"]),
        )
        results.assignments.setdefault(sub.assignment, []).append(sub)
    results.assignments = dict(sorted(results.assignments.items()))
    return results


# --------------------------------------------------------------------------- findings


@dataclass
class FindingRow:
    """One row of ``findings.csv``."""

    assignment: str
    question: str
    kind: str
    name: str
    students: list[str] = field(default_factory=list)
    example: str = ""

    @property
    def count(self) -> int:
        return len(self.students)

    def as_csv(self) -> dict[str, str | int]:
        return {
            "assignment": self.assignment,
            "question": self.question,
            "kind": self.kind,
            "name": self.name,
            "count": self.count,
            "students": ";".join(self.students),
            "example": self.example,
        }


_KIND_ORDER = {
    k: i
    for i, k in enumerate(
        ("mistake", "unnamed", "below criterion", "error", "timeout", "not run", "tampering")
    )
}


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _example(question: Question) -> str:
    """A short example of the grader's verdict: the part of the message (``name: ...;
    other: ...``) of the first observation that lost credit."""
    parts = [p.strip() for p in question.message.split("; ") if p.strip()]
    lost = [name for name in question.details.get("lost") or [] if isinstance(name, str)]
    failing = [p for p in parts if any(p.startswith(f"{name}: ") for name in lost)]
    text = (failing or parts or [""])[0]
    return text[:300]


@dataclass
class _Collector:
    """Adds a student to the row of (question, kind, name), made on first use."""

    assignment: str
    found: dict[tuple[str, str, str], FindingRow]

    def __call__(self, question: str, kind: str, name: str, student: str, example: str) -> None:
        key = (question, kind, name)
        row = self.found.setdefault(key, FindingRow(self.assignment, question, kind, name))
        if student not in row.students:
            row.students.append(student)
        if not row.example:
            row.example = example


def findings(results: ClassResults) -> list[FindingRow]:
    """Every row of ``findings.csv``: per assignment, the named mistakes by count (most
    frequent first), then the other kinds of lost points, question by question."""
    rows: list[FindingRow] = []
    for assignment, subs in results.assignments.items():
        found: dict[tuple[str, str, str], FindingRow] = {}
        add = _Collector(assignment, found)
        for sub in sorted(subs, key=lambda s: s.student):
            if sub.status != "graded":
                add("", "unreadable", _last_line(sub.error or "") or "error", sub.student, "")
                continue
            for grade_id, kind, detail in sub.tampering:
                add(grade_id, "tampering", kind, sub.student, detail[:300])
            for q in sub.questions:
                if q.status == "passed":
                    continue
                if q.status in ("error", "timeout", "not run"):
                    add(q.grade_id, q.status, "", sub.student, _last_line(q.visible or q.message))
                    if q.status != "error":
                        continue
                for name in q.mistakes:
                    add(q.grade_id, "mistake", name, sub.student, _example(q))
                below = [p for p, m in q.policies.items() if _mean(m) < _criterion(m)]
                for policy in below:
                    add(q.grade_id, "below criterion", policy, sub.student, _example(q))
                if not q.mistakes and not below and q.status in ("failed", "partial"):
                    add(q.grade_id, "unnamed", "", sub.student, _example(q))
        rows.extend(
            sorted(
                found.values(),
                key=lambda r: (_KIND_ORDER.get(r.kind, 99), -r.count, r.question, r.name),
            )
        )
    return rows


def _mean(policy: dict[str, Any]) -> float:
    returns = policy.get("returns") or []
    try:
        return float(sum(returns) / len(returns)) if returns else float("nan")
    except TypeError:
        return float("nan")


def _criterion(policy: dict[str, Any]) -> float:
    try:
        return float(policy.get("criterion"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


# --------------------------------------------------------------------------- plots


def _png(fig: Any) -> str:
    """A matplotlib figure as a base64 PNG for an <img> (rendered off-screen, closed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96)
    return base64.b64encode(buffer.getvalue()).decode()


def _img(png: str, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{png}'>"


def _question_histograms(subs: Sequence[Submission], question_ids: Sequence[str]) -> str:
    """One small histogram of scores per question, bars coloured by result."""
    from matplotlib.figure import Figure

    n = len(question_ids)
    cols = min(4, max(1, n))
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(3.2 * cols, 2.3 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, grade_id in zip(axes.flat, question_ids, strict=False):
        got = [q for s in subs for q in s.questions if q.grade_id == grade_id]
        top = max((q.max_score for q in got), default=1.0) or 1.0
        levels = sorted({q.score for q in got} | {0.0, top})
        bottoms = [0] * len(levels)
        for status in _STATUSES:
            heights = [
                sum(1 for q in got if q.status == status and q.score == level) for level in levels
            ]
            if any(heights):
                ax.bar(
                    [f"{v:g}" for v in levels],
                    heights,
                    bottom=bottoms,
                    color=_STATUS_COLORS[status],
                    label=_STATUS_LABELS[status],
                )
                bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        ax.set_title(grade_id, fontsize=9)
        ax.set_xlabel(f"score (of {top:g})", fontsize=8)
        ax.set_ylabel("students", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.yaxis.get_major_locator().set_params(integer=True)
    handles = {}
    for ax in axes.flat:
        handles.update((label, h) for h, label in zip(*ax.get_legend_handles_labels(), strict=True))
    if handles:
        fig.legend(
            handles.values(), handles.keys(), loc="outside lower center", ncols=6, fontsize=8
        )
    return _png(fig)


def _returns_plot(points: list[tuple[str, float]], criterion: float, title: str) -> str:
    """Each student's mean return on the grader's episodes (a dot), against the criterion."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 1.2 + 0.22 * max(4, len(points))), layout="constrained")
    ax = fig.subplots()
    ordered = sorted(points, key=lambda p: p[1])
    ys = range(len(ordered))
    colors = ["#2e7d32" if v >= criterion else "#c62828" for _, v in ordered]
    ax.scatter([v for _, v in ordered], list(ys), c=colors, zorder=3)
    ax.axvline(criterion, color="#c62828", ls="--", lw=1.2, label=f"criterion {criterion:g}")
    ax.set_yticks(list(ys), [s for s, _ in ordered], fontsize=8)
    ax.set_xlabel("mean return on the grader's episodes")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


# --------------------------------------------------------------------------- pages

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
color:#1d2330;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:1.8em;border-bottom:1px solid #e3e6ec}
.sub{color:#5a6272;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:.92em}
th,td{text-align:left;padding:.4em .6em;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{background:#f5f6f8;font-weight:600} td.n{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f3f4f7;padding:0 .25em;border-radius:3px}
.example{color:#3c4350;font-size:.88em}
.warn{background:#fff4e5;border:1px solid #ffd8a8;border-radius:6px;padding:.6em 1em}
.legend{color:#5a6272;font-size:.9em}
.media{display:flex;gap:1.2em;flex-wrap:wrap} img{max-width:100%}
.media figure{flex:0 1 calc(50% - .6em);min-width:320px} .media img{width:100%}
figure{margin:0} figcaption{color:#5a6272;font-size:.9em}
.side{display:grid;grid-template-columns:1fr 1fr;gap:.8em}
.side pre{background:#f7f7f9;border:1px solid #e3e6ec;padding:.5em;font-size:.8em;overflow:auto;
white-space:pre-wrap} mark{background:#ffe08a}
"""


def _page(title: str, body: Iterable[str]) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        + "".join(body)
        + "</body></html>"
    )


def _students(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(html.escape(n) for n in names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return shown + more


def _share(n: int, total: int) -> str:
    return f"{n} ({100 * n / total:.0f}%)" if total and n else "0" if total else "-"


def _seconds(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return (
        f"median {statistics.median(values):.1f} s, max {max(values):.1f} s, "
        f"total {sum(values) / 60:.1f} min"
    )


def _assignment_page(
    assignment: str, subs: list[Submission], rows: list[FindingRow], book: Gradebook
) -> str:
    e = html.escape
    graded = [s for s in subs if s.status == "graded"]
    body = [
        f"<h1>{e(assignment)}</h1>",
        f"<p class='sub'>{len(subs)} students: {len(graded)} graded, "
        f"{len(subs) - len(graded)} could not be graded. <a href='index.html'>All assignments"
        "</a></p>",
    ]
    if graded:
        scores = [s.score for s in graded]
        top = max(s.max_score for s in graded)
        body.append(
            f"<p>Score: mean {statistics.mean(scores):.1f}, median "
            f"{statistics.median(scores):g} of {top:g}; {sum(s.score >= top for s in graded)} "
            "with full marks.</p>"
        )
    # -- questions
    order: list[str] = []
    for s in graded:
        for q in s.questions:
            if q.grade_id not in order:
                order.append(q.grade_id)
    if order:
        body.append("<h2>Questions</h2><table><tr><th>question</th><th>points</th><th>mean</th>")
        body.extend(f"<th>{_STATUS_LABELS[s]}</th>" for s in _STATUSES)
        body.append("</tr>")
        for grade_id in order:
            got = [q for s in graded for q in s.questions if q.grade_id == grade_id]
            top = max(q.max_score for q in got)
            mean = statistics.mean(q.score for q in got)
            cells = "".join(
                f"<td class='n'>{_share(sum(q.status == st for q in got), len(got))}</td>"
                for st in _STATUSES
            )
            body.append(
                f"<tr><td><code>{e(grade_id)}</code></td><td class='n'>{top:g}</td>"
                f"<td class='n'>{mean:.2f}</td>{cells}</tr>"
            )
        body.append("</table>")
        body.append(
            f"<figure>{_img(_question_histograms(graded, order), 'score histograms')}"
            "<figcaption>Scores per question, coloured by result.</figcaption></figure>"
        )
    # -- mistakes
    named = [r for r in rows if r.kind == "mistake"]
    body.append("<h2>Mistakes the grader named</h2>")
    if named:
        body.append(
            "<table><tr><th>mistake</th><th>question</th><th>students</th><th>who</th>"
            "<th>the grader's verdict (one example)</th></tr>"
        )
        for r in named:
            body.append(
                f"<tr><td><code>{e(r.name)}</code></td><td><code>{e(r.question)}</code></td>"
                f"<td class='n'>{r.count}</td><td>{_students(r.students)}</td>"
                f"<td class='example'>{e(r.example)}</td></tr>"
            )
        body.append("</table>")
    else:
        body.append("<p>No named mistake in this assignment.</p>")
    unnamed = [r for r in rows if r.kind == "unnamed"]
    if unnamed:
        body.append(
            "<p class='legend'>Points lost where no judge named the mistake (read the "
            "verdicts):</p><table><tr><th>question</th><th>students</th><th>who</th>"
            "<th>the grader's verdict (one example)</th></tr>"
        )
        for r in unnamed:
            body.append(
                f"<tr><td><code>{e(r.question)}</code></td><td class='n'>{r.count}</td>"
                f"<td>{_students(r.students)}</td><td class='example'>{e(r.example)}</td></tr>"
            )
        body.append("</table>")
    # -- trained agents
    body.extend(_agents_section(graded, book))
    # -- submissions that need a look
    look = [r for r in rows if r.kind in ("unreadable", "tampering", "timeout", "error")]
    body.append("<h2>Submissions that need a look</h2>")
    if look:
        body.append("<table><tr><th>what</th><th>question</th><th>who</th><th>reason</th></tr>")
        for r in look:
            what = r.kind + (f": {r.name}" if r.kind == "tampering" else "")
            reason = r.name if r.kind == "unreadable" else r.example
            body.append(
                f"<tr><td>{e(what)}</td><td><code>{e(r.question)}</code></td>"
                f"<td>{_students(r.students)}</td><td class='example'>{e(reason)}</td></tr>"
            )
        body.append("</table>")
    else:
        body.append("<p>None: every file was read, nothing was tampered with or timed out.</p>")
    # -- cost
    body.append("<h2>Grading cost</h2>")
    total = [s.total_seconds for s in subs]
    executed = [s.exec_seconds for s in graded]
    body.append(
        f"<p>Per submission: {_seconds(total)} (the notebook's run in the sandbox: "
        f"{_seconds(executed)}).</p>"
    )
    slow = sorted(graded, key=lambda s: -s.total_seconds)[:5]
    if slow:
        body.append("<table><tr><th>slowest</th><th>seconds</th><th>in the sandbox</th></tr>")
        body.extend(
            f"<tr><td>{e(s.student)}</td><td class='n'>{s.total_seconds:.1f}</td>"
            f"<td class='n'>{s.exec_seconds:.1f}</td></tr>"
            for s in slow
        )
        body.append("</table>")
    return _page(f"{assignment}: class report", body)


def _agents_section(graded: list[Submission], book: Gradebook) -> list[str]:
    """Per trained policy: the students' returns against the criterion, and the learning
    curves of the students at the lowest, median and highest return."""
    e = html.escape
    by_policy: dict[str, list[tuple[Submission, float, float]]] = defaultdict(list)
    for s in graded:
        for q in s.questions:
            for policy, m in q.policies.items():
                mean = _mean(m)
                if mean == mean:  # not NaN
                    by_policy[policy].append((s, mean, _criterion(m)))
    if not by_policy:
        return []
    out = ["<h2>Trained agents</h2>"]
    for policy, entries in sorted(by_policy.items()):
        criterion = entries[0][2]
        passed = sum(mean >= crit for _, mean, crit in entries)
        task = policy.removeprefix("trained_policy").lstrip("_")
        out.append(
            f"<h3><code>{e(policy)}</code></h3><p>{passed} of {len(entries)} agents reach the "
            f"criterion ({criterion:g}) on the grader's episodes.</p>"
        )
        points = [(s.student, mean) for s, mean, _ in entries]
        out.append(_img(_returns_plot(points, criterion, policy), f"returns of {policy}"))
        ranked = sorted(entries, key=lambda x: x[1])
        picks = {"lowest": ranked[0], "median": ranked[len(ranked) // 2], "highest": ranked[-1]}
        curve = f"learning_curve_{task}.png" if task else "learning_curve.png"
        figures = []
        shown: set[int] = set()
        for label, (s, mean, _) in picks.items():
            if s.id in shown:
                continue
            shown.add(s.id)
            data = book.artifact(s.id, curve) if curve in s.artifacts else None
            if not data:
                continue
            figures.append(
                f"<figure><img alt='learning curve of {e(s.student)}' src='data:image/png;"
                f"base64,{base64.b64encode(data).decode()}'><figcaption>{label}: "
                f"{e(s.student)}, {mean:.1f}</figcaption></figure>"
            )
        if figures:
            out.append(f"<div class='media'>{''.join(figures)}</div>")
    return out


@dataclass
class Report:
    """What :func:`write_report` wrote."""

    index: Path
    pages: list[Path]
    findings: Path
    rows: list[FindingRow]
    similarity: Path | None = None


@dataclass(frozen=True)
class SimilarityOptions:
    """``course-lib report --similarity``: where the released notebooks come from (their given
    code is subtracted) and the score at which a pair is listed."""

    solutions: Path
    threshold: float = DEFAULT_THRESHOLD


def _similarity_page(results: ClassResults, options: SimilarityOptions, out: Path) -> Path:
    """Screen every assignment's latest graded submissions; write ``out/similarity.html`` and
    ``out/similarity.csv``."""
    from course_lib.instructor.release import release_notebook

    paths = {
        assignment: {s.student: Path(s.path) for s in subs if s.status == "graded"}
        for assignment, subs in results.assignments.items()
    }
    answers, notes = read_answers(paths)
    released = {}
    for assignment in answers:
        source = Path(options.solutions) / f"{assignment}.ipynb"
        if source.is_file():
            released[assignment] = given_cells(release_notebook(source))
        else:
            notes.append(f"{assignment}: no {source}, so nothing given was subtracted")
    pairs = screen(answers, released, options.threshold)
    with (out / "similarity.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["assignment", "student_a", "student_b", "score", "exercises"])
        for p in pairs:
            alike = ";".join(f"{m.grade_id}:{max(m.share_a, m.share_b):.2f}" for m in p.exercises)
            writer.writerow([p.assignment, p.a, p.b, f"{p.score:.3f}", alike])
    page = out / "similarity.html"
    page.write_text(
        _page("Similarity screening", render_pairs(pairs, options.threshold, notes)),
        encoding="utf-8",
    )
    return page


def write_report(
    book: Gradebook, out: Path, *, similarity: SimilarityOptions | None = None
) -> Report:
    """Write ``out/index.html``, one page per assignment and ``out/findings.csv``; with
    ``similarity``, the screening too (``out/similarity.html`` and ``out/similarity.csv``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = read_class(book)
    rows = findings(results)
    csv_path = out / "findings.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FINDINGS_COLUMNS)
        writer.writeheader()
        writer.writerows(r.as_csv() for r in rows)
    pages = []
    index_rows = []
    for assignment, subs in results.assignments.items():
        mine = [r for r in rows if r.assignment == assignment]
        page = out / f"{assignment}.html"
        page.write_text(_assignment_page(assignment, subs, mine, book), encoding="utf-8")
        pages.append(page)
        graded = [s for s in subs if s.status == "graded"]
        named = [r for r in mine if r.kind == "mistake"]
        top = f"<code>{html.escape(named[0].name)}</code> ({named[0].count})" if named else "-"
        mean = f"{statistics.mean(s.score for s in graded):.1f}" if graded else "-"
        top_score = f"{max(s.max_score for s in graded):g}" if graded else "-"
        cost = sum(s.total_seconds for s in subs)
        index_rows.append(
            f"<tr><td><a href='{html.escape(page.name)}'>{html.escape(assignment)}</a></td>"
            f"<td class='n'>{len(subs)}</td><td class='n'>{mean} / {top_score}</td>"
            f"<td class='n'>{len({n for r in named for n in [r.name]})}</td><td>{top}</td>"
            f"<td class='n'>{cost / 60:.1f}</td></tr>"
        )
    students = sorted({s.student for subs in results.assignments.values() for s in subs})
    screened = _similarity_page(results, similarity, out) if similarity is not None else None
    link = " · <a href='similarity.html'>similarity screening</a>" if screened else ""
    body = [
        "<h1>Class report</h1>",
        f"<p class='sub'>{len(students)} students, {len(results.assignments)} assignments; "
        "the latest submission of each student. <a href='findings.csv'>findings.csv</a>"
        f"{link}</p>",
        "<table><tr><th>assignment</th><th>students</th><th>mean score</th>"
        "<th>named mistakes</th><th>most frequent</th><th>grading minutes</th></tr>",
        *index_rows,
        "</table>",
    ]
    if not results.assignments:
        body.append(
            "<p>The gradebook holds no submission yet: run <code>course-lib grade</code>.</p>"
        )
    index = out / "index.html"
    index.write_text(_page("Class report", body), encoding="utf-8")
    return Report(index, pages, csv_path, rows, screened)
