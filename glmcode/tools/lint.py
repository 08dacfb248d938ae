"""`lint`: run the lint command declared in AGENT.md, optionally on given paths only."""

from __future__ import annotations

import shlex
from typing import Annotated

from pydantic import Field

from glmcode.tools import workspace
from glmcode.tools.base import (
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    one_line,
)
from glmcode.tools.shell_runner import run_declared

HOW_TO_DECLARE = (
    "Declare one in AGENT.md: under a `## Commands` heading add a bullet such as ``- lint: `ruff check .` ``."
)


class LintArgs(ToolArgs):
    paths: list[Annotated[str, Field(min_length=1, max_length=4096)]] | None = Field(
        default=None,
        max_length=500,
        description="Files or folders to lint, relative to the workspace root. "
        "Default: whatever the declared command covers.",
    )


def with_paths(command: str, paths: list[str]) -> str:
    """`command` with shell-quoted `paths` appended; a trailing ` .` (the whole tree) is replaced by them."""
    base = command.rstrip()
    if base.endswith(" .") and paths:
        base = base[:-2].rstrip()
    return " ".join([base, *(shlex.quote(p) for p in paths)])


class Lint(Tool[LintArgs]):
    """Run the repo's declared lint command."""

    name = "lint"
    kind = "check"
    Args = LintArgs

    def describe(self, args: LintArgs) -> str:
        """`lint`, then the paths when given."""
        return one_line(" ".join([self.name, *(args.paths or [])]))

    def run(self, args: LintArgs, ctx: ToolContext) -> ToolResult:
        command = ctx.rules.lint_command
        if not command:
            raise ToolError(
                f"this repo declares no lint command. {HOW_TO_DECLARE} Meanwhile you can run a linter with run_shell."
            )
        paths = [workspace.rel(ctx.root, workspace.resolve(ctx.root, p, write=False)) for p in args.paths or []]
        command = with_paths(command, paths)
        ctx.rules.check_command(command)
        ok, output, summary = run_declared(command, ctx.root, ctx.cancel, ctx.output_chars, scope=ctx.processes.scope)
        return ToolResult(ok=ok, output=output, summary=summary)
