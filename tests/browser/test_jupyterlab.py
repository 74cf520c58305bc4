"""A notebook as a student runs it: JupyterLab 4 in Chromium, Run All, in fast mode.

The notebook is notebook 01 with every exercise filled in. After Run All: no cell shows an
error, the training cell's progress bar was a live widget while it ran and is left as text
(green, stopped early or done), and the saved notebook, opened again, shows no widget error.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from course_lib.instructor.grading.sample import fill

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "01_actor_critic"

pytestmark = [pytest.mark.notebook, pytest.mark.browser]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on localhost, fast mode, serving a folder with the notebook."""
    root = tmp_path_factory.mktemp("lab")
    nbformat.write(fill(ROOT / "solutions" / f"{NOTEBOOK}.ipynb"), root / f"{NOTEBOOK}.ipynb")
    port, token = _free_port(), "course-lib-test"
    # every cell rendered, not only those in view (JupyterLab 4 windows long notebooks)
    settings = root / ".jupyter" / "lab" / "user-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))
    env = {
        **os.environ,
        "COURSE_LIB_FAST": "1",
        "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / ".jupyter" / "lab" / "workspaces"),
    }
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            f"--port={port}", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False",
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield f"{base}/lab/tree/{NOTEBOOK}.ipynb?token={token}", root
    finally:
        server.terminate()
        server.wait(timeout=30)


_WATCH = """() => {
  window.__sawProgress = false;
  const bar = '.widget-hprogress, .jupyter-widget-hprogress, .widget-progress';
  const seen = () => { if (document.querySelector(bar)) window.__sawProgress = true; };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true});
}"""

# Run All sends the cells one after the other: it is over when every code cell has its number
# (a cell that raises stops it; the saved notebook then tells which, when the wait times out)
_DONE = """() => {
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent);
  return prompts.length > 0 && prompts.every(t => /\\[\\d+\\]/.test(t));
}"""


def test_run_all_in_jupyterlab_shows_no_error_and_a_live_progress_bar(page, lab, shots):
    url, root = lab
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.wait_for_function(  # the kernel is up: Run All sent before it would be lost
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.isReady === true",
        timeout=120_000,
    )
    page.evaluate(_WATCH)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + 300
    while not page.evaluate(_DONE) and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    training_cell = page.locator(".jp-CodeCell", has_text="trained_policy = ").first
    training_cell.scroll_into_view_if_needed()
    page.screenshot(path=shots / "jupyterlab_run_all.png", full_page=False)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(2_000)

    saved = nbformat.read(root / f"{NOTEBOOK}.ipynb", as_version=4)
    not_run = [
        c.metadata.get("nbgrader", {}).get("grade_id")
        for c in saved.cells
        if c.cell_type == "code" and c.execution_count is None
    ]
    errors = [
        (c.metadata.get("nbgrader", {}).get("grade_id"), o.get("ename"), o.get("evalue"))
        for c in saved.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, errors
    assert not not_run, f"cells Run All did not reach: {not_run}"
    assert page.evaluate("() => window.__sawProgress"), "no live progress bar widget was shown"
    assert page.locator("text=Error displaying widget").count() == 0
    (training,) = [
        c for c in saved.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "run_training"
    ]
    shown = json.dumps(training.outputs)
    assert "episodes" in shown and "100%" in shown, shown[:2000]
    assert "application/vnd.jupyter.widget-view+json" not in shown  # left as text when closed

    page.reload()  # the saved notebook, opened again
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    page.wait_for_timeout(3_000)
    assert page.locator("text=Error displaying widget").count() == 0
    page.locator(".jp-CodeCell", has_text="trained_policy = ").first.scroll_into_view_if_needed()
    page.screenshot(path=shots / "jupyterlab_reopened.png", full_page=False)
