"""`write_file`: create or overwrite a whole file, atomically, after the repo's rules allow it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from glmcode.errors import Refusal
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
from glmcode.wording import plural


class WriteFileArgs(ToolArgs):
    path: str = Field(
        max_length=4096, description="File path, relative to the workspace root. Parent folders are created."
    )
    content: str = Field(
        max_length=MAX_FILE_BYTES, description="The complete content of the file; it replaces whatever was there."
    )

PREVIEW_LINES = 20
"""Lines of a new file's content its approval preview shows."""


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

    def preview(self, args: WriteFileArgs, ctx: ToolContext) -> str:
        """The diff against the file this call would overwrite, or `create PATH (N lines)` and its first lines.

        Checked as `run` checks (`_prepare`), without writing: a call that would fail says why in
        one line (`write_file PATH would fail: <why>`), one that would change nothing says so. CRLF
        line endings are shown as plain line breaks, with a note.
        """
        try:
            write = _prepare(args, ctx)
        except (ToolError, Refusal) as e:
            return f"{self.describe(args)} would fail: {e}"
        lines = line_count(args.content)
        crlf = "\r\n" in args.content
        endings = "(written with CRLF line endings)\n" if crlf else ""
        if not write.existed:
            shown = args.content.replace("\r\n", "\n").split("\n")[: min(lines, PREVIEW_LINES)]
            more = lines - len(shown)
            head = f"create {write.shown} ({lines:,} line{'' if lines == 1 else 's'})\n"
            body = "".join(f"{line}\n" for line in shown)
            return head + body + (f"… {more:,} more line{'' if more == 1 else 's'}\n" if more > 0 else "") + endings
        if write.old_bytes == write.data:
            return f"{write.shown} already has exactly this content: nothing would be written"
        if write.old_bytes is None or workspace.is_binary(write.old_bytes):
            return f"overwrite {write.shown}, a binary or very large file, with {lines:,} lines of text"
        diff = diff_change(write.old_bytes.decode("utf-8", errors="replace"), args.content, write.shown).diff
        if diff is None:
            return f"overwrite {write.shown} with {lines:,} lines (too large to show a diff)"
        if "\r\n" in diff:
            diff = diff.replace("\r\n", "\n") + (endings or "(the old file's CRLF line endings become LF)\n")
        return diff

    def run(self, args: WriteFileArgs, ctx: ToolContext) -> ToolResult:
        write = _prepare(args, ctx)
        existed, old_bytes, data, shown = write.existed, write.old_bytes, write.data, write.shown
        if existed and old_bytes == data:
            output = f"{shown} already has exactly this content; nothing was written."
            return ToolResult(output=output, summary="unchanged", diff="")
        try:
            atomic_write(write.path, data)
        except OSError as e:
            raise ToolError(f"cannot write {shown}: {e.strerror or e}") from None
        created = not existed
        lines = line_count(args.content)
        if existed and (old_bytes is None or workspace.is_binary(old_bytes)):
            diff, counts, summary = None, "", f"replaced a binary or very large file, {plural(lines, 'line')}"
        else:
            old_text = None if old_bytes is None else old_bytes.decode("utf-8", errors="replace")
            change = diff_change(old_text, args.content, shown)
            diff, summary = change.diff, change.summary(created, args.content)
            counts = f"+{change.added} -{change.removed} lines, " if change.diff else ""
        if created:
            output = f"Created {shown} ({plural(lines, 'line', number=f'{lines:,}')}, {len(data):,} bytes)."
        else:
            output = f"Updated {shown} ({counts}now {plural(lines, 'line', number=f'{lines:,}')}, {len(data):,} bytes)."
        return ToolResult(output=output, summary=summary, diff=diff)


@dataclass(frozen=True)
class _Write:
    """A write checked and allowed by the rules, ready to be made."""

    path: Path
    shown: str
    data: bytes
    """The content as UTF-8, within `MAX_FILE_BYTES`."""
    existed: bool
    old_bytes: bytes | None
    """The file's bytes before (None when it did not exist or is too large to compare)."""


def _prepare(args: WriteFileArgs, ctx: ToolContext) -> _Write:
    """Everything `run` does before writing: the one code path of both `run` and `preview`.

    Raises `ToolError` (path outside the workspace or a folder, content not UTF-8 or too large)
    or `Refusal` (an AGENT.md rule protects the file).
    """
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
    return _Write(path=path, shown=shown, data=data, existed=existed, old_bytes=old_bytes)
