"""`edit_file`: replace an exact piece of a UTF-8 text file, keeping its line endings and BOM."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from glmcode.errors import Refusal
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
_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z])")
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

    def preview(self, args: EditFileArgs, ctx: ToolContext) -> str:
        """The unified diff of the edit this call would make, or `edit_file PATH would fail: <why>`.

        Found and applied exactly as `run` does (`_prepare`), without writing; CRLF line endings
        are shown as plain line breaks, with a note that they are kept.
        """
        try:
            edit = _prepare(args, ctx)
        except (ToolError, Refusal) as e:
            return f"{self.describe(args)} would fail: {_first_sentence(str(e))}"
        diff = diff_change(edit.original, edit.edited, edit.shown).diff
        if diff is None:
            return f"{self.describe(args)}: replaces {_occurrences(args, edit.count)} (the file is too large to show a diff)"
        if edit.crlf:
            diff = diff.replace("\r\n", "\n") + "(the file's CRLF line endings are kept)\n"
        return diff

    def run(self, args: EditFileArgs, ctx: ToolContext) -> ToolResult:
        edit = _prepare(args, ctx)
        try:
            atomic_write(edit.path, edit.data)
        except OSError as e:
            raise ToolError(f"cannot write {edit.shown}: {e.strerror or e}") from None
        change = diff_change(edit.original, edit.edited, edit.shown)
        counts = f" (+{change.added} -{change.removed} lines)" if change.diff else ""
        return ToolResult(
            output=f"Edited {edit.shown}: replaced {_occurrences(args, edit.count)}{counts}.",
            summary=change.summary(False, edit.edited),
            diff=change.diff,
        )


@dataclass(frozen=True)
class _Edit:
    """An edit found and applied in memory, allowed by the rules, ready to be written."""

    path: Path
    shown: str
    original: str
    """The file's text as read (BOM and line endings included)."""
    edited: str
    """The text to write: `original` with the replacement made."""
    data: bytes
    """`edited` as UTF-8, within `MAX_FILE_BYTES`."""
    count: int
    """Occurrences of `old_string` found."""
    crlf: bool
    """Whether the file uses CRLF line endings (kept in `edited`)."""


def _prepare(args: EditFileArgs, ctx: ToolContext) -> _Edit:
    """Everything `run` does but the write: the one code path of both `run` and `preview`.

    Raises `ToolError` (bad arguments, unreadable file, old_string absent or ambiguous, result too
    large) or `Refusal` (an AGENT.md rule protects the file).
    """
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
    return _Edit(path=path, shown=shown, original=original, edited=edited, data=data, count=count, crlf=crlf)


def _occurrences(args: EditFileArgs, count: int) -> str:
    """`1 occurrence` or `3 occurrences` (only replace_all replaces more than one)."""
    return f"{count} occurrences" if args.replace_all and count > 1 else "1 occurrence"


def _first_sentence(message: str) -> str:
    """The first sentence of an error message: why, without the advice meant for the model."""
    head = message.split("\n", 1)[0]
    end = _SENTENCE_END.search(head)
    return head[: end.start() + 1] if end else head
