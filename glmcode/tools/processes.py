"""Background commands of one session: started, read piece by piece, stopped, and never left behind.

`run_shell` with `background: true` starts a command here and returns at once; `shell_output`
reads what it printed since the last read, `shell_stop` stops it. Each command runs in its own
process group (`glmcode.tools.spawn`) and carries the session's process mark in its
environment; `BackgroundProcesses.close` — called by `Session.close`, and at interpreter exit for
any registry still open — stops every group and every process carrying the session's mark
(those that left their group: `setsid`, daemons, `nohup … & disown`; the session's foreground
commands' leftovers too): SIGTERM, then SIGKILL after `KILL_GRACE_S`. If glmcode is killed
outright, the kernel kills each command's shell (parent-death signal); processes that shell
forked are beyond reach then (see `spawn`).

Memory is bounded whatever a command prints for however long: the output not yet read is held
in an `output_budget.HeadTail` of the session's output budget (its head and tail, the middle
counted in a note), and each read starts a fresh one. The whole unread output is also kept, in a
temporary file once it is long (up to `output_budget.SAVED_MAX_CHARS`), so a read that has to
cut it saves it whole for the call (`read_text`), like a foreground command's.
"""

from __future__ import annotations

import atexit
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from glmcode import output_budget
from glmcode.output_budget import HeadTail
from glmcode.tools import saved_outputs
from glmcode.tools.spawn import (
    POLL_S,
    group_alive,
    marked_pids,
    new_mark,
    read_all,
    signal_group,
    signal_marked,
    spawn,
    stop_marked,
)

KILL_GRACE_S = 2.0
"""Time between SIGTERM and SIGKILL when stopping background commands (all at once at close)."""
MAX_RUNNING = 16
"""Background commands that may run at the same time in one session."""
MAX_KEPT = 64
"""Background commands remembered (running or finished); the oldest finished ones are forgotten first."""


class ProcessError(Exception):
    """A background command cannot be started, found or read; the message is for the model."""


class _Unread:
    """Output printed and not yet read: a `HeadTail` swapped for a fresh one at each read.

    Fed by the reader thread, read by tool calls: everything goes through one condition.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._kept = HeadTail(limit, keep_full=True)
        self.changed = threading.Condition()
        self.total_chars = 0
        """Characters the command printed in all."""
        self.closed = False
        """True once the output pipe reached end-of-file (or reading stopped)."""

    def add(self, piece: str) -> None:
        if not piece:
            return
        with self.changed:
            self._kept.add(piece)
            self.total_chars += len(piece)
            self.changed.notify_all()

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def pending(self) -> int:
        """Characters printed since the last `take`."""
        with self.changed:
            return self._kept.total_chars

    def take(self) -> HeadTail:
        """What was printed since the last take (cut to the limit, the whole kept too: `read_text`);
        the next one starts empty."""
        with self.changed:
            kept, self._kept = self._kept, HeadTail(self._limit, keep_full=True)
            return kept


@dataclass
class BackgroundProcess:
    """One command started in the background."""

    id: str
    """`bg1`, `bg2`, ...: what the model passes to `shell_output` and `shell_stop`."""
    command: str
    proc: subprocess.Popen[bytes]
    """`proc.pid` is also the process group id."""
    output: _Unread
    mark: str = ""
    """The process mark of the command and everything it starts (`glmcode.tools.spawn`)."""
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    """When the shell exited (monotonic seconds), as its follower thread or a poll saw it first."""
    reader: threading.Thread = field(init=False)
    """Reads the output to its end, then waits for the shell to record when it exited."""

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self._follow, name=f"glmcode-{self.id}", daemon=True)

    def _follow(self) -> None:
        assert self.proc.stdout is not None
        try:
            read_all(self.proc.stdout.fileno(), self.output, threading.Event())
        finally:
            self.proc.stdout.close()
            self.output.close()
        self.proc.wait()
        self.exit_code  # noqa: B018 -- records when it ended
    stopped: bool = False
    """True when glmcode stopped it (`shell_stop`, session end), not when it exited on its own."""

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def exit_code(self) -> int | None:
        """The shell's exit code (negative: killed by that signal), None while it runs."""
        code = self.proc.poll()
        if code is not None and self.ended is None:
            self.ended = time.monotonic()
        return code

    @property
    def running(self) -> bool:
        return self.exit_code is None

    def status(self) -> str:
        """`running for 12.3 s (pid 4242)`, `exited with code 1 after 2.0 s`,
        `stopped after 5.1 s (killed by SIGTERM)`."""
        code = self.exit_code
        if code is None:
            return f"running for {time.monotonic() - self.started:.1f} s (pid {self.pid})"
        after = f"after {(self.ended or time.monotonic()) - self.started:.1f} s"
        how = ""
        if code < 0:
            try:
                how = f" (killed by {signal.Signals(-code).name})"
            except ValueError:
                how = f" (killed by signal {-code})"
        if self.stopped:
            return f"stopped {after}{how}"
        return f"exited with code {code} {after}{how}"

    def wait_for_output(self, timeout: float, cancel: threading.Event | None = None) -> None:
        """Block until unread output is there, the command has exited, `cancel` is set, or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        with self.output.changed:
            while not self.output.pending() and self.running and not (cancel and cancel.is_set()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.output.changed.wait(min(POLL_S, remaining))

    def settle(self, timeout: float) -> None:
        """Block until the command has exited and its output is read to the end, or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.running or self.reader.is_alive()):
            self.reader.join(min(POLL_S, max(0.0, deadline - time.monotonic())))

    def read(self) -> tuple[str, int]:
        """(the output since the last read, cut to the budget with a note; how many characters that was)."""
        kept = self.output.take()
        return read_text(kept), kept.total_chars


