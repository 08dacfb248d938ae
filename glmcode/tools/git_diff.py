"""`git_diff`: unstaged (or staged) changes as a unified diff, plus the untracked files a diff omits."""

from __future__ import annotations

from pydantic import Field

from glmcode import output_budget
from glmcode.tools import saved_outputs, workspace
from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolResult, one_line
from glmcode.tools.git_status import open_git, run_git

PATH_HINT = "call git_diff with a path to see one file in full"
"""Said in the note when the diff did not fit in the output budget (a `--stat` overview then comes first)."""


class GitDiffArgs(ToolArgs):
    path: str | None = Field(
        default=None,
        max_length=4096,
        description="Limit the diff to this file or folder (relative to the workspace root).",
    )
    staged: bool = Field(
        default=False, description="Show staged changes (index against HEAD) instead of unstaged ones (default false)."
    )


class GitDiff(Tool[GitDiffArgs]):
    """Show the diff of the working tree or of the index.

    When it does not fit in the output budget, a `--stat` overview of every file comes first
    and the whole is cut by the budget, with a note saying how to see one file in full.
    """

    name = "git_diff"
    kind = "read"
    Args = GitDiffArgs

    def describe(self, args: GitDiffArgs) -> str:
        """`git_diff`, then the path and `--staged` when given."""
        return one_line(" ".join([self.name, *([args.path] if args.path else []), *(["--staged"] if args.staged else [])]))

    def run(self, args: GitDiffArgs, ctx: ToolContext) -> ToolResult:
        runner = open_git(ctx.root)
        spec = "."
        if args.path is not None:
            spec = workspace.rel(ctx.root, workspace.resolve(ctx.root, args.path, write=False))
        base = ["diff", "--no-color", "--no-ext-diff", "--relative", *(["--cached"] if args.staged else [])]
        diff = run_git(runner, *base, "--", spec).rstrip("\n")
        files = sum(1 for line in diff.split("\n") if line.startswith("diff --git "))
        parts = [diff] if diff else [f"No {'staged' if args.staged else 'unstaged'} changes."]
        if not args.staged:
            untracked = run_git(runner, "ls-files", "--others", "--exclude-standard", "--", spec).split("\n")
            listed = [f"  {name}" for name in untracked if name]
            if listed:
                parts.append("Untracked files (new, not in the diff above):\n" + "\n".join(listed))
        output = "\n\n".join(parts)
        if len(output) > ctx.output_chars and diff:
            stat = run_git(runner, *base, "--stat=120", "--", spec).rstrip("\n")
            output = f"{stat}\n\n{output}"
        summary = f"{files} files changed" if files != 1 else "1 file changed"
        hint = saved_outputs.hint_for(lambda: [output], PATH_HINT)
        return ToolResult(output=output_budget.cut(output, ctx.output_chars, hint), summary=summary)
