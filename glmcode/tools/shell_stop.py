"""`shell_stop`: stop a background command and its child processes, and read what it printed last.

Stopping only ends what the session started itself, so it needs no approval (it does not count
as changing the workspace) and works in read-only mode.
"""

from __future__ import annotations

from pydantic import Field

from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from glmcode.tools.processes import ProcessError, read_text
from glmcode.tools.shell_output import state, status_line


class ShellStopArgs(ToolArgs):
    id: str = Field(min_length=1, max_length=64, description="The background command's id (bg1, ...), as run_shell gave it.")


class ShellStop(Tool[ShellStopArgs]):
    """Stop a background command (SIGTERM to its process group, SIGKILL if it is still there after 2 s)."""

    name = "shell_stop"
    kind = "exec"
    Args = ShellStopArgs

    def mutates(self, args: ShellStopArgs) -> bool:
        """False: it stops only a command this session started."""
        return False

    def run(self, args: ShellStopArgs, ctx: ToolContext) -> ToolResult:
        try:
            process = ctx.processes.stop(args.id)
        except ProcessError as e:
            raise ToolError(str(e)) from e
        kept = process.output.take()
        header = status_line(process) + "\n"
        summary = f"{process.id} {state(process)}"
        if not kept.total_chars:
            return ToolResult(output=header + "(no new output)", summary=summary)
        return ToolResult(output=read_text(kept, before=header), summary=summary)
