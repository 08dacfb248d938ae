"""`run_shell`: run one command with bash in the workspace root, after the repo's rules allow it."""

from __future__ import annotations

from pydantic import Field

from glmcode.errors import Refusal
from glmcode.rules.permissions import is_read_only_command
from glmcode.tools.base import (
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    one_line,
)
from glmcode.tools.shell_runner import describe, run_command

MAX_TIMEOUT_S = 1800.0


class RunShellArgs(ToolArgs):
    command: str = Field(
        min_length=1, max_length=100_000, description="The command line, run with `bash -c` in the workspace root."
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        le=MAX_TIMEOUT_S,
        description=f"Seconds before the command and its child processes are stopped (at most {MAX_TIMEOUT_S:g}). "
        "Default: the session's shell timeout.",
    )


class RunShell(Tool[RunShellArgs]):
    """Run a shell command and report its exit code and output."""

    name = "run_shell"
    kind = "exec"
    Args = RunShellArgs

    def mutates(self, args: RunShellArgs) -> bool:
        """False for commands that only read (`ls`, `git diff`, `grep`, ...), as the rules classify them."""
        return not is_read_only_command(args.command)

    def describe(self, args: RunShellArgs) -> str:
        """`run_shell <the whole command>`."""
        return one_line(f"{self.name} {args.command}")

    def preview(self, args: RunShellArgs, ctx: ToolContext) -> str:
        """`$ <the whole command>` and `timeout N s` (as `run` will apply it), or why it would be refused."""
        try:
            ctx.rules.check_command(args.command)
        except Refusal as e:
            return f"$ {args.command}\nwould fail: {e}"
        return f"$ {args.command}\ntimeout {_timeout(args, ctx):g} s"

    def run(self, args: RunShellArgs, ctx: ToolContext) -> ToolResult:
        if not args.command.strip():
            raise ToolError("the command is blank")
        ctx.rules.check_command(args.command)
        timeout = _timeout(args, ctx)
        outcome = run_command(args.command, ctx.root, timeout, ctx.cancel, ctx.output_chars)
        if outcome.timed_out:
            summary = "timed out"
        elif outcome.cancelled:
            summary = "cancelled"
        else:
            summary = f"exit {outcome.exit_code}"
        return ToolResult(
            ok=not (outcome.timed_out or outcome.cancelled), output=describe(outcome, timeout), summary=summary
        )


def _timeout(args: RunShellArgs, ctx: ToolContext) -> float:
    """Seconds the command may run: its own timeout or the session's, at most `MAX_TIMEOUT_S`."""
    return min(args.timeout or ctx.shell_timeout, MAX_TIMEOUT_S)
