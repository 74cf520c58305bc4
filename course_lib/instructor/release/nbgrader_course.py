"""An nbgrader course made from ``solutions/``.

The student notebooks the release writes are the ones ``nbgrader generate_assignment``
writes from the course :func:`export_course` lays out, cell for cell (a test builds the
course with nbgrader itself and compares). nbgrader then validates and autogrades them as
its own. What nbgrader cannot give is trust: it grades inside the student's kernel, where
every check and name can be rebound; ``course-lib grade`` judges outside it.
"""

from __future__ import annotations

from pathlib import Path

from course_lib.instructor.release.pipeline import (
    find_repo_root,
    notebook_text,
    notebooks_in,
    read_source_notebook,
    repo_label,
    write_notebook_text,
)
from course_lib.instructor.release.steps import (
    ClearOutputs,
    InsertColabBadge,
    InsertSetupCell,
    ReleaseContext,
    StripVolatileMetadata,
    ValidateMarkers,
    ValidateMetadata,
    ValidateSkipMarks,
)

__all__ = ["export_course"]


def export_course(
    source_dir: Path,
    course_dir: Path,
    *,
    dest_dir: Path | None = None,
    colab_install: str | None = None,
    course_id: str = "actor-critic",
) -> list[Path]:
    """Lay out an nbgrader course at ``course_dir`` from the instructor notebooks.

    Writes ``source/<assignment>/<assignment>.ipynb`` for each notebook of ``source_dir``
    (the assignment is the notebook's name, as ``course-lib grade`` names it): the
    instructor notebook validated as the release validates it, with the set-up cell (and
    badge) the release adds, so ``nbgrader generate_assignment`` writes the student
    notebooks of ``dest_dir`` cell for cell. An ``nbgrader_config.py`` is written when there
    is none; an existing one is left alone.

    Args:
        source_dir: the instructor notebooks (``solutions/``).
        course_dir: the nbgrader course folder, created if needed.
        dest_dir: where the released notebooks live (for the badge's address; default the
            ``notebooks/`` beside ``source_dir``).
        colab_install: overrides the Colab install source, as for the release.
        course_id: the course id written into a new ``nbgrader_config.py``.

    Returns:
        The written source notebooks.

    Raises:
        ReleaseError: as the release, when a notebook cannot be released.
    """

    source_dir, course_dir = Path(source_dir), Path(course_dir)
    dest_dir = Path(dest_dir) if dest_dir is not None else source_dir.parent / "notebooks"
    root = find_repo_root(source_dir)
    steps = (
        ValidateMetadata(),
        ValidateMarkers(),
        ValidateSkipMarks(),
        ClearOutputs(),
        StripVolatileMetadata(),
        InsertSetupCell(),
        InsertColabBadge(),
    )
    texts = []
    for src in notebooks_in(source_dir):
        ctx = ReleaseContext(
            repo_root=root,
            notebook_path=src,
            colab_install=colab_install,
            student_path=repo_label(dest_dir / src.name, root),
        )
        nb = read_source_notebook(src)
        for step in steps:
            step(nb, ctx)
        texts.append((course_dir / "source" / src.stem / src.name, notebook_text(nb)))
    written = []
    for path, text in texts:
        write_notebook_text(path, text)
        written.append(path)
    config = course_dir / "nbgrader_config.py"
    if not config.exists():
        config.write_text(
            "# nbgrader's settings for this course (written by `course-lib nbgrader`).\n"
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {course_id!r}\n"
            "# Each notebook is its own assignment, named as the notebook (e.g. 02_a2c).\n"
        )
    return written
