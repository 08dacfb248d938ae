"""`git_diff`: unstaged (or staged) changes as a unified diff, plus the untracked files a diff omits."""

from __future__ import annotations

from pydantic import Field

from glmcode.tools import workspace
from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from glmcode.tools.git_status import open_git, run_git

MAX_DIFF_CHARS = 40_000
"""Past this the diff is cut; a `--stat` overview of all files is put first."""
MAX_UNTRACKED = 200


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
    """Show the diff of the working tree or of the index."""

    name = "git_diff"
    kind = "read"
    Args = GitDiffArgs

    def run(self, args: GitDiffArgs, ctx: ToolContext) -> ToolResult:
        runner = open_git(ctx.root)
        spec = "."
        if args.path is not None:
            spec = workspace.rel(ctx.root, workspace.resolve(ctx.root, args.path, write=False))
        base = ["diff", "--no-color", "--no-ext-diff", "--relative", *(["--cached"] if args.staged else [])]
        diff = run_git(runner, *base, "--", spec).rstrip("\n")
        files = sum(1 for line in diff.split("\n") if line.startswith("diff --git "))
        parts = [diff] if diff else [f"No {'staged' if args.staged else 'unstaged'} changes."]
        if len(diff) > MAX_DIFF_CHARS:
            stat = run_git(runner, *base, "--stat=120", "--", spec).rstrip("\n")
            cut = len(diff) - MAX_DIFF_CHARS
            parts = [
                stat,
                diff[:MAX_DIFF_CHARS],
                f"[... diff cut: {cut:,} more characters; call git_diff with a path to see one file in full ...]",
            ]
        if not args.staged:
            untracked = run_git(runner, "ls-files", "--others", "--exclude-standard", "--", spec).split("\n")
            untracked = [name for name in untracked if name]
            if untracked:
                listed = [f"  {name}" for name in untracked[:MAX_UNTRACKED]]
                if len(untracked) > MAX_UNTRACKED:
                    listed.append(f"  [... {len(untracked) - MAX_UNTRACKED:,} more]")
                parts.append("Untracked files (new, not in the diff above):\n" + "\n".join(listed))
        summary = f"{files} files changed" if files != 1 else "1 file changed"
        return ToolResult(output="\n\n".join(parts), summary=summary)
