"""How student notebooks get course_lib on Colab: the settings, the set-up cell, the badge.

The course says in one place, ``[tool.course-lib]`` in ``pyproject.toml``, where Colab
installs course_lib from::

    [tool.course-lib]
    repository = "ORG/REPO"   # on GitHub: Colab installs from it, notebooks get a badge
    branch = "main"           # the branch the badges open and the install takes (default main)
    colab-install = "..."     # or any pip requirement, e.g. a wheel's URL (overrides repository)

With neither, the set-up cell installs a course wheel the student uploaded to Colab
(``course-lib release --wheel DIR`` builds it) or stops and says how to get one: a student is
never left with a ``ModuleNotFoundError`` further down. An uploaded wheel always wins, so a
class can pin the exact version it was given.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "BADGE_ID",
    "CourseSettings",
    "badge_source",
    "build_wheel",
    "read_settings",
    "setup_cell_source",
]

#: The cell id of the "Open in Colab" badge cell the release puts first.
BADGE_ID = "colab-badge"

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_BRANCH = re.compile(r"^[A-Za-z0-9_./-]+$")
_UNSAFE = '"$`{}\\\r\n'


class SettingsError(ValueError):
    """``[tool.course-lib]`` holds a value that cannot be used; the message names the fix."""


@dataclass(frozen=True)
class CourseSettings:
    """What ``[tool.course-lib]`` says about Colab.

    Attributes:
        repository: the course's GitHub repository, ``ORG/REPO``, or None.
        branch: the branch badges open and the default install takes.
        colab_install: a pip requirement set explicitly, or None.
        origin: where the settings were read (for messages).
    """

    repository: str | None = None
    branch: str = "main"
    colab_install: str | None = None
    origin: str = "pyproject.toml [tool.course-lib]"

    @property
    def install_source(self) -> str | None:
        """The pip requirement the set-up cell installs from, or None when none is set."""
        if self.colab_install is not None:
            return self.colab_install
        if self.repository is not None:
            return f"course-lib @ git+https://github.com/{self.repository}.git@{self.branch}"
        return None

    def missing_source_warning(self) -> str | None:
        """The warning the release prints when Colab has nothing to install from."""
        if self.install_source is not None:
            return None
        return (
            f"no Colab install source is set ({self.origin}: neither `repository` nor "
            f"`colab-install`), so on Colab the set-up cell installs a course wheel the "
            f"student uploaded, or stops and asks for one. Build the wheel with `course-lib "
            f'release --wheel DIR` and hand it out, or set `repository = "ORG/REPO"` (GitHub) '
            f'or `colab-install = "<pip requirement>"` there.'
        )


def read_settings(repo_root: Path, *, colab_install: str | None = None) -> CourseSettings:
    """The Colab settings of the course at ``repo_root``.

    Args:
        repo_root: the folder holding ``pyproject.toml``; a missing file means no settings.
        colab_install: a ``--colab-install`` override, used instead of the file's source.

    Raises:
        SettingsError: if the file cannot be read or a value is unusable.
    """
    pyproject = Path(repo_root) / "pyproject.toml"
    origin = f"{pyproject} [tool.course-lib]"
    table: dict[str, object] = {}
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise SettingsError(f"cannot read {pyproject}: {error}; fix the file.") from None
        found = data.get("tool", {}).get("course-lib", {})
        if not isinstance(found, dict):
            raise SettingsError(f"{origin} must be a table of settings.")
        table = found
    unknown = sorted(set(table) - {"repository", "branch", "colab-install"})
    if unknown:
        raise SettingsError(
            f"{origin} has unknown key(s) {', '.join(map(repr, unknown))} (a typo?); the keys "
            f"are repository, branch and colab-install."
        )
    repository = _optional(table, "repository", origin)
    if repository is not None and (
        not _REPOSITORY.match(repository)
        or repository.endswith(".git")
        or any(part in (".", "..") for part in repository.split("/"))
    ):
        raise SettingsError(
            f"{origin} repository = {repository!r} is not a GitHub repository name; write "
            f'it as "ORG/REPO" (no https://github.com/, no .git).'
        )
    branch = _optional(table, "branch", origin) or "main"
    if not _BRANCH.match(branch):
        raise SettingsError(f"{origin} branch = {branch!r} is not a branch name.")
    if colab_install is not None:
        source: str | None = _checked_source(colab_install, "--colab-install")
    else:
        raw = _optional(table, "colab-install", origin)
        source = None if raw is None else _checked_source(raw, f"{origin} colab-install")
    return CourseSettings(repository, branch, source, origin)


def _optional(table: dict[str, object], key: str, origin: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(
            f"{origin} {key} must be a non-empty string, not {value!r}; set it or delete the line."
        )
    return value.strip()


def _checked_source(value: object, origin: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(
            f"{origin} must be a non-empty string (a pip requirement), not {value!r}."
        )
    bad = sorted({ch for ch in value if ch in _UNSAFE})
    if bad:
        raise SettingsError(
            f"{origin} = {value!r} contains {' '.join(repr(ch) for ch in bad)}, which cannot "
            f"stand in the set-up cell's install line; use a plain pip requirement such as "
            f"'course-lib @ git+https://github.com/ORG/REPO.git'."
        )
    return value.strip()


def setup_cell_source(install_source: str | None) -> str:
    """The code of the set-up cell: on Colab it installs course_lib or stops saying why.

    An uploaded course wheel (``course_lib-<version>-py3-none-any.whl`` in the working
    folder, where Colab's Files panel puts uploads) is installed first; else, when
    course_lib is not importable yet, ``install_source``; with neither the cell raises,
    naming what to do. A failed install raises with pip's own words. Running the cell again
    is quick: an installed course_lib is kept unless a wheel was uploaded.
    """
    if install_source is None:
        fallback = "None  # this course names no install source: upload its wheel"
    else:
        fallback = f'"{install_source}"'
    return f"""# Set-up: on Colab this installs course_lib; anywhere else it does nothing.
import sys


def _install_course_lib():
    import glob
    import importlib
    import importlib.util
    import os
    import re
    import subprocess

    uploads = sorted(glob.glob("course_lib*.whl"), key=os.path.getmtime)
    wheels = [w for w in uploads if re.fullmatch(r"course_lib-\\d[^-\\s]*-py3-none-any\\.whl", w)]
    if uploads and not wheels:
        raise RuntimeError(
            f"{{uploads[-1]}} is not named as a wheel must be (a copy renamed on upload?): "
            "delete it, upload the file again as course_lib-<version>-py3-none-any.whl, "
            "and run this cell again."
        )
    installed = importlib.util.find_spec("course_lib") is not None
    if installed and not wheels:
        import course_lib

        print(f"course_lib {{course_lib.__version__}} is installed.")
        return
    source = wheels[-1] if wheels else {fallback}
    if source is None:
        raise RuntimeError(
            "course_lib is not installed, and this course names no place to install it from. "
            "Upload the course's wheel (a file named course_lib-<version>-py3-none-any.whl, "
            "from your instructor) with the Files panel on the left, then run this cell again."
        )
    print(f"installing course_lib from {{source}} ...")
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", source],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        raise RuntimeError(
            f"installing course_lib from {{source}} failed (pip exited with {{pip.returncode}}):\\n"
            f"{{pip.stderr.strip()[-3000:]}}\\n"
            "Check the connection and run this cell again, or upload the course's wheel."
        )
    if "course_lib" in sys.modules:
        print("Restart the session (Runtime > Restart session) to use the new course_lib.")
        return
    importlib.invalidate_caches()  # see the package pip has just added
    import course_lib

    print(f"course_lib {{course_lib.__version__}} is installed.")


