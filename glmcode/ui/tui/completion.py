"""What the prompt input can complete at the cursor: `/command` at the start, `@path` anywhere.

`context_at` finds the word being completed; `PathIndex` lists the workspace's files the way
git sees them (`.gitignore` honoured: the engine's `list_paths`) and ranks matches.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from glmcode.ui.tui import slash_commands

MAX_INDEXED = 20_000
"""Stop listing the workspace after this many entries (a huge repo still completes its top)."""
INDEX_MAX_AGE_S = 30.0


@dataclass(frozen=True)
class Candidate:
    """One completion: what the menu shows and what replaces the word."""

    label: str
    insert: str
    detail: str = ""
    keep_open: bool = False
    """A folder: after inserting it, go on completing inside it."""


@dataclass(frozen=True)
class Context:
    """The word being completed: its kind, where it starts and ends on the cursor's line, and its text."""

    kind: Literal["command", "path"]
    start: int
    end: int
    prefix: str


def context_at(line: str, column: int, row: int) -> Context | None:
    """The completable word under the cursor at `column` of `line` (row `row` of the input), if any."""
    start = column
    while start > 0 and not line[start - 1].isspace():
        start -= 1
    end = column
    while end < len(line) and not line[end].isspace():
        end += 1
    word = line[start:column]
    if row == 0 and start == 0 and word.startswith("/") and "/" not in word[1:]:
        return Context("command", start, end, word[1:])
    if word.startswith("@"):
        return Context("path", start, end, word[1:])
    return None


def command_candidates(prefix: str) -> list[Candidate]:
    return [Candidate(label=c.usage, insert=f"/{c.name} ", detail=c.help) for c in slash_commands.complete(prefix)]


class PathIndex:
    """The workspace's files and folders, listed in the background and matched by prefix or fragment."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._entries: list[tuple[str, bool]] = []
        self._built_at = 0.0
        self._building = False
        self._lock = threading.Lock()

    def refresh(self, *, wait: bool = False) -> None:
        """Rebuild the list on a thread if it is older than `INDEX_MAX_AGE_S` (or `wait` for it)."""
        with self._lock:
            if self._building or time.monotonic() - self._built_at < INDEX_MAX_AGE_S:
                return
            self._building = True
        if wait:
            self._build()
        else:
            threading.Thread(target=self._build, name="glmcode-path-index", daemon=True).start()

    def _build(self) -> None:
        from glmcode.engine.session import list_paths

        entries: list[tuple[str, bool]] = []
        try:
            entries = list_paths(self.root, MAX_INDEXED)
        finally:
            with self._lock:
                self._entries = entries
                self._built_at = time.monotonic()
                self._building = False

    def match(self, prefix: str, limit: int = 8) -> list[Candidate]:
        """Best matches for `prefix`: path prefix first, then name prefix, then fragment anywhere."""
        needle = prefix.lower()
        ranked: list[tuple[int, int, str, bool]] = []
        for rel, is_dir in self._entries:
            lowered = rel.lower()
            if (needle and needle not in lowered) or not _mentionable(rel):
                continue
            name = lowered.rsplit("/", 1)[-1]
            if lowered.startswith(needle):
                rank = 0
            elif name.startswith(needle):
                rank = 1
            else:
                rank = 2
            ranked.append((rank, rel.count("/"), rel, is_dir))
        ranked.sort()
        return [_path_candidate(rel, is_dir) for _, _, rel, is_dir in ranked[:limit]]


_UNQUOTED = re.compile(r"[^\s\"'`<>()\[\]{},;]+")
"""What an `@path` mention may hold without quotes (the engine's mention syntax, `engine/mentions.py`)."""


def _mentionable(rel: str) -> bool:
    """Whether a mention can name `rel` at all: the quoted form `@"..."` ends at a double quote
    and a line break, so a path holding one is not offered (the model can still read it by name)."""
    return '"' not in rel and "\n" not in rel and "\r" not in rel


def _path_candidate(rel: str, is_dir: bool) -> Candidate:
    """The completion for one workspace path: `@path ` (a folder: `@path/`, kept open to go
    deeper), or `@"path" ` when the path holds a space or another character a bare mention ends at
    (such a folder is inserted whole: completion stops at the space)."""
    label = rel + ("/" if is_dir else "")
    if _UNQUOTED.fullmatch(label) and not label.endswith(tuple(".,:;!?")):
        return Candidate(label=label, insert="@" + label + ("" if is_dir else " "), keep_open=is_dir)
    return Candidate(label=label, insert=f'@"{label}" ', keep_open=False)
