"""`list_files`: the files under a folder, as git sees them, optionally filtered by a glob."""

from __future__ import annotations

from pydantic import Field

from glmcode.tools import workspace
from glmcode.tools._walk import glob_matcher, walk
from glmcode.tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult

MAX_ENTRIES = 1000
"""Entries shown; the shallowest come first, so a capped listing is still an overview."""
MAX_SCANNED = 200_000
"""Entries counted at most; past this the note says "more than"."""


class ListFilesArgs(ToolArgs):
    path: str = Field(
        default=".", max_length=4096, description="Folder to list, relative to the workspace root (default: the root)."
    )
    pattern: str | None = Field(
        default=None,
        max_length=1000,
        description="Optional gitignore-style glob matched against paths relative to `path`, e.g. `*.py` (any depth), "
        "`src/**/*.ts`, `tests/test_*.py`. With a pattern only files are listed.",
    )


class ListFiles(Tool[ListFilesArgs]):
    """List files recursively, honouring .gitignore."""

    name = "list_files"
    kind = "read"
    Args = ListFilesArgs

    def run(self, args: ListFilesArgs, ctx: ToolContext) -> ToolResult:
        start = workspace.resolve(ctx.root, args.path, write=False)
        shown = workspace.rel(ctx.root, start)
        if not start.exists():
            raise ToolError(f"{shown} does not exist; list the parent folder to see what is there")
        if not start.is_dir():
            return ToolResult(output=shown, summary="1 file")
        matcher = glob_matcher(args.pattern) if args.pattern and args.pattern.strip() else None
        prefix = "" if shown == "." else shown + "/"
        kept: list[str] = []
        total = 0
        for entry in walk(ctx.root, start):
            if matcher is not None and (entry.is_dir or not matcher.match_file(entry.rel[len(prefix) :])):
                continue
            total += 1
            if len(kept) < MAX_ENTRIES:
                kept.append(entry.rel + "/" if entry.is_dir else entry.rel)
            if total >= MAX_SCANNED:
                break
        if not kept:
            what = f"matching {args.pattern!r} " if matcher is not None else ""
            return ToolResult(output=f"No files {what}in {shown} (ignored files are not listed).", summary="0 entries")
        kept.sort()
        lines = kept
        if total > len(kept):
            more = f"more than {total - len(kept):,}" if total >= MAX_SCANNED else f"{total - len(kept):,}"
            note = f"[{len(kept):,} entries shown; {more} deeper ones left out: list a subfolder or use a pattern]"
            lines = [*kept, note]
        return ToolResult(output="\n".join(lines), summary=f"{total:,} entries")
