"""The project map: the repository's tree with sizes and each source file's top-level definitions.

Given to the model at the start of a task as part of the system prompt, so it sees the project
whole before its first tool call and every later request reads the map from the provider's
prefix cache (DESIGN §2 rule 8). The text is byte-stable: the same files give the same map (no
times, no ids; sizes, names and definitions only, sorted by name). It is bounded by a budget in
characters (`Settings.project_map_chars`): past it, definitions go first (tests' and the deepest
files' first), then the deepest folders fold into one line each, then the text is cut.

    README.md 1.2K
    src/ (12 files, 96K)
      app.py 4.1K: class App [run, stop]; def main

A name with a newline, a control or a bidi character is quoted the way git quotes it
(`"evil\\nREADME.md"`, `glmcode.quoting`) and definitions are escaped: each entry stays one line.

`ProjectMap.scan` re-reads only files whose size or modification time changed, so checking at
the start of each task whether the map changed costs a walk and a `stat` per file; the
definitions are kept on disk too (`.glmcode/cache/outline.json`), so only a repository's first
session pays for parsing (`ast` reads about 1 MB of Python in 0.3 s on a quiet core).
`changes` says what changed between two scans, for the note appended to the next task's
prompt (the system prompt is never rewritten mid-session). `save_scan` keeps the scan behind what
the model was last given (`.glmcode/sessions/<id>/map.json`), so a resumed session sends only
what changed since (or nothing), never the whole map again.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from glmcode import output_budget
from glmcode.engine import outline
from glmcode.quoting import escape, quote_name
from glmcode.tools._reader import is_secret_name, is_skipped_dir
from glmcode.tools._walk import Entry, walk
from glmcode.tools.workspace import open_regular

MAX_FILES = 20_000
"""Files mapped at most; past this the map says the count stopped."""
MAX_OUTLINE_BYTES = 512 * 1024
"""Larger source files are listed without their definitions (generated code, vendored bundles)."""
PARSE_BUDGET_S = 3.0
"""Seconds one `ProjectMap` spends reading definitions at most (a huge repository's first
session): files not reached are listed without them, for the rest of the session (so the map does
not change by itself), and the next session goes on from the disk cache."""
CACHE_VERSION = 1
"""Bumped when the definitions' format changes: an older cache file is then ignored."""
_TEST_PARTS = ("test", "tests", "testing", "spec", "__tests__", "fixtures", "examples", "benchmarks", "docs")


@dataclass(frozen=True)
class FileInfo:
    """One mapped file: its size in bytes and its top-level definitions."""

    size: int
    defs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scan:
    """What one walk of the workspace found."""

    files: dict[str, FileInfo]
    """POSIX path relative to the root → info, in walk order."""
    skipped: tuple[str, ...]
    """Vendored or generated folders not entered (`node_modules/`) and secret-looking files not
    mapped (`.env`, `certs/server.pem`: `_reader.is_secret_name`)."""
    capped: bool
    """True when `MAX_FILES` stopped the walk."""


