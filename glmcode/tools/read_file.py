"""`read_file`: a window of a text file as numbered lines, read lazily so huge files page."""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterator
from typing import BinaryIO

from pydantic import Field

from glmcode import output_budget
from glmcode.tools import workspace
from glmcode.tools._files import MAX_FILE_BYTES
from glmcode.tools._text import Endings, TextFile, decode, normalise, sniff
from glmcode.tools.base import (
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    one_line,
)
from glmcode.wording import plural

DEFAULT_LIMIT = 2000
MAX_LIMIT = 10_000
MAX_LINE_CHARS = 2000
"""Longer lines are cut (minified code, data) with the output budget's note of how many characters were left out."""
NOTES_ROOM = 300
"""Characters of the output budget left for the notes after a window (where to continue, invalid UTF-8):
a window stops early, at a line boundary, rather than fill more than the rest."""
COUNT_LIMIT_BYTES = 256 * 1024 * 1024
"""Past this size the total line count is not computed (it would mean reading the whole file)."""
WHOLE_FILE_BYTES = MAX_FILE_BYTES
"""Files up to this size (the ones edit_file edits) are decoded whole; larger ones are paged lazily as UTF-8 with LF lines."""
NUL_MARK = "\u2400"
"""How a NUL character is shown (`␀`)."""
_READ_BYTES = 64 * 1024
_SKIP_BYTES = 1024 * 1024


class ReadFileArgs(ToolArgs):
    path: str = Field(max_length=4096, description="File path, relative to the workspace root.")
    offset: int = Field(default=1, ge=1, description="1-based line number to start at (default 1).")
    limit: int = Field(
        default=DEFAULT_LIMIT,
        ge=1,
        le=MAX_LIMIT,
        description=f"Maximum number of lines to return (default {DEFAULT_LIMIT}).",
    )


_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))


def _utf8_chars(data: bytes) -> int:
    """How many characters `data` holds as UTF-8: every byte but continuation bytes starts one."""
    return len(data.translate(None, _CONTINUATION_BYTES))


def _lines(f: BinaryIO) -> Iterator[tuple[bytes, int]]:
    """Each line's first bytes (without its newline) and how many characters of it were left unread.

    Never holds more than a few KiB of one line, however long the line is.
    """
    cap = MAX_LINE_CHARS * 4 + 4
    while True:
        line = f.readline(cap)
        if not line:
            return
        skipped = 0
        if not line.endswith(b"\n"):
            while True:
                rest = f.readline(_READ_BYTES)
                if not rest:
                    break
                skipped += _utf8_chars(rest.removesuffix(b"\n").removesuffix(b"\r"))
                if rest.endswith(b"\n"):
                    break
        yield line.removesuffix(b"\n").removesuffix(b"\r"), skipped


def _render(raw: bytes, skipped: int) -> tuple[str, bool]:
    """The line as text, cut at `MAX_LINE_CHARS`, and whether it was valid UTF-8.

    `skipped` is the number of characters of the line that were not read.
    """
    decoder = codecs.getincrementaldecoder("utf-8")
    final = not skipped
    try:
        text, valid = decoder("strict").decode(raw, final=final), True
    except UnicodeDecodeError:
        text, valid = decoder("replace").decode(raw, final=final), False
    if len(text) > MAX_LINE_CHARS or skipped:
        left_out = max(len(text), _utf8_chars(raw)) + skipped - MAX_LINE_CHARS
        text = f"{text[:MAX_LINE_CHARS]} {output_budget.note(left_out)}"
    return text, valid


def _skip_lines(f: BinaryIO, n: int) -> int:
    """Move past the first `n` lines without decoding them; the number passed (fewer at the end)."""
    passed = 0
    last = b"\n"
    while passed < n:
        chunk = f.read(_SKIP_BYTES)
        if not chunk:
            return passed + (last != b"\n")
        newlines = chunk.count(b"\n")
        if passed + newlines >= n:
            pos = -1
            for _ in range(n - passed):
                pos = chunk.index(b"\n", pos + 1)
            f.seek(pos + 1 - len(chunk), os.SEEK_CUR)
            return n
        passed += newlines
        last = chunk[-1:]
    return passed


def _count_rest(f: BinaryIO) -> int:
    """Lines from the current position to the end (a final line without newline counts)."""
    count = 0
    last = b"\n"
    while chunk := f.read(_SKIP_BYTES):
        count += chunk.count(b"\n")
        last = chunk[-1:]
    return count + (last != b"\n")


class ReadFile(Tool[ReadFileArgs]):
    """Read a window of a text file, numbered like `cat -n`."""

    name = "read_file"
    kind = "read"
    Args = ReadFileArgs

    def describe(self, args: ReadFileArgs) -> str:
        """`read_file src/app.py`, with `from line N` when it starts past the first line."""
        start = f" from line {args.offset}" if args.offset > 1 else ""
        return one_line(f"{self.name} {args.path}{start}")

    def run(self, args: ReadFileArgs, ctx: ToolContext) -> ToolResult:
        path = workspace.resolve(ctx.root, args.path, write=False, readable=ctx.outputs.folder if ctx.outputs else None)
        shown = workspace.rel(ctx.root, path)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise ToolError(f"{shown} does not exist; use list_files or search to find the right path") from None
        except OSError as e:
            raise ToolError(f"cannot read {shown}: {e.strerror or e}") from None
        if stat.S_ISDIR(info.st_mode):
            raise ToolError(f"{shown} is a directory, not a file; use list_files to see what it contains")
        if not stat.S_ISREG(info.st_mode):
            raise ToolError(f"{shown} is not a regular file (a device, socket or pipe); read_file reads files only")
        page_chars = ctx.output_chars - NOTES_ROOM
        try:
            with workspace.open_regular(path) as f:
                if info.st_size <= WHOLE_FILE_BYTES:
                    return _read_whole(f.read(), shown, args.offset, args.limit, page_chars)
                if sniff(f.read(4))[0] != "utf-8":
                    raise ToolError(f"{shown} is a UTF-16 or UTF-32 file over {WHOLE_FILE_BYTES:,} bytes; read_file reads those up to that size")
                f.seek(0)
                return _read(f, shown, info.st_size, args.offset, args.limit, page_chars)
        except OSError as e:
            raise ToolError(f"cannot read {shown}: {e.strerror or e}") from None


