"""The sandboxed Jupyter kernel (:class:`SandboxKernel`) and its watchdog.

Part of :mod:`course_lib.instructor.grading.sandbox`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from course_lib.instructor.grading.sandbox.limits import (
    _LOG_KEEP,
    _MAX_MESSAGE_BYTES,
    _TOKEN_VAR,
    _UNIX_PATH_MAX,
    _ZMQ_RCVHWM,
    KERNEL_NAME,
    Limits,
    SandboxError,
    SandboxUnavailableWarning,
)
from course_lib.instructor.grading.sandbox.plan import (
    _base_env,
    _bwrap_argv,
    _interpreter_paths,
    _is_root,
    _open_to_others,
    _pick_sandbox_uid,
    _Plan,
    _rlimit_prefix,
    _write_etc,
    probe_bwrap,
)
from course_lib.instructor.grading.sandbox.processes import (
    _descendants,
    _has_token,
    _kill,
    _Proc,
    _proc_table,
    _pss_bytes,
    _read_proc,
)


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
