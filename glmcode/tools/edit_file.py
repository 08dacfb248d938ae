"""`edit_file`: replace an exact piece of a UTF-8 text file, keeping its line endings and BOM."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from glmcode.tools import workspace
from glmcode.tools._files import MAX_FILE_BYTES, atomic_write, diff_change
from glmcode.tools.base import (
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    one_line,
)

BOM = "\ufeff"
MAX_HINT_LINES = 5


class EditFileArgs(ToolArgs):
    path: str = Field(max_length=4096, description="File path, relative to the workspace root. The file must exist.")
    old_string: str = Field(
        max_length=MAX_FILE_BYTES,
        description="The exact text to replace, including whitespace and indentation; it must occur exactly once "
        "unless replace_all is true.",
    )
    new_string: str = Field(max_length=MAX_FILE_BYTES, description="The text to put in its place.")
    replace_all: bool = Field(
        default=False, description="Replace every occurrence instead of exactly one (default false)."
    )


def _line_numbers(text: str, needle: str) -> list[int]:
    """1-based line numbers where `needle` starts, for up to `MAX_HINT_LINES` occurrences."""
    found: list[int] = []
    start = text.find(needle)
    while start != -1 and len(found) < MAX_HINT_LINES:
        found.append(text.count("\n", 0, start) + 1)
        start = text.find(needle, start + len(needle))
    return found


def _not_found_hint(text: str, old: str) -> str:
    """Why an `old_string` might not match, pointing at likely lines."""
    first = next((line.strip() for line in old.split("\n") if line.strip()), "")
    near = [n for n, line in enumerate(text.split("\n"), 1) if first and first in line][:MAX_HINT_LINES]
    if near:
        where = ", ".join(map(str, near))
        return (
            f"Its first non-blank line appears (ignoring indentation) at line(s) {where}: re-read that part with "
            "read_file and copy the text exactly, whitespace and indentation included."
        )
    return "Re-read the file with read_file and copy the text exactly, whitespace and indentation included."


def _load(path: Path, shown: str) -> str:
    """The file's text; refuses missing, binary, oversized and non-UTF-8 files."""
    try:
        if path.is_dir():
            raise ToolError(f"{shown} is a directory; edit_file edits one file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ToolError(
                f"{shown} is larger than {MAX_FILE_BYTES:,} bytes; edit_file does not edit files that large"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ToolError(f"{shown} does not exist; use write_file to create a new file") from None
    except OSError as e:
        raise ToolError(f"cannot read {shown}: {e.strerror or e}") from None
    if workspace.is_binary(data):
        raise ToolError(f"{shown} is a binary file ({len(data):,} bytes); edit_file edits text files only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ToolError(
            f"{shown} is not valid UTF-8 (byte {e.start}); edit_file refuses to edit it so as not to corrupt it"
        ) from None


class EditFile(Tool[EditFileArgs]):
    """Replace `old_string` with `new_string` in one file."""

    name = "edit_file"
    kind = "edit"
    Args = EditFileArgs

    def describe(self, args: EditFileArgs) -> str:
        """`edit_file src/app.py`."""
        return one_line(f"{self.name} {args.path}")

    def run(self, args: EditFileArgs, ctx: ToolContext) -> ToolResult:
        if not args.old_string:
            raise ToolError("old_string is empty; to create a file or replace all of it, use write_file")
        if args.old_string == args.new_string:
            raise ToolError("old_string and new_string are identical; there is nothing to change")
        path = workspace.resolve(ctx.root, args.path, write=True)
        shown = workspace.rel(ctx.root, path)
        original = _load(path, shown)
        bom = BOM if original.startswith(BOM) else ""
        text = original[len(bom) :]
        crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
        old, new = args.old_string, args.new_string
        if crlf:
            text, old, new = (s.replace("\r\n", "\n") for s in (text, old, new))
        count = text.count(old)
        if count == 0:
            raise ToolError(f"old_string was not found in {shown}. {_not_found_hint(text, old)}")
        if count > 1 and not args.replace_all:
            lines = ", ".join(map(str, _line_numbers(text, old)))
            more = ", …" if count > MAX_HINT_LINES else ""
            raise ToolError(
                f"old_string occurs {count} times in {shown} (at lines {lines}{more}); include more surrounding "
                "lines to make it unique, or set replace_all to true to replace every occurrence"
            )
        edited = text.replace(old, new) if args.replace_all else text.replace(old, new, 1)
        if crlf:
            edited = edited.replace("\n", "\r\n")
        edited = bom + edited
        ctx.rules.check_write(path, ctx.root)
        try:
            data = edited.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ToolError(f"new_string cannot be written as UTF-8 ({e.reason})") from None
        if len(data) > MAX_FILE_BYTES:
            raise ToolError(f"the edited file would be {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}")
        try:
            atomic_write(path, data)
        except OSError as e:
            raise ToolError(f"cannot write {shown}: {e.strerror or e}") from None
        change = diff_change(original, edited, shown)
        replaced = f"{count} occurrences" if args.replace_all and count > 1 else "1 occurrence"
        counts = f" (+{change.added} -{change.removed} lines)" if change.diff else ""
        return ToolResult(
            output=f"Edited {shown}: replaced {replaced}{counts}.",
            summary=change.summary(False, edited),
            diff=change.diff,
        )
