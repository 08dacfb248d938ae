"""Run one shell command with bounded memory, a timeout, cancellation, and no stray processes.

Used by `run_shell`, `lint` and `run_tests`. The command is started by `glmcode.tools.spawn`
(`bash -c` in its own session, a non-interactive environment), so the whole process group can be
stopped at once: on timeout, on cancel, on Ctrl-C, and when background children keep the output
pipe open after the command has exited.
Output (stdout and stderr merged) is read and decoded in a thread, cleaned of terminal escapes
and `\r` redraws (`glmcode.terminal_text`, in `spawn.read_all`); only the head and tail the output
budget keeps are held in memory (`glmcode.output_budget.HeadTail`; the whole output goes to a
temporary file once it is long), so a flood costs no memory and the text handed back is already
cut, with one note counting everything left out and saying where the whole output was saved
(`glmcode.tools.saved_outputs`).
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from glmcode import output_budget, test_runs
from glmcode.output_budget import HeadTail
from glmcode.tools import saved_outputs
from glmcode.tools.base import ToolError
from glmcode.tools.spawn import POLL_S, marked_pids, new_mark, read_all, signal_group, signal_marked, spawn, stop_marked

KILL_GRACE_S = 2.0
"""Time between SIGTERM and SIGKILL when stopping a process group."""
PIPE_GRACE_S = 0.5
"""How long to wait for the output pipe to close once the command itself has exited."""


@dataclass(frozen=True)
class CommandOutcome:
    """What happened to a command. `exit_code` is None when it was stopped (timeout or cancel)."""

    exit_code: int | None
    captured: HeadTail
    """The output (stdout and stderr merged, decoded as UTF-8 with bad bytes replaced), as far as the budget keeps it."""
    timed_out: bool
    cancelled: bool
    duration_s: float
    note: str = ""
    """A remark of the runner's own (background processes were stopped), put after the output."""

    @property
    def output(self) -> str:
        """The output as far as the budget keeps it, then the runner's note, if any, on a line of its own."""
        text = self.captured.text()
        return text.rstrip("\n") + self.note if self.note and text else text + self.note.lstrip("\n")

    @property
    def chars_total(self) -> int:
        """Characters the command printed in all."""
        return self.captured.total_chars


def _stop_group(proc: subprocess.Popen[bytes], reader: threading.Thread, mark: str) -> None:
    """SIGTERM the process group and every process carrying the command's `mark` (those that left
    the group: `setsid`, daemons), give them `KILL_GRACE_S`, then SIGKILL whatever is left."""
    signal_group(proc.pid, signal.SIGTERM)
    signal_marked(mark, signal.SIGTERM)
    deadline = time.monotonic() + KILL_GRACE_S
    while time.monotonic() < deadline and (proc.poll() is None or reader.is_alive() or marked_pids(mark)):
        reader.join(POLL_S)
    signal_group(proc.pid, signal.SIGKILL)
    stop_marked(mark, grace=0)
    proc.wait()


def run_command(
    command: str, cwd: Path, timeout: float, cancel: threading.Event | None, limit: int = output_budget.DEFAULT_LIMIT,
    *, scope: str | None = None,
) -> CommandOutcome:
    """Run `command` in `cwd`; stop it and its children after `timeout` seconds or when `cancel` is set.

    Of the output, at most `limit` characters are kept (head and tail; see `glmcode.output_budget`).
    stdin is /dev/null, so a command that reads input gets end-of-file at once; editors and
    pagers never wait (see `glmcode.tools.spawn`). Raises
    `ToolError` only if the shell cannot be started; a failing command is a normal outcome.
    KeyboardInterrupt while waiting stops the process group, then propagates.

    The command gets a mark under `scope` (the session's, `BackgroundProcesses.scope`; default:
    this process's): when it is stopped, so is every process it started, detached or not; what it
    leaves running after a normal exit (a server started with `setsid`, `pg_ctl start`) is
    stopped when the scope is (the session's end), see `glmcode.tools.spawn`.
    """
    start = time.monotonic()
    mark = new_mark(scope)
    try:
        proc = spawn(command, cwd, mark)
    except OSError as e:
        raise ToolError(f"could not start the command: {e}") from e
    assert proc.stdout is not None
    capture = HeadTail(limit, keep_full=True)
    stop_reading = threading.Event()
    reader = threading.Thread(target=read_all, args=(proc.stdout.fileno(), capture, stop_reading), daemon=True)
    reader.start()
    timed_out = cancelled = False
    note = ""
    try:
        deadline = start + timeout
        while proc.poll() is None:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            try:
                proc.wait(min(POLL_S, remaining))
            except subprocess.TimeoutExpired:
                pass
        if timed_out or cancelled:
            _stop_group(proc, reader, mark)
        else:
            reader.join(PIPE_GRACE_S)
            if reader.is_alive():
                _stop_group(proc, reader, mark)
                note = "[background processes still holding the output open were stopped]"
    except KeyboardInterrupt:
        _stop_group(proc, reader, mark)
        raise
    finally:
        reader.join(PIPE_GRACE_S)
        stop_reading.set()
        reader.join()
        proc.stdout.close()
    return CommandOutcome(
        exit_code=None if (timed_out or cancelled) else proc.returncode,
        captured=capture,
        timed_out=timed_out,
        cancelled=cancelled,
        duration_s=time.monotonic() - start,
        note="\n" + note if note else "",
    )