def human_size(size: int) -> str:
    """`512B`, `4.1K`, `12K`, `1.3M`: short and stable (decimal units, one decimal under 10)."""
    for unit, scale in (("G", 1_000_000_000), ("M", 1_000_000), ("K", 1_000)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return f"{size}B"


class ProjectMap:
    """Scans one workspace, remembering each file's definitions between scans."""

    def __init__(self, root: Path, exclude: tuple[str, ...] = (".glmcode",), cache_path: Path | None = None) -> None:
        """`root` is the workspace (resolved); top-level names in `exclude` are never mapped;
        `cache_path` (a JSON file, made when missing) keeps the definitions between sessions."""
        self.root = root
        self.exclude = exclude
        self.cache_path = cache_path
        self._cache: dict[str, tuple[int, int, tuple[str, ...]]] = {}
        self._cache_loaded = False
        self._cache_dirty = False
        self._parse_left = PARSE_BUDGET_S
        self._unparsed: set[str] = set()

    def _load_cache(self) -> None:
        self._cache_loaded = True
        if self.cache_path is None:
            return
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
            if data.get("version") != CACHE_VERSION:
                return
            self._cache = {rel: (int(size), int(mtime), tuple(map(str, defs))) for rel, (size, mtime, defs) in data["files"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            self._cache = {}

    def _save_cache(self, seen: set[str]) -> None:
        """Write the cache (only the files seen in the last scan) atomically; best effort."""
        if self.cache_path is None or not self._cache_dirty:
            return
        self._cache = {rel: value for rel, value in self._cache.items() if rel in seen}
        data = {"version": CACHE_VERSION, "files": {rel: [s, m, list(d)] for rel, (s, m, d) in self._cache.items()}}
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self.cache_path)
            self._cache_dirty = False
        except OSError:
            pass

    def scan(self) -> Scan:
        """Walk the workspace as git sees it and return every file's size and definitions."""
        if not self._cache_loaded:
            self._load_cache()
        files: dict[str, FileInfo] = {}
        skipped: list[str] = []
        capped = False

        def prune(entry: Entry) -> bool:
            return is_skipped_dir(entry.path.name) or entry.rel in self.exclude

        for entry in walk(self.root, self.root, prune=prune):
            if entry.is_dir:
                if entry.rel not in self.exclude and is_skipped_dir(entry.path.name):
                    skipped.append(entry.rel + "/")
                continue
            if not entry.is_regular:  # symlinks, FIFOs, sockets, devices: nothing to read
                continue
            if is_secret_name(entry.path.name):
                skipped.append(entry.rel)
                continue
            if len(files) >= MAX_FILES:
                capped = True
                break
            try:
                info = entry.path.stat()
            except OSError:
                continue
            files[entry.rel] = FileInfo(info.st_size, self._defs(entry, info.st_size, info.st_mtime_ns))
        self._save_cache(set(files))
        return Scan(files, tuple(skipped), capped)

    def _defs(self, entry: Entry, size: int, mtime_ns: int) -> tuple[str, ...]:
        suffix = os.path.splitext(entry.rel)[1]
        if suffix.lower() not in outline.LANGUAGES or size > MAX_OUTLINE_BYTES:
            return ()
        cached = self._cache.get(entry.rel)
        if cached is not None and cached[:2] == (size, mtime_ns):
            return cached[2]
        if entry.rel in self._unparsed or self._parse_left <= 0:
            self._unparsed.add(entry.rel)
            return ()
        started = time.perf_counter()
        try:
            with open_regular(entry.path) as f:
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return ()
        defs = tuple(outline.definitions(suffix, text))
        self._parse_left -= time.perf_counter() - started
        self._cache[entry.rel] = (size, mtime_ns, defs)
        self._cache_dirty = True
        return defs


class _Folder:
    """A folder of the tree being rendered."""

    def __init__(self, rel: str, depth: int) -> None:
        self.rel = rel
        self.depth = depth
        self.folders: dict[str, _Folder] = {}
        self.files: dict[str, str] = {}
        """Name → path relative to the root."""
        self.count = 0
        self.size = 0


def _tree(scan: Scan) -> _Folder:
    root = _Folder("", -1)
    for rel, info in scan.files.items():
        parts = rel.split("/")
        folder = root
        folder.count += 1
        folder.size += info.size
        for index, part in enumerate(parts[:-1]):
            child = folder.folders.get(part)
            if child is None:
                child = folder.folders[part] = _Folder("/".join(parts[: index + 1]), index)
            folder = child
            folder.count += 1
            folder.size += info.size
        folder.files[parts[-1]] = rel
    return root


def _defs_text(defs: tuple[str, ...]) -> str:
    """`: class A; def b` (escaped: a definition is read from the file, so it may hold anything), or ""."""
    return f": {'; '.join(map(escape, defs))}" if defs else ""


def _file_line(name: str, info: FileInfo, indent: str, with_defs: bool) -> str:
    defs = _defs_text(info.defs) if with_defs else ""
    return f"{indent}{quote_name(name)} {human_size(info.size)}{defs}"


def _folder_line(name: str, folder: _Folder, indent: str, folded: bool) -> str:
    files = "1 file" if folder.count == 1 else f"{folder.count:,} files"
    return f"{indent}{quote_name(name)}/ ({files}, {human_size(folder.size)}{', not expanded' if folded else ''})"


def _lines(folder: _Folder, scan: Scan, no_defs: set[str], folded: set[str], out: list[str]) -> None:
    indent = "  " * (folder.depth + 1)
    names = sorted([*folder.files, *folder.folders])
    for name in names:
        if name in folder.folders:
            child = folder.folders[name]
            out.append(_folder_line(name, child, indent, child.rel in folded))
            if child.rel not in folded:
                _lines(child, scan, no_defs, folded, out)
        else:
            rel = folder.files[name]
            out.append(_file_line(name, scan.files[rel], indent, rel not in no_defs))


def _text(root: _Folder, scan: Scan, no_defs: set[str], folded: set[str]) -> str:
    out: list[str] = []
    _lines(root, scan, no_defs, folded, out)
    return "\n".join(out)


def _drop_order(rel: str) -> tuple[int, int, str]:
    """Whose definitions go first: tests, docs and examples, then the deepest files."""
    parts = PurePosixPath(rel).parts
    minor = any(part in _TEST_PARTS or part.startswith("test_") for part in parts)
    return (0 if minor else 1, -len(parts), rel)


def render(scan: Scan, limit: int) -> str:
    """The map as text of at most `limit` characters (see the module docstring for the order of cuts).

    Starts with one line saying what it is and ends with the skipped folders; empty when the
    workspace has no files.
    """
    if not scan.files:
        return ""
    root = _tree(scan)
    skipped = f"\n(not mapped: {', '.join(map(quote_name, scan.skipped))})" if scan.skipped else ""
    capped = f"\n(mapping stopped at {MAX_FILES:,} files)" if scan.capped else ""
    head = f"{root.count:,} files, {human_size(root.size)}"
    room = limit - len(skipped) - len(capped) - 200
    no_defs: set[str] = set()
    folded: set[str] = set()
    body = _text(root, scan, no_defs, folded)
    if len(body) > room:
        excess = len(body) - room
        for rel in sorted((r for r, i in scan.files.items() if i.defs), key=_drop_order):
            if excess <= 0:
                break
            info = scan.files[rel]
            excess -= len("; ".join(info.defs)) + 2
            no_defs.add(rel)
        head += "; definitions left out of some files"
        body = _text(root, scan, no_defs, folded)
    if len(body) > room:
        folders: list[_Folder] = []
        stack = [root]
        while stack:
            folder = stack.pop()
            folders.extend(folder.folders.values())
            stack.extend(folder.folders.values())
        folders.sort(key=lambda f: (-f.depth, f.rel))
        for depth in sorted({f.depth for f in folders}, reverse=True):
            for folder in (f for f in folders if f.depth == depth):
                folded.add(folder.rel)
            body = _text(root, scan, no_defs, folded)
            if len(body) <= room:
                break
        head += "; deep folders folded"
    if len(body) > room:
        body = output_budget.cut(body, max(output_budget.MIN_LIMIT, room), "list_files shows the rest")
    return f"({head}; sizes in bytes, K = 1,000; top-level definitions after the colon)\n{body}{skipped}{capped}"


SCAN_VERSION = 1
"""Bumped when `save_scan`'s format changes: an older file then reads as no scan."""


def save_scan(path: Path, scan: Scan) -> None:
    """Write `scan` to `path` (JSON, atomically, folders made): what the model was given, so a
    resumed session sends only what changed since. Raises `OSError` when it cannot be written."""
    data = {
        "version": SCAN_VERSION,
        "files": {rel: [info.size, list(info.defs)] for rel, info in scan.files.items()},
        "skipped": list(scan.skipped),
        "capped": scan.capped,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def load_scan(path: Path) -> Scan | None:
    """The scan `save_scan` wrote to `path`; None when there is none, or it is unreadable or of
    another version (the caller then gives the whole map again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != SCAN_VERSION:
            return None
        files = {str(rel): FileInfo(int(size), tuple(map(str, defs))) for rel, (size, defs) in data["files"].items()}
        return Scan(files, tuple(map(str, data["skipped"])), bool(data["capped"]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def changes(old: Scan, new: Scan) -> list[str]:
    """What changed from `old` to `new`, one line a file, sorted: `+ path 1.2K: defs` (new),
    `- path` (gone), `~ path 1.2K → 1.4K: defs` (size or definitions changed). Names are quoted
    and definitions escaped as in the map (`glmcode.quoting`): one file, one line."""
    lines: list[str] = []
    for rel in sorted(old.files.keys() | new.files.keys()):
        before, after = old.files.get(rel), new.files.get(rel)
        if before == after:
            continue
        name = quote_name(rel)
        if after is None:
            lines.append(f"- {name}")
            continue
        defs = _defs_text(after.defs)
        if before is None:
            lines.append(f"+ {name} {human_size(after.size)}{defs}")
        else:
            lines.append(f"~ {name} {human_size(before.size)} → {human_size(after.size)}{defs}")
    return lines
