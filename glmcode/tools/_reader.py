"""Many text files in one text: what `read_files` returns and what `@path` mentions attach.

Two steps, so callers can look between them: `collect` turns paths — files, folders or globs,
relative to the workspace root — into a `Selection` (the text files in a stable order, what was
skipped and why, what was not found), and `render` writes the selection within a character
budget, each file headed by its path and line count:

    ==> src/app.py (2 lines) <==
    def main():
        return 1

A path with a newline, a control or a bidi character is quoted in headers and notes the way git
quotes it (`==> "evil\\nname.py" (1 line) <==`, `glmcode.quoting`): a header is always one line.

Whole files are kept while they fit; the files that did not are named in one note at the end,
with `hint` saying how to read them (the output budget's saved-file hint can replace it). Folders
are walked the way git sees them (`glmcode.tools._walk`); vendored and generated folders
(`SKIPPED_DIRS`) are not entered but listed, unless named themselves; binaries are listed too.
Every path is confined to the workspace (`glmcode.tools.workspace`): `..`, absolute paths and
symlinks that lead out are refused, and symlinks met inside folders are not followed. Only
regular files are ever opened (`workspace.open_regular`): a FIFO, socket or device is listed as
skipped, never read (a FIFO would block the read forever). Secret-looking files (`.env`, keys:
`is_secret_name`) are listed as skipped by a folder or glob read; named themselves, they are read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from glmcode import output_budget
from glmcode.quoting import escape, quote_name
from glmcode.tools import workspace
from glmcode.tools._text import decode, encoding_name, normalise, sniff
from glmcode.tools._walk import Entry, glob_matcher, walk
from glmcode.tools.base import ToolError
from glmcode.wording import plural

SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".glmcode", "node_modules", "bower_components", ".venv", "venv",
        "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".eggs",
        "dist", "build", ".next", ".nuxt", ".gradle", ".terraform", "site-packages",
    }
)
"""Folder names that hold vendored or generated files: not entered by a folder or glob read (and
not mapped), only listed; a path that names one (or something inside it) is read all the same.
Folders ending in `.egg-info` count too."""
MAX_FILES = 20_000
"""Files one `collect` considers at most; past this the selection says the count stopped."""
MAX_LINE_CHARS = 2000
"""Longer lines (minified code, data) are cut with the output budget's note."""
LEFT_OUT_HINT = "read them with read_files on fewer paths, or page a big one with read_file (offset, limit)"
"""How to get what did not fit: the default `hint` of `render`."""
_LISTED = 40
"""Names listed at most in one note (skipped or left out); the rest are counted."""


SECRET_REASON = "secret-looking file: name it explicitly to read it"
"""Why a folder or glob read skipped a file `is_secret_name` matches."""
_NOT_SECRET_ENV = frozenset({".env.example", ".env.sample", ".env.template"})
"""`.env.*` files that by convention hold no secrets, only the variables' names."""


def is_secret_name(name: str) -> bool:
    """Whether a file called `name` (no folder) looks like it holds secrets: `.env`, `.env.*`
    (not `.env.example`, `.env.sample`, `.env.template`), `*.pem`, `*.key`, `id_rsa*`, `id_ed25519*`.

    Such files are not read by a folder or glob read (or mapped, or searched) unless named
    themselves: the model gets a secret only when someone asks for that file.
    """
    lower = name.lower()
    if lower == ".env" or (lower.startswith(".env.") and lower not in _NOT_SECRET_ENV):
        return True
    return lower.endswith((".pem", ".key")) or lower.startswith(("id_rsa", "id_ed25519"))


def is_skipped_dir(name: str) -> bool:
    """Whether a folder called `name` holds vendored or generated files (`SKIPPED_DIRS`, `*.egg-info`)."""
    return name in SKIPPED_DIRS or name.endswith(".egg-info")


def is_glob(path: str) -> bool:
    """Whether `path` is a glob (`*`, `?` or `[` in it) rather than a plain path."""
    return any(char in path for char in "*?[")


