"""`edit_file`: replace an exact piece of a text file, keeping every byte it was not asked to change."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from glmcode.errors import Refusal
from glmcode.tools import workspace
from glmcode.tools._files import MAX_FILE_BYTES, Change, atomic_write, check_writable, diff_change, unfaithful
from glmcode.tools._text import LINE_BREAK, LineMap, TextFile, carry_endings, decode, normalise, sniff
from glmcode.tools.base import (
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    one_line,
)

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


def _load(path: Path, shown: str) -> TextFile:
    """The file decoded; refuses missing, binary, oversized files and any it cannot write back byte for byte."""
    try:
        if path.is_dir():
            raise ToolError(f"{shown} is a directory; edit_file edits one file")
        with workspace.open_regular(path) as f:
            if os.fstat(f.fileno()).st_size > MAX_FILE_BYTES:
                raise ToolError(
                    f"{shown} is larger than {MAX_FILE_BYTES:,} bytes; edit_file does not edit files that large"
                )
            data = f.read()
    except FileNotFoundError:
        raise ToolError(f"{shown} does not exist; use write_file to create a new file") from None
    except workspace.NotRegularFile:
        raise ToolError(f"{shown} is {workspace.NOT_REGULAR}; edit_file edits files only") from None
    except OSError as e:
        raise ToolError(f"cannot read {shown}: {e.strerror or e}") from None
    encoding, _ = sniff(data)
    if encoding == "utf-8" and workspace.is_binary(data):
        raise ToolError(f"{shown} is a binary file ({len(data):,} bytes); edit_file edits text files only")
    file = decode(data)
    if file.problem:
        raise ToolError(unfaithful(shown, file, "edit_file"))
    return file


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

        Found and applied exactly as `run` does (`_prepare`), without writing: the same diff the
        result then carries (byte-faithful, see `diff_change`).
        """
        try:
            edit = _prepare(args, ctx)
        except (ToolError, Refusal) as e:
            return f"{self.describe(args)} would fail: {_first_sentence(str(e))}"
        diff = edit.change.diff
        if diff is None:
            return f"{self.describe(args)}: replaces {_occurrences(args, edit.count)} (the file is too large to show a diff)"
        return diff

    def run(self, args: EditFileArgs, ctx: ToolContext) -> ToolResult:
        edit = _prepare(args, ctx)
        try:
            atomic_write(edit.path, edit.data)
        except OSError as e:
            raise ToolError(f"cannot write {edit.shown}: {e.strerror or e}") from None
        change = edit.change
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
    original: TextFile
    """The file as read: encoding, byte-order mark, text with its own line endings."""
    edited: str
    """The text to write (no mark): `original.text` with the replacements made, every other byte kept."""
    data: bytes
    """`edited` encoded as the file was (mark included), within `MAX_FILE_BYTES`."""
    count: int
    """Occurrences of `old_string` found."""
    change: Change
    """The diff of `original.text` → `edited`, as the result and the preview show it."""


def _prepare(args: EditFileArgs, ctx: ToolContext) -> _Edit:
    """Everything `run` does but the write: the one code path of both `run` and `preview`.

    `old_string` is matched in the file's normalised view (every line ending `\\n`, whatever the
    file uses and whatever endings the strings carry); the text around each match is kept as it
    is, and each line break of `new_string` gets the ending of the line it stands for (a line
    diff of `old_string` → `new_string`), a new one that of the line the match starts on.
    Raises `ToolError` (bad arguments, read-only, unreadable or unfaithful file, old_string absent or
    ambiguous, result too large) or `Refusal` (an AGENT.md rule protects the file).
    """
    if not args.old_string:
        raise ToolError("old_string is empty; to create a file or replace all of it, use write_file")
    if args.old_string == args.new_string:
        raise ToolError("old_string and new_string are identical; there is nothing to change")
    if "\x00" in args.new_string:
        raise ToolError(f"new_string contains a NUL character (at character {args.new_string.index(chr(0)):,}); text files hold none")
    path = workspace.resolve(ctx.root, args.path, write=True)
    shown = workspace.rel(ctx.root, path)
    check_writable(path, shown)
    original = _load(path, shown)
    view = LineMap(original.text)
    text = view.normalised
    old, new = normalise(args.old_string), normalise(args.new_string)
    if old == new:
        raise ToolError(
            "old_string and new_string differ only in line endings; edit_file keeps each line's own ending "
            "(write both with plain \\n), so there is nothing to change"
        )
    starts = _occurrences_at(text, old)
    count = len(starts)
    if count == 0:
        raise ToolError(f"old_string was not found in {shown}. {_not_found_hint(text, old)}")
    if count > 1 and not args.replace_all:
        lines = ", ".join(map(str, _line_numbers(text, old)))
        more = ", …" if count > MAX_HINT_LINES else ""
        raise ToolError(
            f"old_string occurs {count} times in {shown} (at lines {lines}{more}); include more surrounding "
            "lines to make it unique, or set replace_all to true to replace every occurrence"
        )
    pieces: list[str] = []
    kept_from = 0
    for start in starts if args.replace_all else starts[:1]:
        first, last = view.original_offset(start), view.original_offset(start + len(old))
        pieces.append(original.text[kept_from:first])
        replaced_endings = LINE_BREAK.findall(original.text, first, last)
        pieces.append(carry_endings(old, replaced_endings, new, view.ending_at(start)))
        kept_from = last
    pieces.append(original.text[kept_from:])
    edited = "".join(pieces)
    expected = text.replace(old, new) if args.replace_all else text.replace(old, new, 1)
    if normalise(edited) != expected:  # a lone CR meeting an LF would read as one CRLF
        raise ToolError(f"{shown} mixes lone CR and LF line endings so that this edit cannot keep them; use run_shell")
    ctx.rules.check_write(path, ctx.root)
    try:
        data = original.encode(edited)
    except UnicodeEncodeError as e:
        raise ToolError(f"new_string cannot be written as {original.label} ({e.reason})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ToolError(f"the edited file would be {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}")
    change = diff_change(original.text, edited, shown, old_encoding=original.label, new_encoding=original.label)
    return _Edit(path=path, shown=shown, original=original, edited=edited, data=data, count=count, change=change)


def _occurrences_at(text: str, needle: str) -> list[int]:
    """Where `needle` starts in `text`, left to right, without overlaps (as `str.replace` finds them)."""
    found: list[int] = []
    start = text.find(needle)
    while start != -1:
        found.append(start)
        start = text.find(needle, start + len(needle))
    return found


def _occurrences(args: EditFileArgs, count: int) -> str:
    """`1 occurrence` or `3 occurrences` (only replace_all replaces more than one)."""
    return f"{count} occurrences" if args.replace_all and count > 1 else "1 occurrence"


def _first_sentence(message: str) -> str:
    """The first sentence of an error message: why, without the advice meant for the model."""
    head = message.split("\n", 1)[0]
    end = _SENTENCE_END.search(head)
    return head[: end.start() + 1] if end else head
