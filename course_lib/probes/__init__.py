"""Probes: code that runs a student's function on the grader's inputs.

A probe returns plain data (an observation). It never decides pass or fail:
the grader compares the observation with the reference solution's, outside
the student's kernel. One module per notebook, like :mod:`course_lib.checks`.
"""
