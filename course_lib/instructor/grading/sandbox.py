"""Run a student notebook in a sandboxed Jupyter kernel, out of reach of the grader.

Whatever runs in the student's kernel can be rewritten by the student (see
``GRADING.md``), so the kernel runs in a bubblewrap (``bwrap``) sandbox that
sees only the Python interpreter, the system libraries and a fresh work
directory, and every process the student starts dies with it. The grader
drives the kernel over the Jupyter protocol on IPC sockets inside the work
directory (TCP loopback is per network namespace, so it would not reach the
sandbox).

Layout of the sandbox (``bwrap`` argv, in this order)::

    bwrap --unshare-pid --unshare-net --unshare-ipc --unshare-uts --unshare-cgroup-try
          --hostname sandbox
          [--unshare-user --disable-userns]                      # grader not root
          [--cap-drop ALL --cap-add CAP_SETUID --cap-add CAP_SETGID
           --cap-add CAP_SETPCAP --cap-add CAP_DAC_READ_SEARCH]  # grader is root
          --die-with-parent --new-session
          --perms 1777 --size <max_file_mb> --tmpfs /tmp
          --ro-bind /usr /usr --symlink usr/lib /lib ...         # /bin /sbin /lib* as on the host
          --perms 0755 --dir <each missing parent> ...           # bwrap would make them 0700
          --ro-bind <sys.prefix> ... --ro-bind <sys.base_prefix> ...  # real paths, outermost
          --ro-bind <extra_ro_binds> ...                         # e.g. the course_lib package
          --ro-bind <generated passwd> /etc/passwd --ro-bind <generated group> /etc/group
          --ro-bind /etc/fonts /etc/fonts                        # else fontconfig complains
          --proc /proc --dev /dev --perms 1777 --size <max_file_mb> --tmpfs /dev/shm
          --bind <workdir> <workdir> --chdir <workdir>
          --clearenv --unsetenv JPY_PARENT_PID --setenv HOME <workdir> --setenv ... \\
          -- [setpriv --reuid U --regid U --clear-groups --inh-caps=-all --bounding-set=-all --]
             nice -n 10 prlimit --as=... --fsize=... --core=0 --nproc=... --
             <python> -m ipykernel_launcher -f <workdir>/.kernel/connection.json
             --HistoryManager.enabled=False

Nothing else of the host is visible: of ``/etc`` only fonts and a generated
``passwd``/``group`` (Python needs nothing more), not the grader's home, the
repository, the solutions or other submissions. The environment is cleared and
rebuilt: ``PATH``, ``HOME`` (= the work dir), ``USER``, ``LANG``, ``TMPDIR``, the
thread variables, ``MPLBACKEND=Agg``, ``SDL_VIDEODRIVER=dummy``,
``MALLOC_ARENA_MAX=2``, IPython/matplotlib config dirs in ``/tmp``, plus the
caller's ``env`` (e.g. ``COURSE_LIB_FAST``, ``COURSE_LIB_GRADER_SEED``).

Limits (:class:`Limits`), and how they are enforced without cgroups:

* **Processes** (``max_processes``): ``RLIMIT_NPROC``, which the kernel counts per
  *real uid*, threads included. Root is exempt from it, even inside a user namespace
  (the kernel exempts ``INIT_USER``), so when the grader runs as root the sandbox
  drops to a private, random, unused uid with ``setpriv`` (bubblewrap keeps only
  the four capabilities above for that step, ``setpriv`` clears them all and the
  bounding set, and bwrap sets ``no_new_privs``). A non-root grader gives the sandbox
  its own user namespace, where ``RLIMIT_NPROC`` counts only the sandbox's tasks. The
  limit is applied by ``prlimit`` *inside* the sandbox, after the uid change, so the
  grader's own processes never count. A fork bomb gets ``EAGAIN`` at
  ``max_processes`` tasks (an idle kernel uses 11).
* **Memory** (``memory_mb``): ``RLIMIT_AS`` on every process of the sandbox, so a big
  allocation raises ``MemoryError``. With ``MALLOC_ARENA_MAX=2`` (glibc otherwise
  reserves 64 MiB of address space per thread arena: 0.7 GB for an idle kernel) an
  idle kernel peaks at 0.2 GB of address space, and ``import torch`` + a 200-step
  training loop + gymnasium + matplotlib at 0.9 GB: 1024 MB is enough for that;
  the default of 4096 MB leaves room for real work. ``RLIMIT_AS`` is per process,
  so a watchdog thread in the grader also sums the resident memory of all sandbox
  processes every 0.25 s (their proportional share when the plain sum is over) and
  kills the sandbox when the total passes ``memory_mb``.
* **Disk** (``max_file_mb``): ``RLIMIT_FSIZE`` bounds each file the kernel writes;
  ``/tmp`` and ``/dev/shm`` are tmpfs of that size. The work directory itself is on
  the host disk: the number of files in it is not bounded.
* **Time**: a per-cell timeout (the cell is interrupted through the control channel
  and the kernel must answer within ``interrupt_grace_s``, else it is killed and the
  remaining cells are ``dead``) and a whole-notebook deadline (later cells
  ``skipped``).
* **Threads / CPU**: ``OMP_NUM_THREADS`` and friends are set to ``threads``; the
  kernel runs at niceness 10, so a spinning fork bomb (up to ``max_processes``
  busy tasks until the cell times out) yields the CPU to the grader and the host.
* **Output**: outputs kept per notebook are capped at ``max_output_bytes`` (stream
  text is clipped, other outputs dropped, a note recorded), each cell still keeping
  its first 16 KB. A kernel message above 32 MiB is replaced by a note before it is
  decoded, and the grader's sockets queue at most 4 messages; a message is still
  received whole, so the grader briefly holds the largest single message (a loop
  printing 1 GB peaked the grader at 1.0 GB; 100 MB at 0.16 GB).

Teardown: the sandbox's pid-namespace init is SIGKILLed, which kills every process
in the namespace (``setsid``/double-forked daemons included), then the grader waits
until none of the processes it saw (nor any process of the sandbox uid) is left.

If bubblewrap is missing or cannot start, the kernel runs *unsandboxed* with the
resource limits (a loud :class:`SandboxUnavailableWarning`, ``sandboxed=False`` on
the result), unless ``require_sandbox=True``. Unsandboxed, the student's code can
read the grader's files and use the network; ``RLIMIT_NPROC`` does not hold for root,
so the watchdog counts processes and kills the kernel's process tree, and daemons
are found at teardown by an environment token: both best effort.

Caveats: the interpreter prefixes are bound whole (keep the grader's virtual
environment outside instructor folders); files the student leaves in the work dir
(symlinks included) are untrusted data: do not follow links when reading them.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "CellRecord",
    "ExecutionResult",
    "Limits",
    "SandboxError",
    "SandboxKernel",
    "SandboxUnavailableWarning",
    "async_execute_notebook",
    "execute_notebook",
    "probe_bwrap",
]

KERNEL_NAME = "course-lib-sandbox"
_SANDBOX_USER = "student"
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TORCH_NUM_THREADS")
_TOKEN_VAR = "COURSE_LIB_SANDBOX_TOKEN"
_UNIX_PATH_MAX = 107  # sun_path holds 108 bytes with the terminating NUL
_TRACEBACK_HEAD = 1_000
_TRACEBACK_TAIL = 3_000
_EVALUE_MAX = 1_000
OMITTED_REASON = "not run by the grader: marked not needed for grading"
_LOG_KEEP = 64_000
_MAX_MESSAGE_BYTES = 32 * 2**20  # kernel messages above this are replaced by a note
_ZMQ_RCVHWM = 4  # messages queued on each grader socket
_NICE = 10  # niceness of the sandboxed kernel
_CELL_OUTPUT_FLOOR = 16_000  # bytes of output every cell keeps even past the cap
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PAGE = os.sysconf("SC_PAGE_SIZE")

# Sets resource limits given as NAME=value, then execs what follows "--"; used where
# `prlimit` is missing.
_RLIMIT_LAUNCHER = (
    "import os,resource,sys\n"
    "i=sys.argv.index('--')\n"
    "for a in sys.argv[1:i]:\n"
    " n,v=a.split('=');v=int(v);resource.setrlimit(getattr(resource,n),(v,v))\n"
    "os.execvp(sys.argv[i+1],sys.argv[i+1:])\n"
)


class SandboxError(RuntimeError):
    """The sandboxed kernel could not be started or driven."""


class SandboxUnavailableWarning(UserWarning):
    """bubblewrap is unavailable: the kernel runs without the sandbox."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed notebook run.

    Attributes:
        memory_mb: ``RLIMIT_AS`` of every sandbox process, in MiB, and the cap on the
            resident memory of all of them together (watchdog). 4096 MiB runs torch.
        cell_timeout_s: Wall-clock seconds one cell may run before it is interrupted.
        notebook_timeout_s: Wall-clock seconds for the whole notebook; cells after the
            deadline are skipped.
        max_processes: ``RLIMIT_NPROC``: tasks (processes *and threads*) the sandbox's
            uid may have (at least 16). An idle kernel uses 11.
        threads: Value of ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``,
            ``OPENBLAS_NUM_THREADS`` and ``TORCH_NUM_THREADS``.
        max_output_bytes: Total size of the outputs kept for the notebook. Past it,
            outputs are dropped (stream text clipped) and a note is recorded, except that
            every cell still keeps its first 16 KB, so that the observations printed by
            graded cells survive an earlier flood.
        max_file_mb: ``RLIMIT_FSIZE`` (largest file the kernel may write), and the size
            of the in-memory ``/tmp`` and ``/dev/shm``.
    """

    memory_mb: int = 4096
    cell_timeout_s: float = 300
    notebook_timeout_s: float = 1800
    max_processes: int = 64
    threads: int = 1
    max_output_bytes: int = 2_000_000
    max_file_mb: int = 1024

    def __post_init__(self) -> None:
        for name in ("memory_mb", "max_processes", "threads", "max_file_mb"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"Limits.{name} must be at least 1, got {getattr(self, name)!r}")
        for name in ("cell_timeout_s", "notebook_timeout_s"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")
        if self.max_output_bytes < 0:
            raise ValueError(f"Limits.max_output_bytes must be >= 0, got {self.max_output_bytes}")
        if self.max_processes < 16:
            raise ValueError(
                f"Limits.max_processes={self.max_processes} is too low: the kernel itself "
                "needs about 10 tasks (threads count); use at least 16."
            )


# --------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class _Proc:
    pid: int
    ppid: int
    uid: int
    threads: int
    rss_bytes: int
    start: int


def _read_proc(pid: int) -> _Proc | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
        uid = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
    rest = stat[stat.rfind(")") + 2 :].split()
    try:
        return _Proc(pid, int(rest[1]), uid, int(rest[17]), int(rest[21]) * _PAGE, int(rest[19]))
    except (IndexError, ValueError):
        return None


def _proc_table() -> dict[int, _Proc]:
    table: dict[int, _Proc] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (proc := _read_proc(int(name))) is not None:
            table[proc.pid] = proc
    return table


def _pss_bytes(proc: _Proc) -> int:
    """Proportional set size of a process (shared pages split between sharers)."""
    try:
        with open(f"/proc/{proc.pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return proc.rss_bytes


def _descendants(table: Mapping[int, _Proc], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found: set[int] = set()
    todo = [root] if root in table else []
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _has_token(pid: int, token: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return token in f.read()
    except OSError:
        return False


def _kill(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# --------------------------------------------------------------------------- sandbox plan


def _is_root() -> bool:
    return os.geteuid() == 0


def _mapped_ids(map_file: str) -> list[tuple[int, int]]:
    try:
        lines = Path(map_file).read_text().split("\n")
    except OSError:
        return [(0, 2**32 - 1)]
    ranges = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            inside, _outside, count = map(int, parts)
            ranges.append((inside, inside + count))
    return ranges


def _open_to_others(path: Path) -> bool:
    """Whether any user can reach ``path`` (every folder above it searchable by others) and
    read it (and list it, for a folder)."""
    path = Path(path).resolve()
    try:
        for folder in path.parents:
            if not folder.stat().st_mode & 0o001:
                return False
        mode = path.stat().st_mode
    except OSError:
        return False
    wanted = 0o005 if path.is_dir() else 0o004
    return mode & wanted == wanted


def _pick_sandbox_uid() -> int:
    """A random uid (also used as gid) that no account uses, mapped in this namespace."""
    taken = {0, 65534}
    try:
        for line in Path("/etc/passwd").read_text().splitlines():
            parts = line.split(":")
            if len(parts) > 2 and parts[2].isdigit():
                taken.add(int(parts[2]))
    except OSError:
        pass
    uid_ranges = _mapped_ids("/proc/self/uid_map")
    gid_ranges = _mapped_ids("/proc/self/gid_map")

    def mapped(i: int) -> bool:
        return any(a <= i < b for a, b in uid_ranges) and any(a <= i < b for a, b in gid_ranges)

    for low, high in [(2**30, 2**31 - 1), *uid_ranges]:
        low = max(low, 10_000)
        if high - low < 1000:
            continue
        for _ in range(100):
            candidate = low + secrets.randbelow(high - low - 1)
            if candidate not in taken and mapped(candidate):
                return candidate
    raise SandboxError(
        "found no free uid to run the sandbox as: /proc/self/uid_map maps no range of at "
        "least 1000 uids above 10000; run the grader in a namespace with a wider uid map."
    )


def _interpreter_paths() -> list[Path]:
    """The interpreter prefixes (and their real paths) the kernel needs, outermost only."""
    import site

    candidates: set[Path] = set()
    raw = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    raw += [str(Path(sys.executable).parent), *site.getsitepackages()]
    for entry in raw:
        path = Path(entry)
        for p in (path.absolute(), path.resolve()):
            if p.exists():
                candidates.add(p)
    if Path("/") in candidates:
        raise SandboxError(
            f"the interpreter prefix is '/' ({sys.prefix=}): binding it would expose the "
            "whole host; run the grader from a virtual environment."
        )
    kept = sorted(
        (p for p in candidates if not any(q != p and p.is_relative_to(q) for q in candidates)),
        key=lambda p: (len(p.parts), str(p)),
    )
    return [p for p in kept if not p.is_relative_to("/usr")]


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _rlimit_prefix(limits: Limits, nproc: int | None) -> list[str]:
    """A command prefix that applies the limits, then execs the rest of the command."""
    values = {
        "as": limits.memory_mb * 2**20,
        "fsize": limits.max_file_mb * 2**20,
        "core": 0,
    }
    if nproc is not None:
        values["nproc"] = nproc
    prlimit = shutil.which("prlimit", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if prlimit:
        return [prlimit, *(f"--{name}={value}" for name, value in values.items()), "--"]
    return [
        sys.executable,
        "-S",
        "-c",
        _RLIMIT_LAUNCHER,
        *(f"RLIMIT_{name.upper()}={value}" for name, value in values.items()),
        "--",
    ]


def _base_env(workdir: Path, limits: Limits, env: Mapping[str, str] | None) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    out = {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "USER": _SANDBOX_USER,
        "LOGNAME": _SANDBOX_USER,
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "SDL_VIDEODRIVER": "dummy",
        "SDL_AUDIODRIVER": "dummy",
        "IPYTHONDIR": "/tmp/.ipython",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "XDG_CACHE_HOME": "/tmp/.cache",
        "JUPYTER_PLATFORM_DIRS": "1",
        # glibc reserves 64 MiB of address space per thread arena; with RLIMIT_AS that
        # reservation, not real use, would hit the limit first.
        "MALLOC_ARENA_MAX": "2",
    }
    out.update({var: str(limits.threads) for var in _THREAD_VARS})
    for key, value in (env or {}).items():
        if not key or "=" in key or "\0" in key or "\0" in str(value):
            raise ValueError(f"invalid environment variable for the sandbox: {key!r}={value!r}")
        out[key] = str(value)
    return out


@dataclass
class _Plan:
    """What the host allows: sandbox or not, the kernel's environment, its uid."""

    sandboxed: bool
    env: dict[str, str]
    uid: int | None  # the sandbox's private uid when the grader is root


