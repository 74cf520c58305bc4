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

from course_lib.instructor.grading.sandbox.execution import (
    CellRecord,
    ExecutionResult,
    async_execute_notebook,
    execute_notebook,
)
from course_lib.instructor.grading.sandbox.kernel import (
    SandboxKernel,
)
from course_lib.instructor.grading.sandbox.limits import (
    Limits,
    SandboxError,
    SandboxUnavailableWarning,
)
from course_lib.instructor.grading.sandbox.plan import (
    probe_bwrap,
)

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
