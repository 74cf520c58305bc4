"""Executing a notebook in a fresh sandboxed kernel (:func:`execute_notebook`).

Part of :mod:`course_lib.instructor.grading.sandbox`.
"""

from __future__ import annotations

import asyncio
import copy
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import nbformat

from course_lib.instructor.grading.sandbox.kernel import (
    SandboxKernel,
)
from course_lib.instructor.grading.sandbox.limits import (
    _ANSI,
    _CELL_OUTPUT_FLOOR,
    _EVALUE_MAX,
    _TRACEBACK_HEAD,
    _TRACEBACK_TAIL,
    OMITTED_REASON,
    Limits,
)


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
        visible_outputs: How many of ``outputs`` (the first) are the cell's visible part's,
            when the grader ran its hidden tests as a cell of their own; None: all of them.
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
    visible_outputs: int | None = None


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