def describe(outcome: CommandOutcome, timeout: float, before: str = "") -> str:
    """The text the model reads: `before`, `exit code: N` (or why it stopped), then the output.

    Within the output budget the command ran with: only the output itself is ever cut; when it
    is, the whole output is saved for the running call and the note says how to read it.
    """
    if outcome.timed_out:
        status = f"timed out after {timeout:g}s; the command and its child processes were stopped"
    elif outcome.cancelled:
        status = "cancelled by the user; the command and its child processes were stopped"
    else:
        status = f"exit code: {outcome.exit_code}"
        if outcome.exit_code is not None and outcome.exit_code < 0:
            try:
                status += f" (killed by {signal.Signals(-outcome.exit_code).name})"
            except ValueError:
                pass
    if not outcome.note and not outcome.captured.text().strip("\n"):
        return f"{before}{status}\n(no output)"
    hint = saved_outputs.hint_for(outcome.captured.full_pieces)
    text = outcome.captured.text(hint, before=f"{before}{status}\n", after=outcome.note)
    return text[: len(text) - len(outcome.note)].rstrip("\n") + outcome.note


DECLARED_TIMEOUT_S = 600.0
"""Timeout for the repo's declared lint and test commands."""


def run_declared(
    command: str, cwd: Path, cancel: threading.Event | None, limit: int = output_budget.DEFAULT_LIMIT,
    *, condense: bool = False, scope: str | None = None,
) -> tuple[bool, str, str]:
    """Run a declared command (lint, tests): (ok, text for the model, summary `passed`/`failed (exit N)`).

    The text starts with `$ <command>` so the model sees exactly what ran; it is at most `limit`
    characters long (the output cut as `glmcode.output_budget` says). With `condense` (test
    runs), an output over the budget shows its failing parts first (`glmcode.test_runs`).
    `scope`: as for `run_command`.
    """
    outcome = run_command(command, cwd, DECLARED_TIMEOUT_S, cancel, limit, scope=scope)
    if outcome.timed_out:
        summary = "timed out"
    elif outcome.cancelled:
        summary = "cancelled"
    elif outcome.exit_code == 0:
        summary = "passed"
    else:
        summary = f"failed (exit {outcome.exit_code})"
    ok = not (outcome.timed_out or outcome.cancelled)
    condensed = condensed_text(outcome, limit, before=f"$ {command}\n") if condense else None
    return ok, condensed or describe(outcome, DECLARED_TIMEOUT_S, before=f"$ {command}\n"), summary


def condensed_text(outcome: CommandOutcome, limit: int, before: str = "") -> str | None:
    """A test run's output for the model when it was cut: `before`, the exit code, a line saying it
    was condensed (and where the whole output is saved), then the failing parts (`test_runs.condense`),
    cut to `limit`. None when the output fit, or nothing failing was found in it."""
    if not outcome.captured.cut_any or outcome.exit_code is None or outcome.captured.total_chars > test_runs.MAX_CHARS:
        return None
    condensed = test_runs.condense("".join(outcome.captured.full_pieces()))
    if condensed is None:
        return None
    saved = saved_outputs.save_current(outcome.captured.full_pieces)
    head = f"{before}exit code: {outcome.exit_code}\n" + test_runs.header(outcome.captured.total_chars, saved) + "\n"
    kept = HeadTail(limit)
    kept.add(condensed)
    return kept.text(before=head, after=outcome.note)