def _bwrap_argv(
    bwrap: str,
    workdir: Path,
    limits: Limits,
    env: dict[str, str],
    extra_ro_binds: Iterable[Path],
    etc_dir: Path,
    uid: int | None,
    command: list[str],
) -> list[str]:
    tmpfs = str(limits.max_file_mb * 2**20)
    argv = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    argv += ["--unshare-cgroup-try", "--hostname", "sandbox"]
    if uid is None:
        argv += ["--unshare-user", "--disable-userns"]
    else:
        argv += ["--cap-drop", "ALL"]
        # Only what `setpriv` needs to become the sandbox uid (it then clears them all);
        # CAP_DAC_READ_SEARCH lets bwrap chdir into the work dir, owned by that uid.
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_DAC_READ_SEARCH"):
            argv += ["--cap-add", cap]
    argv += ["--die-with-parent", "--new-session"]
    argv += ["--perms", "1777", "--size", tmpfs, "--tmpfs", "/tmp"]
    argv += _system_binds()
    mounted = [Path("/usr")]  # bound host trees: everything below them exists
    made = {Path("/tmp")}  # directories already made in the sandbox

    def bind(option: str, source: Path, target: Path) -> None:
        # bwrap creates missing parents of a mount point with mode 0700, which a
        # non-root sandbox uid cannot traverse: create them 0755 first.
        for parent in reversed(target.parents):
            if parent in made or parent == Path("/"):
                continue
            if not any(parent.is_relative_to(m) for m in mounted):
                argv.extend(["--perms", "0755", "--dir", str(parent)])
                made.add(parent)
        argv.extend([option, str(source), str(target)])
        mounted.append(target)

    home = Path.home().resolve()
    for path in [*_interpreter_paths(), *extra_ro_binds]:
        if home.is_relative_to(path):
            raise SandboxError(
                f"binding {path} into the sandbox would expose the grader's home directory "
                f"{home}; install the interpreter (virtual environment) and pass "
                "extra_ro_binds that lie outside it."
            )
        bind("--ro-bind", path, path)
    bind("--ro-bind", etc_dir / "passwd", Path("/etc/passwd"))
    bind("--ro-bind", etc_dir / "group", Path("/etc/group"))
    if Path("/etc/fonts").is_dir():  # else fontconfig (via matplotlib) prints an error
        bind("--ro-bind", Path("/etc/fonts"), Path("/etc/fonts"))
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--perms", "1777", "--size", tmpfs, "--tmpfs", "/dev/shm"]
    bind("--bind", workdir, workdir)
    argv += ["--chdir", str(workdir)]
    argv += ["--clearenv", "--unsetenv", "JPY_PARENT_PID"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv.append("--")
    if uid is not None:
        setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin") or "setpriv"
        argv += [setpriv, "--reuid", str(uid), "--regid", str(uid), "--clear-groups"]
        argv += ["--inh-caps=-all", "--bounding-set=-all", "--"]
    nice = shutil.which("nice", path="/usr/bin:/bin")
    if nice:  # a runaway notebook yields the CPU to the grader and the rest of the host
        argv += [nice, "-n", str(_NICE)]
    argv += _rlimit_prefix(limits, limits.max_processes)
    return argv + command


def _write_etc(etc_dir: Path, workdir: Path, uid: int) -> None:
    etc_dir.mkdir(parents=True, exist_ok=True)
    (etc_dir / "passwd").write_text(
        f"root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
        f"{_SANDBOX_USER}:x:{uid}:{uid}:{_SANDBOX_USER}:{workdir}:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (etc_dir / "group").write_text(f"root:x:0:\n{_SANDBOX_USER}:x:{uid}:\nnogroup:x:65534:\n")
    for name in ("passwd", "group"):
        (etc_dir / name).chmod(0o644)


@functools.cache
def _probe_cached(bwrap_path: str, root: bool, executable: str) -> tuple[bool, str]:
    if root and not shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin"):
        return False, "`setpriv` (util-linux) is missing; it is needed to leave uid 0"
    scratch = Path(tempfile.mkdtemp(prefix="course-lib-probe-"))
    try:
        work = scratch / "work"
        work.mkdir()
        uid = _pick_sandbox_uid() if root else None
        _write_etc(scratch / "etc", work, uid if uid is not None else os.getuid())
        if uid is not None:
            os.chown(work, uid, uid)
        env = _base_env(work, Limits(), None)
        code = "import os,sys; sys.stdout.write(str(os.getuid()))"
        argv = _bwrap_argv(
            bwrap_path, work, Limits(), env, (), scratch / "etc", uid, [executable, "-c", code]
        )
        try:
            done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"{type(exc).__name__}: {exc}"
        detail = done.stderr.decode(errors="replace").strip()[-2000:]
        if done.returncode != 0:
            return False, detail or f"exit status {done.returncode}"
        if uid is not None and done.stdout.decode().strip() != str(uid):
            return False, f"the sandbox did not run as uid {uid}: {done.stdout!r}"
        return True, detail
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def probe_bwrap(bwrap: str = "bwrap") -> tuple[bool, str]:
    """Check (once per process and binary) that bubblewrap can start the sandbox.

    The probe runs this interpreter in the same sandbox layout the kernel gets.

    Args:
        bwrap: Name or path of the bubblewrap binary.

    Returns:
        ``(True, "")`` when the sandbox works, else ``(False, reason)``.
    """
    path = shutil.which(bwrap)
    if path is None:
        return False, f"`{bwrap}` was not found on PATH"
    return _probe_cached(os.path.realpath(path), _is_root(), sys.executable)


# --------------------------------------------------------------------------- kernel


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.lchown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            try:
                os.lchown(os.path.join(dirpath, name), uid, gid)
            except OSError:
                pass


_STUB_CONTENT: dict[str, Callable[[str], dict[str, Any]]] = {
    "stream": lambda note: {"name": "stderr", "text": note},
    "display_data": lambda note: {"data": {"text/plain": note}, "metadata": {}},
    "update_display_data": lambda note: {"data": {"text/plain": note}, "metadata": {}},
    "execute_result": lambda note: {
        "data": {"text/plain": note},
        "metadata": {},
        "execution_count": None,
    },
    "error": lambda note: {"ename": "OutputTooLarge", "evalue": note, "traceback": []},
    "execute_reply": lambda note: {
        "status": "error",
        "ename": "OutputTooLarge",
        "evalue": note,
        "traceback": [],
        "execution_count": None,
    },
}


def _bounded_context() -> Any:
    """A zmq context whose sockets queue at most ``_ZMQ_RCVHWM`` received messages.

    zmq's default (1000 messages of any size) let a loop printing 50 MB strings queue
    gigabytes in the grader. With a short receive queue the backlog stays in the
    kernel's send queue (its own memory, under its own limit).
    """
    import zmq
    import zmq.asyncio

    context = zmq.asyncio.Context()
    context.setsockopt(zmq.RCVHWM, _ZMQ_RCVHWM)
    return context


def _ignored_message(reason: str) -> dict[str, Any]:
    """A message nbclient ignores (its parent is no request of ours)."""
    header = {"msg_id": "", "msg_type": "grader_ignored", "reason": reason[:500]}
    return {
        "header": header,
        "msg_id": "",
        "msg_type": "grader_ignored",
        "parent_header": {},
        "metadata": {},
        "content": {},
        "buffers": [],
    }


def _make_channel_class() -> type:
    from jupyter_client.channels import AsyncZMQSocketChannel

    class BoundedChannel(AsyncZMQSocketChannel):
        """A client channel that does not parse oversized or malformed kernel messages.

        A message above ``_MAX_MESSAGE_BYTES`` has its content replaced by a short note
        before JSON decoding (decoding a 1 GB print made the grader peak near 3 GB; now
        only the raw frames are held, briefly). A message that does not decode or whose
        signature is wrong is ignored instead of raising inside nbclient.
        """

        dropped = 0  # bytes of oversized messages replaced by notes

        async def _recv(self, **kwargs: Any) -> dict[str, Any]:
            # copy=False: the frames stay in zmq's buffers instead of being copied.
            frames = await self.socket.recv_multipart(copy=False)
            try:
                _, smsg = self.session.feed_identities(frames, copy=False)
                size = sum(len(frame) for frame in smsg)
                if size > _MAX_MESSAGE_BYTES:
                    return self.session.deserialize(self._stub(smsg, size))
                return self.session.deserialize(smsg, copy=False)
            except Exception as exc:
                return _ignored_message(f"{type(exc).__name__}: {exc}")

        def _stub(self, smsg: list[Any], size: int) -> list[bytes]:
            if len(smsg) < 5 or len(smsg[1]) > 65536 or len(smsg[2]) > 65536:
                raise ValueError(f"malformed or oversized message header ({size} bytes)")
            header, parent = smsg[1].bytes, smsg[2].bytes
            msg_type = json.loads(header).get("msg_type", "")
            note = (
                f"[grader] a {size}-byte {msg_type} message from the kernel was dropped "
                f"(limit {_MAX_MESSAGE_BYTES} bytes per message)\n"
            )
            content = _STUB_CONTENT.get(msg_type, lambda _note: {})(note)
            frames = [header, parent, b"{}", self.session.pack(content)]
            self.dropped += size
            return [self.session.sign(frames), *frames]

    return BoundedChannel


class _LogReader(threading.Thread):
    """Drains the kernel's stdout/stderr pipe, keeping only the last bytes."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True, name="sandbox-log")
        self.stream = stream
        self.chunks: deque[bytes] = deque()
        self.size = 0

    def run(self) -> None:
        try:
            while chunk := self.stream.read1(65536):
                self.chunks.append(chunk)
                self.size += len(chunk)
                while self.size > _LOG_KEEP and len(self.chunks) > 1:
                    self.size -= len(self.chunks.popleft())
        except (OSError, ValueError):
            pass

    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")[-_LOG_KEEP:]


class SandboxKernel:
    """An ipykernel running inside a bubblewrap sandbox, with resource limits.

    Use it as ``async with SandboxKernel(workdir) as sk:`` (then ``sk.km`` and
    ``sk.kc`` are the asynchronous kernel manager and client), or as a plain ``with``
    block, where :meth:`blocking_client` gives a synchronous client. Leaving the
    block kills the kernel and every process it started.

    Attributes:
        sandboxed: Whether the kernel runs in the sandbox (False: fallback without it).
        argv: The kernel's command line.
        uid: The private uid the sandbox runs as (root grader only), else None.
        killed_reason: Why the watchdog killed the sandbox, if it did.
        startup_seconds: Time from launch to the kernel answering ``kernel_info``.
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        *,
        limits: Limits | None = None,
        env: Mapping[str, str] | None = None,
        extra_ro_binds: Iterable[str | os.PathLike[str]] = (),
        bwrap: str = "bwrap",
        require_sandbox: bool = False,
        startup_timeout_s: float = 60,
    ) -> None:
        """Prepare (but do not start) a sandboxed kernel.

        Args:
            workdir: Existing, fresh directory: the kernel's cwd and HOME, the only
                writable place it sees. Create it outside any instructor folder.
            limits: Resource limits (defaults of :class:`Limits`).
            env: Extra environment variables for the kernel (e.g. ``COURSE_LIB_FAST``);
                nothing else of the grader's environment reaches it.
            extra_ro_binds: Directories bound read-only at their own path, e.g. the
                ``course_lib`` package directory of an editable install.
            bwrap: Name or path of the bubblewrap binary.
            require_sandbox: Raise :class:`SandboxError` instead of falling back to an
                unsandboxed kernel when bubblewrap does not work.
            startup_timeout_s: Seconds the kernel has to answer its first request.

        Raises:
            SandboxError: ``workdir`` or an ``extra_ro_binds`` entry is not a directory.
        """
        self.workdir = Path(workdir).resolve()
        if not self.workdir.is_dir():
            raise SandboxError(
                f"work directory {self.workdir} does not exist; create a fresh one "
                "(e.g. tempfile.mkdtemp()) outside any instructor folder."
            )
        self.limits = limits or Limits()
        self.extra_env = dict(env or {})
        self.extra_ro_binds = []
        for entry in extra_ro_binds:
            path = Path(entry).resolve()
            if not path.exists():
                raise SandboxError(f"extra_ro_binds entry {path} does not exist")
            if path == Path("/"):
                raise SandboxError("extra_ro_binds must not contain '/': it would expose the host")
            self.extra_ro_binds.append(path)
        self.bwrap = bwrap
        self.require_sandbox = require_sandbox
        self.startup_timeout_s = startup_timeout_s
        self.sandboxed = False
        self.argv: list[str] = []
        self.uid: int | None = None
        self.killed_reason: str | None = None
        self.startup_seconds = 0.0
        self.km: Any = None
        self.kc: Any = None
        self._token = secrets.token_hex(16)
        self._spec_dir: Path | None = None
        self._log: _LogReader | None = None
        self._watchdog: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._known: dict[int, int] = {}  # pid -> start time of sandbox processes seen
        self._owner: tuple[int, int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: Any = None

    # ------------------------------------------------------------------ plan

    def _plan(self) -> _Plan:
        env = _base_env(self.workdir, self.limits, self.extra_env)
        ok, detail = probe_bwrap(self.bwrap)
        if ok:
            uid = _pick_sandbox_uid() if _is_root() else None
            return _Plan(True, env, uid)
        message = (
            f"bubblewrap failed to start: {detail}; install it with `apt-get install "
            "bubblewrap` (and allow user namespaces), or pass require_sandbox=False "
            "knowingly (--no-sandbox)."
        )
        if self.require_sandbox:
            raise SandboxError(message)
        uid = self._fallback_uid()
        who = (
            f"as the unprivileged uid {uid}, so it cannot read files only root may read"
            if uid is not None
            else "as the grader's own user, so it can read the grader's files"
        )
        warnings.warn(
            "RUNNING STUDENT CODE WITHOUT A SANDBOX: " + message + f" The kernel runs {who}, "
            "and can use the network; only resource limits apply.",
            SandboxUnavailableWarning,
            stacklevel=3,
        )
        env[_TOKEN_VAR] = self._token
        return _Plan(False, env, uid)

    def _fallback_uid(self) -> int | None:
        """Without bubblewrap, a root grader still drops the kernel to a private uid when
        that uid can run the interpreter and read the bound folders (e.g. a venv outside
        /root, as in a Gradescope container); None: it cannot, the kernel runs as the
        grader."""
        if not _is_root() or not shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin"):
            return None
        needed = [*_interpreter_paths(), *self.extra_ro_binds]
        if not all(_open_to_others(path) for path in needed):
            return None
        if not all(folder.stat().st_mode & 0o001 for folder in self.workdir.parents):
            return None  # the uid could not enter its own work directory
        try:
            return _pick_sandbox_uid()
        except SandboxError:
            return None

    def _fallback_nproc(self) -> int | None:
        if self.uid is not None:
            return self.limits.max_processes  # a fresh uid owns no other process
        if _is_root():
            return None  # root ignores RLIMIT_NPROC; the watchdog counts instead
        uid = os.getuid()
        mine = sum(p.threads for p in _proc_table().values() if p.uid == uid)
        return mine + self.limits.max_processes

    # ------------------------------------------------------------------ start / stop

    async def start(self) -> None:
        """Launch the kernel and wait until it answers.

        Raises:
            SandboxError: the kernel did not start (the message holds its stderr), or
                bubblewrap is unavailable and ``require_sandbox`` is set.
        """
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import AsyncKernelManager

        plan = self._plan()
        self.sandboxed = plan.sandboxed
        self.uid = plan.uid
        self._spec_dir = Path(tempfile.mkdtemp(prefix="course-lib-sandbox-"))
        kernel_dir = self.workdir / ".kernel"
        kernel_dir.mkdir(exist_ok=True)
        ip = str(kernel_dir / "k")
        if len(ip) + 7 > _UNIX_PATH_MAX:
            raise SandboxError(
                f"work directory path is too long for IPC sockets ({len(ip)} bytes > "
                f"{_UNIX_PATH_MAX - 7}): use a shorter path such as tempfile.mkdtemp()."
            )
        command = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        command.append("--HistoryManager.enabled=False")
        if self.sandboxed:
            sandbox_uid = self.uid if self.uid is not None else os.getuid()
            _write_etc(self._spec_dir / "etc", self.workdir, sandbox_uid)
            self.argv = _bwrap_argv(
                shutil.which(self.bwrap) or self.bwrap,
                self.workdir,
                self.limits,
                plan.env,
                self.extra_ro_binds,
                self._spec_dir / "etc",
                self.uid,
                command,
            )
            launch_env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
        else:
            self.argv = _rlimit_prefix(self.limits, self._fallback_nproc()) + command
            if self.uid is not None:
                setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
                drop = [str(setpriv), "--reuid", str(self.uid), "--regid", str(self.uid)]
                drop += ["--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"]
                self.argv = drop + self.argv
            launch_env = plan.env
        spec = {
            "argv": self.argv,
            "display_name": "course_lib sandbox",
            "language": "python",
            "interrupt_mode": "message",
            "metadata": {"debugger": False},
        }
        spec_path = self._spec_dir / "kernels" / KERNEL_NAME / "kernel.json"
        spec_path.parent.mkdir(parents=True)
        spec_path.write_text(json.dumps(spec))

        self.km = AsyncKernelManager(
            kernel_name=KERNEL_NAME,
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(self._spec_dir / "kernels")]),
            transport="ipc",
            ip=ip,
            connection_file=str(kernel_dir / "connection.json"),
        )
        self.km.write_connection_file()
        if self.uid is not None:
            st = self.workdir.stat()
            self._owner = (st.st_uid, st.st_gid)
            _chown_tree(self.workdir, self.uid, self.uid)

        started = time.monotonic()
        try:
            await self.km.start_kernel(
                cwd=str(self.workdir),
                env=launch_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            process = self.km.provisioner.process
            self._log = _LogReader(process.stdout)
            self._log.start()
            self._watchdog = threading.Thread(target=self._watch, daemon=True, name="sandbox-dog")
            self._watchdog.start()
            channel = _make_channel_class()
            self._context = _bounded_context()
            self.kc = self.km.client(
                context=self._context, iopub_channel_class=channel, shell_channel_class=channel
            )
            self.kc.start_channels()
            await self.kc.wait_for_ready(timeout=self.startup_timeout_s)
        except (RuntimeError, TimeoutError, OSError) as exc:
            log = self.log_text()
            hint = (
                "bubblewrap started but the kernel did not come up"
                if self.sandboxed
                else "the unsandboxed kernel did not come up"
            )
            raise SandboxError(
                f"{hint}: {exc}.\nKernel output:\n{log or '(none)'}\nCheck that ipykernel is "
                "installed in this interpreter and, for the sandbox, that every path it "
                "imports from is bound (extra_ro_binds)."
            ) from exc
        self.startup_seconds = time.monotonic() - started

    def log_text(self) -> str:
        """The last bytes the kernel (and bwrap) wrote to stdout/stderr."""
        return self._log.text() if self._log else ""

    @property
    def pid(self) -> int | None:
        """Pid of the launched process (bwrap, or the kernel when unsandboxed)."""
        provisioner = getattr(self.km, "provisioner", None)
        return getattr(provisioner, "pid", None)

    def processes(self) -> dict[int, _Proc]:
        """Processes of the sandbox that exist now (seen from the grader)."""
        table = _proc_table()
        pids: set[int] = set()
        if self.pid is not None:
            pids |= _descendants(table, self.pid)
        if self.uid is not None:
            pids |= {p.pid for p in table.values() if p.uid == self.uid}
        found = {pid: table[pid] for pid in pids}
        with self._lock:
            for proc in found.values():
                self._known[proc.pid] = proc.start
        return found

    def kill(self, reason: str | None = None) -> None:
        """SIGKILL the sandbox: its pid namespace's init first, then everything seen."""
        with self._lock:
            if reason and self.killed_reason is None:
                self.killed_reason = reason
        procs = self.processes()
        if self.pid is not None:
            inits = [p.pid for p in procs.values() if p.ppid == self.pid]
            _kill(inits)
            _kill([self.pid])
        _kill(procs)

    def _watch(self) -> None:
        limit = self.limits.memory_mb * 2**20
        while not self._stop.wait(0.25):
            procs = self.processes()
            if not procs:
                continue
            # Resident sizes count pages shared after fork() once per process; only when
            # their sum is over the limit is the (slower) proportional size summed.
            if sum(p.rss_bytes for p in procs.values()) > limit:
                pss = sum(_pss_bytes(p) for p in procs.values())
                if pss > limit:
                    self.kill(
                        f"memory limit: the sandbox's processes used {pss / 2**20:.0f} MiB "
                        f"together, more than {self.limits.memory_mb} MiB"
                    )
                    continue
            if not self.sandboxed:
                tasks = sum(p.threads for p in procs.values())
                if tasks > self.limits.max_processes:
                    self.kill(
                        f"process limit: {tasks} processes and threads, more than "
                        f"{self.limits.max_processes}"
                    )

    def death_reason(self) -> str:
        """Why the kernel is gone: the watchdog's reason, or its exit status."""
        if self.killed_reason:
            return self.killed_reason
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        return f"kernel died (exit status {code})" if code is not None else "kernel died"

    async def stop(self) -> None:
        """Kill the kernel and everything it started; release the sockets and files."""
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
        if self._context is not None:
            self._context.destroy(linger=0)
            self._context = None
        if self.km is not None and self.km.has_kernel:
            self.kill()
            try:
                await self.km.shutdown_kernel(now=True)
            except Exception:
                pass
        try:
            await self._reap()
        finally:
            if self.km is not None:
                try:
                    await self.km.cleanup_resources()
                except Exception:
                    pass
            if self._owner is not None:
                _chown_tree(self.workdir, *self._owner)
                self._owner = None
            if self._spec_dir is not None:
                shutil.rmtree(self._spec_dir, ignore_errors=True)
                self._spec_dir = None

    async def _reap(self, timeout: float = 10) -> None:
        """Wait until no process of the sandbox is left; kill stragglers."""
        deadline = time.monotonic() + timeout
        while True:
            left = self._leftovers()
            if not left:
                return
            _kill(left)
            if time.monotonic() > deadline:
                raise SandboxError(
                    f"processes {sorted(left)} of the sandbox survived SIGKILL for {timeout} s; "
                    "they may be stuck in the kernel (D state). Check `ps -o pid,stat,cmd`."
                )
            await asyncio.sleep(0.02)

    def _leftovers(self) -> set[int]:
        left: set[int] = set()
        with self._lock:
            known = dict(self._known)
        for pid, start in known.items():
            proc = _read_proc(pid)
            if proc is not None and proc.start == start and not _is_zombie(pid):
                left.add(pid)
        table = _proc_table()
        if self.uid is not None:
            left |= {p.pid for p in table.values() if p.uid == self.uid and not _is_zombie(p.pid)}
        if not self.sandboxed:
            token = f"{_TOKEN_VAR}={self._token}".encode()
            left |= {
                pid
                for pid in table
                if pid != os.getpid() and _has_token(pid, token) and not _is_zombie(pid)
            }
        return left

    # ------------------------------------------------------------------ protocols

    async def __aenter__(self) -> SandboxKernel:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __enter__(self) -> SandboxKernel:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self.start())
        except BaseException:
            self._loop.close()
            self._loop = None
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        try:
            self._loop.run_until_complete(self.stop())
        finally:
            self._loop.close()
            self._loop = None

    def blocking_client(self) -> Any:
        """A started synchronous ``BlockingKernelClient`` on the kernel (for ``with`` use)."""
        if self.km is None:
            raise SandboxError("the kernel is not started: use SandboxKernel in a with block")
        client = self.km.blocking_client()
        client.start_channels()
        return client


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] in (b"Z", b"X")


