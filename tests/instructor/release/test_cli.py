"""``course-lib release`` through :func:`course_lib.instructor.cli.main`."""

from __future__ import annotations

import subprocess
import sys

import nbformat

from course_lib.instructor.cli import main


def _release(course, *extra: str) -> int:
    return main(
        ["release", "--source", str(course.solutions), "--dest", str(course.notebooks), *extra]
    )


def test_release_writes_and_prints_one_line_per_notebook(course, capsys):
    assert _release(course) == 0
    out, err = capsys.readouterr()
    src, dest = course.solutions / "01_demo.ipynb", course.notebooks / "01_demo.ipynb"
    assert out == f"released {src} -> {dest}\n"
    assert err == ""
    assert dest.is_file()


def test_check_up_to_date(course, capsys):
    _release(course)
    capsys.readouterr()
    assert _release(course, "--check") == 0
    out, err = capsys.readouterr()
    assert out == f"{course.notebooks}/ is up to date (1 notebook)\n"
    assert err == ""


def test_check_stale_lists_problems_and_exits_1(course, nbf, capsys):
    _release(course)
    course.add("02_new.ipynb", nbf.notebook(nbf.free("x")))
    capsys.readouterr()
    before = sorted(course.notebooks.iterdir())
    assert _release(course, "--check") == 1
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == (
        f"missing: {course.notebooks / '02_new.ipynb'} (from {course.solutions / '02_new.ipynb'})"
    )
    assert lines[-1] == (
        f"{course.notebooks}/ is stale: run `course-lib release --source {course.solutions} "
        f"--dest {course.notebooks}` to regenerate."
    )
    assert sorted(course.notebooks.iterdir()) == before  # --check writes nothing


def test_defaults_are_relative_to_the_current_directory(course, monkeypatch, capsys):
    monkeypatch.chdir(course.root)
    assert main(["release", "--check"]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        "missing: notebooks/01_demo.ipynb (from solutions/01_demo.ipynb)",
        "notebooks/ is stale: run `course-lib release` to regenerate.",
    ]
    assert main(["release"]) == 0
    assert capsys.readouterr().out == (
        "released solutions/01_demo.ipynb -> notebooks/01_demo.ipynb\n"
    )
    assert main(["release", "--check"]) == 0
    assert capsys.readouterr().out == "notebooks/ is up to date (1 notebook)\n"


def test_colab_install_option(course, capsys):
    assert _release(course, "--colab-install", "my-fork @ git+https://example.org/fork.git") == 0
    nb = nbformat.read(course.notebooks / "01_demo.ipynb", as_version=4)
    assert 'else "my-fork @ git+https://example.org/fork.git"' in nb.cells[0].source
    assert _release(course, "--check") == 1  # pyproject says otherwise
    capsys.readouterr()


def test_release_error_exits_2_with_a_message_and_no_traceback(course, nbf, capsys):
    course.add(
        "02_bad.ipynb",
        nbf.notebook(nbf.solution("### BEGIN SOLUTION\nx = 1", grade_id="q", cell_id="k")),
    )
    assert _release(course) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"course-lib release: error: {course.solutions / '02_bad.ipynb'}, cell 1 (id 'k', "
        f"grade_id 'q'), line 1: `### BEGIN SOLUTION` is never closed; add `### END SOLUTION` "
        f"on its own line after the last line of the solution.\n"
    )
    assert "Traceback" not in err
    assert not course.notebooks.exists()
    assert _release(course, "--check") == 2


def test_missing_source_dir_exits_2(tmp_path, capsys):
    code = main(["release", "--source", str(tmp_path / "nope"), "--dest", str(tmp_path / "out")])
    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        f"course-lib release: error: source directory {tmp_path / 'nope'} does not exist"
    )
    assert err.count("\n") == 1


def test_not_json_source_exits_2(course, capsys):
    (course.solutions / "00_empty.ipynb").write_text("", encoding="utf-8")
    assert _release(course) == 2
    assert "00_empty.ipynb is empty, so it is not a notebook" in capsys.readouterr().err


def test_usage_errors_return_2(capsys):
    assert main([]) == 2
    assert "release" in capsys.readouterr().err
    assert main(["release", "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert main(["no-such-command"]) == 2
    capsys.readouterr()
    assert main(["release", "--help"]) == 0
    assert "--colab-install SRC" in capsys.readouterr().out


def test_python_dash_m_course_lib(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "course_lib", "release", "--source", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert "course-lib release: error: source directory" in result.stderr
    assert "Traceback" not in result.stderr
