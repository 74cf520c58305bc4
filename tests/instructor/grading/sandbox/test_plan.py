"""What the sandbox lets the kernel see and do (:mod:`course_lib.instructor.grading.sandbox.plan`):
no network, only its own files, the fallback without bubblewrap."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

import course_lib
from course_lib.instructor.grading.sandbox import (
    Limits,
    SandboxError,
    SandboxKernel,
    SandboxUnavailableWarning,
    execute_notebook,
)
from tests.instructor.grading.sandbox.notebooks import (
    COURSE_LIB,
    FAST,
    REPO,
    _nb,
    _stdout,
    _work,
    requires_bwrap,
)

pytestmark = pytest.mark.notebook

_SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")


@requires_bwrap
def test_network_is_unreachable_from_inside(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not stop.is_set():
            try:
                accepted.append(server.accept())
            except OSError:
                pass

    stop = threading.Event()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    probe = (
        "import socket\n"
        f"for host, port in [('127.0.0.1', {port}), ('1.1.1.1', 53)]:\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=3).close()\n"
        "        print(host, 'CONNECTED')\n"
        "    except OSError as e:\n"
        "        print(host, 'refused', type(e).__name__)\n"
    )
    try:
        result = execute_notebook(_nb(probe), _work(tmp_path), limits=FAST)
    finally:
        stop.set()
        thread.join()
        server.close()

    out = _stdout(result.cells[0])
    assert "CONNECTED" not in out and out.count("refused") == 2, out
    assert not accepted


@requires_bwrap
def test_only_the_workdir_the_interpreter_and_course_lib_are_visible(tmp_path):
    (tmp_path / "secret.txt").write_text("the answers")
    work = _work(tmp_path)
    cells = [
        f"import os; print(os.environ['HOME'] == {str(work)!r} == os.getcwd())",
        f"open({str(tmp_path / 'secret.txt')!r}).read()",
        f"os.listdir({str(REPO / 'solutions')!r})",
        f"open({str(REPO / 'pyproject.toml')!r}).read()",
        "os.listdir(os.path.expanduser('~root'))",
        "import course_lib, course_lib.config; print(course_lib.__file__)",
        f"open({str(COURSE_LIB / '__init__.py')!r}, 'a')",
        "open('mine.txt', 'w').write('ok'); print(sorted(os.environ))",
    ]
    result = execute_notebook(
        _nb(*cells), work, limits=FAST, env={"COURSE_LIB_FAST": "1"}, extra_ro_binds=[COURSE_LIB]
    )
    home, secret, solutions, pyproject, root_home, imports, write_lib, mine = result.cells

    assert _stdout(home) == "True\n"
    for denied in (secret, solutions, pyproject, root_home):
        assert denied.status == "error"
        assert denied.ename in {"FileNotFoundError", "PermissionError"}, denied.evalue
    assert imports.status == "ok" and _stdout(imports).strip() == str(COURSE_LIB / "__init__.py")
    assert write_lib.status == "error" and write_lib.ename in {"OSError", "PermissionError"}
    assert (work / "mine.txt").read_text() == "ok"
    seen = eval(_stdout(mine))
    assert "COURSE_LIB_FAST" in seen and "JPY_PARENT_PID" not in seen
    assert not {"OLDPWD", "PYTEST_CURRENT_TEST", "VIRTUAL_ENV", "PYENV_ROOT"} & set(seen)


@requires_bwrap
def test_kernel_sees_one_thread_and_limits_in_a_with_block(tmp_path):
    work = _work(tmp_path)
    with SandboxKernel(work, limits=Limits(memory_mb=3000), extra_ro_binds=[COURSE_LIB]) as sk:
        assert sk.sandboxed
        kc = sk.blocking_client()
        try:
            lines: list[str] = []
            code = (
                "import os, resource, torch\n"
                "print(torch.get_num_threads(), os.environ['OMP_NUM_THREADS'],"
                " resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20,"
                " resource.getrlimit(resource.RLIMIT_NPROC)[0], os.getuid() != 0, os.nice(0))"
            )
            reply = kc.execute_interactive(
                code,
                timeout=60,
                output_hook=lambda m: lines.append(m["content"].get("text", "")),
            )
        finally:
            kc.stop_channels()
        assert reply["content"]["status"] == "ok"
        assert "".join(lines).split() == ["1", "1", "3000", "64", "True", "10"]
        pid = sk.pid
    assert pid is not None and not Path(f"/proc/{pid}").exists()


def test_fallback_without_bwrap_warns_loudly_and_still_applies_limits(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "do-not-leak")
    code = (
        "import os, resource\n"
        "print(resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20,"
        " os.environ['OMP_NUM_THREADS'], 'GRADER_SECRET_TOKEN' in os.environ)"
    )
    limits = Limits(memory_mb=2048, cell_timeout_s=60, notebook_timeout_s=60)
    with pytest.warns(SandboxUnavailableWarning, match="WITHOUT A SANDBOX.*not found"):
        result = execute_notebook(
            _nb(code), _work(tmp_path), limits=limits, bwrap="/nonexistent/bwrap"
        )

    assert result.sandboxed is False
    assert any("WITHOUT the sandbox" in note for note in result.notes)
    assert _stdout(result.cells[0]).split() == ["2048", "1", "False"]

    with pytest.raises(SandboxError, match="apt-get install bubblewrap"):
        execute_notebook(
            _nb("1"), tmp_path / "work", bwrap="/nonexistent/bwrap", require_sandbox=True
        )


@pytest.mark.skipif(os.getuid() != 0, reason="dropping to a private uid needs a root grader")
@pytest.mark.skipif(not _SYSTEM_PYTHON.is_file(), reason=f"needs {_SYSTEM_PYTHON}")
def test_a_root_grader_without_bwrap_drops_the_kernel_to_a_private_uid(tmp_path):
    """Without bubblewrap (e.g. in an unprivileged container), a root grader still keeps the
    student from files only root may read: the kernel runs as a fresh uid.

    That needs an interpreter every user can run (in a container, /usr/bin's): the grader
    runs here from a venv of the system Python that borrows this venv's packages.
    """
    venv = Path(tempfile.mkdtemp(prefix="course-lib-sysvenv-"))
    scratch = Path(tempfile.mkdtemp(prefix="course-lib-test-"))
    try:
        subprocess.run([str(_SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
        (site,) = (venv / "lib").glob("python3*/site-packages")
        borrowed = [p for p in sys.path if p.endswith("site-packages")]
        repo = str(Path(course_lib.__file__).resolve().parents[1])
        (site / "borrowed.pth").write_text("\n".join([*borrowed, repo]) + "\n")
        venv.chmod(0o755)
        scratch.chmod(0o755)  # reachable by the private uid, as the grader's scratch folder is
        work = scratch / "work"
        work.mkdir()
        secret = tmp_path / "instructor.ipynb"
        secret.write_text("the reference solution")
        secret.chmod(0o600)
        cell = (
            "import os\n"
            "print(os.getuid())\n"
            "try:\n"
            f"    print(open({str(secret)!r}).read())\n"
            "except PermissionError:\n"
            "    print('denied')"
        )
        script = (
            "import sys, warnings, nbformat\n"
            "from course_lib.instructor.grading.sandbox import Limits, execute_notebook\n"
            f"nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell({cell!r})])\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            f"    r = execute_notebook(nb, {str(work)!r}, bwrap='/nonexistent/bwrap',\n"
            "                         limits=Limits(cell_timeout_s=60, notebook_timeout_s=60))\n"
            "print(r.sandboxed, r.cells[0].status, r.cells[0].outputs[0]['text'].split())\n"
            "print([str(w.message) for w in caught])\n"
        )
        run = subprocess.run(
            [str(venv / "bin" / "python"), "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=scratch,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        outcome, warned = run.stdout.splitlines()[-2:]
        sandboxed, status, printed = outcome.split(" ", 2)
        uid, answer = eval(printed)
        assert (sandboxed, status) == ("False", "ok")
        assert int(uid) != 0 and answer == "denied"
        assert "as the unprivileged uid" in warned
        assert work.stat().st_uid == 0  # handed back to the grader afterwards
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(venv, ignore_errors=True)
