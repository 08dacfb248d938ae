"""Checkpoints: the workspace saved as git commits under a private ref, and `undo`.

Before the first call of a model turn that may change files (an edit, or a command that is not
read-only), the work tree is snapshotted (`glmcode.tools.snapshot`) and, if it differs from the last
checkpoint, committed under `refs/glmcode/checkpoints/<session>` — never on the user's branch,
never in the user's index. `undo` takes the work tree back to a checkpoint: changed files are
restored and files created since are removed, whether an edit tool or the shell made them.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glmcode.errors import ConfigError
from glmcode.tools import snapshot
from glmcode.tools._files import atomic_write, umask

REF_PREFIX = "refs/glmcode/checkpoints/"
UNDO_SESSION = "undo"
"""Where the state before each undo is kept, so an undo can itself be undone (`undo --to`)."""


@dataclass(frozen=True)
class Checkpoint:
    """One saved state of the work tree."""

    commit: str
    tree: str
    session: str
    run: int
    label: str
    at: int
    """When it was taken, in nanoseconds since the epoch (orders checkpoints taken in one second)."""

    @property
    def time(self) -> float:
        return self.at / 1e9


def create(root: Path, session: str, run: int, label: str) -> Checkpoint | None:
    """Save the work tree now; None outside git or when nothing changed since the last checkpoint."""
    now = snapshot.take(root)
    if now is None:
        return None
    repo = snapshot.repo_at(root)
    ref = REF_PREFIX + session
    parent = _resolve(repo, ref)
    if parent is not None and repo.git.rev_parse(f"{parent}^{{tree}}") == now.tree:
        return None
    message = f"glmcode checkpoint: {label}\n\nsession: {session}\nrun: {run}\nat: {time.time_ns()}\n"
    args = [now.tree, "-m", message] + (["-p", parent] if parent else [])
    commit = repo.git.commit_tree(*args, env=_identity())
    repo.git.update_ref(ref, commit)
    return _read(repo, commit)


def list_all(root: Path) -> list[Checkpoint]:
    """Every checkpoint of this repository, newest first."""
    repo = snapshot.repo_at(root)
    if repo is None:
        return []
    refs = repo.git.for_each_ref("--format=%(refname)", REF_PREFIX).split()
    if not refs:
        return []
    lines = repo.git.log("--format=%H%x00%T%x00%B%x01", *refs).split("\x01")
    checkpoints = [_parse(line) for line in lines if line.strip()]
    return sorted(checkpoints, key=lambda c: c.at, reverse=True)


def last_run_start(checkpoints: list[Checkpoint], session: str | None = None) -> Checkpoint | None:
    """The first checkpoint of the most recent run that took one (of `session`, if given): `undo`'s target."""
    runs = [c for c in checkpoints if c.session != UNDO_SESSION and session in (None, c.session)]
    if not runs:
        return None
    latest = runs[0]
    same_run = [c for c in runs if c.session == latest.session and c.run == latest.run]
    return same_run[-1]


def restore(root: Path, target: Checkpoint) -> list[str]:
    """Make the work tree match `target`; returns lines like `restored a.py`, `removed b.txt`."""
    repo = snapshot.repo_at(root)
    create(root, UNDO_SESSION, 0, f"before undo to {target.commit[:10]}")
    now = snapshot.take(root)
    if now is None:
        raise ConfigError(f"{root} is not in a git work tree: there is nothing to restore into")
    status = repo.git.diff("--name-status", "--no-renames", "-z", target.tree, now.tree)
    fields = [f for f in status.split("\0") if f]
    worktree = Path(repo.working_tree_dir)
    to_restore, to_remove, changes = [], [], []
    for kind, name in zip(fields[::2], fields[1::2], strict=True):
        if kind == "A":
            to_remove.append(name)
            changes.append(f"removed {name}")
        else:
            to_restore.append(name)
            changes.append(f"restored {name}")
    others = _write_blobs(repo, worktree, target.tree, to_restore)
    if others:
        with tempfile.TemporaryDirectory(prefix="glmcode-undo-") as folder:
            env = {"GIT_INDEX_FILE": str(Path(folder) / "index"), "GIT_LITERAL_PATHSPECS": "1"}
            repo.git.read_tree(target.tree, env=env)
            repo.git.checkout_index("-f", "--", *others, env=env)
    for name in to_remove:
        (worktree / name).unlink(missing_ok=True)
    return changes


def _write_blobs(repo: Any, worktree: Path, tree: str, names: list[str]) -> list[str]:
    """Write the regular files `names` of `tree` into the work tree byte for byte; the names left to git.

    `git checkout-index` would convert line endings (`core.autocrlf`, `text`/`eol` attributes),
    and a checkpoint holds the exact bytes (`snapshot.take`): regular files are written from their
    blobs with no conversion, atomically, with the mode they had (exec bit). Symlinks, submodules
    and paths that are now folders are returned for `checkout-index`.
    """
    if not names:
        return []
    listing = repo.git.ls_tree("-r", "-z", tree)
    others = set(names)
    for record in listing.split("\0"):
        meta, _, name = record.partition("\t")
        if not name or name not in others:
            continue
        mode, kind, sha = meta.split()
        path = worktree / name
        if kind != "blob" or mode not in ("100644", "100755") or path.is_dir() or path.is_symlink():
            continue
        data = repo.odb.stream(bytes.fromhex(sha)).read()
        atomic_write(path, data, mode=(0o777 if mode == "100755" else 0o666) & ~umask(), refuse_read_only=False)
        others.discard(name)
    return [name for name in names if name in others]


def _identity() -> dict[str, str]:
    """Checkpoints are glmcode's commits: they need no user identity configured."""
    return {
        "GIT_AUTHOR_NAME": "glmcode", "GIT_AUTHOR_EMAIL": "glmcode@localhost",
        "GIT_COMMITTER_NAME": "glmcode", "GIT_COMMITTER_EMAIL": "glmcode@localhost",
    }


def _resolve(repo: Any, ref: str) -> str | None:
    try:
        return repo.git.rev_parse("--verify", "--quiet", ref) or None
    except Exception:  # GitCommandError: the ref does not exist yet
        return None


def _read(repo: Any, commit: str) -> Checkpoint:
    return _parse(repo.git.log("-1", "--format=%H%x00%T%x00%B", commit))


def _parse(record: str) -> Checkpoint:
    commit, tree, body = record.strip("\n").split("\x00", 2)
    fields = dict(line.split(": ", 1) for line in body.splitlines()[1:] if ": " in line)
    label = body.splitlines()[0].removeprefix("glmcode checkpoint: ") if body else ""
    return Checkpoint(commit.strip(), tree, fields.get("session", ""), int(fields.get("run", 0)), label, int(fields.get("at", 0)))
