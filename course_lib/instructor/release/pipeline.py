"""Release instructor notebooks (``solutions/``) as student notebooks (``notebooks/``).

:func:`release_notebook` reads one source notebook and runs it through
:data:`~course_lib.instructor.release.steps.STEPS`; :func:`release_course` does that for
every notebook of a folder and writes the results; :func:`check_course` says,
without writing anything, whether the written results are up to date.

Output is deterministic: the same sources give the same bytes (no
timestamps, no random cell ids, sorted keys), so ``--check`` can compare a
fresh release with what is on disk.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import reader as nbreader

from course_lib.instructor.release.markers import FORBIDDEN_WORDS
from course_lib.instructor.release.steps import STEPS, ReleaseContext, ReleaseError

__all__ = [
    "check_course",
    "find_repo_root",
    "is_generated",
    "notebook_text",
    "notebooks_in",
    "read_source_notebook",
    "release_course",
    "release_notebook",
    "repo_label",
    "write_notebook",
    "write_notebook_text",
]

_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def find_repo_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding a ``pyproject.toml``.

    Falls back to ``start``'s parent (``solutions/`` normally sits at the
    repository root); reading the Colab install source then fails with a
    message that says what to do.
    """
    start = Path(start).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return start.parent


def read_source_notebook(path: Path) -> nbformat.NotebookNode:
    """Read an instructor notebook as nbformat 4.5 and validate it.

    Older v4 notebooks get deterministic cell ids (``cell-<n>``), never
    random ones, so releasing twice gives the same bytes.

    Raises:
        ReleaseError: if the file is missing, empty, not JSON, not a notebook,
            has duplicate or malformed cell ids, or fails nbformat validation.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ReleaseError(f"{path} does not exist.") from None
    except OSError as error:
        raise ReleaseError(f"{path} cannot be read: {error.strerror or error}.") from None
    restore = f"restore it from git (`git checkout -- {path}`) or re-save it from Jupyter"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReleaseError(
            f"{path} is not UTF-8 text, so it is not a notebook (a notebook is a JSON "
            f"file); {restore}, or move it out of {path.parent}."
        ) from None
    if not text.strip():
        raise ReleaseError(
            f"{path} is empty, so it is not a notebook; {restore}, or delete it if it "
            f"should not be released."
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReleaseError(
            f"{path} is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}), so it is not a notebook. If it holds git merge-conflict "
            f"markers (<<<<<<<), resolve them; otherwise {restore}."
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        raise ReleaseError(
            f"{path} is JSON but not a Jupyter notebook (no integer top-level 'nbformat'); "
            f"only notebooks belong in {path.parent}: move this file elsewhere."
        )
    try:
        nb = nbformat.convert(nbreader.reads(text), 4)
    except Exception as error:  # nbformat raises a variety of errors on broken notebooks
        raise ReleaseError(
            f"{path} is not a valid notebook ({_short(error)}); open it in Jupyter and "
            f"re-save it, or {restore}."
        ) from None
    _ensure_cell_ids(nb, path)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        raise ReleaseError(
            f"{path} is not a valid notebook ({_short(error)}); open it in Jupyter and "
            f"re-save it, or {restore}."
        ) from None
    return nb


def _short(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return message.strip().splitlines()[0]


def _ensure_cell_ids(nb: nbformat.NotebookNode, path: Path) -> None:
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        nb.nbformat_minor = 5
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        cell_id = cell.get("id")
        if cell_id is None:
            continue
        if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id):
            raise ReleaseError(
                f"cell id {cell_id!r} is not valid (1-64 letters, digits, '_' or '-'); edit "
                f"it in the notebook JSON.",
                path=path,
                cell_index=index + 1,
            )
        if cell_id in seen:
            raise ReleaseError(
                f"cell id {cell_id!r} is also used by cell {seen[cell_id] + 1}; cell ids must "
                f"be unique: change one of them in the notebook JSON.",
                path=path,
                cell_index=index + 1,
                cell_id=cell_id,
            )
        seen[cell_id] = index
    for index, cell in enumerate(nb.cells):
        if cell.get("id") is None:
            candidate, suffix = f"cell-{index + 1}", 0
            while candidate in seen:
                suffix += 1
                candidate = f"cell-{index + 1}-{suffix}"
            cell.id = candidate
            seen[candidate] = index


def release_notebook(src: Path, ctx: ReleaseContext | None = None) -> nbformat.NotebookNode:
    """The student version of the instructor notebook ``src``.

    Args:
        src: the instructor notebook.
        ctx: where to read the Colab install source from (and an optional
            override); its ``notebook_path`` is set to ``src``. By default the
            repository root is found above ``src``.

    Raises:
        ReleaseError: if ``src`` cannot be read or released; the message
            names the file, cell and line, and what to fix.
    """
    src = Path(src)
    if ctx is None:
        ctx = ReleaseContext(repo_root=find_repo_root(src.parent))
    ctx = dataclasses.replace(ctx, notebook_path=src)
    student = copy.deepcopy(read_source_notebook(src))
    for step in STEPS:
        step(student, ctx)
    assert_no_markers(student, src)
    try:
        nbformat.validate(student)
    except nbformat.ValidationError as error:  # pragma: no cover - a bug in a step
        raise ReleaseError(
            f"{src}: the released notebook is not valid ({_short(error)}); this is a bug "
            f"in course_lib.instructor.release, please report it."
        ) from None
    return student


def assert_no_markers(nb: Any, src: Path | str) -> None:
    """Refuse a student notebook that still mentions a marker, anywhere.

    The last line of defence: the validators should already have caught
    every marker, so reaching this means a marker hid in an unexpected place
    (metadata, outputs, attachments) or a step has a bug.

    Raises:
        ReleaseError: naming the first place found.
    """
    places: list[tuple[str, Any]] = [("notebook metadata", nb.get("metadata", {}))]
    places += [
        (f"cell {index + 1} (id {cell.get('id')!r})", cell) for index, cell in enumerate(nb.cells)
    ]
    for where, part in places:
        text = json.dumps(part, ensure_ascii=False, default=str)
        for word in FORBIDDEN_WORDS:
            if word in text:
                raise ReleaseError(
                    f"{src}: safety check failed: the student notebook would still contain "
                    f"'{word}' in {where}. Nothing was written. Remove that text from the "
                    f"source (markers stand alone on their line in a solution or test "
                    f"cell); if it is already so, this is a bug in course_lib.instructor.release."
                )


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The exact text :func:`write_notebook` writes: nbformat JSON, indent 1, sorted
    keys, final newline."""
    text = nbformat.writes(nb, version=4, indent=1)
    return text if text.endswith("\n") else text + "\n"


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> bool:
    """Write ``nb`` to ``path`` deterministically; return whether the file changed.

    An unchanged file is not touched (its mtime stays); a changed one is
    replaced atomically. Parent folders are created.
    """
    return _write_text(Path(path), notebook_text(nb))


