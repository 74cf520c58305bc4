"""The instructor's side of course_lib: releasing the student notebooks (:mod:`.release`),
grading submissions (:mod:`.grading`), running notebooks headless (:mod:`.runner`) and the
``course-lib`` command (:mod:`.cli`).

A student's kernel imports none of it (import-linter contracts in ``pyproject.toml`` say so,
and ``tests/test_packaging.py`` checks it); it needs the ``instructor`` extra.
"""
