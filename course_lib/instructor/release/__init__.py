"""Turn instructor notebooks (``solutions/``) into student notebooks (``notebooks/``).

Modelled on nbgrader's preprocessors: an ordered list of small steps
(:data:`STEPS`), each separately tested. Solution regions become stubs,
hidden tests disappear, outputs and volatile metadata go, locked cells are
protected and checksummed, and a Colab set-up cell is put first.

Typical use is the command line, ``course-lib release`` (``--check`` in CI).
"""

from course_lib.instructor.release.pipeline import (
    check_course,
    release_course,
    release_notebook,
    write_notebook,
)
from course_lib.instructor.release.steps import STEPS, ReleaseContext, ReleaseError, cell_checksum

__all__ = [
    "STEPS",
    "ReleaseContext",
    "ReleaseError",
    "cell_checksum",
    "check_course",
    "release_course",
    "release_notebook",
    "write_notebook",
]
