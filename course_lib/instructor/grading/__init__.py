"""The autograder: runs student notebooks out of reach of the grader's own files.

The sandboxed notebook executor lives in :mod:`course_lib.instructor.grading.sandbox`.
"""

__all__ = []
