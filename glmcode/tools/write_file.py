"""`write_file`: create or overwrite a whole file, atomically, keeping an existing file's conventions."""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from glmcode.errors import Refusal
from glmcode.tools import workspace
from glmcode.tools._files import (
    MAX_FILE_BYTES,
    Change,
    atomic_write,
    check_writable,
    diff_change,
    line_count,
    unfaithful,
)
from glmcode.tools._text import Endings, LineMap, TextFile, carry_endings, decode, encoding_name, normalise, sniff
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


HEAD_BYTES = 64 * 1024
"""Of a file too large to compare, how much is read to learn its encoding and line endings."""


def _existing(path: Path, shown: str) -> tuple[bool, bytes | None, TextFile | None]:
    """Whether `path` exists, its bytes (None when too large to compare and diff) and them decoded.

    For a file over `MAX_FILE_BYTES` only its first `HEAD_BYTES` are decoded (to learn its
    encoding and endings). Refuses a binary file and one that cannot be written back byte for byte.
    """
    if path.is_dir():
        raise ToolError(f"{shown} is a directory; write_file writes files only")
    try:
        with workspace.open_regular(path) as f:
            large = os.fstat(f.fileno()).st_size > MAX_FILE_BYTES
            data = f.read(HEAD_BYTES if large else MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return False, None, None
    except NotADirectoryError:
        raise ToolError(f"cannot write {shown}: a parent path is a file, not a folder") from None
    except workspace.NotRegularFile:
        raise ToolError(f"{shown} is {workspace.NOT_REGULAR}; write_file writes files only") from None
    except OSError as e:
        raise ToolError(f"cannot write {shown}: {e.strerror or e}") from None
    encoding, bom = sniff(data)
    if encoding == "utf-8" and workspace.is_binary(data):
        raise ToolError(
            f"{shown} is a binary file; write_file does not write text over it. If it really must be replaced, "
            "delete it first (run_shell) and write the new file."
        )
    if large:
        body = data[len(bom) :]
        head = codecs.getincrementaldecoder(encoding)("replace").decode(body, final=False)
        return True, None, TextFile(encoding=encoding, bom=bom, text=head, problem=None)
    old = decode(data)
    if old.problem:
        raise ToolError(unfaithful(shown, old, "write_file"))
    return True, data, old


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

        Checked and converted as `run` does (`_prepare`), without writing: a call that would fail
        says why in one line (`write_file PATH would fail: <why>`), one that would change nothing
        says so; the diff is the one the result then carries (byte-faithful, see `diff_change`).
        """
        try:
            write = _prepare(args, ctx)
        except (ToolError, Refusal) as e:
            return f"{self.describe(args)} would fail: {e}"
        lines = line_count(write.text)
        if not write.existed:
            shown = normalise(write.text).split("\n")[: min(lines, PREVIEW_LINES)]
            more = lines - len(shown)
            head = f"create {write.shown} ({plural(lines, 'line', number=f'{lines:,}')})\n"
            body = "".join(f"{line}\n" for line in shown)
            notes = "".join(line for line in (write.change.diff or "").splitlines(keepends=True) if line.startswith(("\\ line endings", "\\ encoding")))
            return head + body + (f"… {plural(more, 'more line', number=f'{more:,}')}\n" if more > 0 else "") + notes
        if write.old_bytes == write.data:
            return f"{write.shown} already has exactly this content: nothing would be written"
        if write.change.diff is None:
            return f"overwrite {write.shown} with {plural(lines, 'line', number=f'{lines:,}')} (too large to show a diff)"
        return write.change.diff

    def run(self, args: WriteFileArgs, ctx: ToolContext) -> ToolResult:
        write = _prepare(args, ctx)
        existed, data, shown, change = write.existed, write.data, write.shown, write.change
        if existed and write.old_bytes == data:
            output = f"{shown} already has exactly this content; nothing was written."
            return ToolResult(output=output, summary="unchanged", diff="")
        try:
            atomic_write(write.path, data)
        except OSError as e:
            raise ToolError(f"cannot write {shown}: {e.strerror or e}") from None
        lines = line_count(write.text)
        counts = f"+{change.added} -{change.removed} lines, " if change.diff else ""
        kept = f" Kept the file's {' and '.join(write.kept)}." if write.kept else ""
        number = plural(lines, "line", number=f"{lines:,}")
        if existed:
            output = f"Updated {shown} ({counts}now {number}, {len(data):,} bytes).{kept}"
        else:
            output = f"Created {shown} ({number}, {len(data):,} bytes)."
        return ToolResult(output=output, summary=change.summary(not existed, write.text), diff=change.diff)


@dataclass(frozen=True)
class _Write:
    """A write checked, converted to the file's conventions and allowed by the rules, ready to be made."""

    path: Path
    shown: str
    text: str
    """The text written (no byte-order mark), line endings as they go to disk."""
    data: bytes
    """The bytes written, within `MAX_FILE_BYTES`."""
    existed: bool
    old_bytes: bytes | None
    """The file's bytes before (None when it did not exist or is too large to compare)."""
    change: Change
    """The diff of the old text → `text`, as the result and the preview show it."""
    kept: list[str]
    """What of the old file's conventions the content was converted to, e.g. `CRLF line endings`."""


def _prepare(args: WriteFileArgs, ctx: ToolContext) -> _Write:
    """Everything `run` does before writing: the one code path of both `run` and `preview`.

    Over an existing file the content takes the file's conventions unless it sets its own: the
    encoding and byte-order mark are kept, and content whose lines end with plain `\\n` (no CR
    anywhere) gets the file's endings — a line that is still there keeps its own, others get the
    file's most common one. Content with a CR in it is written with exactly its endings; content
    starting with U+FEFF asks for a byte-order mark. A new file is UTF-8, exactly as given.
    Raises `ToolError` (path outside the workspace or a folder; a read-only file; old file binary or not
    round-trippable; content with NUL or unencodable characters, or too large) or `Refusal`
    (an AGENT.md rule protects the file).
    """
    path = workspace.resolve(ctx.root, args.path, write=True)
    shown = workspace.rel(ctx.root, path)
    check_writable(path, shown)
    content = args.content
    if "\x00" in content:
        raise ToolError(f"the content contains a NUL character (at character {content.index(chr(0)):,}); text files hold none")
    existed, old_bytes, old = _existing(path, shown)
    text, bom, encoding, kept = content, b"", "utf-8", []
    if content.startswith("\ufeff"):
        text, bom = content[1:], codecs.BOM_UTF8
    if old is not None:
        encoding, bom = old.encoding, old.bom or bom
        if old.bom and encoding == "utf-8":
            kept.append("byte-order mark")
        elif encoding != "utf-8":
            bom = old.bom
            kept.append(f"{old.label} encoding")
        endings = Endings.of(old.text)
        if "\r" not in text and "\n" in text and set(endings.counts) - {"\n"}:
            text = _with_endings(text, old, endings, complete=old_bytes is not None)
            kept.append(f"{endings.describe()} line endings")
    try:
        data = bom + text.encode(encoding)
    except UnicodeEncodeError as e:
        name = encoding_name(encoding, b"")
        raise ToolError(f"the content cannot be written as {name} ({e.reason} at character {e.start})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ToolError(f"the content is {len(data):,} bytes; write_file writes at most {MAX_FILE_BYTES:,} bytes")
    ctx.rules.check_write(path, ctx.root)
    label = encoding_name(encoding, bom)
    if old is None:
        change = diff_change(None, text, shown, new_encoding=label)
    elif old_bytes is None:
        change = Change(None, 0, 0)
    else:
        change = diff_change(old.text, text, shown, old_encoding=old.label, new_encoding=label)
    return _Write(
        path=path, shown=shown, text=text, data=data, existed=existed, old_bytes=old_bytes, change=change, kept=kept
    )


def _with_endings(text: str, old: TextFile, endings: Endings, *, complete: bool) -> str:
    """`text` (plain `\\n` endings) with the old file's: its one ending, or per line when it mixes them.

    `complete` is False when `old` holds only the head of a large file: its most common ending then.
    """
    if endings.uniform is not None or not complete:
        return text.replace("\n", endings.uniform or endings.dominant)
    view = LineMap(old.text)
    return carry_endings(view.normalised, view.line_endings(), text, endings.dominant)