# --------------------------------------------------------------------------- execution


@dataclass
class CellRecord:
    """What happened to one code cell.

    Attributes:
        index: Position of the cell in the notebook.
        cell_id: The cell's ``id`` (nbformat >= 4.5), if any.
        grade_id: ``metadata.nbgrader.grade_id``, if any.
        status: ``"ok"``, ``"error"`` (raised), ``"timeout"`` (interrupted after the
            cell or notebook time limit), ``"dead"`` (the kernel was gone),
            ``"skipped"`` (not run: notebook time limit) or ``"omitted"`` (not run: the
            caller asked, e.g. a cell marked not needed for grading).
        seconds: Wall-clock time spent on the cell.
        outputs: The cell's outputs after the output cap (nbformat output nodes).
        ename: Exception class name, for ``"error"``.
        evalue: Exception message (clipped), for ``"error"``.
        traceback: Plain-text traceback, clipped to a few KB, for ``"error"``.
        reason: Why the cell did not finish normally (timeout, dead, skipped).
        output_truncated: Whether outputs of this cell were clipped or dropped.
    """

    index: int
    cell_id: str | None
    grade_id: str | None
    status: str
    seconds: float = 0.0
    outputs: list[Any] = field(default_factory=list)
    ename: str | None = None
    evalue: str | None = None
    traceback: str | None = None
    reason: str | None = None
    output_truncated: bool = False


