"""Colab: the install source set in one place, the set-up cell that installs or says why,
the "Open in Colab" badge, and the release's warning when no source is set."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest

from course_lib.instructor.cli import main
from course_lib.instructor.release.colab import (
    BADGE_ID,
    SettingsError,
    badge_source,
    read_settings,
    setup_cell_source,
)


def _pyproject(tmp_path, body: str):
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n[tool.course-lib]\n" + textwrap.dedent(body), encoding="utf-8"
    )
    return tmp_path


# --------------------------------------------------------------------------- settings


def test_a_repository_gives_the_install_source_and_the_badge(tmp_path):
    settings = read_settings(_pyproject(tmp_path, 'repository = "uni/rl-course"\n'))
    assert settings.install_source == "course-lib @ git+https://github.com/uni/rl-course.git@main"
    assert settings.missing_source_warning() is None
    assert badge_source(settings, "notebooks/02_a2c.ipynb") == (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/uni/rl-course/blob/main/notebooks/02_a2c.ipynb)"
    )


def test_branch_and_an_explicit_source(tmp_path):
    settings = read_settings(
        _pyproject(
            tmp_path,
            """\
            repository = "uni/rl-course"
            branch = "fall-2026"
            colab-install = "course-lib @ https://uni.example/course_lib-1.0-py3-none-any.whl"
            """,
        )
    )
    assert settings.install_source.endswith("course_lib-1.0-py3-none-any.whl")
    assert "/blob/fall-2026/" in badge_source(settings, "notebooks/a.ipynb")
    override = read_settings(tmp_path, colab_install="other==2")
    assert override.install_source == "other==2"


def test_no_settings_means_no_source_and_a_warning_naming_the_settings(tmp_path):
    for root in (tmp_path, _pyproject(tmp_path, "")):
        settings = read_settings(root)
        assert settings.install_source is None
        assert badge_source(settings, "notebooks/a.ipynb") is None
        warning = settings.missing_source_warning()
        assert "`repository`" in warning and "`colab-install`" in warning
        assert "course-lib release --wheel DIR" in warning


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('repository = "https://github.com/uni/rl"\n', r'write it as "ORG/REPO"'),
        (
            'repository = "uni/rl.git"\n',
            r'write it as "ORG/REPO" \(no https://github.com/, no .git\)',
        ),
        ('repository = "../.."\n', r'write it as "ORG/REPO"'),
        ('repositry = "uni/rl"\n', r"unknown key\(s\) 'repositry' \(a typo\?\)"),
        ("repository = 3\n", r"repository must be a non-empty string"),
        ('branch = "a b"\n', r"is not a branch name"),
        ('colab-install = "pkg; $(rm -rf /)"\n', r"cannot stand in the set-up cell"),
    ],
)
def test_unusable_settings_name_the_fix(tmp_path, body, message):
    with pytest.raises(SettingsError, match=message):
        read_settings(_pyproject(tmp_path, body))


# --------------------------------------------------------------------------- release


def test_the_release_puts_the_badge_first_when_a_repository_is_set(course):
    text = (course.root / "pyproject.toml").read_text()
    (course.root / "pyproject.toml").write_text(
        text.replace("[tool.course-lib]\n", '[tool.course-lib]\nrepository = "uni/rl"\n').replace(
            "colab-install", "# colab-install"
        )
    )
    assert (
        main(["release", "--source", str(course.solutions), "--dest", str(course.notebooks)]) == 0
    )
    nb = nbformat.read(course.notebooks / "01_demo.ipynb", as_version=4)
    assert [cell.id for cell in nb.cells[:2]] == [BADGE_ID, "setup-colab"]
    assert nb.cells[0].cell_type == "markdown"
    assert "github/uni/rl/blob/main/notebooks/01_demo.ipynb" in nb.cells[0].source
    assert 'else "course-lib @ git+https://github.com/uni/rl.git@main"' in nb.cells[1].source
    assert (
        main(
            [
                "release",
                "--source",
                str(course.solutions),
                "--dest",
                str(course.notebooks),
                "--check",
            ]
        )
        == 0
    )


def test_the_release_warns_when_no_source_is_set(course, capsys):
    (course.root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    args = ["release", "--source", str(course.solutions), "--dest", str(course.notebooks)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.startswith("course-lib release: warning: no Colab install source is set")
    assert "colab-install" in err and "--wheel DIR" in err
    assert main([*args, "--colab-install", "pkg==1"]) == 0
    assert capsys.readouterr().err == ""


def test_check_with_wheel_is_refused(course, capsys):
    code = main(
        ["release", "--source", str(course.solutions), "--check", "--wheel", str(course.root)]
    )
    assert code == 2
    assert "--check writes nothing; drop --wheel" in capsys.readouterr().err


# --------------------------------------------------------------------------- the set-up cell

_FAKE_COLAB = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"


def _run_setup(source: str | None, cwd, *, on_colab: bool = True, installed: bool = False):
    """Run the set-up cell's code in a fresh interpreter; without ``installed``, one that
    cannot import course_lib (``-S``: no site-packages), as a fresh Colab runtime."""
    code = (_FAKE_COLAB if on_colab else "") + setup_cell_source(source)
    flags = [] if installed else ["-S"]
    return subprocess.run(
        [sys.executable, *flags, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_off_colab_the_cell_does_nothing(tmp_path):
    result = _run_setup(None, tmp_path, on_colab=False)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


def test_with_no_source_and_no_wheel_the_cell_stops_and_says_how(tmp_path):
    result = _run_setup(None, tmp_path)
    assert result.returncode != 0
    assert "RuntimeError: course_lib is not installed, and this course names no place" in (
        result.stderr
    )
    assert "Upload the course's wheel" in result.stderr
    assert "ModuleNotFoundError" not in result.stderr


def test_a_failed_install_stops_the_cell_with_pips_words(tmp_path):
    missing = tmp_path / "nowhere" / "course_lib-9.9-py3-none-any.whl"
    result = _run_setup(str(missing), tmp_path)
    assert result.returncode != 0
    assert f"RuntimeError: installing course_lib from {missing} failed (pip exited with" in (
        result.stderr
    )
    assert "does not exist" in result.stderr  # pip's own explanation


def test_an_uploaded_wheel_comes_before_the_source(tmp_path):
    (tmp_path / "course_lib-9.9-py3-none-any.whl").write_bytes(b"not a wheel")
    result = _run_setup("course-lib @ git+https://github.com/uni/rl.git", tmp_path)
    assert "installing course_lib from course_lib-9.9-py3-none-any.whl" in result.stdout
    assert "installing course_lib from course_lib-9.9-py3-none-any.whl failed" in result.stderr


def test_run_again_with_course_lib_installed_the_cell_installs_nothing(tmp_path):
    result = _run_setup("course-lib @ git+https://github.com/uni/rl.git", tmp_path, installed=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("course_lib ") and "is installed." in result.stdout
    assert "installing" not in result.stdout


def test_a_renamed_upload_is_named_with_the_fix(tmp_path):
    (tmp_path / "course_lib-0.1.0-py3-none-any (1).whl").write_bytes(b"PK")
    result = _run_setup(None, tmp_path)
    assert "course_lib-0.1.0-py3-none-any (1).whl is not named as a wheel must be" in (
        result.stderr
    )


# --------------------------------------------------------------------------- idempotency


def test_releasing_a_released_notebook_with_a_badge_gives_it_back(course, tmp_path):
    text = (course.root / "pyproject.toml").read_text()
    (course.root / "pyproject.toml").write_text(
        text.replace("[tool.course-lib]\n", '[tool.course-lib]\nrepository = "uni/rl"\n')
    )
    args = ["release", "--source", str(course.solutions), "--dest", str(course.notebooks)]
    assert main(args) == 0
    first = nbformat.read(course.notebooks / "01_demo.ipynb", as_version=4)
    again = course.root / "again"
    again.mkdir()
    shutil.copy(course.notebooks / "01_demo.ipynb", again / "01_demo.ipynb")
    assert main(["release", "--source", str(again), "--dest", str(course.notebooks)]) == 0
    second = nbformat.read(course.notebooks / "01_demo.ipynb", as_version=4)
    # the badge and set-up cell are replaced, not refused or doubled (a solution cell without
    # markers is stubbed whole, so only the others compare as they are)
    assert [c.id for c in second.cells] == [c.id for c in first.cells]
    assert [c.id for c in second.cells[:2]] == [BADGE_ID, "setup-colab"]
    unchanged = [
        i for i, c in enumerate(first.cells) if not c.metadata.get("nbgrader", {}).get("solution")
    ]
    assert [second.cells[i].source for i in unchanged] == [first.cells[i].source for i in unchanged]


def test_a_source_cell_named_like_the_badge_keeps_its_id(course, nbf):
    text = (course.root / "pyproject.toml").read_text()
    (course.root / "pyproject.toml").write_text(
        text.replace("[tool.course-lib]\n", '[tool.course-lib]\nrepository = "uni/rl"\n')
    )
    course.add(
        "02_clash.ipynb", nbf.notebook(nbf.free("# Title", cell_type="markdown", cell_id=BADGE_ID))
    )
    args = ["release", "--source", str(course.solutions), "--dest", str(course.notebooks)]
    assert main(args) == 0
    nb = nbformat.read(course.notebooks / "02_clash.ipynb", as_version=4)
    assert [c.id for c in nb.cells] == [f"{BADGE_ID}-1", "setup-colab", BADGE_ID]
    assert main([*args, "--check"]) == 0
