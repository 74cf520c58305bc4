"""The graded exercises, one module per notebook: the cases each exercise is probed on, how
the student's code is run on a case into a record, and the diagnoses that read a record
(``record, case -> Finding | None``). The visible checks (:mod:`course_lib.checks`) raise
them, the probes (:mod:`course_lib.probes`) record what they read, and the grader judges
with them; nothing here imports the grader.
"""
