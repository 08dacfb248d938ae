"""Path confinement: everything that leaves the workspace root is refused, whatever its disguise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glmcode.tools import workspace
from glmcode.tools.base import ToolError


def test_relative_and_absolute_paths_inside_resolve(repo: Path) -> None:
    assert workspace.resolve(repo, "src/app.py", write=False) == repo / "src" / "app.py"
    assert workspace.resolve(repo, str(repo / "src" / "app.py"), write=False) == repo / "src" / "app.py"
    assert workspace.resolve(repo, ".", write=False) == repo
    assert workspace.resolve(repo, "src/../README.md", write=True) == repo / "README.md"
    assert workspace.resolve(repo, "new/dir/file.txt", write=True) == repo / "new" / "dir" / "file.txt"


def test_unresolved_root_is_accepted(repo: Path) -> None:
    link = repo.parent / "root-link"
    link.symlink_to(repo)
    assert workspace.resolve(link, "README.md", write=False) == repo / "README.md"


@pytest.mark.parametrize("path", ["../outside/secret.txt", "src/../../outside/secret.txt", "..", "/etc/passwd", "/"])
def test_escapes_are_refused(repo: Path, outside: Path, path: str) -> None:
    with pytest.raises(ToolError, match="outside the workspace root"):
        workspace.resolve(repo, path, write=False)


def test_absolute_path_elsewhere_is_refused(repo: Path, outside: Path) -> None:
    with pytest.raises(ToolError, match=r"outside the workspace root") as info:
        workspace.resolve(repo, str(outside / "secret.txt"), write=True)
    assert "secret.txt" in str(info.value)


def test_sibling_with_common_prefix_is_outside(repo: Path) -> None:
    sibling = repo.parent / (repo.name + "-evil")
    sibling.mkdir()
    with pytest.raises(ToolError, match="outside"):
        workspace.resolve(repo, str(sibling / "x"), write=False)


def test_file_symlink_pointing_out_is_refused(repo: Path, outside: Path) -> None:
    (repo / "leak.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(ToolError, match="outside the workspace root"):
        workspace.resolve(repo, "leak.txt", write=False)


def test_directory_symlink_pointing_out_is_refused(repo: Path, outside: Path) -> None:
    (repo / "linked").symlink_to(outside, target_is_directory=True)
    for path in ("linked/secret.txt", "linked/new.txt", "linked"):
        with pytest.raises(ToolError, match="outside the workspace root"):
            workspace.resolve(repo, path, write=True)


def test_dangling_symlink_pointing_out_is_refused_for_writes(repo: Path, outside: Path) -> None:
    (repo / "dangling").symlink_to(outside / "does-not-exist-yet.txt")
    with pytest.raises(ToolError, match="outside"):
        workspace.resolve(repo, "dangling", write=True)


def test_symlink_inside_the_root_resolves_to_its_target(repo: Path) -> None:
    (repo / "alias.py").symlink_to(repo / "src" / "app.py")
    assert workspace.resolve(repo, "alias.py", write=True) == repo / "src" / "app.py"


@pytest.mark.parametrize("path", [".git/config", ".git", "sub/.git/HEAD", ".GIT/config"])
def test_git_folder_is_not_writable(repo: Path, path: str) -> None:
    with pytest.raises(ToolError, match=r"\.git"):
        workspace.resolve(repo, path, write=True)


def test_git_folder_is_readable(repo: Path) -> None:
    assert workspace.resolve(repo, ".git/config", write=False) == repo / ".git" / "config"


@pytest.mark.parametrize(
    ("path", "message"),
    [("", "empty"), ("   ", "empty"), ("a\x00b", "NUL"), ("a/" * 3000, "characters long")],
)
def test_malformed_paths_are_refused(repo: Path, path: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        workspace.resolve(repo, path, write=False)


def test_rel_for_display(repo: Path) -> None:
    assert workspace.rel(repo, repo / "src" / "app.py") == "src/app.py"
    assert workspace.rel(repo, repo) == "."
    assert workspace.rel(repo, Path("/elsewhere/x")) == "/elsewhere/x"


def test_is_binary_looks_at_the_first_8_kib() -> None:
    assert workspace.is_binary(b"abc\x00def")
    assert not workspace.is_binary("héllo wörld\n".encode())
    assert not workspace.is_binary(b"a" * 8192 + b"\x00")
    assert not workspace.is_binary(b"")


def test_resolution_ignores_the_current_directory(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert workspace.resolve(repo, "README.md", write=False) == repo / "README.md"
    assert os.getcwd() == str(tmp_path)