def write_notebook_text(path: Path, text: str) -> bool:
    """Write ``text`` (from :func:`notebook_text`) to ``path`` as :func:`write_notebook` does."""
    return _write_text(Path(path), text)


def _write_text(path: Path, text: str) -> bool:
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return True


def is_generated(path: Path) -> bool:
    """Whether ``path`` is a notebook written by the release
    (``metadata.course_lib.generated`` is true). Unreadable files are not."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    metadata = data.get("metadata") if isinstance(data, dict) else None
    record = metadata.get("course_lib") if isinstance(metadata, dict) else None
    return isinstance(record, dict) and record.get("generated") is True


@dataclass(frozen=True)
class _Release:
    source: Path
    dest: Path
    text: str


@dataclass(frozen=True)
class _Plan:
    releases: list[_Release]
    orphans: list[Path]  # generated notebooks in dest whose source is gone
    foreign: list[Path]  # non-generated files in dest that a release would overwrite


def notebooks_in(folder: Path) -> list[Path]:
    """The notebooks of ``folder`` a release reads or writes, sorted (no hidden files)."""
    return sorted(
        path for path in folder.glob("*.ipynb") if path.is_file() and not path.name.startswith(".")
    )


def _plan(source_dir: Path, dest_dir: Path, colab_install: str | None) -> _Plan:
    """Release every source notebook in memory and survey ``dest_dir``; writes nothing."""
    source_dir, dest_dir = Path(source_dir), Path(dest_dir)
    if not source_dir.is_dir():
        what = "is not a directory" if source_dir.exists() else "does not exist"
        raise ReleaseError(
            f"source directory {source_dir} {what}; run from the repository root (where "
            f"solutions/ lives) or pass --source."
        )
    if dest_dir.exists() and dest_dir.resolve() == source_dir.resolve():
        raise ReleaseError(
            f"source and destination are the same directory ({source_dir}); releasing would "
            f"overwrite the solutions: pass a different --dest."
        )
    if dest_dir.exists() and not dest_dir.is_dir():
        raise ReleaseError(f"destination {dest_dir} exists but is not a directory; pass --dest.")
    root = find_repo_root(source_dir)
    ctx = ReleaseContext(repo_root=root, colab_install=colab_install)
    sources = notebooks_in(source_dir)
    releases = [
        _Release(
            src,
            dest_dir / src.name,
            notebook_text(
                release_notebook(
                    src,
                    dataclasses.replace(ctx, student_path=repo_label(dest_dir / src.name, root)),
                )
            ),
        )
        for src in sources
    ]
    names = {src.name for src in sources}
    orphans: list[Path] = []
    foreign: list[Path] = []
    if dest_dir.is_dir():
        for path in notebooks_in(dest_dir):
            generated = is_generated(path)
            if path.name in names and not generated:
                foreign.append(path)
            elif path.name not in names and generated:
                orphans.append(path)
    return _Plan(releases, orphans, foreign)


def repo_label(path: Path, root: Path) -> str:
    """``path`` relative to the repository root, POSIX (for the Colab badge's address)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return f"{path.parent.name}/{path.name}"


def release_course(
    source_dir: Path,
    dest_dir: Path,
    *,
    colab_install: str | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """Release every ``*.ipynb`` of ``source_dir`` (sorted) into ``dest_dir``.

    All notebooks are released in memory first, so an error in one leaves
    ``dest_dir`` untouched. Then each is written, and generated notebooks in
    ``dest_dir`` whose source is gone are deleted; files without
    ``metadata.course_lib.generated == true`` are never deleted or
    overwritten.

    Args:
        source_dir: the instructor notebooks (``solutions/``).
        dest_dir: the student notebooks (``notebooks/``), created if needed.
        colab_install: overrides ``[tool.course-lib] colab-install``.
        log: called with one human-readable line per written or deleted file.

    Returns:
        The written notebook paths, in source order.

    Raises:
        ReleaseError: if a notebook cannot be released, the source directory
            is missing, or a non-generated file would be overwritten.
    """
    plan = _plan(source_dir, dest_dir, colab_install)
    if plan.foreign:
        names = ", ".join(str(path) for path in plan.foreign)
        raise ReleaseError(
            f"refusing to overwrite {names}: not generated by `course-lib release` (no "
            f"metadata.course_lib.generated). Move or delete it, then release again. "
            f"Nothing was written."
        )
    written: list[Path] = []
    for item in plan.releases:
        changed = _write_text(item.dest, item.text)
        written.append(item.dest)
        if log is not None:
            log(f"released {item.source} -> {item.dest}{'' if changed else ' (unchanged)'}")
    for path in plan.orphans:
        path.unlink()
        if log is not None:
            log(f"removed {path} (generated, but its source is gone)")
    return written


def check_course(
    source_dir: Path, dest_dir: Path, *, colab_install: str | None = None
) -> list[str]:
    """What is out of date in ``dest_dir``, without writing anything.

    Returns:
        One human-readable line per problem, each starting with its kind:
        ``missing:``, ``stale:`` (differs from a fresh release),
        ``orphaned:`` (generated, but the source is gone) or ``not
        generated:`` (a hand-made file where a release would write). Empty
        when ``dest_dir`` is up to date.

    Raises:
        ReleaseError: as :func:`release_course` (a source that cannot be
            released is an error, not a problem).
    """
    plan = _plan(source_dir, dest_dir, colab_install)
    foreign = set(plan.foreign)
    problems: list[str] = []
    for item in plan.releases:
        if not item.dest.is_file():
            problems.append(f"missing: {item.dest} (from {item.source})")
        elif item.dest in foreign:
            problems.append(
                f"not generated: {item.dest} was not written by `course-lib release`, which "
                f"will refuse to overwrite it with {item.source}; move or delete it"
            )
        elif item.dest.read_bytes() != item.text.encode("utf-8"):
            problems.append(f"stale: {item.dest} differs from a fresh release of {item.source}")
    for path in plan.orphans:
        problems.append(
            f"orphaned: {path} was generated from a notebook that is no longer in {source_dir}"
        )
    return problems
