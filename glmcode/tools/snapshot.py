"""Snapshots of the workspace as git trees, to see everything a goal changed.

A snapshot is the tree git would commit if every file in the work tree (tracked or not, unless
ignored) were added — taken with a private index file, so the user's index and branch are never
touched. Comparing two snapshots finds every change, whether an edit tool or a shell command
made it.
"""

from __future__ import annotations

import shutil
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
        env = {"GIT_INDEX_FILE": str(index)}
        repo.git.add("-A", env=env)
        tree = repo.git.write_tree(env=env)
    try:
        head = repo.head.commit.hexsha
    except ValueError:
        head = None
    return Snapshot(tree=tree, head=head)


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
