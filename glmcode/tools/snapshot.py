"""Snapshots of the workspace as git trees, to see everything a goal changed.

A snapshot is the tree git would commit if every file in the work tree (tracked or not, unless
ignored) were added — taken with a private index file, so the user's index and branch are never
touched. Comparing two snapshots finds every change, whether an edit tool or a shell command
made it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Snapshot:
    """The work tree's content (`tree`) and the commit checked out (`head`) at one moment."""

    tree: str
    head: str | None


def repo_at(root: Path) -> Any:
    """The GitPython repository containing `root`, or None outside git."""
    import git

    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def take(root: Path) -> Snapshot | None:
    """Snapshot the work tree at `root`, or None outside a git repository."""
    repo = repo_at(root)
    if repo is None or repo.bare:
        return None
    with tempfile.TemporaryDirectory(prefix="glmcode-index-") as folder:
        index = Path(folder) / "index"
        real_index = Path(repo.git_dir) / "index"
        if real_index.exists():
            shutil.copyfile(real_index, index)
        env = {"GIT_INDEX_FILE": str(index), "GIT_LITERAL_PATHSPECS": "1"}
        repo.git.add("-A", env=env)
        _store_unconverted(repo, env)
        tree = repo.git.write_tree(env=env)
    try:
        head = repo.head.commit.hexsha
    except ValueError:
        head = None
    return Snapshot(tree=tree, head=head)


_CONVERTED = ("w/crlf", "w/mixed")
"""`git ls-files --eol` work-tree states whose bytes `git add` may change (CRLF to LF, by
`core.autocrlf` or a `text`/`eol` attribute)."""


def _store_unconverted(repo: Any, env: dict[str, str]) -> None:
    """Put the exact bytes of every work-tree file whose CRLF endings `git add` converted into the private index.

    `git add` normalises line endings where the config or `.gitattributes` says so, and a
    checkpoint restored from such a blob would turn CRLF into LF: a checkpoint keeps bytes
    (DESIGN.md §4, §7), so those files are hashed again without filters.
    """
    listing = repo.git.ls_files("--eol", "-z", env=env)
    paths = []
    for record in listing.split("\0"):
        info, _, path = record.partition("\t")
        states = info.split()
        work = next((state for state in states if state.startswith("w/")), "")
        if path and "\n" not in path and work in _CONVERTED and "i/" + work[2:] not in states:
            paths.append(path)
    if not paths:
        return
    stages = repo.git.ls_files("-s", "-z", env=env)
    modes = {}
    for record in stages.split("\0"):
        meta, _, path = record.partition("\t")
        if path:
            modes[path] = meta.split()[0]
    regular = [path for path in paths if modes.get(path) in ("100644", "100755")]
    if not regular:
        return

    def git(*args: str, stdin: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=repo.working_tree_dir, env={**os.environ, **env}, input=stdin.encode(),
            capture_output=True, check=True,
        )
        return done.stdout.decode()

    shas = git("hash-object", "-w", "--no-filters", "--stdin-paths", stdin="\n".join(regular)).split()
    git("update-index", "-z", "--index-info", stdin="".join(f"{modes[p]} {sha}\t{p}\0" for p, sha in zip(regular, shas, strict=True)))


def changed_paths(root: Path, before: Snapshot, after: Snapshot) -> list[Path]:
    """Absolute paths of files that differ between two snapshots (added, changed or deleted)."""
    repo = repo_at(root)
    names = repo.git.diff("--name-only", "--no-renames", "-z", before.tree, after.tree)
    worktree = Path(repo.working_tree_dir)
    return [worktree / name for name in names.split("\0") if name]


def diff_stat(root: Path, before: Snapshot, after: Snapshot) -> str:
    """`git diff --stat` between two snapshots ("" when nothing changed)."""
    return repo_at(root).git.diff("--stat", before.tree, after.tree)


def commits_since(root: Path, before: Snapshot) -> list[str]:
    """One line for each commit made on top of `before.head` since it was taken."""
    repo = repo_at(root)
    try:
        head = repo.head.commit.hexsha
    except ValueError:
        return []
    if head == before.head:
        return []
    spec = f"{before.head}..{head}" if before.head else head
    return [line for line in repo.git.log("--oneline", spec).splitlines() if line]
