"""Throwaway git repositories for tests and benchmarks."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A git repo at `path` (branch `main`, a local identity) with `files` committed."""
    path.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(path)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "config", "user.email", "t@example.com"], check=True)
    subprocess.run([*git, "config", "user.name", "Test"], check=True)
    for name, text in (files or {"README.md": "# demo\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    return path
