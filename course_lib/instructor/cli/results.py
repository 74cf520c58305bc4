"""``course-lib export``, ``feedback``, ``report`` and ``sample-class``: a gradebook's output.

Part of :mod:`course_lib.instructor.cli`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_lib.instructor.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    PROG,
)
from course_lib.instructor.cli.grade import (
    _DEFAULT_GRADEBOOK,
)
from course_lib.instructor.cli.release import (
    _DEFAULT_SOURCE,
)
from course_lib.instructor.grading.gradescope import VISIBILITIES


def _existing(gradebook: Path) -> Path:
    if not gradebook.is_file():
        raise FileNotFoundError(f"no gradebook at {gradebook}; run `{PROG} grade` first")
    return gradebook


def _add_export_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write grades as CSV and Gradescope JSON",
        description="Write the latest grades: a CSV for the class, Gradescope results.json files.",
    )
    parser.add_argument("--gradebook", type=Path, default=Path(_DEFAULT_GRADEBOOK))
    parser.add_argument("--out", type=Path, default=Path("grading/export"))
    parser.add_argument(
        "--roster",
        type=Path,
        default=None,
        help="CSV from the LMS with a 'folder' column (the submitted/ folder name) and identity "
        "columns (email, student_id, name, ...) to write beside each student",
    )
    parser.add_argument(
        "--solutions",
        type=Path,
        default=Path(_DEFAULT_SOURCE),
        help="instructor notebooks, to tell which tests are hidden (default: %(default)s)",
    )
    parser.add_argument(
        "--hidden-visibility",
        default="after_published",
        choices=VISIBILITIES,
        help="Gradescope visibility of tests holding hidden tests (default: %(default)s)",
    )
    parser.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from course_lib.instructor.grading.export import (
        RosterError,
        export_csv,
        export_gradescope,
        read_roster,
    )
    from course_lib.instructor.grading.gradebook import Gradebook

    try:
        roster = read_roster(args.roster) if args.roster is not None else None
    except RosterError as error:
        print(f"{PROG} export: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    solutions = args.solutions if args.solutions.is_dir() else None
    with Gradebook(_existing(args.gradebook)) as book:
        exported = export_csv(book, args.out / "grades.csv", roster=roster)
        files = export_gradescope(
            book,
            args.out / "gradescope",
            solutions=solutions,
            hidden_visibility=args.hidden_visibility,
        )
    print(
        f"wrote {exported.path}, {exported.questions} (each question's verdict) and "
        f"{len(files)} Gradescope results in {args.out / 'gradescope'}"
    )
    if roster is not None:
        if exported.not_in_roster:
            print(
                f"not in {args.roster} ({len(exported.not_in_roster)}, kept with empty identity "
                f"columns): {', '.join(exported.not_in_roster)}"
            )
        if exported.without_submission:
            print(
                f"in {args.roster} but never submitted ({len(exported.without_submission)}, "
                f"written as missing): {', '.join(exported.without_submission)}"
            )
    return EXIT_OK


def _add_feedback_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "feedback",
        help="write one HTML feedback page per student and assignment",
        description="Write an HTML feedback page per student and assignment from the gradebook.",
    )
    parser.add_argument("--gradebook", type=Path, default=Path(_DEFAULT_GRADEBOOK))
    parser.add_argument("--out", type=Path, default=Path("grading/feedback"))
    parser.add_argument(
        "--hidden",
        choices=("verdict", "score"),
        default="verdict",
        help="what students see of the grader's hidden tests: its verdict on each question "
        "(what was wrong, expected against got; default) or the score only",
    )
    parser.set_defaults(run=_run_feedback)


def _run_feedback(args: argparse.Namespace) -> int:
    from course_lib.instructor.grading.feedback import write_feedback
    from course_lib.instructor.grading.gradebook import Gradebook

    with Gradebook(_existing(args.gradebook)) as book:
        pages = write_feedback(book, args.out, hidden=args.hidden)
    print(f"wrote {len(pages)} feedback pages in {args.out}")
    return EXIT_OK


def _add_report_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the class report: what the class got wrong, per assignment",
        description="Write DIR/index.html (a page per assignment: scores per question, the "
        "mistakes the grader named and who made them, the trained agents against their "
        "criterion, the submissions that need a look, grading cost) and DIR/findings.csv, "
        "from the gradebook alone.",
    )
    parser.add_argument("--gradebook", type=Path, default=Path(_DEFAULT_GRADEBOOK))
    parser.add_argument("--out", type=Path, default=Path("grading/report"))
    parser.add_argument(
        "--similarity",
        action="store_true",
        help="also screen the answer cells for pairs of students whose code is alike "
        "(DIR/similarity.html, DIR/similarity.csv); it changes no score",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.6,
        help="similarity: the share of the larger answer found in the other at which a pair "
        "is listed (default: %(default)s)",
    )
    parser.add_argument(
        "--solutions",
        type=Path,
        default=Path(_DEFAULT_SOURCE),
        help="similarity: instructor notebooks, whose released code is subtracted "
        "(default: %(default)s)",
    )
    parser.set_defaults(run=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from course_lib.instructor.grading.gradebook import Gradebook
    from course_lib.instructor.grading.report import SimilarityOptions, write_report

    if not 0.0 < args.threshold <= 1.0:
        print(
            f"{PROG} report: error: --threshold is a share between 0 and 1 (e.g. 0.6), "
            f"not {args.threshold}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    similarity = None
    if args.similarity:
        similarity = SimilarityOptions(args.solutions, args.threshold)
    with Gradebook(_existing(args.gradebook)) as book:
        report = write_report(book, args.out, similarity=similarity)
    named = sum(r.count for r in report.rows if r.kind == "mistake")
    print(
        f"wrote {report.index} ({len(report.pages)} assignment pages) and {report.findings} "
        f"({named} named mistakes made)"
        + (f"; similarity screening in {report.similarity}" if report.similarity else "")
    )
    return EXIT_OK


def _add_sample_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample-class",
        help="write a sample class of submissions to try the grader on",
        description="Write submitted/<student>/<assignment>/ notebooks made from the solutions: "
        "correct, partly wrong, broken, tampered and hostile work.",
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--solutions", type=Path, default=Path(_DEFAULT_SOURCE))
    parser.set_defaults(run=_run_sample)


def _run_sample(args: argparse.Namespace) -> int:
    from course_lib.instructor.grading.sample import make_sample_class

    files = make_sample_class(args.solutions, args.out)
    print(f"wrote {len(files)} submissions in {args.out / 'submitted'}")
    return EXIT_OK
