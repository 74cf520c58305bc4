from __future__ import annotations

import pytest

from course_lib.instructor.cli import main


@pytest.mark.parametrize("command", ["export", "feedback"])
def test_missing_gradebook_is_a_clear_error(tmp_path, capsys, command):
    code = main([command, "--gradebook", str(tmp_path / "none.sqlite"), "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"course-lib {command}: error: no gradebook at" in err
    assert "run `course-lib grade` first" in err


def test_grade_needs_something_to_grade(capsys):
    assert main(["grade"]) == 2
    assert "give a submitted/ folder or --files" in capsys.readouterr().err


def test_grade_reports_a_missing_folder(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nope"), "--gradebook", str(tmp_path / "b.sqlite")]) == 2
    assert "no submissions folder at" in capsys.readouterr().err
