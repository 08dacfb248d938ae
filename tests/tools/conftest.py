"""Fixtures for the tool tests: a throwaway git repository and a `ToolContext` on it."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from glmcode.rules.agent_md import Rules
from glmcode.tools.base import ToolContext, ToolResult
from glmcode.tools.registry import ToolRegistry


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes a second or more (real timeouts and process kills)")


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` and return its stdout; fail the test if it fails."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="session")
def repo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with one commit (README.md and src/app.py), made once per session."""
    root = tmp_path_factory.mktemp("template") / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "commit.gpgsign", "false")
    (root / "README.md").write_text("# Demo\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def main():\n    return 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def repo(repo_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template repository for one test, resolved."""
    root = (tmp_path / "repo").resolve()
    shutil.copytree(repo_template, root, symlinks=True)
    return root


@pytest.fixture
def ctx(repo: Path) -> ToolContext:
    return ToolContext(root=repo, rules=Rules(), shell_timeout=30.0)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the repository, outside the workspace, with a secret file in it."""
    folder = (tmp_path / "outside").resolve()
    folder.mkdir()
    (folder / "secret.txt").write_text("top secret\n")
    return folder


@pytest.fixture
def registry() -> ToolRegistry:
    """A fresh registry of the built-in tools, as a session makes one."""
    return ToolRegistry()


@pytest.fixture
def call(ctx: ToolContext, registry: ToolRegistry) -> Callable[..., ToolResult]:
    """Call a tool the way the agent loop does: registry lookup, raw arguments, safe execution.

    `call(name, arguments)` uses the `ctx` fixture; pass `ctx=` to use another context.
    """

    def call_tool(name: str, arguments: dict | str | None = None, *, ctx: ToolContext = ctx) -> ToolResult:
        return registry.call(name, arguments, ctx)

    return call_tool


@pytest.fixture
def run_git() -> Callable[..., str]:
    """`run_git(cwd, *args)`: run git in a folder and return its stdout."""
    return git


NOTE = re.compile(r"\n?\[\.\.\. ([\d,]+) characters?(?: \(([\d,]+) lines?\))? cut(?:; (.*?))? \.\.\.\]\n?")


def parse_cut(output: str) -> tuple[str, int, int, str, str]:
    """Split a cut output at its one output-budget note: (head, characters, lines, hint, tail)."""
    notes = list(NOTE.finditer(output))
    assert len(notes) == 1, f"expected exactly one note, found {len(notes)}"
    note = notes[0]
    chars, lines, hint = note.group(1), note.group(2) or "0", note.group(3) or ""
    return output[: note.start()], int(chars.replace(",", "")), int(lines.replace(",", "")), hint, output[note.end() :]


@pytest.fixture
def split_cut() -> Callable[[str], tuple[str, int, int, str, str]]:
    """`split_cut(output)`: the output split at its one output-budget note (see `parse_cut`)."""
    return parse_cut