def is_pattern(root: Path, path: str) -> bool:
    """Whether `path` is to be matched as a glob: it has glob characters and no file or folder of
    the workspace `root` bears it as its literal name (`a[1].txt` that exists is that file, never
    the pattern that matches `a1.txt`)."""
    if not is_glob(path):
        return False
    try:
        return not os.path.lexists(workspace.resolve(root, path, write=False))
    except ToolError:
        return True


@dataclass(frozen=True)
class Skipped:
    """A path that was found but not read: `rel` (folders end in `/`) and why, in a few words."""

    rel: str
    reason: str


@dataclass
class Selection:
    """What `collect` found: text candidates in order, what was skipped, what was not found."""

    files: list[Path] = field(default_factory=list)
    """Files to read, absolute and resolved, in the stable order (paths in the order given, each
    folder or glob's files sorted by path), without duplicates."""
    rels: list[str] = field(default_factory=list)
    """`files` relative to the root, POSIX style."""
    skipped: list[Skipped] = field(default_factory=list)
    """Vendored or generated folders not entered, symlinks not followed, non-regular files."""
    missing: list[str] = field(default_factory=list)
    """One line per path that gave nothing: `src/x.py: does not exist`, `*.rs: matches no file`."""
    capped: bool = False
    """True when `MAX_FILES` stopped the search."""

    def _add(self, path: Path, rel: str) -> bool:
        if rel in self._seen:
            return True
        if len(self.files) >= MAX_FILES:
            self.capped = True
            return False
        self._seen.add(rel)
        self.files.append(path)
        self.rels.append(rel)
        return True

    def __post_init__(self) -> None:
        self._seen: set[str] = set(self.rels)
        self._skipped_seen: set[str] = {s.rel for s in self.skipped}

    def _skip(self, rel: str, reason: str) -> None:
        if rel not in self._skipped_seen:
            self._skipped_seen.add(rel)
            self.skipped.append(Skipped(rel, reason))


def collect(root: Path, paths: list[str]) -> Selection:
    """The files that `paths` (files, folders or gitignore-style globs, relative to `root`) name.

    `root` is the resolved workspace root. A plain path that leaves the workspace, does not
    exist or is not a regular file or folder goes to `missing` with the reason; a glob that
    matches nothing too. Never raises for one bad path: the caller decides what an empty
    selection means.
    """
    selection = Selection()
    for raw in paths:
        path = raw.strip()
        if not path:
            continue
        if is_pattern(root, path):
            if not _collect_glob(root, path, selection) and not selection.capped:
                selection.missing.append(f"{path}: matches no file (ignored files and vendored folders are not searched)")
            continue
        try:
            resolved = workspace.resolve(root, path, write=False)
        except ToolError as e:
            selection.missing.append(f"{path}: {e}")
            continue
        rel = workspace.rel(root, resolved)
        try:
            info = resolved.stat()
        except OSError:
            selection.missing.append(f"{path}: does not exist")
            continue
        if stat.S_ISDIR(info.st_mode):
            _collect_folder(root, resolved, selection)
        elif stat.S_ISREG(info.st_mode):
            selection._add(resolved, rel)
        else:
            selection.missing.append(f"{path}: not a regular file or folder")
        if selection.capped:
            break
    return selection


def _prune(entry: Entry) -> bool:
    return is_skipped_dir(entry.path.name)


def _collect_folder(root: Path, start: Path, selection: Selection) -> None:
    found: list[tuple[str, Path]] = []
    for entry in walk(root, start, prune=_prune):
        if entry.is_symlink:
            selection._skip(entry.rel, "symlink, not followed")
        elif entry.is_dir:
            if _prune(entry):
                selection._skip(entry.rel + "/", "vendored or generated folder")
        elif not entry.is_regular:
            selection._skip(entry.rel, workspace.NOT_REGULAR)
        elif is_secret_name(entry.path.name):
            selection._skip(entry.rel, SECRET_REASON)
        else:
            found.append((entry.rel, entry.path))
        if len(found) > MAX_FILES:
            break
    for rel, path in sorted(found):
        if not selection._add(path, rel):
            return


