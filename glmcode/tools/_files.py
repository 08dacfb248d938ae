"""Shared by `write_file` and `edit_file`: atomic writes and the unified diff of a change."""

from __future__ import annotations

import difflib
import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from glmcode.tools.base import ToolError
from glmcode.wording import plural

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Largest file `write_file` writes and `edit_file` edits."""
MAX_DIFF_INPUT_CHARS = 2_000_000
"""Above this (old + new), no line diff is computed: difflib would take too long."""
MAX_DIFF_CHARS = 200_000
"""A diff for renderers is cut here."""


@functools.cache
def _umask() -> int:
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


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and `os.replace`.

    Creates missing parent folders; keeps the permission bits of a file being replaced, and
    gives a new file the usual `0o666 & ~umask`.
    """
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
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
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


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


def diff_change(old: str | None, new: str, name: str) -> Change:
    """The change from `old` (None for a new file) to `new`, shown as `a/<name>` → `b/<name>`."""
    if old == new:
        return Change("", 0, 0)
    if len(old or "") + len(new) > MAX_DIFF_INPUT_CHARS:
        return Change(None, 0, 0)
    out = []
    added = removed = 0
    lines = difflib.unified_diff(
        _lines(old or ""), _lines(new), fromfile="/dev/null" if old is None else f"a/{name}", tofile=f"b/{name}"
    )
    for index, line in enumerate(lines):
        if index >= 2:
            added += line.startswith("+")
            removed += line.startswith("-")
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    diff = "".join(out)
    if len(diff) > MAX_DIFF_CHARS:
        diff = diff[:MAX_DIFF_CHARS] + f"\n[... diff cut: {len(diff) - MAX_DIFF_CHARS:,} more characters ...]\n"
    return Change(diff, added, removed)


def line_count(text: str) -> int:
    """Lines in `text`, counting a last line without a newline."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _lines(text: str) -> list[str]:
    """Split on `\\n` only (str.splitlines also splits on form feeds and other separators)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines
