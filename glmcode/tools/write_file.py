"""`write_file`: create or overwrite a whole file, atomically, after the repo's rules allow it."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from glmcode.tools import workspace
from glmcode.tools._files import MAX_FILE_BYTES, atomic_write, diff_change, line_count
from glmcode.tools.base import (
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    one_line,
)


class WriteFileArgs(ToolArgs):
    path: str = Field(
        max_length=4096, description="File path, relative to the workspace root. Parent folders are created."
    )
    content: str = Field(
        max_length=MAX_FILE_BYTES, description="The complete content of the file; it replaces whatever was there."
    )


def _existing(path: Path, shown: str) -> tuple[bool, bytes | None]:
    """Whether `path` exists, and its bytes (None when it is too large to compare and diff)."""
    if path.is_dir():
        raise ToolError(f"{shown} is a directory; write_file writes files only")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return True, None
        return True, path.read_bytes()
    except FileNotFoundError:
        return False, None
    except NotADirectoryError:
        raise ToolError(f"cannot write {shown}: a parent path is a file, not a folder") from None
    except OSError as e:
        raise ToolError(f"cannot write {shown}: {e.strerror or e}") from None


class WriteFile(Tool[WriteFileArgs]):
    """Create or overwrite one file with the given content."""

    name = "write_file"
    kind = "edit"
    Args = WriteFileArgs

    def describe(self, args: WriteFileArgs) -> str:
        """`write_file src/app.py`."""
        return one_line(f"{self.name} {args.path}")

    def run(self, args: WriteFileArgs, ctx: ToolContext) -> ToolResult:
        path = workspace.resolve(ctx.root, args.path, write=True)
        shown = workspace.rel(ctx.root, path)
        try:
            data = args.content.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ToolError(f"the content cannot be written as UTF-8 ({e.reason} at character {e.start})") from None
        if len(data) > MAX_FILE_BYTES:
            raise ToolError(f"the content is {len(data):,} bytes; write_file writes at most {MAX_FILE_BYTES:,} bytes")
        existed, old_bytes = _existing(path, shown)
        ctx.rules.check_write(path, ctx.root)
        if existed and old_bytes == data:
            output = f"{shown} already has exactly this content; nothing was written."
            return ToolResult(output=output, summary="unchanged", diff="")
        try:
            atomic_write(path, data)
        except OSError as e:
            raise ToolError(f"cannot write {shown}: {e.strerror or e}") from None
        created = not existed
        lines = line_count(args.content)
        if existed and (old_bytes is None or workspace.is_binary(old_bytes)):
            diff, counts, summary = None, "", f"replaced a binary or very large file, {lines} lines"
        else:
            old_text = None if old_bytes is None else old_bytes.decode("utf-8", errors="replace")
            change = diff_change(old_text, args.content, shown)
            diff, summary = change.diff, change.summary(created, args.content)
            counts = f"+{change.added} -{change.removed} lines, " if change.diff else ""
        if created:
            output = f"Created {shown} ({lines:,} lines, {len(data):,} bytes)."
        else:
            output = f"Updated {shown} ({counts}now {lines:,} lines, {len(data):,} bytes)."
        return ToolResult(output=output, summary=summary, diff=diff)
