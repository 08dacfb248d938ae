"""Shared by `write_file` and `edit_file`: atomic writes (hard links kept, read-only files refused) and the byte-faithful unified diff of a change."""

from __future__ import annotations

import difflib
import functools
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from glmcode.tools._text import ENDING_NAMES, Endings, TextFile, lines_with_endings
from glmcode.tools.base import ToolError
from glmcode.wording import plural

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Largest file `write_file` writes and `edit_file` edits."""
MAX_DIFF_INPUT_CHARS = 2_000_000
"""Above this (old + new), no line diff is computed: difflib would take too long."""
MAX_DIFF_CHARS = 200_000
"""A diff for renderers is cut here."""


@functools.cache
def umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


READ_ONLY_MESSAGE = "cannot write {shown}: read-only file: change its mode first if it really must change"
"""The tool error for a file its user may not write (`{shown}` is the workspace-relative path)."""


def check_writable(path: Path, shown: str) -> None:
    """Raise `ToolError` (`READ_ONLY_MESSAGE`) when `path` exists and its user may not write it.

    A file with no write bit at all counts as read-only even for root (who could write it
    anyway): its mode says nobody meant it to change. A missing file passes (it will be created).
    """
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISREG(st.st_mode) and (not st.st_mode & 0o222 or not os.access(path, os.W_OK)):
        raise ToolError(READ_ONLY_MESSAGE.format(shown=shown))


def atomic_write(path: Path, data: bytes, mode: int | None = None, *, refuse_read_only: bool = True) -> None:
    """Write `data` to `path` atomically where that keeps the file what it is (hard links kept).

    Creates missing parent folders; gives the file `mode` when set, else keeps the permission bits
    of a file being replaced, and gives a new file the usual `0o666 & ~umask`.

    A file with one link (or a new one) is written through a temporary file in the same folder
    and `os.replace`. A file with several hard links (`st_nlink > 1`) is written in place instead,
    so every link sees the change (a replace would give `path` a new inode and leave the other
    links with the old bytes) — at the price of a moment where a reader may see it half written:
    its current bytes are first copied to a temporary backup in the
    same folder and fsynced, then the file is rewritten, truncated and fsynced; on failure the old
    bytes are put back from the backup. The backup is removed afterwards; if putting it back fails
    too, it is kept and the `ToolError` names it.

    With `refuse_read_only` (the tools), an existing file its user may not write is refused with
    `ToolError` (`check_writable`); checkpoint restores pass False and write with their `mode`.
    On any error the temporary file is removed and the error (`OSError`, `ToolError` for a parent
    that is a file) raised; `path` is then as it was.
    """
    if refuse_read_only:
        check_writable(path, path.name)
    try:
        st: os.stat_result | None = path.stat()
    except FileNotFoundError:
        st = None
    if mode is None:
        mode = st.st_mode & 0o7777 if st is not None else 0o666 & ~umask()
    if st is not None and stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        _write_in_place(path, data, mode, st)
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    except (FileExistsError, NotADirectoryError) as e:
        raise ToolError(f"cannot create the folder for {path.name}: a parent path is a file, not a folder") from e
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _write_in_place(path: Path, data: bytes, mode: int, st: os.stat_result) -> None:
    """Rewrite a hard-linked file's own inode with `data`, a fsynced backup of its old bytes at hand
    (see `atomic_write`). The file is opened for writing first: one that cannot be (permissions)
    raises `OSError` with nothing touched and no backup made."""
    with open(path, "r+b") as target:
        fd, backup = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".bak")
        try:
            with os.fdopen(fd, "wb") as saved:
                shutil.copyfileobj(target, saved)
                saved.flush()
                os.fsync(saved.fileno())
        except BaseException:
            _remove(backup)
            raise
        try:
            _overwrite(target, lambda out: out.write(data))
            if mode != st.st_mode & 0o7777:
                os.chmod(path, mode)
        except BaseException as e:
            try:
                with open(backup, "rb") as saved:
                    _overwrite(target, lambda out: shutil.copyfileobj(saved, out))
            except OSError as restore:
                raise ToolError(
                    f"writing {path.name} in place failed ({e}) and so did putting its old bytes back ({restore}): "
                    f"they are kept in {os.path.basename(backup)} next to it"
                ) from e
            _remove(backup)
            raise
    _remove(backup)


def _overwrite(target: BinaryIO, fill: Callable[[BinaryIO], object]) -> None:
    """Empty the open file `target` (same inode), write it anew with `fill`, then fsync."""
    target.seek(0)
    target.truncate(0)
    fill(target)
    target.flush()
    os.fsync(target.fileno())


def _remove(path: str) -> None:
    """Delete a temporary file; one already gone is fine."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def unfaithful(shown: str, file: TextFile, tool: str) -> str:
    """The tool error for a file that cannot be written back byte for byte (`file.problem` is set)."""
    return (
        f"{shown} cannot be changed faithfully: {file.problem}, so writing it would alter bytes nobody asked to "
        f"change. {tool} refuses to touch it (read_file still shows it). If it really must change, use run_shell "
        "with a tool that keeps its encoding (e.g. sed or iconv), or delete it first and write it anew."
    )


