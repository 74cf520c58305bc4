"""The sandboxed notebook executor: it runs everything, records failures, contains students."""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

import course_lib
from course_lib.instructor.grading.sandbox import (
    Limits,
    SandboxError,
    SandboxKernel,
    SandboxUnavailableWarning,
    execute_notebook,
    probe_bwrap,
)

pytestmark = pytest.mark.notebook

COURSE_LIB = Path(course_lib.__file__).resolve().parent
REPO = COURSE_LIB.parent
FAST = Limits(cell_timeout_s=60, notebook_timeout_s=120)

requires_bwrap = pytest.mark.skipif(
    not probe_bwrap()[0], reason=f"bubblewrap sandbox unavailable: {probe_bwrap()[1]}"
)


def _nb(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def _work(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work


def _stdout(record) -> str:
    return "".join(o.get("text", "") for o in record.outputs if o.get("name") == "stdout")


def _pids_with(token: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline:
            found.append(int(name))
    return found


@requires_bwrap
def test_normal_notebook_runs_and_outputs_come_back(tmp_path):
    nb = _nb("x = 21\nprint('hello')", "x * 2", "from IPython.display import display\ndisplay(3)")
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("not code"))
    result = execute_notebook(nb, _work(tmp_path), limits=FAST)

    assert result.sandboxed
    assert [c.status for c in result.cells] == ["ok", "ok", "ok"]
    assert [c.index for c in result.cells] == [0, 2, 3]
    assert _stdout(result.cells[0]) == "hello\n"
    assert result.cells[1].outputs[0]["data"]["text/plain"] == "42"
    assert result.cells[2].outputs[0]["output_type"] == "display_data"
    assert result.death_reason is None and result.counts()["ok"] == 3
    assert "outputs" not in nb.cells[0] or not nb.cells[0].outputs  # input left untouched


@requires_bwrap
def test_error_in_cell_2_does_not_stop_cell_3_and_stderr_is_output(tmp_path):
    nb = _nb(
        "import warnings; warnings.warn('careful'); a = 1",
        "raise ValueError('bad ' * 5000)",
        "print(a + 1)",
    )
    result = execute_notebook(nb, _work(tmp_path), limits=FAST)

    first, second, third = result.cells
    assert first.status == "ok"
    assert any(o.get("name") == "stderr" and "careful" in o["text"] for o in first.outputs)
    assert second.status == "error" and second.ename == "ValueError"
    assert len(second.evalue) <= 1000 and len(second.traceback) < 5000
    assert "\x1b[" not in second.traceback and "ValueError" in second.traceback
    assert third.status == "ok" and _stdout(third) == "2\n"


@requires_bwrap
def test_cell_timeout_is_interrupted_and_later_cells_run(tmp_path):
    nb = _nb("import time", "time.sleep(60)", "print('after')")
    limits = Limits(cell_timeout_s=2, notebook_timeout_s=60)
    t0 = time.monotonic()
    result = execute_notebook(nb, _work(tmp_path), limits=limits)

    assert [c.status for c in result.cells] == ["ok", "timeout", "ok"]
    assert "cell time limit" in result.cells[1].reason
    assert _stdout(result.cells[2]) == "after\n"
    assert time.monotonic() - t0 < 20


@requires_bwrap
def test_kernel_that_ignores_the_interrupt_is_killed_and_the_rest_is_dead(tmp_path):
    stubborn = (
        "import time\nwhile True:\n    try:\n        time.sleep(10)\n"
        "    except KeyboardInterrupt:\n        pass"
    )
    nb = _nb(stubborn, "print('never')")
    limits = Limits(cell_timeout_s=1.5, notebook_timeout_s=60)
    result = execute_notebook(nb, _work(tmp_path), limits=limits, interrupt_grace_s=1)

    assert [c.status for c in result.cells] == ["timeout", "dead"]
    assert "did not respond" in result.cells[1].reason


@requires_bwrap
def test_notebook_deadline_skips_the_remaining_cells(tmp_path):
    nb = _nb("import time; time.sleep(30)", "print('late')", "print('later')")
    limits = Limits(cell_timeout_s=60, notebook_timeout_s=2)
    result = execute_notebook(nb, _work(tmp_path), limits=limits)

    assert [c.status for c in result.cells] == ["timeout", "skipped", "skipped"]
    assert all("notebook time limit" in c.reason for c in result.cells)


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
def test_os_exit_marks_later_cells_dead_and_returns_promptly(tmp_path):
    nb = _nb("print('alive')", "import os; os._exit(1)", "print('a')", "print('b')")
    t0 = time.monotonic()
    result = execute_notebook(nb, _work(tmp_path), limits=FAST)

    assert [c.status for c in result.cells] == ["ok", "dead", "dead", "dead"]
    assert "exit status 1" in result.death_reason
    assert result.cells[3].reason == result.death_reason and not result.cells[3].outputs
    assert time.monotonic() - t0 < 15


@requires_bwrap
def test_memory_bombs_fail_inside_and_the_grader_survives(tmp_path):
    grow = (
        "chunks = []\n"
        "try:\n"
        "    while True:\n"
        "        chunks.append(bytearray(64 * 2**20))\n"
        "except MemoryError:\n"
        "    print('stopped at', len(chunks) * 64, 'MiB')\n"
        "del chunks"
    )
    nb = _nb("x = bytearray(50 * 2**30)", grow, "print('still here')")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = execute_notebook(nb, _work(tmp_path), limits=Limits(memory_mb=1024))

    big, loop, after = result.cells
    assert big.status == "error" and big.ename == "MemoryError"
    if loop.status == "ok":  # RLIMIT_AS stopped the loop
        assert int(_stdout(loop).split()[2]) < 1024
        assert _stdout(after) == "still here\n"
    else:  # or the watchdog killed the whole sandbox
        assert loop.status == "dead" and "memory limit" in loop.reason
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 200 * 1024


@requires_bwrap
def test_memory_spread_over_processes_is_killed_by_the_watchdog(tmp_path):
    # Each child stays under RLIMIT_AS; together they pass memory_mb.
    spread = (
        "import subprocess, sys, time\n"
        "code = 'import time; b = b\"x\" * (400 * 2**20); time.sleep(60)'\n"
        "procs = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(4)]\n"
        "time.sleep(30)"
    )
    t0 = time.monotonic()
    result = execute_notebook(
        _nb(spread, "print('never')"), _work(tmp_path), limits=Limits(memory_mb=1024)
    )

    assert [c.status for c in result.cells] == ["dead", "dead"]
    assert "memory limit" in result.death_reason
    assert any("sandbox killed: memory limit" in note for note in result.notes)
    assert time.monotonic() - t0 < 25


@requires_bwrap
def test_fork_bomb_is_contained_by_the_process_limit(tmp_path):
    # A bomb with a deadline: every process forks as fast as it can for 3 s, then exits.
    bomb = """
import os, time
deadline = time.time() + 3
failures = peak = 0
while time.time() < deadline:
    try:
        pid = os.fork()
    except BlockingIOError:
        failures += 1
        peak = max(peak, sum(n.isdigit() for n in os.listdir('/proc')))
        time.sleep(0.005)
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        continue
    if pid == 0:
        try:
            while time.time() < deadline:
                try:
                    os.fork()
                except BlockingIOError:
                    time.sleep(0.005)
        finally:
            os._exit(0)
print(failures > 0, peak)
"""
    limits = Limits(max_processes=48, cell_timeout_s=30, notebook_timeout_s=60)
    t0 = time.monotonic()
    result = execute_notebook(_nb(bomb, "print('kernel ok')"), _work(tmp_path), limits=limits)

    bombed, after = result.cells
    assert bombed.status == "ok", bombed.traceback
    failed, peak = _stdout(bombed).split()
    assert failed == "True"
    assert int(peak) <= 48
    assert _stdout(after) == "kernel ok\n"
    assert time.monotonic() - t0 < 60


@requires_bwrap
def test_output_flood_is_truncated_to_the_cap_with_a_note(tmp_path):
    nb = _nb(
        "print('y' * 3_000_000)",  # one 3 MB message: clipped to the cap
        "for _ in range(100):\n    print('x' * 1_000_000)",  # 100 MB: dropped, a note kept
        "print('observation: 42')",
    )
    result = execute_notebook(nb, _work(tmp_path), limits=FAST)

    clipped, flooded, graded = result.cells
    assert clipped.status == flooded.status == graded.status == "ok"
    assert clipped.output_truncated and flooded.output_truncated
    text = clipped.outputs[0]["text"]
    assert set(text) == {"y"} and len(text) == FAST.max_output_bytes
    assert "output truncated" in clipped.outputs[-1]["text"]
    assert result.output_bytes <= FAST.max_output_bytes + 3 * 16_000
    assert result.dropped_output_bytes >= 100_000_000
    assert sum("output truncated" in note for note in result.notes) == 2
    assert "observation: 42" in _stdout(graded)  # later cells keep their first bytes


@requires_bwrap
def test_no_process_started_by_the_student_survives(tmp_path):
    token = secrets.token_hex(6)
    seconds = f"1000.{int(token, 16) % 10**6:06d}"
    start = f"""
import os, subprocess, sys, time
subprocess.Popen(["sleep", "{seconds}"], start_new_session=True)
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(1000)", "{token}"])
    os._exit(0)
os.waitpid(pid, 0)
time.sleep(1)
"""
    seen: dict[int, list[int]] = {}

    def on_cell(record) -> None:
        seen[record.index] = _pids_with(seconds) + _pids_with(token)

    result = execute_notebook(
        _nb(start, "print('done')"), _work(tmp_path), limits=FAST, on_cell=on_cell
    )

    assert [c.status for c in result.cells] == ["ok", "ok"]
    assert len(seen[0]) == 2, "the daemons should be running while the kernel is"
    assert _pids_with(seconds) == [] and _pids_with(token) == []
    for pid in seen[0]:
        assert not Path(f"/proc/{pid}").exists()


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


_SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")


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


def test_limits_are_validated():
    with pytest.raises(ValueError, match="max_processes"):
        Limits(max_processes=2)
    with pytest.raises(ValueError, match="cell_timeout_s"):
        Limits(cell_timeout_s=0)
    with pytest.raises(SandboxError, match="does not exist"):
        SandboxKernel("/nonexistent/work")