class BackgroundProcesses:
    """The background commands of one session (`ToolContext.processes`); `close` stops them all.

    Safe to use from several threads. A registry that started a command and was never closed is
    closed at interpreter exit (`atexit`), so even an exception that skips `Session.close`, or a
    registry dropped on the floor, leaves no command running.
    """

    def __init__(self) -> None:
        self.scope = new_mark()
        """The session's process mark: every command its tools start carries a mark under it, so
        `close` finds whatever they left running, detached or not (`glmcode.tools.spawn`)."""
        self._lock = threading.Lock()
        self._processes: dict[str, BackgroundProcess] = {}
        self._count = 0
        self._closed = False

    def start(self, command: str, cwd: Path, limit: int = output_budget.DEFAULT_LIMIT) -> BackgroundProcess:
        """Start `command` in `cwd` in the background and return it at once.

        Raises `ProcessError` if `MAX_RUNNING` commands already run, the registry is closed, or
        the shell cannot be started.
        """
        with self._lock:
            if self._closed:
                raise ProcessError("the session is ending: no new background commands")
            running = [p.id for p in self._processes.values() if p.running]
            if len(running) >= MAX_RUNNING:
                raise ProcessError(
                    f"{len(running)} background commands are running already ({', '.join(running)}): "
                    "stop one with shell_stop first"
                )
            self._count += 1
            ident = f"bg{self._count}"
            mark = new_mark(self.scope)
            try:
                proc = spawn(command, cwd, mark)
            except OSError as e:
                raise ProcessError(f"could not start the command: {e}") from e
            assert proc.stdout is not None
            process = BackgroundProcess(id=ident, command=command, proc=proc, output=_Unread(limit), mark=mark)
            self._processes[ident] = process
            _OPEN.add(self)
            process.reader.start()
            self._forget_old()
        return process

    def get(self, ident: str) -> BackgroundProcess:
        """The command with this id; raises `ProcessError` naming the known ids if there is none."""
        with self._lock:
            process = self._processes.get(ident.strip())
            if process is None:
                known = ", ".join(self._processes) or "none"
                raise ProcessError(
                    f"there is no background command {ident!r} (known: {known}); background commands end with "
                    "the session that started them, so none from before a resume is left"
                )
            return process

    def all(self) -> list[BackgroundProcess]:
        """Every command remembered, oldest first."""
        with self._lock:
            return list(self._processes.values())

    def stop(self, ident: str) -> BackgroundProcess:
        """Stop one command's process group and every process carrying its mark (SIGTERM, then
        SIGKILL after `KILL_GRACE_S`); returns it.

        A command that had exited already is left as it was (its group, if any member is left, is
        still stopped, and so are its detached processes). Raises `ProcessError` for an unknown id.
        """
        process = self.get(ident)
        _stop_all([process], process.mark)
        return process

    def close(self) -> None:
        """Stop every command and every process carrying the session's mark (all at once: SIGTERM,
        `KILL_GRACE_S`, SIGKILL) and refuse new ones.

        Idempotent; returns when every shell has been reaped and no marked process is left.
        """
        with self._lock:
            self._closed = True
            processes = list(self._processes.values())
        _stop_all(processes, self.scope)
        _OPEN.discard(self)

    def _forget_old(self) -> None:
        """Drop the oldest finished commands beyond `MAX_KEPT` (lock held)."""
        excess = len(self._processes) - MAX_KEPT
        for ident in [p.id for p in self._processes.values() if not p.running and not p.reader.is_alive()][: max(0, excess)]:
            del self._processes[ident]


def read_text(kept: HeadTail, before: str = "") -> str:
    """`before` and a read's output (`_Unread.take`) within its budget; when the output had to be
    cut, it is saved whole for the running tool call and the note says where and which
    `read_file` offset and limit show the part left out (`glmcode.tools.saved_outputs`).
    Deletes the read's temporary file."""
    try:
        return kept.text(saved_outputs.hint_for(kept.full_pieces), before=before)
    finally:
        kept.close()


def _stop_all(processes: list[BackgroundProcess], mark: str) -> None:
    """SIGTERM every live group and every process marked with `mark`, wait until each is gone (at
    most `KILL_GRACE_S` in all), SIGKILL the rest, reap.

    A group whose shell has exited and whose every process is gone is not signalled (its id may
    belong to someone else by now).
    """
    live = [p for p in processes if p.running or group_alive(p.pid)]
    for process in live:
        if process.running:
            process.stopped = True
        signal_group(process.pid, signal.SIGTERM)
    marked = bool(signal_marked(mark, signal.SIGTERM))
    deadline = time.monotonic() + KILL_GRACE_S
    for process in live:
        while time.monotonic() < deadline and (process.running or group_alive(process.pid)):
            time.sleep(POLL_S)
    while marked and time.monotonic() < deadline and marked_pids(mark):
        time.sleep(POLL_S)
    for process in live:
        if process.running or group_alive(process.pid):
            signal_group(process.pid, signal.SIGKILL)
    stop_marked(mark, grace=0)
    for process in processes:
        process.proc.wait()
        process.exit_code  # noqa: B018 -- records when it ended
        process.reader.join(1.0)


_OPEN: set[BackgroundProcesses] = set()
"""Registries that started a command and were not closed yet: closed at interpreter exit. Held
strongly, so a registry dropped without `close` still has its commands stopped then."""


@atexit.register
def _close_open_registries() -> None:
    for registry in list(_OPEN):
        registry.close()