@dataclass
class ExecutionResult:
    """A notebook run in the sandbox.

    Attributes:
        cells: One record per code cell, in notebook order.
        sandboxed: Whether the kernel ran in the sandbox; record it with the grade.
        seconds: Wall-clock time of the whole run, start and teardown included.
        startup_seconds: Time for the kernel to come up.
        death_reason: Why the kernel died, if it did.
        output_bytes: Size of the outputs kept.
        dropped_output_bytes: Size of the outputs dropped by the cap.
        notes: Things the grader should know (truncation, kills...).
        notebook: The executed copy of the notebook (the input is not modified).
    """

    cells: list[CellRecord]
    sandboxed: bool
    seconds: float
    startup_seconds: float
    death_reason: str | None
    output_bytes: int
    dropped_output_bytes: int
    notes: list[str]
    notebook: nbformat.NotebookNode

    def counts(self) -> dict[str, int]:
        """Number of cells per status."""
        out = dict.fromkeys(("ok", "error", "timeout", "dead", "skipped", "omitted"), 0)
        for record in self.cells:
            out[record.status] += 1
        return out

    def by_grade_id(self, grade_id: str) -> CellRecord:
        """The record of the cell with this nbgrader ``grade_id``.

        Raises:
            KeyError: no code cell has that grade_id.
        """
        for record in self.cells:
            if record.grade_id == grade_id:
                return record
        raise KeyError(f"no code cell with grade_id {grade_id!r} in the executed notebook")


