"""Visible checks that notebooks call after each exercise.

One module per notebook (``tour`` for 00, ...), built on :mod:`course_lib.checks.core`.
Checks never import ``solutions/``: they use exactly known cases, properties
and frozen reference data shipped with the package.

Imported in a notebook, the checks report failures and unwritten exercises briefly
(:mod:`course_lib.tracebacks`).
"""

from course_lib.checks.core import CheckFailed, RewardCriterionNotMet
from course_lib.tracebacks import install as _install_short_reports

__all__ = ["CheckFailed", "RewardCriterionNotMet"]

_install_short_reports()