def _collect_glob(root: Path, pattern: str, selection: Selection) -> bool:
    """Add the files `pattern` matches; whether it matched anything (files an earlier path
    already selected count: such a glob is not missing, only adds nothing new)."""
    matcher = glob_matcher(pattern.removeprefix("./"))
    literal: list[str] = []
    for part in pattern.removeprefix("./").lstrip("/").split("/")[:-1]:
        if is_glob(part) or part in ("", ".", ".."):
            break
        literal.append(part)
    start = root
    if literal and "/" in pattern.strip("/"):
        try:
            candidate = workspace.resolve(root, "/".join(literal), write=False)
        except ToolError:
            return False
        if not candidate.is_dir():
            return False
        start = candidate
    found: list[tuple[str, Path]] = []
    matched = False
    for entry in walk(root, start, prune=_prune):
        if entry.is_dir or entry.is_symlink or not matcher.match_file(entry.rel):
            continue
        matched = True
        if not entry.is_regular:
            selection._skip(entry.rel, workspace.NOT_REGULAR)
            continue
        if is_secret_name(entry.path.name):
            selection._skip(entry.rel, SECRET_REASON)
            continue
        found.append((entry.rel, entry.path))
        if len(found) > MAX_FILES:
            break
    for rel, path in sorted(found):
        if not selection._add(path, rel):
            break
    return matched


@dataclass(frozen=True)
class _Text:
    rel: str
    block: str
    lines: int


def _read(path: Path, rel: str, max_bytes: int) -> _Text | Skipped | None:
    """One file as its block (header and text), why it was not read, or None if it is a text
    file of more than `max_bytes` (it cannot fit)."""
    try:
        with workspace.open_regular(path) as f:
            data = f.read(max_bytes + 1)
    except workspace.NotRegularFile:
        return Skipped(rel, workspace.NOT_REGULAR)
    except OSError as e:
        return Skipped(rel, f"cannot be read: {e.strerror or e}")
    if sniff(data)[0] == "utf-8" and workspace.is_binary(data):
        return Skipped(rel, "binary")
    if len(data) > max_bytes:
        return None
    return _block(rel, data)


def _block(rel: str, data: bytes, total: int | None = None) -> _Text:
    """The block of a file whose bytes (or first bytes, of a file of `total` lines) are `data`.

    Decoded as read_file and edit_file decode it (`glmcode.tools._text`): a byte-order mark names
    UTF-16 or UTF-32 (said in the header), and LF, CRLF and a lone CR all end a line.
    """
    file = decode(data)
    note = "" if file.encoding == "utf-8" and not file.bom else f", {file.label}"
    if file.problem and "NUL" not in file.problem:
        note += f", not valid {encoding_name(file.encoding, b'')}: undecodable bytes shown as \ufffd"
    text = normalise(file.text)
    lines = text.split("\n")
    if any(len(line) > MAX_LINE_CHARS for line in lines):
        text = "\n".join(
            line if len(line) <= MAX_LINE_CHARS else f"{line[:MAX_LINE_CHARS]} {output_budget.note(len(line) - MAX_LINE_CHARS)}"
            for line in lines
        )
    count = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    name = quote_name(rel)
    if not text:
        return _Text(rel, f"==> {name} (empty) <==\n", 0)
    body = text if text.endswith("\n") else text + "\n"
    shown = count if total is None else total
    return _Text(rel, f"==> {name} ({plural(shown, 'line', number=f'{shown:,}')}{note}) <==\n{body}", count)


def _head(path: Path, rel: str, room: int) -> str:
    """The first lines of a file too big for the budget, within `room` characters, and where to go on."""
    try:
        with workspace.open_regular(path) as f:
            data = f.read(room)
            if sniff(data)[0] != "utf-8":  # its first lines cannot be cut at a b"\n": named in the note only
                return ""
            total = data.count(b"\n")
            while chunk := f.read(1 << 20):
                total += chunk.count(b"\n")
    except OSError:
        return ""
    data = data[: data.rfind(b"\n") + 1]
    got = _block(rel, data, total)
    head = got.block[: max(0, room - 100)]
    head = head[: head.rfind("\n") + 1]
    shown = head.count("\n") - 1
    if shown < 1:
        return ""
    name = quote_name(rel)
    return f"{head}[... {name} continues: read_file path={name} offset={shown + 1} ...]\n\n"


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown + (f" and {len(items) - _LISTED:,} more" if len(items) > _LISTED else "")