def _text_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, list):
        return sum(_text_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_text_size(k) + _text_size(v) for k, v in value.items())
    return len(str(value))


def _output_size(out: Mapping[str, Any]) -> int:
    kind = out.get("output_type")
    if kind == "stream":
        return _text_size(out.get("text", ""))
    if kind == "error":
        return _text_size([out.get("ename", ""), out.get("evalue", ""), out.get("traceback", [])])
    return _text_size(out.get("data", {})) + _text_size(out.get("metadata", {}))


def _clip(text: str, limit: int) -> str:
    return text.encode("utf-8", "surrogatepass")[: max(limit, 0)].decode("utf-8", "ignore")


def _plain_traceback(lines: list[str]) -> str:
    text = _ANSI.sub("", "\n".join(lines))
    if len(text) <= _TRACEBACK_HEAD + _TRACEBACK_TAIL:
        return text
    cut = len(text) - _TRACEBACK_HEAD - _TRACEBACK_TAIL
    return f"{text[:_TRACEBACK_HEAD]}\n[... {cut} characters cut ...]\n{text[-_TRACEBACK_TAIL:]}"


def _coalesce_streams(outputs: list[Any]) -> list[Any]:
    """Merge stream outputs by name (as nbclient does) and apply carriage returns.

    nbclient's own version runs a regex that is quadratic in the length of a line, so
    one long printed line would hang the grader; this one is linear.
    """
    merged: list[Any] = []
    streams: dict[str, Any] = {}
    for output in outputs:
        if output.get("output_type") != "stream":
            merged.append(output)
        elif output["name"] in streams:
            streams[output["name"]]["text"] += output["text"]
        else:
            streams[output["name"]] = output
            merged.append(output)
    for output in streams.values():
        if "\r" in output["text"]:
            lines = output["text"].split("\n")
            for i, line in enumerate(lines):
                kept = line.rstrip("\r")
                if "\r" in kept:
                    lines[i] = line[kept.rindex("\r") + 1 :]
            output["text"] = "\n".join(lines)
    return merged


