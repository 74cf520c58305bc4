"""Execute a notebook headless and keep what it shows.

``course-lib run NOTEBOOK --out DIR`` executes a notebook top to bottom in a
real kernel, writes the executed notebook, and extracts every picture it
displayed (PNG plots, GIF animations embedded in HTML) into ``DIR`` so a
person can look at them without opening Jupyter. It also reports the time
each cell took, the basis of the course timing report.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_lib.instructor.release.context import is_test_cell

__all__ = ["RunResult", "extract_media", "load_cells", "run_notebook"]

_DATA_URI = re.compile(r"data:image/(gif|png|jpeg);base64,([A-Za-z0-9+/=\s]+)")


@dataclass
class RunResult:
    """What came out of one executed notebook."""

    notebook: Path
    executed: Path
    seconds: float
    cell_seconds: list[tuple[str, float]] = field(default_factory=list)
    media: list[Path] = field(default_factory=list)


def extract_media(nb: nbformat.NotebookNode, out_dir: Path, stem: str) -> list[Path]:
    """Write every PNG/GIF output of ``nb`` into ``out_dir``; return the paths.

    Files are named ``{stem}-cell{index:02d}-{k}.{ext}`` after the cell that made them.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        k = 0
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            blobs: list[tuple[str, bytes]] = []
            if "image/png" in data:
                blobs.append(("png", base64.b64decode(data["image/png"])))
            html = data.get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            for ext, b64 in _DATA_URI.findall(html):
                blobs.append(("jpg" if ext == "jpeg" else ext, base64.b64decode(b64)))
            for ext, blob in blobs:
                path = out_dir / f"{stem}-cell{index:02d}-{k}.{ext}"
                path.write_bytes(blob)
                written.append(path)
                k += 1
    return written


def run_notebook(
    path: str | Path,
    out_dir: str | Path,
    *,
    timeout: int = 1800,
    kernel_name: str = "python3",
) -> RunResult:
    """Execute ``path`` in a fresh kernel (cwd = its folder) and save results in ``out_dir``.

    Raises:
        FileNotFoundError: the notebook does not exist.
        nbclient.exceptions.CellExecutionError: a cell raised; the executed notebook
            (up to the failing cell) is still written to ``out_dir`` first.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}: give the path of an .ipynb file")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    starts: dict[int, float] = {}
    cell_seconds: list[tuple[str, float]] = []
    client.on_cell_start = lambda cell, cell_index: starts.__setitem__(
        cell_index, time.perf_counter()
    )

    def _done(cell: nbformat.NotebookNode, cell_index: int) -> None:
        cell_seconds.append(
            (cell.get("id", str(cell_index)), time.perf_counter() - starts[cell_index])
        )

    client.on_cell_executed = lambda cell, cell_index, execute_reply: _done(cell, cell_index)
    t0 = time.perf_counter()
    executed = out / path.name
    try:
        client.execute()
    except CellExecutionError:
        nbformat.write(nb, executed)
        raise
    seconds = time.perf_counter() - t0
    nbformat.write(nb, executed)
    media = extract_media(nb, out, path.stem)
    return RunResult(path, executed, seconds, cell_seconds, media)


def load_cells(
    path: str | Path, grade_ids: list[str] | None = None, *, skip_tests: bool = True
) -> dict:
    """Execute a notebook's code cells in a fresh namespace and return it.

    Used by benchmarks to call a reference solution's functions without Jupyter.
    ``grade_ids`` limits execution to the cells with those nbgrader ids (in
    notebook order); by default every cell runs except graded test cells and
    cells after the first ``trained_policy`` assignment. IPython-only lines
    (``%`` magics, ``!`` shell) are skipped.
    """
    import sys
    import types

    nb = nbformat.read(Path(path), as_version=4)
    module = types.ModuleType(f"course_notebook_{Path(path).stem}")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    namespace: dict = module.__dict__
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if grade_ids is not None and meta.get("grade_id") not in grade_ids:
            continue
        if grade_ids is None and skip_tests and is_test_cell(cell):
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        if grade_ids is None and "trained_policy =" in source:
            break
        exec(compile(source, f"{Path(path).name}:{cell.get('id', '?')}", "exec"), namespace)
    return namespace