@dataclass(frozen=True)
class Rendered:
    """What `render` made: the text and what it holds, for summaries."""

    text: str
    read: list[str]
    """Paths whose whole text is in `text`."""
    left_out: list[str]
    """Text files that did not fit in the budget."""
    lines: int
    """Lines of the files read."""


WHOLE_FILE_BYTES = 16 * 1024 * 1024
"""Largest file `whole` writes out (a bigger one is named with its size instead)."""


def whole(selection: Selection) -> Iterator[str]:
    """Every text file of the selection as its block, in order, nothing left out: what `render`
    would give with no budget (to be saved whole, read lazily one file at a time)."""
    for path, rel in zip(selection.files, selection.rels, strict=True):
        got = _read(path, rel, WHOLE_FILE_BYTES)
        if isinstance(got, _Text):
            yield got.block + "\n"
        elif got is None:
            yield f"==> {quote_name(rel)} (more than {WHOLE_FILE_BYTES:,} bytes: page it with read_file) <==\n\n"


def render(selection: Selection, limit: int, hint: str | Callable[[], str] = LEFT_OUT_HINT) -> Rendered:
    """The selection's files, whole, in order, within `limit` characters, then one note block.

    The note block (at most a fifth of the limit, and never past it) lists the files left out
    with `hint` (a text, or a function giving it, called only when something was left out: the
    saved-output hint saves the whole text then), the skipped paths with their reasons, and the
    missing ones. A file that does
    not fit is left out whole and later smaller ones still come in; when not even the first
    file fits, its head is given with where to go on with `read_file`.
    """
    note_room = max(200, limit // 5)
    room = limit - note_room
    blocks: list[str] = []
    read: list[str] = []
    left_out: list[str] = []
    skipped = list(selection.skipped)
    used = lines = 0
    max_bytes = 4 * limit
    for path, rel in zip(selection.files, selection.rels, strict=True):
        if used >= room - 40:
            left_out.append(rel)
            continue
        got = _read(path, rel, max_bytes)
        if isinstance(got, Skipped):
            skipped.append(got)
            continue
        if got is None:
            left_out.append(rel)
            continue
        block = got.block + "\n"
        if used + len(block) > room:
            left_out.append(rel)
            continue
        blocks.append(block)
        read.append(rel)
        used += len(block)
        lines += got.lines
    partial = ""
    if not blocks and left_out:
        first = left_out[0]
        partial = _head(selection.files[selection.rels.index(first)], first, room)
    notes: list[str] = []
    if left_out:
        how = hint() if callable(hint) else hint
        names = [quote_name(rel) for rel in left_out]
        notes.append(f"[left out, over the output budget: {plural(len(left_out), 'file')}: {_listing(names)}; {how}]")
    if skipped:
        listed = [f"{quote_name(s.rel)} ({s.reason})" for s in skipped]
        notes.append(f"[skipped: {_listing(listed)}]")
    if selection.missing:
        notes.append(f"[not found: {escape('; '.join(selection.missing[:_LISTED]))}]")
    if selection.capped:
        notes.append(f"[the search stopped at {MAX_FILES:,} files: name fewer or narrower paths]")
    note_text = "\n".join(notes)
    if len(note_text) > note_room + (room - used - len(partial)):
        note_text = output_budget.cut(note_text, max(output_budget.MIN_LIMIT, note_room + room - used - len(partial)))
    summary = f"[read_files: {plural(len(read), 'file')}, {plural(lines, 'line', number=f'{lines:,}')}]"
    text = "".join(blocks) + partial + summary + ("\n" + note_text if note_text else "")
    if len(text) > limit:  # only with a tiny limit: the registry's cut would do the same
        text = output_budget.cut(text, limit)
    return Rendered(text=text, read=read, left_out=left_out, lines=lines)