def _make_client(nb: nbformat.NotebookNode, km: Any, kc: Any, cap: int) -> Any:
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """nbclient with a cap on kept output bytes and no widget-state storage."""

        def __init__(self) -> None:
            super().__init__(
                nb,
                km=km,
                allow_errors=True,
                interrupt_on_timeout=False,
                record_timing=False,
                coalesce_streams=False,  # its \r regex is quadratic on long lines
                store_widget_state=False,
                skip_cells_with_tag=f"never-skip-{secrets.token_hex(8)}",
            )
            self.kc = kc
            self.cap = cap
            self.floor = min(cap, _CELL_OUTPUT_FLOOR)
            self.kept = 0  # bytes of outputs kept in the notebook so far
            self.before_cell = 0
            self.dropped = 0
            self.truncated = False
            self.reply: dict[str, Any] | None = None
            self.on_cell_executed = self._store_reply

        def _store_reply(self, **kwargs: Any) -> None:
            self.reply = kwargs.get("execute_reply")

        def begin_cell(self) -> None:
            self.before_cell = self.kept
            self.truncated = False
            self.reply = None

        def _drop(self, size: int) -> None:
            self.dropped += size
            self.truncated = True

        def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
            if self.clear_before_next_output:
                self.kept = self.before_cell
            out = super().output(outs, msg, display_id, cell_index)
            if out is None:
                return None
            size = _output_size(out)
            # Past the notebook's cap, each cell still keeps its first bytes: a flood in
            # one cell must not erase the observations printed by later (graded) cells.
            room = max(self.cap - self.kept, self.floor - (self.kept - self.before_cell))
            if size <= room:
                self.kept += size
                return out
            if out.get("output_type") == "stream" and room > 0:
                out["text"] = _clip(out["text"], room)
                kept = _text_size(out["text"])
                self.kept += kept
                self._drop(size - kept)
                return out
            # Drop it: it was appended last, and registered last under its display_id.
            if outs and outs[-1] is out:
                outs.pop()
                if display_id:
                    indices = self._display_id_map.get(display_id, {}).get(cell_index, [])
                    if indices:
                        indices.pop()
            self._drop(size)
            return None

        def coalesce(self, cell: Any, cell_index: int) -> None:
            """Merge the cell's streams; keep display_id indices pointing at their outputs."""
            old = list(cell.get("outputs", []))
            cell.outputs = _coalesce_streams(old)
            where = {id(output): i for i, output in enumerate(cell.outputs)}
            for cells in self._display_id_map.values():
                if cell_index in cells:
                    cells[cell_index] = [
                        where[id(old[i])]
                        for i in cells[cell_index]
                        if i < len(old) and id(old[i]) in where
                    ]

        def clear_output(self, outs: list, msg: dict, cell_index: int) -> None:
            super().clear_output(outs, msg, cell_index)
            if not outs:
                self.kept = self.before_cell

        def _update_display_id(self, display_id: str, msg: dict) -> None:
            # An update replaces the data of every output shown with this display_id.
            content = msg.get("content", {})
            new = _text_size(content.get("data", {})) + _text_size(content.get("metadata", {}))
            delta = 0
            for cell_idx, indices in self._display_id_map.get(display_id, {}).items():
                outputs = self.nb.cells[cell_idx].get("outputs", [])
                for i in indices:
                    if i < len(outputs):
                        delta += new - _output_size(outputs[i])
            if delta > max(self.cap - self.kept, 0):
                self._drop(new)
                return
            super()._update_display_id(display_id, msg)
            self.kept += delta

        def handle_comm_msg(self, outs: list, msg: dict, cell_index: int) -> None:
            return None  # widget state is not graded; storing it would be unbounded

    return CappedClient()


