"""What the host allows: bubblewrap's command line, the sandbox uid, the fallback.

Part of :mod:`course_lib.instructor.grading.sandbox`.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from course_lib.instructor.grading.sandbox.limits import (
    _NICE,
    _RLIMIT_LAUNCHER,
    _SANDBOX_USER,
    _THREAD_VARS,
    Limits,
    SandboxError,
)


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