def _read_whole(data: bytes, shown: str, offset: int, limit: int, page_chars: int) -> ToolResult:
    """Lines `offset`.. of a file of at most `WHOLE_FILE_BYTES`, decoded as the edit tools decode it.

    Lines end at CRLF, LF or a lone CR, so the numbers are the ones edit_file counts; a header
    line says what plain numbered lines cannot show (`format_header`).
    """
    if sniff(data)[0] == "utf-8" and workspace.is_binary(data[: workspace.BINARY_SNIFF_BYTES]):
        raise ToolError(f"{shown} is a binary file ({len(data):,} bytes); read_file shows text files only")
    file = decode(data)
    header = format_header(file)
    lines = normalise(file.text).split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines:
        return ToolResult(output=f"{shown} is empty (0 lines){header and ' ' + header}", summary="empty")
    if offset > len(lines):
        raise ToolError(f"offset {offset} is past the end of {shown}: the file has {len(lines):,} lines")
    out = [header] if header else []
    chars = len(header)
    number = offset - 1
    for content in lines[offset - 1 : offset - 1 + limit]:
        text, _ = _render(content.encode("utf-8", "surrogatepass"), 0)
        line = f"{number + 1:>6}\t{text.replace(chr(0), NUL_MARK)}"
        if number - offset + 1 >= limit or (number >= offset and chars + len(line) + 1 > page_chars):
            break
        number += 1
        out.append(line)
        chars += len(line) + 1
    if number < len(lines):
        out.append(f"[lines {offset}-{number} of {len(lines):,}; call again with offset={number + 1} to read more]")
    elif offset > 1:
        out.append(f"[lines {offset}-{number} of {number:,}; end of file]")
    return ToolResult(output="\n".join(out), summary=plural(number - offset + 1, "line"))


def format_header(file: TextFile) -> str:
    """One bracketed line of what numbered lines hide, or "" for plain UTF-8 with LF endings and a final newline.

    E.g. `[file: UTF-8 with BOM; CRLF line endings; no newline at end; edit_file and write_file keep
    these: write plain \\n]`; a file that cannot be written back faithfully says so instead.
    """
    facts = []
    if file.encoding != "utf-8" or file.bom:
        facts.append(file.label)
    endings = Endings.of(file.text)
    if set(endings.counts) - {"\n"}:
        facts.append(f"{endings.describe()} line endings")
    if file.text and not endings.final:
        facts.append("no newline at end")
    if file.problem:
        marks = f"shown as {NUL_MARK}" if "NUL" in file.problem else "undecodable bytes are shown as \ufffd"
        facts.append(f"{file.problem} ({marks}); edit_file and write_file refuse to change this file")
    elif facts:
        facts.append("edit_file and write_file keep these: write plain \\n")
    return f"[file: {'; '.join(facts)}]" if facts else ""


def _read(f: BinaryIO, shown: str, size: int, offset: int, limit: int, page_chars: int) -> ToolResult:
    """Lines `offset`.. of the open file: at most `limit` of them and, past the first, `page_chars` characters."""
    if workspace.is_binary(f.read(workspace.BINARY_SNIFF_BYTES)):
        raise ToolError(f"{shown} is a binary file ({size:,} bytes); read_file shows text files only")
    f.seek(0)
    number = _skip_lines(f, offset - 1)
    out: list[str] = []
    chars = 0
    invalid = more = False
    for raw, skipped in _lines(f):
        text, valid = _render(raw, skipped)
        line = f"{number + 1:>6}\t{text}"
        if len(out) >= limit or (out and chars + len(line) + 1 > page_chars):
            more = True
            break
        number += 1
        invalid |= not valid
        out.append(line)
        chars += len(line) + 1
    if not out:
        if number == 0:
            return ToolResult(output=f"{shown} is empty (0 lines)", summary="empty")
        raise ToolError(f"offset {offset} is past the end of {shown}: the file has {number:,} lines")
    parts = ["\n".join(out)]
    if invalid:
        parts.append("[note: this file is not valid UTF-8; undecodable bytes are shown as \ufffd]")
    if more:
        if size <= COUNT_LIMIT_BYTES:
            total = f"of {number + 1 + _count_rest(f):,}"
        else:
            total = f"of a {size:,}-byte file, more follow"
        parts.append(f"[lines {offset}-{number} {total}; call again with offset={number + 1} to read more]")
    elif offset > 1:
        parts.append(f"[lines {offset}-{number} of {number:,}; end of file]")
    return ToolResult(output="\n".join(parts), summary=plural(len(out), "line"))
