"""Walk a folder of the workspace the way git sees it, for `list_files` and `search`.

Honours `.gitignore` files at every level (a deeper file overrides a shallower one, `!`
re-includes) and `.git/info/exclude`; never enters `.git`; lists symlinks without following
them, and says which entries are regular files (a FIFO, socket or device is listed but must
never be opened: see `workspace.open_regular`). A folder the caller names explicitly is walked even if it is itself ignored (so
`node_modules` can be looked into on purpose); the ignore files inside it still apply.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from glmcode.tools.base import ToolError
from glmcode.tools.workspace import open_regular

_Chain = tuple[tuple[str, pathspec.GitIgnoreSpec], ...]
"""(folder relative to the root with a trailing slash, or "" for the root; its ignore spec), shallowest first."""


@dataclass(frozen=True)
class Entry:
    """One file, folder or symlink found by `walk`."""

    path: Path
    """Absolute path."""
    rel: str
    """POSIX path relative to the workspace root."""
    is_dir: bool
    is_symlink: bool
    is_regular: bool
    """A regular file: not a folder, symlink, FIFO, socket or device (only these are ever opened)."""


def _load(path: Path) -> pathspec.GitIgnoreSpec | None:
    """The ignore spec in the file `path`; None when it is missing, empty or not a regular file
    (a FIFO named `.gitignore` must not hang the walk)."""
    try:
        with open_regular(path) as f:
            lines = f.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return spec if len(spec) else None


def _extend(chain: _Chain, folder: Path, prefix: str) -> _Chain:
    """`chain` plus the `.gitignore` of `folder`, if it has one."""
    spec = _load(folder / ".gitignore")
    return (*chain, (prefix, spec)) if spec else chain


def _ignored(chain: _Chain, rel: str, is_dir: bool) -> bool:
    """Whether `rel` is ignored: the deepest ignore file with a matching pattern decides."""
    target = rel + "/" if is_dir else rel
    for prefix, spec in reversed(chain):
        if not target.startswith(prefix):
            continue
        result = spec.check_file(target[len(prefix) :])
        if result.include is not None:
            return bool(result.include)
    return False


def _start_chain(root: Path, start: Path) -> _Chain:
    """The ignore files that apply inside `start`: the root's exclude file and .gitignore files down to it."""
    chain: _Chain = ()
    exclude = _load(root / ".git" / "info" / "exclude")
    if exclude:
        chain = (("", exclude),)
    folder, prefix = root, ""
    for part in start.relative_to(root).parts:
        chain = _extend(chain, folder, prefix)
        folder, prefix = folder / part, f"{prefix}{part}/"
    if start != root and _ignored(chain, prefix.rstrip("/"), True):
        return ()
    return chain


def walk(root: Path, start: Path, prune: Callable[[Entry], bool] | None = None) -> Iterator[Entry]:
    """Entries under the folder `start` (inside `root`, both resolved), breadth-first.

    Each folder's entries come sorted by name; ignored entries and everything below an ignored
    folder are skipped; unreadable folders are skipped silently. A folder for which `prune`
    returns True is yielded but not entered (vendored or generated folders, for callers that
    only say they were left out).
    """
    queue: deque[tuple[Path, _Chain]] = deque([(start, _start_chain(root, start))])
    while queue:
        folder, parent_chain = queue.popleft()
        prefix = "" if folder == root else folder.relative_to(root).as_posix() + "/"
        chain = _extend(parent_chain, folder, prefix)
        try:
            with os.scandir(folder) as scan:
                items = sorted(scan, key=lambda item: item.name)
        except OSError:
            continue
        for item in items:
            if item.name == ".git":
                continue
            try:
                is_symlink = item.is_symlink()
                is_dir = not is_symlink and item.is_dir(follow_symlinks=False)
                is_regular = not is_symlink and not is_dir and item.is_file(follow_symlinks=False)
            except OSError:
                continue
            rel = prefix + item.name
            if _ignored(chain, rel, is_dir):
                continue
            path = Path(item.path)
            entry = Entry(path=path, rel=rel, is_dir=is_dir, is_symlink=is_symlink, is_regular=is_regular)
            yield entry
            if is_dir and not (prune is not None and prune(entry)):
                queue.append((path, chain))


def glob_matcher(pattern: str) -> pathspec.GitIgnoreSpec:
    """A matcher for one gitignore-style glob (`*.py` at any depth, `src/**/*.ts` anchored).

    Callers treat an empty or blank glob as "no filter" before getting here.
    """
    stripped = pattern.strip()
    if not stripped or stripped.startswith(("!", "#")):
        raise ToolError(f"the glob {pattern!r} is not usable; try something like `*.py` or `src/**/*.ts`")
    return pathspec.GitIgnoreSpec.from_lines([stripped])