@dataclass(frozen=True)
class Change:
    """What an edit did: a unified diff for renderers and the line counts for a summary."""

    diff: str | None
    """Git-style unified diff; "" when nothing changed; None when too large to compute."""
    added: int
    removed: int

    def summary(self, created: bool, new_text: str) -> str:
        """`created, 12 lines`, `updated, +3 -1`, `unchanged` or `updated (too large to diff)`."""
        if created:
            return f"created, {plural(line_count(new_text), 'line')}"
        if self.diff == "":
            return "unchanged"
        if self.diff is None:
            return "updated (too large to diff)"
        return f"updated, +{self.added} -{self.removed}"


def diff_change(
    old: str | None, new: str, name: str, *, old_encoding: str = "UTF-8", new_encoding: str = "UTF-8"
) -> Change:
    """The change from `old` (None for a new file) to `new`, shown as `a/<name>` → `b/<name>`, byte-faithful.

    Both texts carry their real line endings (`\\r\\n`, `\\n`, a lone `\\r`); a line whose only change
    is its ending is a changed line. When both sides use one and the same ending, lines are shown
    plainly and a `\\ line endings: CRLF` note says which (nothing is said for LF); otherwise each
    CRLF ending is shown as `␍␊` and each lone CR as `␍` at the end of its line, with a note.
    An encoding or byte-order-mark change (`old_encoding` → `new_encoding`, e.g. `UTF-8 with BOM`)
    is a note too; a new file in anything but plain UTF-8 says its encoding. No change, no diff ("").
    """
    if old == new and old_encoding == new_encoding:
        return Change("", 0, 0)
    if len(old or "") + len(new) > MAX_DIFF_INPUT_CHARS:
        return Change(None, 0, 0)
    kinds = set(Endings.of(old or "").counts) | set(Endings.of(new).counts)
    marked = len(kinds) > 1
    out = []
    added = removed = 0
    lines = difflib.unified_diff(
        _lines(old or ""),
        _lines(new),
        fromfile="/dev/null" if old is None else f"a/{name}",
        tofile=f"b/{name}",
        lineterm="",
    )
    for index, line in enumerate(lines):
        if index < 2 or line.startswith("@@"):
            out.append(line + "\n")
            continue
        added += line.startswith("+")
        removed += line.startswith("-")
        body, ending = _split_ending(line)
        if not ending:
            out.append(body + "\n\\ No newline at end of file\n")
        else:
            out.append(body + (_MARKS[ending] if marked else "") + "\n")
    if not out:  # same text, another encoding: the header alone, then the note
        out = [f"--- a/{name}\n", f"+++ b/{name}\n"]
    if marked:
        out.append("\\ line endings: ␍␊ marks CRLF, ␍ a lone CR; unmarked lines end with LF\n")
    elif kinds and kinds != {"\n"}:
        out.append(f"\\ line endings: {ENDING_NAMES[kinds.pop()]}\n")
    if old is None:
        if new_encoding != "UTF-8":
            out.append(f"\\ encoding: {new_encoding}\n")
    elif old_encoding != new_encoding:
        out.append(f"\\ encoding: {old_encoding} → {new_encoding}\n")
    diff = "".join(out)
    if len(diff) > MAX_DIFF_CHARS:
        diff = diff[:MAX_DIFF_CHARS] + f"\n[... diff cut: {len(diff) - MAX_DIFF_CHARS:,} more characters ...]\n"
    return Change(diff, added, removed)


_MARKS = {"\r\n": "␍␊", "\r": "␍", "\n": ""}


def _split_ending(line: str) -> tuple[str, str]:
    """A diff line and its line ending ("" when it has none)."""
    for ending in ("\r\n", "\r", "\n"):
        if line.endswith(ending):
            return line[: -len(ending)], ending
    return line, ""


def line_count(text: str) -> int:
    """Lines in `text` (ended by CRLF, CR or LF), counting a last line without an ending."""
    return text.count("\n") + text.count("\r") - text.count("\r\n") + (not Endings.of(text).final and bool(text))


def _lines(text: str) -> list[str]:
    """Each line of `text` with its own ending (CRLF, CR or LF; str.splitlines also splits on form feeds)."""
    return lines_with_endings(text)