async def _recover(sk: SandboxKernel, budget: float) -> bool:
    """Interrupt the kernel and wait for it to take requests again."""
    from queue import Empty

    try:
        await sk.km.interrupt_kernel()
    except Exception:
        return False
    msg_id = sk.kc.execute("", silent=True, store_history=False)
    deadline = time.monotonic() + budget
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            msg = await sk.kc.shell_channel.get_msg(timeout=min(remaining, 0.5))
        except (Empty, queue.Empty, TimeoutError):
            if not await sk.km.is_alive():
                return False
            continue
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return True
    return False


def _channel_dropped(sk: SandboxKernel) -> int:
    """Bytes of oversized kernel messages the client channels replaced by notes."""
    return sum(
        getattr(getattr(sk.kc, name, None), "dropped", 0)
        for name in ("_iopub_channel", "_shell_channel")
    )


async def _run_cell(
    sk: SandboxKernel,
    client: Any,
    cell: nbformat.NotebookNode,
    record: CellRecord,
    count: int,
    timeout: float,
    limits: Limits,
    interrupt_grace_s: float,
    notes: list[str],
) -> str | None:
    """Run one cell, filling ``record`` (and ``notes``); return why the kernel is gone."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client.timeout_func = lambda _cell: timeout
    client.begin_cell()
    dropped_before = _channel_dropped(sk)
    t0 = time.monotonic()
    dead_reason = None
    try:
        await client.async_execute_cell(cell, record.index, execution_count=count)
    except CellTimeoutError:
        by_notebook = timeout < limits.cell_timeout_s
        record.status = "timeout"
        record.reason = (
            f"notebook time limit ({limits.notebook_timeout_s:g} s)"
            if by_notebook
            else f"cell time limit ({limits.cell_timeout_s:g} s)"
        )
        if not by_notebook and not await _recover(sk, interrupt_grace_s):
            dead_reason = "kernel did not respond after the timeout interrupt; it was killed"
            sk.kill(dead_reason)
    except DeadKernelError:
        record.status = "dead"
        await asyncio.sleep(0.05)  # let the watchdog's reason land first
        dead_reason = record.reason = sk.death_reason()
    except Exception as exc:  # whatever the kernel sent, the grader must go on
        record.status = "dead"
        dead_reason = record.reason = (
            f"the grader could not drive the kernel ({type(exc).__name__}: {str(exc)[:300]}); "
            "it was killed"
        )
        sk.kill(dead_reason)
    else:
        reply = (client.reply or {}).get("content", {})
        if reply.get("status") == "error":
            record.status = "error"
            record.ename = str(reply.get("ename", ""))[:_EVALUE_MAX]
            record.evalue = str(reply.get("evalue", ""))[:_EVALUE_MAX]
            record.traceback = _plain_traceback([str(x) for x in reply.get("traceback", [])])
    record.seconds = time.monotonic() - t0
    client.coalesce(cell, record.index)
    stubbed = _channel_dropped(sk) - dropped_before
    client.dropped += stubbed
    record.output_truncated = client.truncated or stubbed > 0
    if record.output_truncated:
        note = (
            f"output truncated: the notebook's outputs passed the cap of "
            f"{limits.max_output_bytes} bytes; {client.dropped} bytes dropped so far"
        )
        cell.outputs.append(
            nbformat.v4.new_output("stream", name="stderr", text=f"[grader] {note}\n")
        )
        notes.append(f"cell {record.index}: {note}")
    return dead_reason


async def async_execute_notebook(
    nb: nbformat.NotebookNode,
    workdir: str | os.PathLike[str],
    *,
    limits: Limits | None = None,
    env: Mapping[str, str] | None = None,
    extra_ro_binds: Iterable[str | os.PathLike[str]] = (),
    on_cell: Callable[[CellRecord], None] | None = None,
    bwrap: str = "bwrap",
    require_sandbox: bool = False,
    interrupt_grace_s: float = 10,
    omit: Collection[int] = (),
) -> ExecutionResult:
    """Asynchronous :func:`execute_notebook`; same arguments and result."""
    limits = limits or Limits()
    nb = copy.deepcopy(nb)
    started = time.monotonic()
    deadline = started + limits.notebook_timeout_s
    records: list[CellRecord] = []
    notes: list[str] = []
    dead_reason: str | None = None

    async with SandboxKernel(
        workdir,
        limits=limits,
        env=env,
        extra_ro_binds=extra_ro_binds,
        bwrap=bwrap,
        require_sandbox=require_sandbox,
    ) as sk:
        client = _make_client(nb, sk.km, sk.kc, limits.max_output_bytes)
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            record = CellRecord(index, cell.get("id"), grade_id, "ok")
            remaining = deadline - time.monotonic()
            if dead_reason is not None:
                record.status, record.reason = "dead", dead_reason
            elif index in omit:
                record.status, record.reason = "omitted", OMITTED_REASON
            elif remaining <= 0:
                record.status, record.reason = "skipped", "notebook time limit"
            else:
                count += 1
                timeout = min(limits.cell_timeout_s, remaining)
                dead_reason = await _run_cell(
                    sk, client, cell, record, count, timeout, limits, interrupt_grace_s, notes
                )
            if record.status in ("dead", "skipped", "omitted"):
                cell.outputs = []
                cell.execution_count = None
            record.outputs = list(cell.get("outputs", []))
            records.append(record)
            if on_cell is not None:
                on_cell(record)
        if sk.killed_reason:
            notes.append(f"sandbox killed: {sk.killed_reason}")
        if not sk.sandboxed:
            notes.append("ran WITHOUT the sandbox (bubblewrap unavailable)")
        startup = sk.startup_seconds
        sandboxed = sk.sandboxed
        kept, dropped = client.kept, client.dropped

    return ExecutionResult(
        cells=records,
        sandboxed=sandboxed,
        seconds=time.monotonic() - started,
        startup_seconds=startup,
        death_reason=dead_reason,
        output_bytes=kept,
        dropped_output_bytes=dropped,
        notes=notes,
        notebook=nb,
    )


def execute_notebook(
    nb: nbformat.NotebookNode,
    workdir: str | os.PathLike[str],
    *,
    limits: Limits | None = None,
    env: Mapping[str, str] | None = None,
    extra_ro_binds: Iterable[str | os.PathLike[str]] = (),
    on_cell: Callable[[CellRecord], None] | None = None,
    bwrap: str = "bwrap",
    require_sandbox: bool = False,
    interrupt_grace_s: float = 10,
    omit: Collection[int] = (),
) -> ExecutionResult:
    """Run every code cell of ``nb`` in a fresh sandboxed kernel; never stop at an error.

    Each cell runs in order with the per-cell timeout; an error is recorded and the
    next cell runs. After a timeout the kernel is interrupted and must answer within
    ``interrupt_grace_s`` or it is killed. Once the kernel is gone (``os._exit``,
    memory limit, killed) the remaining cells are recorded ``"dead"`` with the
    reason; after the notebook deadline they are ``"skipped"``. When this returns,
    no process the student started is left.

    Args:
        nb: The notebook (not modified; the executed copy is in the result).
        workdir: Fresh directory: the kernel's cwd and HOME, and all it can write.
        limits: Resource limits.
        env: Extra environment for the kernel, e.g. ``{"COURSE_LIB_FAST": "1"}``.
        extra_ro_binds: Directories bound read-only at their own path (e.g. the
            ``course_lib`` package directory of an editable install).
        on_cell: Called with each :class:`CellRecord` as soon as it is known.
        bwrap: Name or path of bubblewrap.
        require_sandbox: Raise instead of running unsandboxed when bwrap fails.
        interrupt_grace_s: Seconds the kernel has to recover from an interrupt.
        omit: Positions (in ``nb.cells``) of code cells not to run; each is recorded
            ``"omitted"``.

    Returns:
        The per-cell records, totals and whether the run was sandboxed.

    Raises:
        SandboxError: the kernel could not be started (not the student's fault).
    """
    coro = async_execute_notebook(
        nb,
        workdir,
        limits=limits,
        env=env,
        extra_ro_binds=extra_ro_binds,
        on_cell=on_cell,
        bwrap=bwrap,
        require_sandbox=require_sandbox,
        interrupt_grace_s=interrupt_grace_s,
        omit=omit,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from a running loop (e.g. a notebook): run in a thread with its own loop.
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=runner, name="sandbox-execute")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
