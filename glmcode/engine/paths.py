"""The workspace's paths a user may mention (the TUI's `@path` completion), as git sees them.

The same walker the tools use (`.gitignore` honoured, `.git` never entered), minus glmcode's own
`.glmcode/` folder. Front ends call this (or `Session.list_paths`) instead of reaching into tools.
"""

from __future__ import annotations

from pathlib import Path

from glmcode.engine.transcript import GLMCODE_DIR

DEFAULT_LIMIT = 20_000
"""Stop after this many entries: a huge repo still lists its top levels (breadth first)."""


def list_paths(root: Path, limit: int = DEFAULT_LIMIT) -> list[tuple[str, bool]]:
    """`(path relative to root in POSIX form, is a folder)` for files and folders under `root`.

    Breadth first, at most `limit` entries, symlinks listed but not followed. Raises nothing for
    unreadable folders (they are skipped by the walker); `root` must be a folder.
    """
    from glmcode.tools._walk import walk

    entries: list[tuple[str, bool]] = []
    if limit <= 0:
        return entries
    root = root.resolve()
    for entry in walk(root, root):
        if entry.rel == GLMCODE_DIR or entry.rel.startswith(GLMCODE_DIR + "/"):
            continue
        entries.append((entry.rel, entry.is_dir))
        if len(entries) >= limit:
            break
    return entries
