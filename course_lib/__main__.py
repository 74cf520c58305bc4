"""``python -m course_lib`` runs the ``course-lib`` command."""

from course_lib.instructor.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
