# The example notebook imports its exercise module from tests/authoring/exercises, which the
# grader puts on the kernel's path (`--exercises`): test_guide.py runs it that way, top to
# bottom, as the grader's reference run. Under nbval it would run without that folder.
collect_ignore_glob = ["source/*.ipynb"]
