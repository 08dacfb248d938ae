"""`list_files`: the files under a folder, as git sees them, optionally filtered by a glob."""

from __future__ import annotations

from pydantic import Field

from glmcode import output_budget
from glmcode.tools import workspace
from glmcode.tools._walk import glob_matcher, walk
from glmcode.tools.base import (
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    one_line,
)
from glmcode.wording import plural

MAX_SCANNED = 200_000
"""Entries counted at most; past this the note says the count stopped there."""
NOTE_ROOM = 200
"""Characters of the output budget kept for the note after a listing that did not fit."""
DEEPER_HINT = "deeper entries left out: list a subfolder or use a pattern"
"""Said in the note when entries did not fit in the output budget."""


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
    """List files recursively, honouring .gitignore.

    Entries come breadth-first, so when they do not all fit in the output budget the shallowest
    are kept (the listing is still an overview) and the output budget's note says how many
    characters and lines were left out.
    """

    name = "list_files"
    kind = "read"
    Args = ListFilesArgs

    def describe(self, args: ListFilesArgs) -> str:
        """`list_files src`, with the pattern when one is given: `list_files . *.py`."""
        return one_line(" ".join([self.name, args.path, *([args.pattern] if args.pattern else [])]))

    def run(self, args: ListFilesArgs, ctx: ToolContext) -> ToolResult:
        start = workspace.resolve(ctx.root, args.path, write=False)
        shown = workspace.rel(ctx.root, start)
        if not start.exists():
            raise ToolError(f"{shown} does not exist; list the parent folder to see what is there")
        if not start.is_dir():
            return ToolResult(output=shown, summary="1 file")
        matcher = glob_matcher(args.pattern) if args.pattern and args.pattern.strip() else None
        prefix = "" if shown == "." else shown + "/"
        room = ctx.output_chars - NOTE_ROOM
        kept: list[str] = []
        total = kept_chars = left_out_chars = 0
        for entry in walk(ctx.root, start):
            if matcher is not None and (entry.is_dir or not matcher.match_file(entry.rel[len(prefix) :])):
                continue
            total += 1
            line = entry.rel + "/" if entry.is_dir else entry.rel
            if len(kept) == total - 1 and (not kept or kept_chars + len(line) + 1 <= room):
                kept.append(line)
                kept_chars += len(line) + 1
            else:
                left_out_chars += len(line) + 1
            if total >= MAX_SCANNED:
                break
        if not kept:
            what = f"matching {args.pattern!r} " if matcher is not None else ""
            return ToolResult(output=f"No files {what}in {shown} (ignored files are not listed).", summary="0 entries")
        kept.sort()
        lines = kept
        if total > len(kept):
            hint = DEEPER_HINT + (f"; counting stopped at {MAX_SCANNED:,} entries" if total >= MAX_SCANNED else "")
            lines = [*kept, output_budget.note(left_out_chars, total - len(kept), hint)]
        return ToolResult(output="\n".join(lines), summary=plural(total, "entry", "entries", number=f"{total:,}"))
