"""Path confinement: every path a tool touches is resolved here and must stay in the workspace.

`resolve` follows symlinks (`os.path.realpath`) before checking, so a symlinked file or a
symlinked parent directory that points outside the root is refused, whatever its name says.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from glmcode.tools.base import ToolError

MAX_PATH_CHARS = 4096
"""Longer paths are refused outright: no real file needs one, and a model loop can produce them."""

GLMCODE_DIR = ".glmcode"
"""glmcode's own folder in the workspace (transcripts, runs, saved outputs, its config): tools never
write there, and read only the session's saved outputs (`resolve`'s `readable`)."""

BINARY_SNIFF_BYTES = 8192
"""How much of a file `is_binary` looks at, the same window git uses."""


def resolve(ctx_root: Path, path: str, *, write: bool, readable: Path | None = None) -> Path:
    """The fully resolved absolute path for `path`, or `ToolError` if it leaves the workspace.

    Relative paths are taken from the root; absolute ones are accepted only when they resolve
    inside it. With `write=True`, anything inside a `.git` folder is refused as well. glmcode's
    own `.glmcode/` folder is refused too — for reading, all of it but `readable` (a folder
    inside it: the session's saved outputs) — so a tool neither rewrites glmcode's state nor
    reads other sessions' transcripts. That folder is compared resolved too: were `.glmcode` a
    symlink (sessions refuse to start with one, but a command can make one mid-session), the
    folder it leads to is refused under any name.
    """
    if not isinstance(path, str) or not path.strip():
        raise ToolError("the path is empty: give a file path relative to the workspace root, e.g. `src/main.py`")
    if "\x00" in path:
        raise ToolError(f"the path {path[:200]!r} contains a NUL byte")
    if len(path) > MAX_PATH_CHARS:
        raise ToolError(f"the path is {len(path):,} characters long (the limit is {MAX_PATH_CHARS:,}): {path[:100]!r}…")
    root = Path(os.path.realpath(ctx_root))
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        resolved = Path(os.path.realpath(candidate))
    except (OSError, ValueError) as e:
        raise ToolError(f"cannot resolve the path {path!r}: {e}") from e
    if resolved != root and root not in resolved.parents:
        raise ToolError(
            f"the path {path!r} is outside the workspace root {root} (it resolves to {resolved}); "
            "only files inside the workspace can be used"
        )
    parts = resolved.relative_to(root).parts
    if write and any(part.casefold() == ".git" for part in parts):
        raise ToolError(f"the path {path!r} is inside a .git folder: git's own files are never written by tools")
    state = Path(os.path.realpath(root / GLMCODE_DIR))
    if (parts and parts[0].casefold() == GLMCODE_DIR) or resolved == state or state in resolved.parents:
        allowed = Path(os.path.realpath(readable)) if readable is not None else None
        if write or allowed is None or (resolved != allowed and allowed not in resolved.parents):
            raise ToolError(
                f"the path {path!r} is inside {GLMCODE_DIR}/, glmcode's own folder: tools never write there, "
                "and read only this session's saved outputs (the path a cut output's note gives)"
            )
    return resolved


def rel(root: Path, path: Path) -> str:
    """`path` relative to the workspace root, POSIX style, for display (`.` for the root itself)."""
    try:
        relative = Path(path).relative_to(root).as_posix()
    except ValueError:
        try:
            relative = Path(os.path.realpath(path)).relative_to(os.path.realpath(root)).as_posix()
        except ValueError:
            return Path(path).as_posix()
    return relative or "."


class NotRegularFile(OSError):
    """`open_regular` met something that is not a regular file (a FIFO, socket or device)."""

    def __init__(self, path: Path) -> None:
        super().__init__(0, NOT_REGULAR, str(path))


NOT_REGULAR = "not a regular file (a pipe, socket or device)"
"""Why `open_regular` refused a path: the words callers show."""


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading bytes, if it is a regular file; raises `NotRegularFile` (an
    `OSError`) for anything else, and `OSError` when it cannot be opened.

    Opening never blocks: a FIFO with no writer would hang a plain `open` forever (no timeout
    reaches a blocked `open`), so the file is opened non-blocking and checked with `fstat` on
    the open descriptor (no window between the check and the read).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(path)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def is_binary(sample: bytes) -> bool:
    """True when the first 8 KiB of `sample` hold a NUL byte, the usual sign of a binary file."""
    return b"\x00" in sample[:BINARY_SNIFF_BYTES]
