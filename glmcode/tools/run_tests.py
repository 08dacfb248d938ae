"""`run_tests`: run the test command declared in AGENT.md, with optional extra arguments."""

from __future__ import annotations

import shlex

from pydantic import Field

from glmcode.tools.base import (
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    one_line,
)
from glmcode.tools.shell_runner import run_declared

HOW_TO_DECLARE = "Declare one in AGENT.md: under a `## Commands` heading add a bullet such as ``- test: `pytest -q` ``."


class RunTestsArgs(ToolArgs):
    args: str | None = Field(
        default=None,
        max_length=10_000,
        description="Extra arguments appended to the declared test command, as one string split like a shell "
        "would (quotes group words), e.g. `tests/test_cli.py -k 'resume and not slow'`. No pipes or `;`: each word "
        "is passed literally.",
    )


def split_args(args: str) -> list[str]:
    """The words of `args`, split with shell quoting rules; `ToolError` on unbalanced quotes."""
    try:
        return shlex.split(args)
    except ValueError as e:
        raise ToolError(f"cannot split args {args!r}: {e}") from None


class RunTests(Tool[RunTestsArgs]):
    """Run the repo's declared test command."""

    name = "run_tests"
    kind = "check"
    Args = RunTestsArgs

    def describe(self, args: RunTestsArgs) -> str:
        """`run_tests`, then the extra arguments when given."""
        return one_line(f"{self.name} {args.args}" if args.args else self.name)

    def run(self, args: RunTestsArgs, ctx: ToolContext) -> ToolResult:
        command = ctx.rules.test_command
        if not command:
            raise ToolError(
                f"this repo declares no test command. {HOW_TO_DECLARE} Meanwhile you can run tests with run_shell."
            )
        words = split_args(args.args or "")
        if words:
            command = " ".join([command.rstrip(), *(shlex.quote(w) for w in words)])
        ctx.rules.check_command(command)
        ok, output, summary = run_declared(command, ctx.root, ctx.cancel, ctx.output_chars, condense=True, scope=ctx.processes.scope)
        return ToolResult(ok=ok, output=output, summary=summary)
