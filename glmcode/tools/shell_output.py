"""`shell_output`: what a background command printed since the last read, and whether it still runs.

Reading changes nothing (kind `read`): it needs no approval and works in read-only mode.
"""

from __future__ import annotations

from pydantic import Field

from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult, one_line
from glmcode.tools.processes import BackgroundProcess, ProcessError, read_text

MAX_WAIT_S = 60.0
"""The longest `wait` one call may ask for (seconds)."""
COMMAND_CHARS = 200
"""Characters of a command shown in a status line; the rest is cut with `…`."""


class ShellOutputArgs(ToolArgs):
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The background command's id (bg1, ...), as run_shell gave it. Without it: the list of background commands.",
    )
    wait: float | None = Field(
        default=None,
        ge=0,
        le=MAX_WAIT_S,
        description=f"Seconds to wait for new output when there is none yet (at most {MAX_WAIT_S:g}); "
        "returns as soon as some arrives or the command exits.",
    )


class ShellOutput(Tool[ShellOutputArgs]):
    """Read a background command's new output and status (or list them all)."""

    name = "shell_output"
    kind = "read"
    Args = ShellOutputArgs

    def run(self, args: ShellOutputArgs, ctx: ToolContext) -> ToolResult:
        if args.id is None:
            return _listing(ctx)
        try:
            process = ctx.processes.get(args.id)
        except ProcessError as e:
            raise ToolError(str(e)) from e
        if args.wait:
            process.wait_for_output(args.wait, ctx.cancel)
        if not process.running:
            process.settle(0.5)  # what it printed just before exiting is read in full
        kept = process.output.take()
        header = status_line(process) + "\n"
        summary = f"{process.id} {state(process)}, {kept.total_chars:,} new characters"
        output = read_text(kept, before=header) if kept.total_chars else header + "(no new output)"
        return ToolResult(output=output, summary=summary, waiting=process.running)


def state(process: BackgroundProcess) -> str:
    """A word or two for a summary: `running`, `stopped`, or `exit N` (so displays mark a failure)."""
    code = process.exit_code
    if code is None:
        return "running"
    return "stopped" if process.stopped else f"exit {code}"


def status_line(process: BackgroundProcess) -> str:
    """`bg1 running for 3.2 s (pid 4242): $ npm run dev`."""
    command = one_line(process.command)
    if len(command) > COMMAND_CHARS:
        command = command[:COMMAND_CHARS] + "…"
    return f"{process.id} {process.status()}: $ {command}"


def _listing(ctx: ToolContext) -> ToolResult:
    processes = ctx.processes.all()
    if not processes:
        return ToolResult(output="no background commands in this session", summary="none")
    lines = []
    for process in processes:
        unread = process.output.pending()
        lines.append(status_line(process) + (f" ({unread:,} characters unread)" if unread else ""))
    running = sum(p.running for p in processes)
    return ToolResult(output="\n".join(lines), summary=f"{running} running, {len(processes) - running} ended")