if "google.colab" in sys.modules:
    _install_course_lib()"""


def badge_source(settings: CourseSettings, student_path: str) -> str | None:
    """The markdown of the "Open in Colab" badge for the notebook at ``student_path``
    (POSIX, relative to the repository root), or None without a repository."""
    if settings.repository is None:
        return None
    url = (
        f"https://colab.research.google.com/github/{settings.repository}/blob/"
        f"{quote(settings.branch)}/{quote(student_path)}"
    )
    image = "https://colab.research.google.com/assets/colab-badge.svg"
    return f"[![Open In Colab]({image})]({url})"


def build_wheel(repo_root: Path, out_dir: Path) -> Path:
    """Build the course's wheel (``course_lib-<version>-py3-none-any.whl``) into ``out_dir``.

    Raises:
        SettingsError: if ``repo_root`` has no ``pyproject.toml`` or the build fails.
    """
    repo_root, out_dir = Path(repo_root).resolve(), Path(out_dir).resolve()
    if not (repo_root / "pyproject.toml").is_file():
        raise SettingsError(
            f"{repo_root} has no pyproject.toml, so there is no course package to build; run "
            f"from the course repository."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    before = set(out_dir.glob("course_lib-*.whl"))
    with tempfile.TemporaryDirectory(prefix="course-lib-wheel-") as scratch:
        # From a clean copy of what the package is made of: setuptools would reuse a
        # stale build/ folder, and modules deleted since would end up in the wheel.
        clean = Path(scratch) / "src"
        clean.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (repo_root / name).is_file():
                shutil.copy2(repo_root / name, clean / name)
        shutil.copytree(
            repo_root / "course_lib",
            clean / "course_lib",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        build = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out_dir), "."],
            cwd=clean,
            capture_output=True,
            text=True,
        )
    if build.returncode != 0:
        raise SettingsError(
            f"building the course wheel failed (pip wheel exited with {build.returncode}):\n"
            f"{build.stderr.strip()[-3000:]}"
        )
    wheels = sorted(out_dir.glob("course_lib-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise SettingsError(f"pip wheel finished but wrote no course_lib wheel in {out_dir}.")
    new = [w for w in wheels if w not in before]
    return (new or wheels)[-1]
