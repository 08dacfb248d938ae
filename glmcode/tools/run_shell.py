"""`run_shell`: run one command with bash in the workspace root, after the repo's rules allow it.

With `background: true` the command is started in the session's `BackgroundProcesses` and the
call returns after at most `FIRST_OUTPUT_S` with its id and first output; `shell_output` and
`shell_stop` take it from there.
"""

from __future__ import annotations

from pydantic import Field

from glmcode import prompts
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
from glmcode.tools.processes import ProcessError, read_text
from glmcode.tools.shell_output import state
from glmcode.tools.shell_runner import describe, run_command

MAX_TIMEOUT_S = 1800.0
FIRST_OUTPUT_S = 1.0
"""How long a background start waits for the command's first output (less if it exits sooner)."""


class RunShellArgs(ToolArgs):
    command: str = Field(
        min_length=1, max_length=100_000, description="The command line, run with `bash -c` in the workspace root."
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        le=MAX_TIMEOUT_S,
        description=f"Seconds before the command and its child processes are stopped (at most {MAX_TIMEOUT_S:g}). "
        "Default: the session's shell timeout. Does not apply to background commands.",
    )
    background: bool = Field(
        default=False,
        description="Start the command in the background and return at once with its id and first output "
        "(for servers, watchers and other long-running commands); read it later with shell_output, stop it with shell_stop.",
    )


class RunShell(Tool[RunShellArgs]):
    """Run a shell command and report its exit code and output."""

    name = "run_shell"
    kind = "exec"
    Args = RunShellArgs

    def mutates(self, args: RunShellArgs) -> bool:
        """False for commands that only read (`ls`, `git diff`, `grep`, ...), as the rules classify them;
        a background command always counts as changing the workspace (it keeps running)."""
        return args.background or not is_read_only_command(args.command)

    def describe(self, args: RunShellArgs) -> str:
        """`run_shell <the whole command>` (`run_shell --background <command>` for a background one)."""
        return one_line(f"{self.name} {'--background ' if args.background else ''}{args.command}")

    def preview(self, args: RunShellArgs, ctx: ToolContext) -> str:
        """`$ <the whole command>` and `timeout N s` (as `run` will apply it), or why it would be refused."""
        try:
            ctx.rules.check_command(args.command)
        except Refusal as e:
            return f"$ {args.command}\nwould fail: {e}"
        if args.background:
            return f"$ {args.command}\nin the background, until stopped or the session ends"
        return f"$ {args.command}\ntimeout {_timeout(args, ctx):g} s"

    def run(self, args: RunShellArgs, ctx: ToolContext) -> ToolResult:
        if not args.command.strip():
            raise ToolError("the command is blank")
        ctx.rules.check_command(args.command)
        if args.background:
            return _start_background(args, ctx)
        timeout = _timeout(args, ctx)
        outcome = run_command(args.command, ctx.root, timeout, ctx.cancel, ctx.output_chars, scope=ctx.processes.scope)
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


def _start_background(args: RunShellArgs, ctx: ToolContext) -> ToolResult:
    """Start the command in the background; the result: its id, status, how to go on, first output."""
    try:
        process = ctx.processes.start(args.command, ctx.root, ctx.output_chars)
    except ProcessError as e:
        raise ToolError(str(e)) from e
    process.settle(FIRST_OUTPUT_S)
    running = process.running
    template = "background_started.md" if running else "background_ended.md"
    header = prompts.render(template, id=process.id, status=process.status()) + "\n"
    summary = f"{process.id} started" if running else f"{process.id} {state(process)}"
    kept = process.output.take()
    if not kept.total_chars:
        return ToolResult(output=header + "(no output yet)" if running else header + "(no output)", summary=summary)
    return ToolResult(output=read_text(kept, before=header), summary=summary)
