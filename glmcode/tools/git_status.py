"""`git_status`: the branch and the changed files of the workspace, via GitPython (imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult

if TYPE_CHECKING:
    import git

GIT_TIMEOUT_S = 60.0


def open_git(root: Path) -> git.Git:
    """A git command runner working in `root`; `ToolError` if git is missing or `root` is not in a repo.

    `git` is imported here, not at module level: it costs about 90 ms.
    """
    try:
        import git
    except ImportError as e:
        raise ToolError(f"git is not available on this machine: {e}") from None
    try:
        with git.Repo(root, search_parent_directories=True) as repo:
            bare = repo.bare
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise ToolError(
            f"the workspace {root} is not inside a git repository; there is no git status or diff to show"
        ) from None
    if bare:
        raise ToolError(f"the repository holding {root} is bare: it has no working tree")
    return git.Git(str(root))


def run_git(runner: git.Git, *args: str) -> str:
    """`git <args>` in the workspace, output decoded (invalid UTF-8 replaced); `ToolError` on failure."""
    import git

    try:
        raw = runner.execute(
            [runner.GIT_PYTHON_GIT_EXECUTABLE or "git", "-c", "core.quotepath=false", *args],
            stdout_as_string=False,
            kill_after_timeout=GIT_TIMEOUT_S,
        )
    except git.GitCommandError as e:
        detail = e.stderr.strip() if isinstance(e.stderr, str) else str(e)
        raise ToolError(f"git {args[0]} failed: {detail}") from None
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


class GitStatusArgs(ToolArgs):
    """No arguments."""


class GitStatus(Tool[GitStatusArgs]):
    """Show the current branch and the changed, staged and untracked files."""

    name = "git_status"
    kind = "read"
    Args = GitStatusArgs

    def run(self, args: GitStatusArgs, ctx: ToolContext) -> ToolResult:
        runner = open_git(ctx.root)
        status = run_git(runner, "status", "--short", "--branch", "--", ".").rstrip("\n")
        changes = [line for line in status.split("\n") if line and not line.startswith("##")]
        if not changes:
            return ToolResult(output=f"{status}\nnothing to commit, working tree clean", summary="clean")
        return ToolResult(output=status, summary=f"{len(changes)} changed")
