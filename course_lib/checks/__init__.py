"""Visible checks that notebooks call after each exercise.

One module per notebook (``tour`` for 00, ...), built on :mod:`course_lib.checks.core`.
Checks never import ``solutions/``: they use exactly known cases, properties
and frozen reference data shipped with the package.
"""

from course_lib.checks.core import CheckFailed, RewardCriterionNotMet

__all__ = ["CheckFailed", "RewardCriterionNotMet"]
